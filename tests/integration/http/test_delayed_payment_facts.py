"""A delayed payment's failure is what its payment intent says (issue 12, money4).

Stripe's Checkout Session alone does not tell a delayed payment still pending (a voucher
not yet paid at the store, a bank debit on its way) from one that failed: both sessions
are complete and unpaid. Their payment intents differ: a pending one is `processing` (or
`requires_action` for a voucher), a failed one `requires_payment_method` (or `canceled`).
So a correctly signed `checkout.session.async_payment_failed` that matches its booking
must not fail it, nor give its seats back, while the intent Stripe shows is pending; and
an event that changes nothing answers `ignored`. Through HTTP with the fake gateway
(destination charges, platform endpoint), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from application.ports.gateway import WebhookEndpoint
from tests.support.http_flows import open_shop
from tests.support.webhook_shop import PAID, Shop, session_event

PLATFORM = WebhookEndpoint.PLATFORM
FAILED = "checkout.session.async_payment_failed"
COMPLETED = "checkout.session.completed"


@pytest.fixture
def shop(webhook_shop: Shop) -> Shop:
    return webhook_shop


@dataclass(frozen=True)
class Checkout:
    """A 42.30 USD checkout of 2 of a slot's 5 seats."""

    tenant: dict[str, str]
    booking_id: str
    session_id: str
    url: str
    slots_path: str


async def _checkout(shop: Shop) -> Checkout:
    opened = await open_shop(shop.client)
    offerings = await shop.client.get(f"/v1/public/{opened.slug}/offerings")
    assert offerings.status_code == 200, offerings.text
    offering_id = offerings.json()["data"][0]["id"]
    answer = await shop.client.post(
        f"/v1/public/{opened.slug}/checkout",
        json={"slot_id": opened.slot_id, "seats": 2, "customer": {"email": "ada@example.com"}},
    )
    assert answer.status_code == 201, answer.text
    url = answer.json()["checkout_url"]
    return Checkout(
        opened.tenant,
        answer.json()["booking_id"],
        url.rstrip("/").rsplit("/", 1)[-1],
        url,
        f"/v1/public/{opened.slug}/offerings/{offering_id}/slots",
    )


async def _press(shop: Shop, checkout: Checkout, button: str, method: str = "card") -> None:
    """A button of the hosted checkout page: `pay` (with `method`) or `decline`."""
    pressed = await shop.client.post(
        f"{checkout.url}/{button}", data={"method": method}, follow_redirects=False
    )
    assert pressed.status_code == 303, pressed.text


async def _status(shop: Shop, checkout: Checkout) -> str:
    return str((await shop.booking(checkout.tenant, checkout.booking_id))["status"])


async def _seats_available(shop: Shop, checkout: Checkout) -> int:
    slots = await shop.client.get(checkout.slots_path)
    assert slots.status_code == 200, slots.text
    return int(slots.json()["data"][0]["seats_available"])


async def _awaiting_voucher(shop: Shop) -> tuple[Checkout, str]:
    """A checkout whose customer chose a delayed method (a voucher still to be paid at the
    store): the booking awaits it, its 2 seats held; the checkout and its payment intent."""
    checkout = await _checkout(shop)
    await _press(shop, checkout, "pay", method="delayed")
    assert await _status(shop, checkout) == "awaiting_async_payment"

    async def payment() -> str | None:
        session = await shop.container.gateway().retrieve_checkout_session(checkout.session_id)
        return session.payment_intent_id  # type: ignore[no-any-return]

    paying_with = await shop.in_app(payment)
    assert paying_with is not None
    return checkout, paying_with


async def test_a_forged_failure_of_a_pending_voucher_keeps_the_booking_and_its_seats(
    shop: Shop,
) -> None:
    checkout, payment = await _awaiting_voucher(shop)
    forged = session_event(FAILED, checkout.session_id, checkout.booking_id, payment_intent=payment)

    answer = await shop.post_event(forged, PLATFORM)

    assert answer["outcome"] == "ignored"
    assert await _status(shop, checkout) == "awaiting_async_payment"
    assert await _seats_available(shop, checkout) == 3
    assert await shop.ledger(checkout.tenant, checkout.booking_id) == []
    await _press(shop, checkout, "pay")  # the customer pays the voucher at the store
    assert await _status(shop, checkout) == "confirmed"
    assert await shop.ledger(checkout.tenant, checkout.booking_id) == PAID
    assert await _seats_available(shop, checkout) == 3


async def test_stripes_own_failure_still_fails_the_booking_and_frees_its_seats(
    shop: Shop,
) -> None:
    checkout, _ = await _awaiting_voucher(shop)

    await _press(shop, checkout, "decline")  # the delayed payment fails at Stripe

    assert await _status(shop, checkout) == "payment_failed"
    assert await _seats_available(shop, checkout) == 5
    assert await shop.ledger(checkout.tenant, checkout.booking_id) == []


async def test_a_forged_failure_whose_completion_was_lost_leaves_the_booking_awaiting(
    shop: Shop,
) -> None:
    shop.lost.add(COMPLETED)  # Stripe's report of the delayed checkout is still on its way
    checkout = await _checkout(shop)
    await _press(shop, checkout, "pay", method="delayed")
    assert await _status(shop, checkout) == "pending_payment"
    forged = session_event(FAILED, checkout.session_id, checkout.booking_id)

    await shop.post_event(forged, PLATFORM)

    # Stripe's session amounts to a delayed payment on its way, not a failed one.
    assert await _status(shop, checkout) == "awaiting_async_payment"
    assert await _seats_available(shop, checkout) == 3


async def test_a_completion_stripe_shows_failed_fails_the_booking(shop: Shop) -> None:
    checkout, payment = await _awaiting_voucher(shop)
    shop.lost.add(FAILED)  # Stripe's report of the failure is lost
    await _press(shop, checkout, "decline")
    assert await _status(shop, checkout) == "awaiting_async_payment"
    replayed = session_event(
        COMPLETED, checkout.session_id, checkout.booking_id, payment_intent=payment
    )

    answer = await shop.post_event(replayed, PLATFORM)

    assert answer["outcome"] == "applied"
    assert await _status(shop, checkout) == "payment_failed"
    assert await _seats_available(shop, checkout) == 5


async def test_a_second_awaiting_payment_changes_nothing_and_says_so(shop: Shop) -> None:
    checkout, payment = await _awaiting_voucher(shop)
    again = session_event(
        COMPLETED, checkout.session_id, checkout.booking_id, payment_intent=payment
    )

    answer = await shop.post_event(again, PLATFORM)

    assert answer["outcome"] == "ignored"
    assert await _status(shop, checkout) == "awaiting_async_payment"
    assert await _seats_available(shop, checkout) == 3
