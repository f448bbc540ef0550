"""Issue 16, the pages' refusals: a wrong booking token counts against the same limit as the
API's, a race of leaving the checkout and cancelling ends on a page in words, and every
outcome a browser can reach is an HTML page (never JSON, never a stack trace)."""

from __future__ import annotations

import asyncio
import contextvars
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dependency_injector import providers

from application.cancel_booking import CancelBooking
from application.errors import GatewayOutcomeUnknown, GatewayUnavailable
from application.ports.gateway import PaymentGateway
from domain.booking import Booking, BookingStatus
from entrypoints.container import Container
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import open_checkout, open_shop

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
GUESS = "guessed-token-0000000000"


def is_html_page(response: httpx.Response) -> bool:
    return response.headers["content-type"].startswith("text/html") and (
        "<html lang=" in response.text and "Traceback" not in response.text
    )


async def test_wrong_booking_tokens_on_the_pages_are_throttled_like_the_apis(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, auth_failures_per_minute=3)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        by_link = await client.get("/booking/bk_one", params={"token": GUESS})
        by_cookie = await client.get(
            "/booking/bk_two", headers={"cookie": f"bookpay_booking_bk_two={GUESS}"}
        )
        by_api = await client.get("/v1/public/bookings/bk_three", params={"token": GUESS})
        # The fourth guess, on a page, is over the one limit all three counted against.
        throttled = await client.get(
            "/booking/bk_four/cancel",
            headers={"cookie": f"bookpay_booking_bk_four={GUESS}", "accept-language": "de"},
        )
        # And the API refuses too: the pages' guesses count there.
        api_after = await client.get("/v1/public/bookings/bk_five", params={"token": GUESS})

    assert [by_link.status_code, by_cookie.status_code, by_api.status_code] == [404, 404, 404]
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert is_html_page(throttled), throttled.text
    assert "Too many" in throttled.text
    assert "booking links" in throttled.text
    assert '<html lang="en">' in throttled.text
    assert api_after.status_code == 429


async def test_a_wrong_cookie_on_the_cancel_form_counts_as_a_failed_authentication(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, auth_failures_per_minute=1)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        offerings = await client.get(f"/v1/public/{shop.slug}/offerings")
        form = await client.get(
            f"/book/{shop.slug}/{offerings.json()['data'][0]['id']}/{shop.slot_id}"
        )
        csrf = CSRF_FIELD.search(form.text)
        assert csrf is not None
        cookie = {"cookie": f"bookpay_booking_bk_x={GUESS}; {form.headers['set-cookie']}"}
        guessed = await client.post(
            "/booking/bk_x/cancel", data={"_csrf_token": csrf.group(1)}, headers=cookie
        )
        again = await client.get("/booking/bk_y", params={"token": GUESS})

    assert guessed.status_code == 404, guessed.text
    assert is_html_page(guessed)
    assert again.status_code == 429
    assert is_html_page(again)


class _RacingBookings:
    """The bookings repository, where Stripe's checkout.session.expired event lands between
    reading the booking and abandoning it (the event the expiry itself sends)."""

    def __init__(self, inner: Any, race: _Race) -> None:
        self._inner = inner
        self._race = race

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        booking: Booking | None = await self._inner.get(tenant_id, booking_id)
        pending = booking is not None and booking.status is BookingStatus.PENDING_PAYMENT
        if pending and self._race.held:
            await self._race.deliver_held()
        return booking


class _RacingUnitOfWork:
    def __init__(self, inner: Any, race: _Race) -> None:
        self._inner = inner
        self._race = race

    def __getattr__(self, name: str) -> Any:
        if name == "bookings":
            return _RacingBookings(self._inner.bookings, self._race)
        return getattr(self._inner, name)

    async def __aenter__(self) -> _RacingUnitOfWork:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._inner.__aexit__(*exc)


class _Race:
    """Holds the fake Stripe's webhooks once armed, to deliver them at the worst moment."""

    def __init__(self, container: Container) -> None:
        self.armed = False
        self.delivered = 0
        self.held: list[tuple[Any, bytes, dict[str, str]]] = []
        self._container = container
        self._deliver = container.webhook_delivery()
        container.webhook_delivery.override(providers.Object(self._deliver_or_hold))
        real_uow = container.uow()
        leave = CancelBooking(
            lambda: _RacingUnitOfWork(real_uow(), self), container.gateway(), container.clock()
        )
        container.cancel_booking.override(providers.Object(leave))

    async def _deliver_or_hold(self, endpoint: Any, body: bytes, headers: dict[str, str]) -> int:
        if self.armed:
            self.held.append((endpoint, body, headers))
            return 200
        return int(await self._deliver(endpoint, body, headers))

    async def deliver_held(self) -> None:
        self.armed = False
        held, self.held = self.held, []
        for delivery in held:
            # Another request: its own task, outside this one's unit of work.
            task = asyncio.create_task(self._deliver(*delivery), context=contextvars.Context())
            assert await task == 200
            self.delivered += 1


@pytest.mark.postgres  # SQLite takes its write lock first: there, this race cannot happen
async def test_leaving_the_checkout_while_its_expiry_event_lands_ends_on_the_booking_page(
    tmp_path: Path, migrated_postgres_url: str
) -> None:
    app, container = build_test_app(tmp_path, migrated_postgres_url)
    race = _Race(container)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        _, checkout = await open_checkout(client)
        race.armed = True
        left = await client.post(checkout["checkout_url"] + "/cancel", follow_redirects=True)

    assert race.delivered == 1
    assert left.status_code == 200, left.text
    assert is_html_page(left), left.text
    assert "Your booking was not completed" in left.text
    assert "token=" not in str(left.url)


class _GatewayDown:
    """A gateway that cannot expire nor describe a Checkout Session."""

    def __init__(self, inner: PaymentGateway) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def expire_checkout_session(self, *args: Any, **kwargs: Any) -> Any:
        raise GatewayUnavailable("no answer")

    async def retrieve_checkout_session(self, *args: Any, **kwargs: Any) -> Any:
        raise GatewayUnavailable("no answer")


async def test_leaving_the_checkout_answers_pages_in_words_when_it_cannot_be_done(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, gateway_wrapper=_GatewayDown)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        _, checkout = await open_checkout(client)
        left_url = f"/v1/public/bookings/{checkout['booking_id']}/checkout-left"
        down = await client.get(left_url, params={"token": checkout["booking_token"]})
        forged = await client.get(left_url, params={"token": GUESS})

    assert down.status_code == 503
    assert is_html_page(down), down.text
    assert "Nothing was charged" in down.text
    assert "retry-after" in down.headers
    assert forged.status_code == 404
    assert is_html_page(forged), forged.text
    assert "We could not find this page" in forged.text


async def test_a_page_url_that_matches_no_page_is_a_page_in_words(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        mistyped = await client.get(f"/book/{shop.slug}/of_x/sl_x/more")
        no_booking = await client.get("/booking/")
        wrong_method = await client.put(f"/book/{shop.slug}")
        api = await client.get("/v1/public/no/such/route")

    assert mistyped.status_code == 404
    assert is_html_page(mistyped), mistyped.text
    assert "We could not find this page" in mistyped.text
    assert no_booking.status_code == 404
    assert is_html_page(no_booking)
    assert wrong_method.status_code == 405
    assert is_html_page(wrong_method)
    # The API keeps answering problem details.
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


async def test_a_cancel_refused_by_the_terms_is_a_page_with_the_way_back(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        offering = await client.post(
            "/v1/tenant/offerings",
            json={
                "name": "Late class",
                "price": {"amount": 2000, "currency": "usd"},
                "duration_minutes": 60,
                "capacity": 5,
                "cancellation_policy": {"windows": [{"hours_before": 48, "refund_percent": 100}]},
            },
            headers=shop.tenant,
        )
        starts_at = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
        slot = await client.post(
            f"/v1/tenant/offerings/{offering.json()['id']}/slots",
            json={"starts_at": starts_at.isoformat()},
            headers=shop.tenant,
        )
        form_url = f"/book/{shop.slug}/{offering.json()['id']}/{slot.json()['data'][0]['id']}"
        form = await client.get(form_url)
        csrf = CSRF_FIELD.search(form.text)
        assert csrf is not None
        fields = {
            "name": "Ada",
            "email": "ada@example.com",
            "seats": "1",
            "quoted_seats": "1",
            "action": "book",
        }
        sent = await client.post(
            form_url, data={"_csrf_token": csrf.group(1), **fields}, follow_redirects=False
        )
        paid = await client.post(sent.headers["location"] + "/pay", data={"method": "card"})
        booking_url = str(paid.url)
        # A form left open in another tab, sent once the terms no longer allow cancelling.
        refused = await client.post(
            booking_url + "/cancel", data={"_csrf_token": csrf.group(1)}, follow_redirects=False
        )

    assert "can no longer be cancelled online" in paid.text
    assert refused.status_code == 409
    assert is_html_page(refused), refused.text
    assert "too late to cancel" in refused.text
    assert f'href="{urlsplit(booking_url).path}"' in refused.text
    assert "Back to your booking" in refused.text


class _RefundUnanswered:
    """A gateway whose refunds get no answer (Stripe may or may not have made them)."""

    def __init__(self, inner: PaymentGateway) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def refund(self, *args: Any, **kwargs: Any) -> Any:
        raise GatewayOutcomeUnknown("timed out")

    async def list_refunds(self, *args: Any, **kwargs: Any) -> Any:
        raise GatewayOutcomeUnknown("timed out")


async def test_a_refund_stripe_did_not_confirm_says_so_and_that_retrying_is_safe(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, gateway_wrapper=_RefundUnanswered)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        offerings = await client.get(f"/v1/public/{shop.slug}/offerings")
        form_url = f"/book/{shop.slug}/{offerings.json()['data'][0]['id']}/{shop.slot_id}"
        form = await client.get(form_url)
        csrf = CSRF_FIELD.search(form.text)
        assert csrf is not None
        fields = {
            "name": "Ada",
            "email": "ada@example.com",
            "seats": "1",
            "quoted_seats": "1",
            "action": "book",
        }
        sent = await client.post(
            form_url, data={"_csrf_token": csrf.group(1), **fields}, follow_redirects=False
        )
        paid = await client.post(sent.headers["location"] + "/pay", data={"method": "card"})
        refused = await client.post(
            str(paid.url) + "/cancel", data={"_csrf_token": csrf.group(1)}, follow_redirects=False
        )

    assert "Cancel this booking" in paid.text
    assert refused.status_code == 503
    assert is_html_page(refused), refused.text
    assert "has not confirmed this yet" in refused.text
    assert "Nothing was charged" not in refused.text
    assert "Back to your booking" in refused.text


async def test_leaving_the_checkout_after_wrong_tokens_says_why_it_must_wait(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, auth_failures_per_minute=2)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        for booking_id in ("bk_one", "bk_two"):
            await client.get(f"/v1/public/bookings/{booking_id}", params={"token": GUESS})
        # The route Stripe sends a customer back to when they leave the checkout.
        left = await client.get(
            "/v1/public/bookings/bk_three/checkout-left", params={"token": GUESS}
        )

    assert left.status_code == 429
    assert is_html_page(left), left.text
    assert "booking links" in left.text  # the lockout, not "too many bookings started"
