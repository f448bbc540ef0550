"""Rows written straight into Bookpay's real tables, for what the API cannot make fast.

- Pending bookings for the webhook load (each with its Checkout Session id and its seat held
  on a slot), inserted with one executemany, and the fake Stripe's paid sessions and payment
  intents behind them: Bookpay checks every completion against the session it fetches from
  the gateway, so an event whose session the fake does not know is ignored.
- A tenant's booking history for the growth measurement: past slots spread over ten
  offerings and bookings on them, made inside PostgreSQL with `INSERT … SELECT` over
  `generate_series`, so a million rows never cross the socket. Keys lead with tenant_id
  and every foreign key points at a real row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.fake_stripe.objects import template
from adapters.fake_stripe.tables import fake_objects
from adapters.sql import orm
from adapters.sql.codecs import booking_row
from domain.booking import Booking, Customer
from domain.fees import FeePolicy
from domain.money import Money

HISTORY_SLOT_SIZE = 20  # bookings per past slot
HISTORY_OFFERINGS = 10


@dataclass(frozen=True)
class BenchTenant:
    tenant_id: str
    slug: str
    offering_id: str
    slot_ids: list[str]
    price: Money
    policy: FeePolicy
    api_key: str = ""


async def seed_pending_bookings(
    engine: AsyncEngine, tenant: BenchTenant, count: int, first: int = 0
) -> list[dict[str, Any]]:
    """`count` bookings awaiting payment, round robin over the tenant's slots, numbered from
    `first` (their ids and sessions' ids follow the number: another batch in the same
    database starts past the last one's)."""
    now = datetime.now(UTC)
    quote = tenant.policy.quote(tenant.price, 1)
    slots = await _slot_starts(engine, tenant)
    rows: list[dict[str, Any]] = []
    for index in range(first, first + count):
        slot_id = tenant.slot_ids[index % len(tenant.slot_ids)]
        booking_id = f"bk_whbench_{index:07d}"
        booking = Booking(
            id=booking_id,
            tenant_id=tenant.tenant_id,
            offering_id=tenant.offering_id,
            slot_id=slot_id,
            seats=1,
            starts_at=slots[slot_id],
            customer=Customer(f"wh{index}@example.com"),
            quote=quote,
            refund_on_cancel=tenant.policy.refund_on_cancel,
            hold_expires_at=now + timedelta(minutes=30),
            created_at=now,
            gateway_session_id=f"cs_bench_{booking_id}",
        )
        rows.append(booking_row(booking) | {"version": 1})
    held: dict[str, int] = {}
    for row in rows:
        held[row["slot_id"]] = held.get(row["slot_id"], 0) + 1
    async with engine.begin() as connection:
        await connection.execute(orm.bookings.insert(), rows)
        await connection.execute(fake_objects.insert(), _paid_sessions(rows, now))
        for slot_id, seats in held.items():
            await connection.execute(
                update(orm.slots)
                .where(orm.slots.c.tenant_id == tenant.tenant_id, orm.slots.c.id == slot_id)
                .values(held=orm.slots.c.held + seats)
            )
    # A database that serves has its statistics (autovacuum analyses a table within a minute
    # of a bulk change); without them, right after this load, PostgreSQL's planner counted a
    # customer's unpaid bookings through (tenant, status) and read every one of the 8,000
    # pending rows on each checkout instead of using the index on the customer's address.
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("bookings", "slots", "fake_objects"):
            await autocommit.execute(text(f"ANALYZE {table}"))
    return [
        {
            "tenant_id": tenant.tenant_id,
            "booking_id": row["id"],
            "session_id": row["gateway_session_id"],
            "amount": row["customer_total"],
            "currency": row["currency"],
        }
        for row in rows
    ]


def _paid_sessions(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The fake Stripe's paid Checkout Session and succeeded payment intent of each booking
    (destination charges: they live on the platform), as bench.loadgen's events name them."""
    objects: list[dict[str, Any]] = []
    for row in rows:
        booking_id, amount, currency = row["id"], row["customer_total"], row["currency"]
        intent_id = f"pi_{booking_id}"
        session = template(
            "checkout.session",
            id=row["gateway_session_id"],
            amount_subtotal=amount,
            amount_total=amount,
            client_reference_id=booking_id,
            created=int(now.timestamp()),
            currency=currency,
            metadata={"tenant_id": row["tenant_id"], "booking_id": booking_id},
            mode="payment",
            payment_intent=intent_id,
            payment_status="paid",
            status="complete",
            url=None,
        )
        intent = template(
            "payment_intent",
            id=intent_id,
            amount=amount,
            amount_received=amount,
            created=int(now.timestamp()),
            currency=currency,
            status="succeeded",
        )
        objects.append({"id": session["id"], "kind": "checkout.session", "body": session})
        objects.append({"id": intent_id, "kind": "payment_intent", "body": intent})
    return [{"account_id": None, "version": 1, **obj} for obj in objects]


async def _slot_starts(engine: AsyncEngine, tenant: BenchTenant) -> dict[str, datetime]:
    async with engine.connect() as connection:
        result = await connection.execute(
            select(orm.slots.c.id, orm.slots.c.starts_at).where(
                orm.slots.c.tenant_id == tenant.tenant_id,
                orm.slots.c.offering_id == tenant.offering_id,
            )
        )
        return {row.id: row.starts_at for row in result}


# Shape constants ({...}) are formatted in from this module's own integers and the
# domain's quote; the tenant, offering, instant and range are bound parameters.
_HISTORY_SQL = """
INSERT INTO bookings (
    tenant_id, id, offering_id, slot_id, seats, starts_at, customer_email, customer_name,
    currency, unit_price, quote_seats, subtotal, service_fee, customer_fee, customer_total,
    application_fee, tenant_receives, fee_bearer, fee_policy_version, refund_on_cancel,
    status, hold_expires_at, created_at, gateway_session_id, payment_intent_id,
    cancelled_by, cancellation_reason, access_token_hash, version
)
SELECT
    CAST(:tenant_id AS text),
    'bk_hist_' || lpad(i::text, 8, '0'),
    CASE WHEN (i / {slot_size}) % {offerings} = 0 THEN CAST(:offering_id AS text)
         ELSE 'of_hist_' || ((i / {slot_size}) % {offerings}) END,
    'sl_hist_' || lpad((i / {slot_size})::text, 7, '0'),
    1,
    CAST(:anchor AS timestamptz) - make_interval(hours => (i / {slot_size}) + 1),
    'customer' || i || '@example.com',
    'Customer ' || i,
    '{currency}', {unit_price}, 1, {subtotal}, {service_fee}, {customer_fee}, {customer_total},
    {application_fee}, {tenant_receives}, '{fee_bearer}', {fee_policy_version},
    '{refund_on_cancel}',
    CASE WHEN i % 10 = 9 THEN 'expired' ELSE 'confirmed' END,
    CAST(:anchor AS timestamptz) - make_interval(hours => (i / {slot_size}) + 1, days => 2)
        + interval '30 minutes',
    CAST(:anchor AS timestamptz) - make_interval(hours => (i / {slot_size}) + 1, days => 2),
    'cs_hist_' || i,
    CASE WHEN i % 10 = 9 THEN NULL ELSE 'pi_hist_' || i END,
    NULL, NULL, md5(i::text), 1
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i
"""

_HISTORY_SLOTS_SQL = """
INSERT INTO slots (tenant_id, id, offering_id, starts_at, capacity, held, booked)
SELECT
    CAST(:tenant_id AS text),
    'sl_hist_' || lpad(s::text, 7, '0'),
    CASE WHEN s % {offerings} = 0 THEN CAST(:offering_id AS text)
         ELSE 'of_hist_' || (s % {offerings}) END,
    CAST(:anchor AS timestamptz) - make_interval(hours => s + 1),
    {slot_size}, 0, {booked}
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS s
"""

_HISTORY_OFFERINGS_SQL = """
INSERT INTO offerings (tenant_id, id, name, description, price_amount, currency,
                       duration_minutes, capacity, cancellation_policy, archived)
SELECT CAST(:tenant_id AS text), 'of_hist_' || o, 'Past class ' || o, '', {unit_price},
       '{currency}', 60, {slot_size}, NULL, false
FROM generate_series(1, {offerings} - 1) AS o
ON CONFLICT DO NOTHING
"""


# The indexes a bulk load builds after its rows instead of row by row: every index of the
# table but those behind a constraint (the primary key, unique keys), which stay.
_SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = :table
  AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))
"""


async def _drop_secondary_indexes(connection: AsyncConnection, table: str) -> list[str]:
    """Drop `table`'s secondary indexes in this transaction; the statements that make them."""
    found = (await connection.execute(text(_SECONDARY_INDEXES), {"table": table})).all()
    for name, _ in found:
        await connection.execute(text(f'DROP INDEX "{name}"'))
    return [str(definition) for _, definition in found]


async def _rebuild_indexes(connection: AsyncConnection, definitions: list[str]) -> None:
    await connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for definition in definitions:
        await connection.execute(text(definition))


async def seed_history(
    engine: AsyncEngine, tenant: BenchTenant, first: int, last: int, anchor: datetime
) -> None:
    """Bookings number `first`..`last` of the tenant's past (PostgreSQL only).

    Every slot takes HISTORY_SLOT_SIZE bookings (one in ten expired, the rest confirmed),
    one slot an hour back from `anchor`, spread over HISTORY_OFFERINGS offerings, one of
    them the offering under test.
    """
    if first % HISTORY_SLOT_SIZE or (last + 1) % HISTORY_SLOT_SIZE:
        raise ValueError("history is seeded in whole slots")
    quote = tenant.policy.quote(tenant.price, 1)
    shape: dict[str, Any] = {
        "slot_size": HISTORY_SLOT_SIZE,
        "offerings": HISTORY_OFFERINGS,
        "booked": HISTORY_SLOT_SIZE - HISTORY_SLOT_SIZE // 10,
        "currency": quote.currency,
        "unit_price": quote.unit_price.amount,
        "subtotal": quote.subtotal.amount,
        "service_fee": quote.service_fee.amount,
        "customer_fee": quote.customer_fee.amount,
        "customer_total": quote.customer_total.amount,
        "application_fee": quote.application_fee.amount,
        "tenant_receives": quote.tenant_receives.amount,
        "fee_bearer": quote.fee_bearer.value,
        "fee_policy_version": quote.fee_policy_version,
        "refund_on_cancel": tenant.policy.refund_on_cancel.value,
    }
    params = {"tenant_id": tenant.tenant_id, "offering_id": tenant.offering_id, "anchor": anchor}
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL synchronous_commit = off"))
        # A bulk load, not a request: the engine's statement timeout (5 s) does not apply.
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(
            text(_HISTORY_OFFERINGS_SQL.format(**shape)), {"tenant_id": tenant.tenant_id}
        )
        slot_range = {"first": first // HISTORY_SLOT_SIZE, "last": last // HISTORY_SLOT_SIZE}
        await connection.execute(text(_HISTORY_SLOTS_SQL.format(**shape)), params | slot_range)
        # A million rows load faster into a table whose secondary indexes are built after
        # them than row by row (the run's 10 minutes); the same indexes stand at the end.
        # The rows are consistent by construction (their slots and offerings are loaded just
        # above): no foreign-key trigger per row (bench.common connects as the superuser).
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        indexes = await _drop_secondary_indexes(connection, "bookings")
        await connection.execute(
            text(_HISTORY_SQL.format(**shape)), params | {"first": first, "last": last}
        )
        await _rebuild_indexes(connection, indexes)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("SET statement_timeout = 0"))  # as in seed_ledger
        await autocommit.execute(text("ANALYZE bookings"))
        await autocommit.execute(text("ANALYZE slots"))
        # Write the bulk load's dirty pages out now, not during the measurement after it.
        await autocommit.execute(text("CHECKPOINT"))


async def count_bookings(engine: AsyncEngine, tenant_id: str) -> int:
    async with engine.connect() as connection:
        result = await connection.execute(
            select(func.count()).where(orm.bookings.c.tenant_id == tenant_id)
        )
        return int(result.scalar_one())


# A charge and its application fee for each confirmed history booking numbered below :below,
# at the booking's creation (when the money moved, as a completed checkout records it).
_HISTORY_LEDGER_SQL = """
INSERT INTO ledger_entries (tenant_id, gateway_ref, kind, booking_id, amount, currency,
                            created_at, borne_by)
SELECT b.tenant_id, ref, kind, b.id, amount, b.currency, b.created_at, 'tenant'
FROM bookings AS b,
     LATERAL (VALUES ('ch_' || b.id, 'charge', b.customer_total),
                     ('fee_' || b.id, 'application_fee', b.application_fee))
         AS e(ref, kind, amount)
WHERE b.tenant_id = CAST(:tenant_id AS text) AND b.status = 'confirmed'
  AND b.id LIKE 'bk_hist_%' AND b.id < 'bk_hist_' || lpad(CAST(:below AS text), 8, '0')
"""


async def seed_ledger(engine: AsyncEngine, tenant: BenchTenant, entries: int) -> int:
    """About `entries` ledger entries for the tenant's history (PostgreSQL only): a charge and
    an application fee per confirmed booking, from the oldest booking number up; the count
    written."""
    # Nine in ten history bookings are confirmed, and each gives two entries.
    below = round(entries / 2 / 0.9)
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL synchronous_commit = off"))
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        indexes = await _drop_secondary_indexes(connection, "ledger_entries")
        result = await connection.execute(
            text(_HISTORY_LEDGER_SQL), {"tenant_id": tenant.tenant_id, "below": str(below)}
        )
        written = int(result.rowcount)
        await _rebuild_indexes(connection, indexes)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        # The engine's statement timeout is a request's; a checkpoint after a million rows
        # outlasted it on a machine whose disk other work kept busy.
        await autocommit.execute(text("SET statement_timeout = 0"))
        await autocommit.execute(text("ANALYZE ledger_entries"))
        await autocommit.execute(text("CHECKPOINT"))
    return written
