"""Events out, the domain's part: which events a change implies, who may hear them, when a
delivery is retried, and when an endpoint that keeps failing is disabled."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.booking import CancelledBy
from domain.cancellation import RefundSplit
from domain.dispute import DisputeSnapshot, DisputeStatus
from domain.events import (
    DISABLE_AFTER,
    ROTATION_OVERLAP,
    EndpointStatus,
    EventType,
    InvalidEndpoint,
    RetrySchedule,
    WebhookEndpoint,
    booking_events,
    endpoint_url,
    event_types,
    is_success,
)
from domain.money import Money
from tests.unit.test_booking import NOW, pending

T = EventType


def _types(before: object, after: object) -> list[str]:
    return [e.type.value for e in booking_events(before, after)]  # type: ignore[arg-type]


def test_each_seat_transition_is_told_once() -> None:
    booking = pending()
    awaiting = booking.await_async_payment()
    confirmed = awaiting.confirm("pi_1")
    assert _types(booking, awaiting) == ["booking.awaiting_payment"]
    assert _types(awaiting, confirmed) == ["booking.confirmed"]
    assert _types(confirmed, confirmed) == []
    assert _types(booking, booking.expire()) == ["booking.expired"]
    assert _types(booking, booking.fail_payment()) == ["booking.payment_failed"]
    # A cancellation with its refund: both happened, in that transaction.
    refunded = confirmed.record_refund("re_1", RefundSplit(Money(4400, "usd"), Money(400, "usd")))
    cancelled = refunded.cancel(CancelledBy.TENANT)
    assert _types(confirmed, cancelled) == ["booking.cancelled", "booking.refunded"]


def test_a_refund_is_told_only_once_the_gateway_confirmed_it() -> None:
    confirmed = pending().confirm("pi_1")
    split = RefundSplit(Money(1000, "usd"), Money(0, "usd"))
    reserved = confirmed.reserve_refund("rf_1", split, reason="requested_by_customer")
    assert _types(confirmed, reserved) == []
    settled = reserved.settle_refund("rf_1", "re_1")
    assert _types(reserved, settled) == ["booking.refunded"]


def test_a_dispute_is_told_when_it_opens_and_when_it_closes() -> None:
    confirmed = pending().confirm("pi_1")

    def snapshot(status: DisputeStatus, minutes: int) -> DisputeSnapshot:
        return DisputeSnapshot(
            dispute_id="dp_1",
            amount=Money(4400, "usd"),
            reason="fraudulent",
            status=status,
            is_charge_refundable=False,
            opened_at=NOW,
            as_of=NOW + timedelta(minutes=minutes),
        )

    opened = confirmed.record_dispute(snapshot(DisputeStatus.NEEDS_RESPONSE, 1))
    reviewed = opened.record_dispute(snapshot(DisputeStatus.UNDER_REVIEW, 2))
    won = reviewed.record_dispute(snapshot(DisputeStatus.WON, 3))
    assert _types(confirmed, opened) == ["booking.disputed"]
    assert _types(opened, reviewed) == []
    assert _types(reviewed, won) == ["booking.dispute_closed"]
    # Stripe keeps no order: a dispute first heard of as closed is both.
    assert _types(confirmed, confirmed.record_dispute(snapshot(DisputeStatus.LOST, 3))) == [
        "booking.disputed",
        "booking.dispute_closed",
    ]


def _endpoint(**changes: object) -> WebhookEndpoint:
    values: dict[str, object] = {
        "id": "we_1",
        "url": "https://hooks.example.com/",
        "tenant_id": None,
        "owner_tenant_id": None,
        "events": (),
        "status": EndpointStatus.ENABLED,
        "secret": "whsec_new",
        "created_at": NOW,
    }
    values.update(changes)
    return WebhookEndpoint(**values)  # type: ignore[arg-type]


TENANTS = st.sampled_from(["tn_a", "tn_b", "tn_c"])


@given(
    bound_to=st.one_of(st.none(), TENANTS),
    filter_=st.lists(st.sampled_from(list(EventType)), max_size=3),
    event_type=st.sampled_from(list(EventType)),
    event_tenant=TENANTS,
)
def test_an_endpoint_bound_to_a_tenant_never_hears_another_tenant(
    bound_to: str | None, filter_: list[EventType], event_type: EventType, event_tenant: str
) -> None:
    endpoint = _endpoint(tenant_id=bound_to, events=tuple(filter_))
    heard = endpoint.receives(event_type, event_tenant)
    if bound_to is not None and bound_to != event_tenant:
        assert not heard
    else:
        assert heard == (not filter_ or event_type in filter_)
    assert not replace(endpoint, status=EndpointStatus.DISABLED).receives(event_type, event_tenant)


def test_the_retry_schedule_then_failed() -> None:
    schedule = RetrySchedule.of_seconds((5, 300))
    assert schedule.next_attempt(1, NOW) == NOW + timedelta(seconds=5)
    assert schedule.next_attempt(2, NOW) == NOW + timedelta(seconds=300)
    assert schedule.next_attempt(3, NOW) is None
    assert [is_success(s) for s in (200, 204, 299, 301, 404, 500, None)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_an_endpoint_that_failed_for_three_days_is_disabled_and_a_success_resets_it() -> None:
    endpoint = _endpoint()
    failing = endpoint.after_delivery(False, NOW)
    assert failing.failing_since == NOW
    assert failing.status is EndpointStatus.ENABLED
    still = failing.after_delivery(False, NOW + DISABLE_AFTER - timedelta(seconds=1))
    assert still.status is EndpointStatus.ENABLED
    assert failing.after_delivery(True, NOW + timedelta(days=2)).failing_since is None
    assert failing.after_delivery(False, NOW + DISABLE_AFTER).status is EndpointStatus.DISABLED


def test_a_rotated_secret_signs_alongside_for_a_day() -> None:
    rotated = _endpoint(secret="whsec_old").rotated("whsec_new", NOW)
    assert rotated.signing_secrets(NOW) == ("whsec_new", "whsec_old")
    assert rotated.signing_secrets(NOW + ROTATION_OVERLAP) == ("whsec_new",)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",  # http only for localhost
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com/#frag",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://localhost:8080/hook",
        "https://192.168.1.10/hook",
    ],
)
def test_endpoint_urls_refused(url: str) -> None:
    with pytest.raises(InvalidEndpoint):
        endpoint_url(url)


def test_loopback_is_allowed_for_local_development_only() -> None:
    assert endpoint_url("http://127.0.0.1:9000/h", allow_private=True)
    assert endpoint_url("https://hooks.example.com/bookpay") == "https://hooks.example.com/bookpay"
    with pytest.raises(InvalidEndpoint):
        event_types(["booking.confirmed", "booking.teleported"])
    assert event_types(["slot.cancelled", "slot.cancelled"]) == (T.SLOT_CANCELLED,)


@pytest.mark.parametrize(
    "url", ["https://[::1", "https://hooks.example.com:99999/", "https://hooks.example.com:x/"]
)
def test_a_malformed_url_is_refused_not_a_crash(url: str) -> None:
    with pytest.raises(InvalidEndpoint):
        endpoint_url(url)
