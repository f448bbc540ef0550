"""`bookpay demo`: a demo tenant with offerings and slots, and a checkout to click through.

Safe to run at every start (`make run` does): the tenant is seeded once, and the demo
checkout still open from an earlier run is shown again instead of holding more seats.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dependency_injector import providers

from adapters.fake_stripe.pages import checkout_path
from adapters.sql.row_scope import acting_for_platform
from application.add_slots import NewSlots, SlotSpec
from application.create_offering import NewOffering
from application.create_tenant import NewTenant
from application.ports.gateway import WebhookEndpoint
from application.start_checkout import StartCheckoutCommand
from application.start_onboarding import StartOnboardingCommand
from domain.booking import BookingStatus
from domain.cancellation import CancellationPolicy, CancellationWindow
from domain.fees import CurrencyAmounts, FeePolicy
from domain.money import Money
from domain.offering import Offering
from entrypoints.config import ConfigurationError, GatewayKind, Settings, reveal
from entrypoints.container import Container, build_container
from entrypoints.web.onboarding import REFRESH_PATH, RETURN_PATH

DEMO_SLUG = "demo-studio"
DEMO_CUSTOMER = "customer@example.com"


async def seed_demo(settings: Settings, base_url: str) -> None:
    if settings.gateway is not GatewayKind.FAKE:
        raise ConfigurationError("bookpay demo runs with the fake gateway only")
    container = build_container(settings)

    async def deliver_here(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        """The server is not running yet: the fake's events are applied in this process, in
        the request whatever BOOKPAY_WEBHOOK_MODE says (no queue worker runs yet)."""
        await container.apply_webhook()(body, headers["Stripe-Signature"], endpoint)
        return 200

    container.webhook_delivery.override(providers.Object(deliver_here))
    try:
        with acting_for_platform():  # the platform creates its demo tenant
            await _seed(container, settings, base_url)
    finally:
        await container.engine().dispose()


async def _seed(container: Container, settings: Settings, base_url: str) -> None:
    async with container.uow()() as uow:
        existing = await uow.tenants.get_by_slug(DEMO_SLUG)
    tenant_key = f"(shown when first seeded; a new one: bookpay tenant-key {DEMO_SLUG})"
    if existing is None:
        created = await container.create_tenant()(
            NewTenant(
                name="Demo Studio",
                slug=DEMO_SLUG,
                country="US",
                default_currency="usd",
                timezone="America/New_York",
                # The platform's fee: 5 % plus 0.30 USD, or plus 50 JPY on sales in yen.
                fee_policy=FeePolicy(
                    percent_bps=500,
                    fixed=Money(30, "usd"),
                    by_currency=(CurrencyAmounts("jpy", fixed=Money(50, "jpy")),),
                ),
            )
        )
        tenant = created.tenant
        tenant_key = created.api_key
        # Onboard through the fake gateway's own pages, as a tenant would in a browser.
        await container.start_onboarding()(
            StartOnboardingCommand(
                tenant.id, f"{base_url}{REFRESH_PATH}", f"{base_url}{RETURN_PATH}"
            )
        )
        async with container.uow()() as uow:
            onboarded = await uow.tenants.get(tenant.id)
        if onboarded is None or onboarded.connect.account_id is None:
            raise ConfigurationError("the demo tenant could not be onboarded")
        await container.fake_gateway().complete_onboarding(onboarded.connect.account_id)
        yoga = await container.create_offering()(
            NewOffering(
                tenant_id=tenant.id,
                name="Morning yoga",
                description="60 minutes of vinyasa flow",
                price=Money(2000, "usd"),
                duration_minutes=60,
                capacity=12,
                cancellation_policy=CancellationPolicy(
                    (CancellationWindow(48, 100), CancellationWindow(24, 50))
                ),
            )
        )
        tour = await container.create_offering()(
            NewOffering(
                tenant_id=tenant.id,
                name="Tokyo walking tour",
                price=Money(3500, "jpy"),
                duration_minutes=120,
                capacity=8,
            )
        )
        for offering in (yoga, tour):
            await _add_demo_slots(container, tenant.timezone, offering)
        print(f"bookpay demo: seeded tenant {DEMO_SLUG!r}")
    else:
        print(f"bookpay demo: tenant {DEMO_SLUG!r} already exists; not seeding again")
        await _top_up_demo_slots(container, existing.timezone)

    checkout_url = await _open_demo_checkout(container, base_url) or await _new_demo_checkout(
        container
    )
    print(
        "\n".join(
            [
                "",
                "Bookpay is ready (fake Stripe gateway). Open in a browser:",
                f"  Book and pay:    {booking_page_url(base_url)}",
                f"  API docs:        {base_url}/schema",
                f"  Offerings:       {base_url}/v1/public/{DEMO_SLUG}/offerings",
                f"  Pay a booking:   {checkout_url}",
                f"  Fake events:     {base_url}/fake-stripe/events",
                "",
                f"  Admin key:       {reveal(settings.admin_api_key)}",
                f"  Tenant key:      {tenant_key}",
                "",
            ]
        )
    )


# Demo slots: each offering daily at this time on the tenant's clock, for DEMO_DAYS days.
DEMO_TIMES = {"Morning yoga": time(9, 0), "Tokyo walking tour": time(10, 30)}
DEMO_DAYS = 7
# The first slot starts this long after the widest cancellation window opens, so that a
# newcomer who books it can cancel it with a full refund.
REFUND_MARGIN = timedelta(hours=1)


def demo_slot_times(
    now: datetime, timezone: str, at: time, policy: CancellationPolicy | None, days: int
) -> list[datetime]:
    """`days` slots at `at` on the tenant's clock (`timezone`), on consecutive days, the
    first one far enough ahead to be cancelled with a full refund under `policy`; in UTC."""
    zone = ZoneInfo(timezone)
    widest = max((w.hours_before for w in (policy or CancellationPolicy()).windows), default=0)
    earliest = now + timedelta(hours=widest) + REFUND_MARGIN
    day = now.astimezone(zone).date()
    starts: list[datetime] = []
    while len(starts) < days:
        # combine() with the zone, then to UTC: 9:00 stays 9:00 across a DST change.
        starts_at = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if starts_at >= earliest:
            starts.append(starts_at)
        day += timedelta(days=1)
    return starts


async def _add_demo_slots(container: Container, timezone: str, offering: Offering) -> None:
    at = DEMO_TIMES.get(offering.name, time(12, 0))
    starts = demo_slot_times(
        datetime.now(UTC), timezone, at, offering.cancellation_policy, DEMO_DAYS
    )
    await container.add_slots()(
        NewSlots(offering.tenant_id, offering.id, tuple(SlotSpec(s) for s in starts))
    )


async def _top_up_demo_slots(container: Container, timezone: str) -> None:
    """A demo seeded days ago: an offering with nothing left to book gets new slots."""
    for offering in await container.list_public_offerings()(DEMO_SLUG):
        availability = await container.list_availability()(DEMO_SLUG, offering.id)
        if not any(slot.seats_available > 0 for slot in availability.slots):
            await _add_demo_slots(container, timezone, offering)
            print(f"bookpay demo: new slots for {offering.name!r}")


def booking_page_url(base_url: str) -> str:
    """The demo tenant's hosted booking page: where a newcomer books, pays and manages."""
    return f"{base_url.rstrip('/')}/book/{DEMO_SLUG}"


async def _open_demo_checkout(container: Container, base_url: str) -> str | None:
    """The checkout URL of the demo customer's booking still waiting for payment, if any."""
    async with container.uow()() as uow:
        tenant = await uow.tenants.get_by_slug(DEMO_SLUG)
    if tenant is None:
        return None
    pending = await container.booking_queries().list_for_tenant(
        tenant.id,
        statuses=(BookingStatus.PENDING_PAYMENT,),
        starts_from=None,
        starts_before=None,
        limit=50,
        cursor=None,
    )
    now = datetime.now(UTC)
    for booking in pending.items:
        if (
            booking.customer.email == DEMO_CUSTOMER
            and booking.gateway_session_id is not None
            and booking.hold_expires_at > now
        ):
            return checkout_path(base_url, booking.gateway_session_id)
    return None


async def _new_demo_checkout(container: Container) -> str:
    offerings = await container.list_public_offerings()(DEMO_SLUG)
    yoga_offering = next(o for o in offerings if o.price.currency == "usd")
    availability = await container.list_availability()(DEMO_SLUG, yoga_offering.id)
    slot = next((s for s in availability.slots if s.seats_available >= 2), None)
    if slot is None:
        return "(no free slot left)"
    started = await container.start_checkout()(
        StartCheckoutCommand(
            tenant_slug=DEMO_SLUG,
            slot_id=slot.id,
            seats=2,
            customer_email=DEMO_CUSTOMER,
            customer_name="Demo Customer",
        )
    )
    return started.checkout_url
