"""One Idempotency-Key mechanism: claim, replay, conflict, take-over of a dead claim, purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.errors import Conflict, IdempotencyKeyReused, MalformedRequest
from application.idempotent_requests import (
    CLAIM_TIMEOUT,
    RETENTION,
    IdempotentRequests,
    RequestInProgress,
    require_valid_key,
)
from application.ports.unit_of_work import StoredResponse
from tests.fakes.clock import ManualClock
from tests.fakes.database import InMemoryDatabase

START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def requests(clock: ManualClock) -> IdempotentRequests:
    return IdempotentRequests(InMemoryDatabase().unit_of_work, clock)


async def test_a_finished_request_is_replayed_and_another_body_is_refused(
    requests: IdempotentRequests,
) -> None:
    assert (await requests.begin("tenant:a", "k1", "fp")).replay is None
    await requests.finish("tenant:a", "k1", StoredResponse(201, b'{"id": 1}'))
    assert (await requests.begin("tenant:a", "k1", "fp")).replay == StoredResponse(
        201, b'{"id": 1}'
    )
    with pytest.raises(IdempotencyKeyReused):
        await requests.begin("tenant:a", "k1", "other")
    assert (await requests.begin("tenant:b", "k1", "other")).replay is None


async def test_a_claim_whose_request_died_is_taken_over_after_the_timeout(
    requests: IdempotentRequests, clock: ManualClock
) -> None:
    await requests.begin("admin", "refund-1", "fp")
    # The process serving it is killed: no finish() ever comes.
    with pytest.raises(Conflict):
        await requests.begin("admin", "refund-1", "fp")
    clock.advance(CLAIM_TIMEOUT - timedelta(seconds=1))
    with pytest.raises(Conflict):
        await requests.begin("admin", "refund-1", "fp")
    clock.advance(timedelta(seconds=2))
    assert (await requests.begin("admin", "refund-1", "fp")).replay is None
    # The taker-over holds the claim now: a concurrent retry still waits for it.
    with pytest.raises(Conflict):
        await requests.begin("admin", "refund-1", "fp")
    await requests.finish("admin", "refund-1", StoredResponse(200, b"done"))
    assert (await requests.begin("admin", "refund-1", "fp")).replay == StoredResponse(200, b"done")


async def test_a_slow_request_whose_claim_was_taken_over_cannot_answer_for_the_key(
    requests: IdempotentRequests, clock: ManualClock
) -> None:
    first = await requests.begin("admin", "refund-1", "fp")
    clock.advance(CLAIM_TIMEOUT + timedelta(seconds=1))
    # The first request is slow, not dead: its retry takes the claim over meanwhile.
    second = await requests.begin("admin", "refund-1", "fp")
    # The first fails late: it must not free the claim the second holds, or a third
    # retry would run the request a third time at once.
    await requests.finish("admin", "refund-1", None, first)
    with pytest.raises(Conflict):
        await requests.begin("admin", "refund-1", "fp")
    # Nor does its late answer become the key's: the second's client gets the second's.
    await requests.finish("admin", "refund-1", StoredResponse(409, b"first"), first)
    with pytest.raises(Conflict):
        await requests.begin("admin", "refund-1", "fp")
    await requests.finish("admin", "refund-1", StoredResponse(200, b"second"), second)
    replay = (await requests.begin("admin", "refund-1", "fp")).replay
    assert replay == StoredResponse(200, b"second")


async def test_the_take_over_timeout_is_configurable(clock: ManualClock) -> None:
    requests = IdempotentRequests(
        InMemoryDatabase().unit_of_work, clock, claim_timeout=timedelta(seconds=4)
    )
    await requests.begin("admin", "refund-1", "fp")  # its process is killed
    clock.advance(timedelta(seconds=3))
    with pytest.raises(Conflict):
        await requests.begin("admin", "refund-1", "fp")
    clock.advance(timedelta(seconds=2))
    assert (await requests.begin("admin", "refund-1", "fp")).replay is None


async def test_keys_are_purged_after_a_day(
    requests: IdempotentRequests, clock: ManualClock
) -> None:
    await requests.begin("admin", "old", "fp")
    await requests.finish("admin", "old", StoredResponse(201, b"old"))
    clock.advance(RETENTION - timedelta(minutes=1))
    await requests.begin("admin", "young", "fp")
    assert await requests.purge() == 0
    clock.advance(timedelta(minutes=2))
    assert await requests.purge() == 1
    assert (await requests.begin("admin", "old", "another body")).replay is None
    with pytest.raises(Conflict):
        await requests.begin("admin", "young", "fp")


async def test_a_request_in_progress_says_when_a_retry_is_sure_of_an_answer(
    clock: ManualClock,
) -> None:
    """Not "1 s": a retry gets the first request's answer, or takes over the key of one that
    died, only once the claim's timeout has passed."""
    requests = IdempotentRequests(
        InMemoryDatabase().unit_of_work, clock, claim_timeout=timedelta(seconds=300)
    )
    await requests.begin("admin", "refund-1", "fp")
    clock.advance(timedelta(seconds=100))
    with pytest.raises(RequestInProgress) as refused:
        await requests.begin("admin", "refund-1", "fp")
    assert refused.value.retry_after == 200
    assert "300 s" in str(refused.value)
    clock.advance(timedelta(seconds=199, milliseconds=500))
    with pytest.raises(RequestInProgress) as last:
        await requests.begin("admin", "refund-1", "fp")
    assert last.value.retry_after == 1


async def test_keys_are_purged_in_batches_until_none_is_left(clock: ManualClock) -> None:
    """Each transaction deletes at most `purge_batch` keys; the purge goes on until done."""
    requests = IdempotentRequests(InMemoryDatabase().unit_of_work, clock, purge_batch=2)
    for n in range(5):
        await requests.begin("admin", f"old-{n}", "fp")
    clock.advance(RETENTION + timedelta(minutes=1))
    await requests.begin("admin", "young", "fp")

    assert await requests.purge() == 5
    assert await requests.purge() == 0
    assert (await requests.begin("admin", "old-4", "another body")).replay is None


@pytest.mark.parametrize(
    ("key", "minimum"),
    [("", 1), ("x" * 256, 1), ("tab\there", 1), ("naïve", 1), ("short-key", 22)],
)
def test_a_key_out_of_bounds_is_refused(key: str, minimum: int) -> None:
    with pytest.raises(MalformedRequest):
        require_valid_key(key, minimum=minimum)


@pytest.mark.parametrize(("key", "minimum"), [("k", 1), ("~" * 255, 1), ("a b" * 8, 22)])
def test_a_key_within_bounds_is_kept_as_sent(key: str, minimum: int) -> None:
    assert require_valid_key(key, minimum=minimum) == key
