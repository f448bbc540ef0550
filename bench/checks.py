"""The correctness checks `make bench` asserts: a broken guarantee fails the run.

Throughput may miss its target (the report says so); a webhook applied twice, an overbooked
slot, a pool timeout or an unexpected error may not: `Checks.expect` records each check, and
`bench.run` exits non-zero after writing the report when any failed. A target whose figures
were measured starved of CPU cannot be judged: `Checks.cannot_judge` records it apart from
the correctness checks (a busy machine is not a broken guarantee), and it fails the run too
(a run that cannot judge must not pass).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import orm
from adapters.sql.events_out_tables import outbox_events
from bench.common import log
from bench.seed import BenchTenant
from bench.servers import Server
from domain.events import EventType
from domain.statuses import SeatState, statuses_in, statuses_taking_seats

# What SQLAlchemy says when a request waited for a pooled connection longer than allowed.
POOL_TIMEOUT_MARKERS = ("QueuePool limit", "TimeoutError")


def pool_timeouts_logged(text: str) -> int:
    """The log entries (lines) that say a pool timed out: one entry names both markers
    ("TimeoutError (QueuePool limit of size 20 ...)", entrypoints/http/errors.py) and is
    counted once."""
    return sum(
        1 for line in text.splitlines() if any(marker in line for marker in POOL_TIMEOUT_MARKERS)
    )


@dataclass
class Checks:
    """Every correctness check of the run: (what, held?); and the targets it could not
    judge (what, and why)."""

    results: list[tuple[str, bool]] = field(default_factory=list)
    not_judged: list[str] = field(default_factory=list)
    # Quiet: nothing logged (a draft judgement, bench.run's before its profiles).
    quiet: bool = False

    def expect(self, ok: bool, what: str) -> bool:
        self.results.append((what, ok))
        if not ok and not self.quiet:
            log(f"CHECK FAILED: {what}")
        return ok

    def cannot_judge(self, what: str) -> None:
        self.not_judged.append(what)
        if not self.quiet:
            log(f"NOT JUDGED: {what}")

    @property
    def failures(self) -> list[str]:
        """The correctness checks that failed (not the targets left unjudged)."""
        return [what for what, ok in self.results if not ok]

    @property
    def run_fails(self) -> bool:
        return bool(self.failures or self.not_judged)

    def exit_message(self) -> str | None:
        """Why the run fails, by kind (None when it passes)."""
        parts = []
        if self.failures:
            parts.append(
                f"{len(self.failures)} correctness check(s) FAILED: " + "; ".join(self.failures)
            )
        if self.not_judged:
            parts.append(
                f"{len(self.not_judged)} target(s) NOT JUDGED (measured starved of CPU: a "
                "busy machine, not a broken check): " + "; ".join(self.not_judged)
            )
        return " | ".join(parts) or None

    def no_errors(self, figure: dict[str, Any], where: str) -> bool:
        """No transport error and no unexpected status in a load's figure, its warm-up
        included (not timed, but an error there is still an error)."""
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(figure.get("statuses", {}).items()))
        warmup = int(figure.get("warmup_errors", 0))
        return self.expect(
            figure["errors"] == 0 and warmup == 0,
            f"{where}: no errors ({figure['errors']} errors, {warmup} during the warm-up; "
            f"statuses {statuses})",
        )

    def no_pool_timeout(self, server: Server, figures: list[dict[str, Any]], where: str) -> bool:
        """No request waited out the connection pool: no 503 answered, none logged."""
        answered = sum(
            int(f.get(key, {}).get("503", 0))
            for f in figures
            for key in ("statuses", "warmup_statuses")
        )
        text = server.log_text()
        logged = pool_timeouts_logged(text)
        # Which pools ran out (the app's or the fake Stripe's: by their size).
        pools = sorted(set(re.findall(r"QueuePool limit of size \d+", text)))
        return self.expect(
            answered == 0 and logged == 0,
            f"{where}: no pool timeout ({answered} answers 503, {logged} timeouts logged"
            + (f": {', '.join(pools)}" if pools else "")
            + ")",
        )

    def seats_match_bookings(self, audit: SeatAudit, where: str) -> bool:
        """Every slot's counters equal its bookings' seats, and none is over capacity."""
        return self.expect(
            audit.holds,
            f"{where}: seats counted match bookings, none over capacity ({audit.slots:,} "
            f"slots: {audit.over_capacity} over capacity by their bookings, "
            f"{audit.miscounted} with counters unlike their bookings"
            + (f", e.g. {', '.join(audit.examples)}" if audit.examples else "")
            + ")",
        )

    def last_seats_sold(self, started: int, taken: int, offered: int, customers: int) -> bool:
        """The race for scarce seats: every seat sold, none twice. More customers than
        seats race, so a seat left over means checkouts were refused that should not be."""
        return self.expect(
            started == offered and taken == offered,
            f"last seats: {customers} customers, {started} checkouts started and {taken} "
            f"seats taken by bookings of {offered} offered (all sold, none overbooked)",
        )

    def no_transaction_across_gateway(
        self, database_side: dict[str, Any], limit_ms: float, where: str, most_share: float
    ) -> bool:
        """No transaction was held across a call to Stripe: of the samples of
        pg_stat_activity taken beside the load (bench/watch.py, counting against `limit_ms`),
        at most a share `most_share` (and at least one sample is always allowed) showed an
        open transaction older than `limit_ms`. Held across the calls, transactions live as
        long as the calls, so on a pool kept busy by them most samples would show one past
        the limit (bench/scenarios.py chooses both numbers); one checkout's transaction
        slowed past it by a CPU-starved event loop shows in a sample or two. Nothing
        sampled, or samples not counted against this limit, fail too: then nothing was
        shown."""
        activity = database_side.get("activity") or {}
        samples = int(activity.get("samples", 0))
        oldest = float(activity.get("oldest_transaction_ms", 0.0))
        counted = activity.get("limit_ms") == limit_ms and "samples_over_limit" in activity
        over = int(activity.get("samples_over_limit", 0))
        allowed = max(1, int(most_share * samples))
        return self.expect(
            samples > 0 and counted and over <= allowed,
            f"{where}: no transaction held across a call to Stripe ({over} of {samples} "
            f"samples of pg_stat_activity showed an open transaction older than "
            f"{limit_ms:.0f} ms, at most {allowed} allowed"
            + ("" if counted else ", the samples not counted against that limit")
            + f"; the oldest seen {oldest:.0f} ms)",
        )


@dataclass(frozen=True)
class SeatAudit:
    """The slots of a database counted against their bookings: `over_capacity`, slots whose
    bookings hold or own more seats than the slot has; `miscounted`, slots whose held or
    booked counter differs from the seats of its bookings in that state (a counter drift:
    the seat-taking statements would then refuse or sell seats wrongly). Slot ids, a few.
    An audit that found no slot holds nothing: it looked at the wrong database."""

    slots: int
    over_capacity: int
    miscounted: int
    examples: tuple[str, ...] = ()

    @property
    def holds(self) -> bool:
        return self.slots > 0 and self.over_capacity == 0 and self.miscounted == 0


def _seats_in(state: SeatState) -> ColumnElement[int]:
    """Seats of the bookings whose status puts them in `state` (domain.statuses)."""
    b = orm.bookings.c
    statuses = [status.value for status in statuses_in(state)]
    return func.coalesce(func.sum(case((b.status.in_(statuses), b.seats), else_=0)), 0)


async def audit_seats(engine: AsyncEngine) -> SeatAudit:
    """Every slot of the database against the bookings on it (held and booked seats)."""
    b, s = orm.bookings.c, orm.slots.c
    per_slot = (
        select(
            b.tenant_id,
            b.slot_id,
            _seats_in(SeatState.HELD).label("held"),
            _seats_in(SeatState.BOOKED).label("booked"),
        )
        .group_by(b.tenant_id, b.slot_id)
        .subquery()
    )
    held = func.coalesce(per_slot.c.held, 0)
    booked = func.coalesce(per_slot.c.booked, 0)
    over = held + booked > s.capacity
    drift = or_(s.held != held, s.booked != booked)
    query = select(s.id, over.label("over"), drift.label("drift")).select_from(
        orm.slots.outerjoin(
            per_slot, and_(per_slot.c.tenant_id == s.tenant_id, per_slot.c.slot_id == s.id)
        )
    )
    async with engine.connect() as connection:
        total = int(
            (await connection.execute(select(func.count()).select_from(orm.slots))).scalar_one()
        )
        wrong = (await connection.execute(query.where(or_(over, drift)).order_by(s.id))).all()
    return SeatAudit(
        slots=total,
        over_capacity=sum(1 for row in wrong if row.over),
        miscounted=sum(1 for row in wrong if row.drift),
        examples=tuple(row.id for row in wrong[:3]),
    )


async def seats_taken(engine: AsyncEngine, tenant_id: str, offering_id: str) -> tuple[int, int]:
    """(seats held or booked by the offering's bookings, capacity of its slots)."""
    b, s = orm.bookings.c, orm.slots.c
    taking = [status.value for status in statuses_taking_seats()]
    async with engine.connect() as connection:
        taken = (
            await connection.execute(
                select(func.coalesce(func.sum(b.seats), 0)).where(
                    b.tenant_id == tenant_id, b.offering_id == offering_id, b.status.in_(taking)
                )
            )
        ).scalar_one()
        offered = (
            await connection.execute(
                select(func.coalesce(func.sum(s.capacity), 0)).where(
                    s.tenant_id == tenant_id, s.offering_id == offering_id
                )
            )
        ).scalar_one()
        return int(taken), int(offered)


async def still_pending(engine: AsyncEngine, tenant_id: str, booking_ids: list[str]) -> set[str]:
    """Those of `booking_ids` still awaiting payment (their completion not applied)."""
    b = orm.bookings.c
    async with engine.connect() as connection:
        result = await connection.execute(
            select(b.id).where(
                b.tenant_id == tenant_id,
                b.id.in_(booking_ids),
                b.status == "pending_payment",
            )
        )
        return set(result.scalars())


@dataclass(frozen=True)
class WebhookCheck:
    seeded: int
    sent: int
    confirmed: int
    confirmed_but_not_sent: int
    charge_entries: int
    bookings_with_a_charge: int
    inbox_records: int
    still_pending: int
    seats_booked: int
    # Events out (the outbox): `booking.confirmed` rows about the bookings sent, and how
    # many bookings they name; a duplicate applied again would tell the tenant twice.
    confirmation_events: int
    bookings_with_a_confirmation_event: int

    @property
    def exactly_once(self) -> bool:
        return (
            self.confirmed
            == self.charge_entries
            == self.bookings_with_a_charge
            == self.inbox_records
            == self.seats_booked
            == self.confirmation_events
            == self.bookings_with_a_confirmation_event
            == self.sent
            and self.confirmed_but_not_sent == 0
            and self.still_pending == self.seeded - self.sent
        )


async def check_webhooks_applied(
    engine: AsyncEngine, tenant: BenchTenant, sent_ids: list[str], seeded: int
) -> WebhookCheck:
    """Every event sent was applied exactly once (one confirmation, one charge, one inbox
    row, one seat booked, one `booking.confirmed` event out per booking); the bookings not
    sent were not touched.

    Only the seeded bookings (bk_whbench_…) and the tenant's future slots count: a history
    seeded for growth has confirmed bookings, charges and booked seats of its own."""
    b, ledger, slots = orm.bookings, orm.ledger_entries, orm.slots
    tid = tenant.tenant_id
    async with engine.connect() as connection:
        confirmed_ids = set(
            (
                await connection.execute(
                    select(b.c.id).where(
                        b.c.tenant_id == tid,
                        b.c.id.like("bk_whbench_%"),
                        b.c.status == "confirmed",
                    )
                )
            ).scalars()
        )
        charges = (
            await connection.execute(
                select(func.count(), func.count(ledger.c.booking_id.distinct())).where(
                    ledger.c.tenant_id == tid,
                    ledger.c.booking_id.like("bk_whbench_%"),
                    ledger.c.kind == "charge",
                )
            )
        ).one()
        inbox = (
            await connection.execute(
                select(func.count()).where(orm.webhook_inbox.c.event_id.like("evt_bk_whbench_%"))
            )
        ).scalar_one()
        pending = (
            await connection.execute(
                select(func.count()).where(
                    b.c.tenant_id == tid,
                    b.c.id.like("bk_whbench_%"),
                    b.c.status == "pending_payment",
                )
            )
        ).scalar_one()
        booked = (
            await connection.execute(
                select(func.coalesce(func.sum(slots.c.booked), 0)).where(
                    slots.c.tenant_id == tid,
                    slots.c.offering_id == tenant.offering_id,
                    # The future slots the webhook bookings hold seats on, not the history.
                    slots.c.id.in_(tenant.slot_ids),
                )
            )
        ).scalar_one()
        confirmations = (
            await connection.execute(
                select(outbox_events.c.body).where(
                    outbox_events.c.tenant_id == tid,
                    outbox_events.c.type == EventType.BOOKING_CONFIRMED.value,
                )
            )
        ).scalars()
        # The booking an event out tells of is its body's data.id (adapters/sql/outbox.py).
        confirmed_events = [json.loads(body)["data"]["id"] for body in confirmations]
    sent = set(sent_ids)
    events_sent = [booking_id for booking_id in confirmed_events if booking_id in sent]
    return WebhookCheck(
        seeded=seeded,
        sent=len(sent),
        confirmed=len(confirmed_ids & sent),
        confirmed_but_not_sent=len(confirmed_ids - sent),
        charge_entries=int(charges[0]),
        bookings_with_a_charge=int(charges[1]),
        inbox_records=int(inbox),
        still_pending=int(pending),
        seats_booked=int(booked),
        confirmation_events=len(events_sent),
        bookings_with_a_confirmation_event=len(set(events_sent)),
    )
