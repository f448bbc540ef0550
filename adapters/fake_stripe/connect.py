"""The fake Stripe's Connect: accounts, their onboarding pages, and account.updated."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta

from adapters.fake_stripe.objects import template
from adapters.fake_stripe.pages import (
    onboarding_path,
    render_onboarding_page,
)
from adapters.fake_stripe.state import Clock, FakeStripeState, until_not_stale
from adapters.fake_stripe.store import FakeObject
from adapters.stripe_wire.events import (
    connect_status_from_stripe,
)
from application.ports.gateway import (
    OnboardingLink,
)
from domain.tenant import ConnectStatus

ONBOARDING_REQUIREMENTS = (
    "business_profile.product_description",
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)


class FakeConnect:
    def __init__(self, state: FakeStripeState, *, base_url: str, clock: Clock) -> None:
        self._state = state
        self._base_url = base_url
        self._clock = clock

    async def create_connected_account(
        self, *, tenant_id: str, country: str, email: str | None, idempotency_key: str
    ) -> ConnectStatus:
        account_id = await self._state.new_id("acct")
        body = template(
            "account",
            id=account_id,
            type="express",
            country=country.upper(),
            email=email,
            created=self._state.now(),
            charges_enabled=False,
            payouts_enabled=False,
            details_submitted=False,
            capabilities={"card_payments": "inactive", "transfers": "inactive"},
            metadata={"tenant_id": tenant_id},
        )
        body["external_accounts"]["url"] = f"/v1/accounts/{account_id}/external_accounts"
        body["requirements"].update(
            currently_due=list(ONBOARDING_REQUIREMENTS),
            eventually_due=list(ONBOARDING_REQUIREMENTS),
            past_due=[],
            disabled_reason="requirements.past_due",
        )
        account = await self._state.create_once(
            f"account:{idempotency_key}", FakeObject(account_id, body)
        )
        return connect_status_from_stripe(account.body)

    async def create_onboarding_link(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        await self._state.load(account_id, "account", None)
        expires_at = self._clock() + timedelta(minutes=5)
        url = onboarding_path(self._base_url, account_id)
        link = {
            "object": "account_link",
            "created": self._state.now(),
            "expires_at": int(expires_at.timestamp()),
            "url": url,
            "_refresh_url": refresh_url,
            "_return_url": return_url,
        }
        await self._state.store.put_object(FakeObject(f"link_{account_id}", link))
        return OnboardingLink(url=url, expires_at=expires_at.astimezone(UTC))

    async def retrieve_account(self, account_id: str) -> ConnectStatus:
        account = await self._state.load(account_id, "account", None)
        return connect_status_from_stripe(account.body)

    async def complete_onboarding(self, account_id: str) -> str:
        """The account is fully onboarded: account.updated; returns the return URL."""
        await self.update_account(
            account_id,
            charges_enabled=True,
            payouts_enabled=True,
            requirements_due=(),
            details_submitted=True,
        )
        link = await self._state.store.get_object(f"link_{account_id}")
        return str(link.body["_return_url"]) if link else self._base_url + "/"

    async def update_account(
        self,
        account_id: str,
        *,
        charges_enabled: bool | None = None,
        payouts_enabled: bool | None = None,
        requirements_due: Sequence[str] | None = None,
        details_submitted: bool | None = None,
    ) -> ConnectStatus:
        """Stripe changes a connected account (what is not given stays): account.updated.

        A disabled capability says why, as Stripe does (`requirements.disabled_reason`).
        NotFound for an unknown account.
        """

        async def decide() -> ConnectStatus:
            account = await self._state.find(account_id, "account")
            body = account.body
            for field, value in (
                ("charges_enabled", charges_enabled),
                ("payouts_enabled", payouts_enabled),
                ("details_submitted", details_submitted),
            ):
                if value is not None:
                    body[field] = value
            requirements = body["requirements"]
            if requirements_due is not None:
                due = list(requirements_due)
                requirements.update(currently_due=due, eventually_due=due, past_due=[])
            body["capabilities"] = {
                "card_payments": "active" if body["charges_enabled"] else "inactive",
                "transfers": "active" if body["payouts_enabled"] else "inactive",
            }
            requirements["disabled_reason"] = (
                None
                if body["charges_enabled"]
                else "requirements.past_due"
                if requirements["currently_due"]
                else "under_review"
            )
            await self._state.commit([account], [("account.updated", body, account_id)])
            return connect_status_from_stripe(body)

        return await until_not_stale(decide)

    async def onboarding_page(self, account_id: str) -> str:
        account = await self._state.load(account_id, "account", None)
        return render_onboarding_page(
            account_id=account_id,
            charges_enabled=bool(account.body["charges_enabled"]),
            base_url=self._base_url,
            email=account.body.get("email"),
        )
