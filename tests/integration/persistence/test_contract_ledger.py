"""The repository contract for the ledger, webhook inbox, parked events and idempotency keys.

Every adapter of the persistence ports keeps these promises: each test runs on the
in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from application.errors import NotFound
from application.ports.gateway_events import ChargeRefunded, DisputeCreated, RefundRecord
from application.ports.unit_of_work import ClaimOutcome, StoredResponse
from domain.booking import Booking
from domain.dispute import (
    Party,
)
from domain.ledger import EntryKind, LedgerEntry, StatementLine
from domain.money import Money
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    bookable,
    new_id,
    seed,
)
from tests.integration.persistence.conftest import Backend

# --- ledger ---------------------------------------------------------------------------------


def _entry(
    booking: Booking, kind: EntryKind, amount: int, ref: str, **changes: object
) -> LedgerEntry:
    entry = LedgerEntry(
        booking.tenant_id, booking.id, kind, Money(amount, booking.currency), ref, NOW
    )
    return replace(entry, **changes)  # type: ignore[arg-type]


async def test_a_ledger_entry_is_recorded_once_per_reference_and_kind(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend)
    booking = a_booking(slot)
    await seed(backend, booking)
    charge = _entry(booking, EntryKind.CHARGE, 5_280, "pi_1")
    fee = _entry(booking, EntryKind.APPLICATION_FEE, 280, "pi_1")
    async with backend.uow() as uow:
        assert await uow.ledger.add(charge)
        assert await uow.ledger.add(fee)
        assert not await uow.ledger.add(replace(charge, amount=Money(1, "usd")))
        await uow.commit()
    async with backend.uow() as uow:
        assert not await uow.ledger.add(charge)
        assert await uow.ledger.list_for_booking(tenant.id, booking.id) == [charge, fee]


async def test_ledger_entries_are_added_together_each_at_most_once(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend)
    booking = a_booking(slot)
    await seed(backend, booking)
    charge = _entry(booking, EntryKind.CHARGE, 5_280, "pi_1")
    fee = _entry(booking, EntryKind.APPLICATION_FEE, 280, "pi_1")
    refund = _entry(booking, EntryKind.REFUND, 1_000, "re_1")
    async with backend.uow() as uow:
        assert await uow.ledger.add_all([]) == []
        assert await uow.ledger.add(fee)
        assert await uow.ledger.add_all([charge, fee, replace(charge, amount=Money(1, "usd"))]) == [
            True,
            False,
            False,
        ]
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.ledger.add_all([charge, refund]) == [False, True]
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.ledger.list_for_booking(tenant.id, booking.id) == [charge, fee, refund]


async def test_a_statement_sums_entries_per_currency_in_a_time_range(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend, capacity=20)
    first, second = a_booking(slot), a_booking(slot)
    await seed(backend, first, second)
    later = NOW + timedelta(days=1)
    entries = [
        _entry(first, EntryKind.CHARGE, 5_000, "pi_1"),
        _entry(first, EntryKind.APPLICATION_FEE, 300, "pi_1"),
        _entry(first, EntryKind.REFUND, 2_000, "re_1"),
        _entry(first, EntryKind.APPLICATION_FEE_REFUND, 120, "re_1"),
        _entry(second, EntryKind.CHARGE, 7_000, "pi_2", created_at=later),
        _entry(second, EntryKind.APPLICATION_FEE, 400, "pi_2", created_at=later),
        # A direct charge's lost dispute is the tenant's; a destination charge's withdrawal
        # is the platform's until recovered from the tenant.
        _entry(second, EntryKind.DISPUTE, 7_000, "dp_1", created_at=later),
        _entry(second, EntryKind.DISPUTE_FEE, 1_500, "dp_1", created_at=later),
        _entry(second, EntryKind.DISPUTE_REVERSAL, 7_000, "dp_1", created_at=later),
        replace(
            _entry(second, EntryKind.DISPUTE, 9_000, "dp_2", created_at=later),
            borne_by=Party.PLATFORM,
        ),
        _entry(second, EntryKind.DISPUTE, 100, "trr_1", created_at=later),
    ]
    async with backend.uow() as uow:
        for entry in entries:
            assert await uow.ledger.add(entry)
        await uow.commit()

    def usd(amount: int) -> Money:
        return Money(amount, "usd")

    async with backend.uow() as uow:
        assert await uow.ledger.statement(tenant.id) == [
            StatementLine("usd", 2, usd(12_000), usd(2_000), usd(700), usd(120), usd(1_600))
        ]
        assert await uow.ledger.statement(tenant.id, since=NOW, until=later) == [
            StatementLine("usd", 1, usd(5_000), usd(2_000), usd(300), usd(120), usd(0))
        ]
        assert await uow.ledger.statement(tenant.id, since=later) == [
            StatementLine("usd", 1, usd(7_000), usd(0), usd(400), usd(0), usd(1_600))
        ]
        assert await uow.ledger.statement(tenant.id, currency="eur") == []
        assert await uow.ledger.statement(tenant.id, until=NOW) == []


# --- webhook inbox and idempotency ----------------------------------------------------------


async def test_a_webhook_event_is_recorded_only_the_first_time(backend: Backend) -> None:
    event_id = new_id("evt")
    async with backend.uow() as uow:
        assert await uow.webhook_inbox.record(event_id)
        assert not await uow.webhook_inbox.record(event_id)
        await uow.commit()
    async with backend.uow() as uow:
        assert not await uow.webhook_inbox.record(event_id)
    rolled_back = new_id("evt")
    async with backend.uow() as uow:
        assert await uow.webhook_inbox.record(rolled_back)
    async with backend.uow() as uow:
        assert await uow.webhook_inbox.record(rolled_back)


async def test_a_webhook_event_is_seen_once_recorded_and_not_after_a_rollback(
    backend: Backend,
) -> None:
    event_id = new_id("evt")
    async with backend.uow() as uow:
        assert not await uow.webhook_inbox.seen(event_id)
        assert await uow.webhook_inbox.record(event_id)
        assert await uow.webhook_inbox.seen(event_id)  # in its own unit of work
    async with backend.uow().read_only() as uow:
        assert not await uow.webhook_inbox.seen(event_id)  # rolled back
    async with backend.uow() as uow:
        assert await uow.webhook_inbox.record(event_id)
        await uow.commit()
    async with backend.uow().read_only() as uow:
        assert await uow.webhook_inbox.seen(event_id)
        assert not await uow.webhook_inbox.seen(new_id("evt"))


def _refunded(payment: str, at_minutes: int, cumulative: int) -> ChargeRefunded:
    return ChargeRefunded(
        event_id=new_id("evt"),
        created_at=NOW + timedelta(minutes=at_minutes),
        account_id="acct_1",
        charge_id="ch_1",
        payment_intent_id=payment,
        amount_refunded=Money(cumulative, "JPY"),
        refunds=(RefundRecord("re_1", Money(300, "JPY")), RefundRecord("re_2", Money(700, "JPY"))),
    )


def _disputed(payment: str, at_minutes: int) -> DisputeCreated:
    return DisputeCreated(
        event_id=new_id("evt"),
        created_at=NOW + timedelta(minutes=at_minutes),
        account_id=None,
        dispute_id=new_id("dp"),
        charge_id="ch_1",
        payment_intent_id=payment,
        amount=Money(4230, "USD"),
        reason="fraudulent",
    )


async def test_parked_events_come_back_whole_once_and_oldest_first(backend: Backend) -> None:
    payment, other = new_id("pi"), new_id("pi")
    late, early, dispute = (
        _refunded(payment, 5, 1000),
        _refunded(payment, 1, 300),
        _disputed(payment, 3),
    )
    elsewhere = _disputed(other, 0)
    async with backend.uow() as uow:
        for event in (late, early, dispute, elsewhere):
            assert await uow.parked_events.park(event.payment_intent_id or "", event)
        assert not await uow.parked_events.park(payment, late)
        await uow.commit()
    async with backend.uow() as uow:
        taken = await uow.parked_events.take(payment)
        assert taken == [early, dispute, late]
        assert all(event.created_at.tzinfo is not None for event in taken)
        assert await uow.parked_events.take(payment) == []
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.parked_events.take(payment) == []
        assert await uow.parked_events.take(other) == [elsewhere]


async def test_parked_events_older_than_a_time_are_discarded(backend: Backend) -> None:
    stale, fresh = _refunded(new_id("pi"), -60, 1000), _disputed(new_id("pi"), 0)
    async with backend.uow() as uow:
        for event in (stale, fresh):
            await uow.parked_events.park(event.payment_intent_id or "", event)
        await uow.commit()
    async with backend.uow() as uow:
        dropped = await uow.parked_events.discard(NOW - timedelta(minutes=30))
        assert stale.event_id in dropped
        assert fresh.event_id not in dropped
        assert await uow.parked_events.take(stale.payment_intent_id or "") == []
        assert await uow.parked_events.take(fresh.payment_intent_id or "") == [fresh]


async def test_taking_parked_events_rolls_back_with_its_unit_of_work(backend: Backend) -> None:
    payment = new_id("pi")
    event = _refunded(payment, 0, 1000)
    async with backend.uow() as uow:
        await uow.parked_events.park(payment, event)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.parked_events.take(payment) == [event]
    async with backend.uow() as uow:
        assert await uow.parked_events.take(payment) == [event]


async def test_parked_events_are_read_in_order_and_removed_one_at_a_time_once(
    backend: Backend,
) -> None:
    payment = new_id("pi")
    late, early = _refunded(payment, 5, 1000), _disputed(payment, 1)
    async with backend.uow() as uow:
        for event in (late, early):
            await uow.parked_events.park(payment, event)
        await uow.commit()
    async with backend.uow() as uow:
        assert payment in await uow.parked_events.payments()
        assert await uow.parked_events.for_payment(payment) == [early, late]
        assert await uow.parked_events.for_payment(payment) == [early, late]  # left parked
        assert await uow.parked_events.remove(early.event_id)
        assert not await uow.parked_events.remove(early.event_id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.parked_events.for_payment(payment) == [late]
        assert await uow.parked_events.remove(late.event_id)
        # Not committed: the event stays parked.
    async with backend.uow() as uow:
        assert await uow.parked_events.for_payment(payment) == [late]
        assert await uow.parked_events.remove(late.event_id)
        await uow.commit()
    async with backend.uow() as uow:
        assert payment not in await uow.parked_events.payments()
        assert await uow.parked_events.for_payment(payment) == []


async def test_an_idempotency_key_is_claimed_then_replayed(backend: Backend) -> None:
    scope, key = new_id("tn"), new_id("key")
    async with backend.uow() as uow:
        assert (await uow.idempotency.claim(scope, key, "fp-1")).outcome is ClaimOutcome.CLAIMED
        await uow.commit()
    async with backend.uow() as uow:
        in_progress = await uow.idempotency.claim(scope, key, "fp-1")
        assert in_progress.outcome is ClaimOutcome.IN_PROGRESS
        mismatch = await uow.idempotency.claim(scope, key, "fp-2")
        assert mismatch.outcome is ClaimOutcome.MISMATCH
        other_scope = await uow.idempotency.claim(new_id("tn"), key, "fp-2")
        assert other_scope.outcome is ClaimOutcome.CLAIMED
        await uow.idempotency.store_response(scope, key, StoredResponse(201, b'{"id": 1}'))
        await uow.commit()
    async with backend.uow() as uow:
        replay = await uow.idempotency.claim(scope, key, "fp-1")
        assert replay.outcome is ClaimOutcome.REPLAY
        assert replay.response == StoredResponse(201, b'{"id": 1}')
        with pytest.raises(NotFound):
            await uow.idempotency.store_response(scope, new_id("key"), StoredResponse(200, b""))


async def test_a_released_claim_can_be_claimed_again(backend: Backend) -> None:
    scope, key = new_id("tn"), new_id("key")
    async with backend.uow() as uow:
        await uow.idempotency.claim(scope, key, "fp")
        await uow.commit()
    async with backend.uow() as uow:
        await uow.idempotency.release(scope, key)
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.idempotency.claim(scope, key, "fp")).outcome is ClaimOutcome.CLAIMED


async def test_a_dead_claim_is_taken_over_once_after_its_timeout(backend: Backend) -> None:
    scope, key = new_id("tn"), new_id("key")
    claimed_at = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)
    later = claimed_at + timedelta(minutes=10)
    async with backend.uow() as uow:
        await uow.idempotency.claim(scope, key, "fp", now=claimed_at)
        await uow.commit()
    async with backend.uow() as uow:
        young = await uow.idempotency.claim(
            scope, key, "fp", now=later, stale_before=claimed_at - timedelta(seconds=1)
        )
        assert young.outcome is ClaimOutcome.IN_PROGRESS
        assert young.claimed_at == claimed_at
        taken = await uow.idempotency.claim(
            scope, key, "fp", now=later, stale_before=later - timedelta(minutes=5)
        )
        assert taken.outcome is ClaimOutcome.CLAIMED
        await uow.commit()
    async with backend.uow() as uow:
        # The claim is the taker-over's now: a second retry at the same moment waits.
        again = await uow.idempotency.claim(
            scope, key, "fp", now=later, stale_before=later - timedelta(minutes=5)
        )
        assert again.outcome is ClaimOutcome.IN_PROGRESS
        assert again.claimed_at == later
        await uow.idempotency.store_response(scope, key, StoredResponse(201, b"first"))
        await uow.idempotency.store_response(scope, key, StoredResponse(201, b"second"))
        await uow.commit()
    async with backend.uow() as uow:
        replay = await uow.idempotency.claim(scope, key, "fp")
        assert replay.response == StoredResponse(201, b"first")


async def test_old_idempotency_keys_are_purged(backend: Backend) -> None:
    scope, old, young = new_id("tn"), new_id("key"), new_id("key")
    day = datetime(2000, 6, 1, tzinfo=UTC)
    async with backend.uow() as uow:
        await uow.idempotency.claim(scope, old, "fp", now=day)
        await uow.idempotency.claim(scope, young, "fp", now=day + timedelta(hours=2))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.idempotency.purge(day + timedelta(hours=1), 1000) >= 1
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.idempotency.claim(scope, old, "other")).outcome is ClaimOutcome.CLAIMED
        assert (await uow.idempotency.claim(scope, young, "other")).outcome is (
            ClaimOutcome.MISMATCH
        )


async def test_idempotency_keys_are_purged_in_bounded_batches(backend: Backend) -> None:
    """One unbounded DELETE on a large table ran past the statement timeout, every time."""
    scope, young = new_id("tn"), new_id("key")
    day = datetime(2000, 6, 1, tzinfo=UTC)
    async with backend.uow() as uow:
        for _ in range(5):
            await uow.idempotency.claim(scope, new_id("key"), "fp", now=day)
        await uow.idempotency.claim(scope, young, "fp", now=day + timedelta(hours=2))
        await uow.commit()
    deleted = []
    while True:
        async with backend.uow() as uow:
            batch = await uow.idempotency.purge(day + timedelta(hours=1), 2)
            await uow.commit()
        if batch == 0:
            break
        deleted.append(batch)
    # Other tests' keys of that old day may be there too: every batch holds at most 2.
    assert sum(deleted) >= 5
    assert max(deleted) <= 2
    async with backend.uow() as uow:
        assert (await uow.idempotency.claim(scope, young, "other")).outcome is (
            ClaimOutcome.MISMATCH
        )


async def test_a_taken_over_claims_late_release_or_answer_changes_nothing(
    backend: Backend,
) -> None:
    scope, key = new_id("tn"), new_id("key")
    first_at = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)
    later = first_at + timedelta(minutes=10)
    async with backend.uow() as uow:
        first = await uow.idempotency.claim(scope, key, "fp", now=first_at)
        assert (first.outcome, first.claimed_at) == (ClaimOutcome.CLAIMED, first_at)
        await uow.commit()
    async with backend.uow() as uow:
        taken = await uow.idempotency.claim(
            scope, key, "fp", now=later, stale_before=later - timedelta(minutes=5)
        )
        assert (taken.outcome, taken.claimed_at) == (ClaimOutcome.CLAIMED, later)
        await uow.commit()
    async with backend.uow() as uow:  # the first request, still alive, answers late
        await uow.idempotency.release(scope, key, claimed_at=first_at)
        await uow.idempotency.store_response(
            scope, key, StoredResponse(409, b"first"), claimed_at=first_at
        )
        await uow.commit()
    async with backend.uow() as uow:
        still = await uow.idempotency.claim(scope, key, "fp", now=later)
        assert (still.outcome, still.claimed_at) == (ClaimOutcome.IN_PROGRESS, later)
        await uow.idempotency.store_response(
            scope, key, StoredResponse(200, b"second"), claimed_at=later
        )
        await uow.commit()
    async with backend.uow() as uow:
        replay = await uow.idempotency.claim(scope, key, "fp")
        assert replay.response == StoredResponse(200, b"second")
