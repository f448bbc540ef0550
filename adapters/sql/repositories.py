"""Repositories over SQLAlchemy Core: rows are translated to and from domain objects here.

Seat changes, idempotency claims, webhook inbox records and ledger entries are each one
atomic statement (a conditional UPDATE, or an INSERT … ON CONFLICT DO NOTHING), so that
concurrent transactions on any number of processes can never overbook or double-count.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from adapters.sql import orm
from adapters.sql.pagination import decode_cursor, encode_cursor
from application.errors import NotFound
from application.ports import (
    AlreadyExists,
    BookingPage,
    ChargeRefunded,
    ClaimOutcome,
    ConcurrentUpdate,
    DisputeClosed,
    DisputeCreated,
    DisputeEvent,
    DisputeFunds,
    DisputeFundsReinstated,
    DisputeFundsWithdrawn,
    DisputeUpdated,
    IdempotencyClaim,
    PaymentAftermath,
    RefundRecord,
    SlotForSale,
    StoredResponse,
)
from domain.booking import (
    Booking,
    BookingStatus,
    CancelledBy,
    Customer,
    PaymentStatus,
    Refund,
    statuses_holding_seats,
    statuses_taking_seats,
)
from domain.cancellation import CancellationPolicy, CancellationWindow, RefundSplit
from domain.dispute import Dispute, DisputeStatus, Party, Recovery
from domain.fees import (
    BearerKind,
    CurrencyAmounts,
    FeeBearer,
    FeePolicy,
    FeePolicyScope,
    FeeQuote,
    RefundOnCancel,
    Tier,
    TierMode,
)
from domain.ledger import EntryKind, LedgerEntry, StatementLine, statement_line, tenant_bears
from domain.money import Money
from domain.offering import Offering, Slot, require_seats
from domain.tenant import ChargeModel, ConnectStatus, Tenant

# Hot statements are built once and executed with their values as parameters: building
# one per call (`insert(table).values(**values)`, `select(...).where(column == value)`)
# cost more CPU than its round trip (coercions, bind parameters, cache keys; see
# bench/findings.md), while a prebuilt statement only looks its compiled form up.
_INSERTS_IGNORING_DUPLICATES: dict[tuple[str, str], Insert] = {}


def _insert_ignoring_duplicates(connection: AsyncConnection, table: Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING <first key column>, in the connection's
    dialect, built once per table; execute it with the row's values as parameters."""
    dialect = connection.dialect.name
    statement = _INSERTS_IGNORING_DUPLICATES.get((dialect, table.name))
    if statement is None:
        first_key = next(iter(table.primary_key.columns))
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table).on_conflict_do_nothing().returning(first_key)
        _INSERTS_IGNORING_DUPLICATES[dialect, table.name] = statement
    return statement


async def _insert_once(
    connection: AsyncConnection, table: Table, values: Mapping[str, Any]
) -> bool:
    """Insert a row unless one with the same key exists; True when this call inserted it."""
    result = await connection.execute(_insert_ignoring_duplicates(connection, table), values)
    return result.first() is not None


def _now() -> datetime:
    return datetime.now(UTC)


# --- Translating values -----------------------------------------------------------------


def _money_json(money: Money | None) -> dict[str, Any] | None:
    return None if money is None else {"amount": money.amount, "currency": money.currency}


def _money_from_json(data: Mapping[str, Any] | None) -> Money | None:
    return None if data is None else Money(int(data["amount"]), str(data["currency"]))


def _tiers_json(tiers: Iterable[Tier]) -> list[dict[str, Any]]:
    return [
        {
            "up_to": _money_json(tier.up_to),
            "percent_bps": tier.percent_bps,
            "fixed": _money_json(tier.fixed),
        }
        for tier in tiers
    ]


def _tiers_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[Tier, ...]:
    return tuple(
        Tier(
            up_to=_money_from_json(tier["up_to"]),
            percent_bps=int(tier["percent_bps"]),
            fixed=_money_from_json(tier["fixed"]),
        )
        for tier in data
    )


def fee_policy_to_json(policy: FeePolicy) -> dict[str, Any]:
    """A fee policy as JSON with amounts in integer minor units (never floats)."""
    return {
        "version": policy.version,
        "percent_bps": policy.percent_bps,
        "fixed": _money_json(policy.fixed),
        "per_seat_fixed": _money_json(policy.per_seat_fixed),
        "tiers": _tiers_json(policy.tiers),
        "tier_mode": policy.tier_mode.value,
        "minimum": _money_json(policy.minimum),
        "maximum": _money_json(policy.maximum),
        "customer_share_bps": policy.bearer.customer_share_bps,
        "refund_on_cancel": policy.refund_on_cancel.value,
        "by_currency": [
            {
                "currency": amounts.currency,
                "fixed": _money_json(amounts.fixed),
                "per_seat_fixed": _money_json(amounts.per_seat_fixed),
                "tiers": _tiers_json(amounts.tiers),
                "minimum": _money_json(amounts.minimum),
                "maximum": _money_json(amounts.maximum),
            }
            for amounts in policy.by_currency
        ],
    }


def fee_policy_from_json(
    data: Mapping[str, Any], owner_id: str = "", scope: FeePolicyScope = FeePolicyScope.TENANT
) -> FeePolicy:
    """The stored policy, named as the tenant's (owner: tenant id) or an offering's."""
    return FeePolicy(
        percent_bps=int(data["percent_bps"]),
        fixed=_money_from_json(data["fixed"]),
        per_seat_fixed=_money_from_json(data["per_seat_fixed"]),
        tiers=_tiers_from_json(data["tiers"]),
        tier_mode=TierMode(data["tier_mode"]),
        minimum=_money_from_json(data["minimum"]),
        maximum=_money_from_json(data["maximum"]),
        bearer=FeeBearer(int(data["customer_share_bps"])),
        refund_on_cancel=RefundOnCancel(data["refund_on_cancel"]),
        version=int(data["version"]),
        by_currency=tuple(
            CurrencyAmounts(
                currency=str(amounts["currency"]),
                fixed=_money_from_json(amounts["fixed"]),
                per_seat_fixed=_money_from_json(amounts["per_seat_fixed"]),
                tiers=_tiers_from_json(amounts["tiers"]),
                minimum=_money_from_json(amounts["minimum"]),
                maximum=_money_from_json(amounts["maximum"]),
            )
            for amounts in data.get("by_currency") or ()
        ),
        id=owner_id,
        scope=scope,
    )


def _cancellation_policy_json(policy: CancellationPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        "windows": [
            {"hours_before": w.hours_before, "refund_percent": w.refund_percent}
            for w in policy.windows
        ]
    }


def _cancellation_policy_from_json(data: Mapping[str, Any] | None) -> CancellationPolicy | None:
    if data is None:
        return None
    return CancellationPolicy(
        tuple(
            CancellationWindow(int(w["hours_before"]), int(w["refund_percent"]))
            for w in data["windows"]
        )
    )


def _tenant_values(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "slug": tenant.slug,
        "country": tenant.country,
        "default_currency": tenant.default_currency,
        "timezone": tenant.timezone,
        "charge_model": tenant.charge_model.value,
        "account_id": tenant.connect.account_id,
        "charges_enabled": tenant.connect.charges_enabled,
        "payouts_enabled": tenant.connect.payouts_enabled,
        "details_submitted": tenant.connect.details_submitted,
        "requirements_due": list(tenant.connect.requirements_due),
        "connect_as_of": tenant.connect_as_of,
    }


def _tenant_from_row(row: Row[Any]) -> Tenant:
    return Tenant(
        id=row.id,
        name=row.name,
        slug=row.slug,
        country=row.country,
        default_currency=row.default_currency,
        timezone=row.timezone,
        charge_model=ChargeModel(row.charge_model),
        connect=ConnectStatus(
            account_id=row.account_id,
            charges_enabled=bool(row.charges_enabled),
            payouts_enabled=bool(row.payouts_enabled),
            details_submitted=bool(row.details_submitted),
            requirements_due=tuple(row.requirements_due),
        ),
        connect_as_of=row.connect_as_of,
    )


def _offering_values(offering: Offering) -> dict[str, Any]:
    return {
        "tenant_id": offering.tenant_id,
        "id": offering.id,
        "name": offering.name,
        "description": offering.description,
        "price_amount": offering.price.amount,
        "currency": offering.price.currency,
        "duration_minutes": offering.duration_minutes,
        "capacity": offering.capacity,
        "cancellation_policy": _cancellation_policy_json(offering.cancellation_policy),
        "archived": offering.archived,
        "max_seats_per_booking": offering.max_seats_per_booking,
    }


def _offering_from_row(row: Any) -> Offering:
    return Offering(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        price=Money(row.price_amount, row.currency),
        duration_minutes=row.duration_minutes,
        capacity=row.capacity,
        description=row.description,
        cancellation_policy=_cancellation_policy_from_json(row.cancellation_policy),
        fee_policy=None
        if row.fee_policy is None
        else fee_policy_from_json(row.fee_policy, row.id, FeePolicyScope.OFFERING),
        archived=bool(row.archived),
        max_seats_per_booking=row.max_seats_per_booking,
    )


def _slot_from_row(row: Any) -> Slot:
    return Slot(
        id=row.id,
        tenant_id=row.tenant_id,
        offering_id=row.offering_id,
        starts_at=row.starts_at,
        capacity=row.capacity,
        held=row.held,
        booked=row.booked,
        cancelled_at=row.cancelled_at,
        cancellation_reason=row.cancellation_reason,
    )


def booking_row(booking: Booking) -> dict[str, Any]:
    quote = booking.quote
    return {
        "tenant_id": booking.tenant_id,
        "id": booking.id,
        "offering_id": booking.offering_id,
        "slot_id": booking.slot_id,
        "seats": booking.seats,
        "starts_at": booking.starts_at,
        "customer_email": booking.customer.email,
        "customer_name": booking.customer.name,
        "currency": quote.currency,
        "unit_price": quote.unit_price.amount,
        "quote_seats": quote.seats,
        "subtotal": quote.subtotal.amount,
        "service_fee": quote.service_fee.amount,
        "customer_fee": quote.customer_fee.amount,
        "customer_total": quote.customer_total.amount,
        "application_fee": quote.application_fee.amount,
        "tenant_receives": quote.tenant_receives.amount,
        "fee_bearer": quote.fee_bearer.value,
        "fee_policy_version": quote.fee_policy_version,
        "fee_policy_id": quote.fee_policy_id,
        "fee_policy_scope": quote.fee_policy_scope.value,
        "refund_on_cancel": booking.refund_on_cancel.value,
        "status": booking.status.value,
        "payment_status": booking.payment_status.value,
        "hold_expires_at": booking.hold_expires_at,
        "created_at": booking.created_at,
        "gateway_session_id": booking.gateway_session_id,
        "payment_intent_id": booking.payment_intent_id,
        "cancelled_by": None if booking.cancelled_by is None else booking.cancelled_by.value,
        "cancellation_reason": booking.cancellation_reason,
        "access_token_hash": booking.access_token_hash,
        "cancellation_policy": _cancellation_policy_json(booking.cancellation_policy),
        "cancel_url": booking.cancel_url,
    }


def _refund_from_row(row: Any) -> Refund:
    return Refund(
        row.refund_id,
        RefundSplit(
            customer_refund=Money(row.customer_refund, row.currency),
            application_fee_refund=Money(row.application_fee_refund, row.currency),
        ),
        pending=row.pending,
        reason=row.reason,
        cancels=None if row.cancels is None else CancelledBy(row.cancels),
        reference=row.reference,
    )


def _dispute_values(dispute: Dispute) -> dict[str, Any]:
    recovery = dispute.recovery
    return {
        "tenant_id": dispute.tenant_id,
        "dispute_id": dispute.dispute_id,
        "booking_id": dispute.booking_id,
        "amount": dispute.amount.amount,
        "currency": dispute.amount.currency,
        "reason": dispute.reason,
        "created_at": dispute.created_at,
        "status": dispute.status.value,
        "is_charge_refundable": dispute.is_charge_refundable,
        "closed_at": dispute.closed_at,
        "as_of": dispute.as_of,
        "recovery_reference": None if recovery is None else recovery.reference,
        "recovery_amount": None if recovery is None else recovery.amount.amount,
        "recovery_reversal_id": None if recovery is None else recovery.reversal_id,
    }


def _dispute_from_row(row: Any) -> Dispute:
    recovery = None
    if row.recovery_reference is not None:
        recovery = Recovery(
            row.recovery_reference,
            Money(row.recovery_amount, row.currency),
            row.recovery_reversal_id,
        )
    return Dispute(
        tenant_id=row.tenant_id,
        booking_id=row.booking_id,
        dispute_id=row.dispute_id,
        amount=Money(row.amount, row.currency),
        reason=row.reason,
        created_at=row.created_at,
        status=DisputeStatus(row.status),
        is_charge_refundable=row.is_charge_refundable,
        closed_at=row.closed_at,
        as_of=row.as_of,
        recovery=recovery,
    )


# Disputes exist only on paid bookings: only their reads look for them.
_PAID_STATUSES = frozenset({BookingStatus.CONFIRMED.value, BookingStatus.CANCELLED.value})


def _booking_from_row(row: Row[Any], refunds: Iterable[Refund]) -> Booking:
    currency = row.currency

    def money(amount: int) -> Money:
        return Money(amount, currency)

    quote = FeeQuote(
        subtotal=money(row.subtotal),
        service_fee=money(row.service_fee),
        customer_fee=money(row.customer_fee),
        customer_total=money(row.customer_total),
        application_fee=money(row.application_fee),
        tenant_receives=money(row.tenant_receives),
        fee_bearer=BearerKind(row.fee_bearer),
        fee_policy_version=row.fee_policy_version,
        seats=row.quote_seats,
        unit_price=money(row.unit_price),
        fee_policy_id=row.fee_policy_id,
        fee_policy_scope=FeePolicyScope(row.fee_policy_scope),
    )
    return Booking(
        id=row.id,
        tenant_id=row.tenant_id,
        offering_id=row.offering_id,
        slot_id=row.slot_id,
        seats=row.seats,
        starts_at=row.starts_at,
        customer=Customer(email=row.customer_email, name=row.customer_name),
        quote=quote,
        refund_on_cancel=RefundOnCancel(row.refund_on_cancel),
        hold_expires_at=row.hold_expires_at,
        created_at=row.created_at,
        status=BookingStatus(row.status),
        gateway_session_id=row.gateway_session_id,
        payment_intent_id=row.payment_intent_id,
        refunds=tuple(refunds),
        cancelled_by=None if row.cancelled_by is None else CancelledBy(row.cancelled_by),
        cancellation_reason=row.cancellation_reason,
        access_token_hash=row.access_token_hash,
        cancellation_policy=_cancellation_policy_from_json(row.cancellation_policy),
        cancel_url=row.cancel_url,
    )


# --- Repositories -----------------------------------------------------------------------


_TENANT_BY_ID, _TENANT_BY_SLUG, _TENANT_BY_ACCOUNT = (
    select(orm.tenants).where(column == bindparam("t_value"))
    for column in (orm.tenants.c.id, orm.tenants.c.slug, orm.tenants.c.account_id)
)


class SqlAlchemyTenantRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, tenant: Tenant) -> None:
        if not await _insert_once(self._connection, orm.tenants, _tenant_values(tenant)):
            raise AlreadyExists(f"a tenant with id {tenant.id!r} or slug {tenant.slug!r} exists")

    async def _one(self, statement: Select[Any], value: str) -> Tenant | None:
        result = await self._connection.execute(statement, {"t_value": value})
        row = result.first()
        return None if row is None else _tenant_from_row(row)

    async def get(self, tenant_id: str) -> Tenant | None:
        return await self._one(_TENANT_BY_ID, tenant_id)

    async def get_by_slug(self, slug: str) -> Tenant | None:
        return await self._one(_TENANT_BY_SLUG, slug)

    async def lock_pricing(self, tenant_id: str) -> bool:
        # A row lock on PostgreSQL; SQLite has no FOR UPDATE and needs none, since every
        # transaction there begins with BEGIN IMMEDIATE and so runs alone.
        tenants = orm.tenants
        query = select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update()
        return (await self._connection.execute(query)).first() is not None

    async def find_by_account_id(self, account_id: str) -> Tenant | None:
        return await self._one(_TENANT_BY_ACCOUNT, account_id)

    async def update(self, tenant: Tenant) -> None:
        values = _tenant_values(tenant)
        del values["id"]
        # Never over a newer Connect snapshot stored meanwhile by another transaction.
        kept = orm.tenants.c.connect_as_of
        not_newer = (
            kept.is_(None)
            if tenant.connect_as_of is None
            else or_(kept.is_(None), kept <= tenant.connect_as_of)
        )
        statement = update(orm.tenants).where(orm.tenants.c.id == tenant.id, not_newer)
        result = await self._connection.execute(
            statement.values(**values).returning(orm.tenants.c.id)
        )
        if result.first() is None:
            if await self.get(tenant.id) is None:
                raise NotFound("tenant", tenant.id)
            raise ConcurrentUpdate(f"tenant {tenant.id} has a newer Connect snapshot")

    async def list(self, *, after: str | None = None, limit: int = 100) -> builtins.list[Tenant]:
        query = select(orm.tenants).order_by(orm.tenants.c.id).limit(limit)
        if after is not None:
            query = query.where(orm.tenants.c.id > after)
        result = await self._connection.execute(query)
        return [_tenant_from_row(row) for row in result]

    async def add_api_key(
        self, tenant_id: str, key_hash: str, *, label: str, created_at: datetime
    ) -> None:
        values = {
            "key_hash": key_hash,
            "tenant_id": tenant_id,
            "label": label,
            "created_at": created_at,
            "revoked_at": None,
        }
        if not await _insert_once(self._connection, orm.tenant_api_keys, values):
            raise AlreadyExists("an API key with this hash exists")

    async def find_by_api_key_hash(
        self, key_hash: str, *, now: datetime | None = None
    ) -> Tenant | None:
        keys = orm.tenant_api_keys
        query = (
            select(orm.tenants)
            .join(keys, keys.c.tenant_id == orm.tenants.c.id)
            .where(
                keys.c.key_hash == key_hash,
                or_(keys.c.revoked_at.is_(None), keys.c.revoked_at > (now or _now())),
            )
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else _tenant_from_row(row)

    async def revoke_other_api_keys(
        self, tenant_id: str, keep_hash: str, *, revoked_at: datetime
    ) -> int:
        keys = orm.tenant_api_keys
        result = await self._connection.execute(
            update(keys)
            .where(
                keys.c.tenant_id == tenant_id,
                keys.c.key_hash != keep_hash,
                or_(keys.c.revoked_at.is_(None), keys.c.revoked_at > revoked_at),
            )
            .values(revoked_at=revoked_at)
            .returning(keys.c.key_hash)
        )
        return len(result.all())

    async def revoke_api_key(self, tenant_id: str, key_hash: str, *, revoked_at: datetime) -> bool:
        keys = orm.tenant_api_keys
        result = await self._connection.execute(
            update(keys)
            .where(
                keys.c.tenant_id == tenant_id,
                keys.c.key_hash == key_hash,
                keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=revoked_at)
            .returning(keys.c.key_hash)
        )
        return result.first() is not None

    async def add_fee_policy(self, tenant_id: str, policy: FeePolicy) -> None:
        values = {
            "tenant_id": tenant_id,
            "version": policy.version,
            "policy": fee_policy_to_json(policy),
        }
        if not await _insert_once(self._connection, orm.fee_policies, values):
            raise AlreadyExists(f"fee policy version {policy.version} of tenant {tenant_id}")

    async def active_fee_policy(self, tenant_id: str) -> FeePolicy | None:
        policies = orm.fee_policies
        query = (
            select(policies.c.policy)
            .where(policies.c.tenant_id == tenant_id)
            .order_by(policies.c.version.desc())
            .limit(1)
        )
        data = (await self._connection.execute(query)).scalar_one_or_none()
        return None if data is None else fee_policy_from_json(data, tenant_id, TENANT)

    async def fee_policy(self, tenant_id: str, version: int) -> FeePolicy | None:
        policies = orm.fee_policies
        query = select(policies.c.policy).where(
            policies.c.tenant_id == tenant_id, policies.c.version == version
        )
        data = (await self._connection.execute(query)).scalar_one_or_none()
        return None if data is None else fee_policy_from_json(data, tenant_id, TENANT)


TENANT = FeePolicyScope.TENANT


def _override_of(offerings: Any) -> Any:
    """The offering's current override (NULL when it has none, or it was ended)."""
    overrides = orm.offering_fee_policies
    return (
        select(overrides.c.policy)
        .where(
            overrides.c.tenant_id == offerings.c.tenant_id,
            overrides.c.offering_id == offerings.c.id,
        )
        .order_by(overrides.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


# An offering's row with its current override as `fee_policy`.
_OFFERING_ROWS = select(orm.offerings, _override_of(orm.offerings).label("fee_policy"))


class SqlAlchemyOfferingRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, offering: Offering) -> None:
        if not await _insert_once(self._connection, orm.offerings, _offering_values(offering)):
            raise AlreadyExists(f"offering {offering.id} exists")

    async def get(self, tenant_id: str, offering_id: str) -> Offering | None:
        query = _OFFERING_ROWS.where(
            orm.offerings.c.tenant_id == tenant_id, orm.offerings.c.id == offering_id
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else _offering_from_row(row)

    async def update(self, offering: Offering) -> None:
        values = _offering_values(offering)
        del values["tenant_id"], values["id"]
        table = orm.offerings
        result = await self._connection.execute(
            update(table)
            .where(table.c.tenant_id == offering.tenant_id, table.c.id == offering.id)
            .values(**values)
            .returning(table.c.id)
        )
        if result.first() is None:
            raise NotFound("offering", offering.id)

    async def list(
        self,
        tenant_id: str,
        *,
        include_archived: bool = False,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Offering]:
        table = orm.offerings
        query = _OFFERING_ROWS.where(table.c.tenant_id == tenant_id)
        if not include_archived:
            query = query.where(table.c.archived.is_(False))
        if after is not None:
            name, ident = after
            query = query.where(
                or_(table.c.name > name, and_(table.c.name == name, table.c.id > ident))
            )
        query = query.order_by(table.c.name, table.c.id)
        if limit is not None:
            query = query.limit(limit)
        result = await self._connection.execute(query)
        return [_offering_from_row(row) for row in result]

    async def last_fee_policy_override_version(self, tenant_id: str, offering_id: str) -> int:
        overrides = orm.offering_fee_policies
        query = select(func.max(overrides.c.version)).where(
            overrides.c.tenant_id == tenant_id, overrides.c.offering_id == offering_id
        )
        version = (await self._connection.execute(query)).scalar_one_or_none()
        return int(version or 0)

    async def add_fee_policy_override(
        self, tenant_id: str, offering_id: str, version: int, policy: FeePolicy | None
    ) -> None:
        values = {
            "tenant_id": tenant_id,
            "offering_id": offering_id,
            "version": version,
            "policy": None if policy is None else fee_policy_to_json(policy),
        }
        if not await _insert_once(self._connection, orm.offering_fee_policies, values):
            raise AlreadyExists(f"fee policy version {version} of offering {offering_id}")


class _Prefixed:
    """Attribute access to the columns of a joined row that carry one label prefix."""

    __slots__ = ("_prefix", "_values")

    def __init__(self, values: Mapping[str, Any], prefix: str) -> None:
        self._values = values
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._values[self._prefix + name]


def _slot_for_sale_statement() -> Select[Any]:
    tenants, slots, offerings, policies = orm.tenants, orm.slots, orm.offerings, orm.fee_policies
    active_policy = (
        select(policies.c.policy)
        .where(policies.c.tenant_id == tenants.c.id)
        .order_by(policies.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            *(column.label(f"t_{column.name}") for column in tenants.c),
            *(column.label(f"s_{column.name}") for column in slots.c),
            *(column.label(f"o_{column.name}") for column in offerings.c),
            _override_of(offerings).label("o_fee_policy"),
            active_policy.label("active_fee_policy"),
        )
        .select_from(
            tenants.outerjoin(
                slots, and_(slots.c.tenant_id == tenants.c.id, slots.c.id == bindparam("s_id"))
            ).outerjoin(
                offerings,
                and_(
                    offerings.c.tenant_id == slots.c.tenant_id,
                    offerings.c.id == slots.c.offering_id,
                ),
            )
        )
        .where(tenants.c.slug == bindparam("t_slug"))
    )


# The checkout's first read: tenant, slot, offering and active fee policy in one round trip.
_SLOT_FOR_SALE = _slot_for_sale_statement()


def _seat_change(condition: Any, **changes: Any) -> Any:
    """UPDATE slots SET <changes> WHERE <the slot> AND <condition> RETURNING id."""
    slots = orm.slots
    return (
        update(slots)
        .where(
            slots.c.tenant_id == bindparam("s_tenant_id"),
            slots.c.id == bindparam("s_id"),
            condition,
        )
        .values(**changes)
        .returning(slots.c.id)
    )


_s = orm.slots.c
_seats = bindparam("s_seats", type_=Integer)
# A cancelled slot takes no seats: its cancellation and a hold cannot cross.
_TRY_HOLD = _seat_change(
    and_(_s.held + _s.booked + _seats <= _s.capacity, _s.cancelled_at.is_(None)),
    held=_s.held + _seats,
)
_RELEASE_HOLD = _seat_change(_s.held >= _seats, held=_s.held - _seats)
_CONFIRM_HOLD = _seat_change(_s.held >= _seats, held=_s.held - _seats, booked=_s.booked + _seats)
_TRY_BOOK = _seat_change(
    and_(_s.held + _s.booked + _seats <= _s.capacity, _s.cancelled_at.is_(None)),
    booked=_s.booked + _seats,
)
_capacity = bindparam("s_capacity", type_=Integer)
_RESIZE = _seat_change(_s.held + _s.booked <= _capacity, capacity=_capacity)
_RELEASE_BOOKED = _seat_change(_s.booked >= _seats, booked=_s.booked - _seats)


class SqlAlchemySlotRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, slot: Slot) -> None:
        values = {
            "tenant_id": slot.tenant_id,
            "id": slot.id,
            "offering_id": slot.offering_id,
            "starts_at": slot.starts_at,
            "capacity": slot.capacity,
            "held": slot.held,
            "booked": slot.booked,
            "cancelled_at": slot.cancelled_at,
            "cancellation_reason": slot.cancellation_reason,
        }
        if not await _insert_once(self._connection, orm.slots, values):
            raise AlreadyExists(
                f"slot {slot.id} exists, or offering {slot.offering_id} already has a slot "
                f"starting at {slot.starts_at.isoformat()}"
            )

    async def get(self, tenant_id: str, slot_id: str) -> Slot | None:
        query = select(orm.slots).where(
            orm.slots.c.tenant_id == tenant_id, orm.slots.c.id == slot_id
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else _slot_from_row(row)

    async def get_for_sale(self, tenant_slug: str, slot_id: str) -> SlotForSale | None:
        row = (
            await self._connection.execute(_SLOT_FOR_SALE, {"t_slug": tenant_slug, "s_id": slot_id})
        ).first()
        if row is None:
            return None
        values = row._mapping
        tenant = _tenant_from_row(_Prefixed(values, "t_"))
        slot = None if row.s_id is None else _slot_from_row(_Prefixed(values, "s_"))
        offering = None if row.o_id is None else _offering_from_row(_Prefixed(values, "o_"))
        policy = row.active_fee_policy
        return SlotForSale(
            tenant,
            slot,
            offering,
            None if policy is None else fee_policy_from_json(policy, tenant.id, TENANT),
        )

    async def list_for_offering(
        self,
        tenant_id: str,
        offering_id: str,
        *,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Slot]:
        table = orm.slots
        query = select(table).where(
            table.c.tenant_id == tenant_id, table.c.offering_id == offering_id
        )
        if starts_from is not None:
            query = query.where(table.c.starts_at >= starts_from)
        if starts_before is not None:
            query = query.where(table.c.starts_at < starts_before)
        if after is not None:
            last_start, last_id = after
            query = query.where(
                or_(
                    table.c.starts_at > last_start,
                    and_(table.c.starts_at == last_start, table.c.id > last_id),
                )
            )
        query = query.order_by(table.c.starts_at, table.c.id)
        if limit is not None:
            query = query.limit(limit)
        result = await self._connection.execute(query)
        return [_slot_from_row(row) for row in result]

    async def taken_starts(
        self, tenant_id: str, offering_id: str, starts: Collection[datetime]
    ) -> set[datetime]:
        table = orm.slots
        query = select(table.c.starts_at).where(
            table.c.tenant_id == tenant_id,
            table.c.offering_id == offering_id,
            table.c.starts_at.in_(list(starts)),
        )
        return set((await self._connection.execute(query)).scalars())

    async def offering_has_slots(self, tenant_id: str, offering_id: str) -> bool:
        table = orm.slots
        query = (
            select(table.c.id)
            .where(table.c.tenant_id == tenant_id, table.c.offering_id == offering_id)
            .limit(1)
        )
        return (await self._connection.execute(query)).first() is not None

    async def _change_seats(self, statement: Any, tenant_id: str, slot_id: str, seats: int) -> bool:
        # One conditional statement: the check and the change cannot be separated by
        # another transaction, whatever the isolation level.
        result = await self._connection.execute(
            statement,
            {"s_tenant_id": tenant_id, "s_id": slot_id, "s_seats": require_seats(seats)},
        )
        return result.first() is not None

    async def try_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_TRY_HOLD, tenant_id, slot_id, seats)

    async def release_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_RELEASE_HOLD, tenant_id, slot_id, seats)

    async def confirm_hold(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_CONFIRM_HOLD, tenant_id, slot_id, seats)

    async def try_book(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_TRY_BOOK, tenant_id, slot_id, seats)

    async def release_booked(self, tenant_id: str, slot_id: str, seats: int) -> bool:
        return await self._change_seats(_RELEASE_BOOKED, tenant_id, slot_id, seats)

    async def resize(self, tenant_id: str, slot_id: str, capacity: int) -> bool:
        result = await self._connection.execute(
            _RESIZE, {"s_tenant_id": tenant_id, "s_id": slot_id, "s_capacity": capacity}
        )
        return result.first() is not None

    async def cancel(self, slot: Slot) -> bool:
        result = await self._connection.execute(
            update(orm.slots)
            .where(
                _s.tenant_id == slot.tenant_id,
                _s.id == slot.id,
                _s.cancelled_at.is_(None),
            )
            .values(cancelled_at=slot.cancelled_at, cancellation_reason=slot.cancellation_reason)
            .returning(_s.id)
        )
        return result.first() is not None

    async def cancelled_with_bookings(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        b = orm.bookings.c
        query = (
            select(_s.tenant_id, _s.id)
            .where(
                _s.cancelled_at.is_not(None),
                exists().where(
                    b.tenant_id == _s.tenant_id,
                    b.slot_id == _s.id,
                    b.status.in_([s.value for s in statuses_taking_seats()]),
                ),
            )
            .order_by(_s.tenant_id, _s.id)
            .limit(limit)
        )
        return [(row.tenant_id, row.id) for row in await self._connection.execute(query)]


def _booking_with_refunds(*criteria: Any) -> Select[Any]:
    """The first booking matching `criteria`, one row per refund (or one row without).

    The refunds come in the same round trip as their booking, in the order they were
    recorded; their columns are labelled r_….
    """
    booking = select(orm.bookings).where(*criteria).limit(1).subquery("b")
    refunds = orm.booking_refunds
    return (
        select(
            booking,
            *(
                column.label(f"r_{column.name}")
                for column in refunds.c
                if column.name not in ("tenant_id", "booking_id")
            ),
        )
        .select_from(
            booking.outerjoin(
                refunds,
                and_(
                    refunds.c.tenant_id == booking.c.tenant_id,
                    refunds.c.booking_id == booking.c.id,
                ),
            )
        )
        .order_by(refunds.c.position)
    )


_b = orm.bookings.c
_BOOKING_BY_KEY = _booking_with_refunds(
    _b.tenant_id == bindparam("b_tenant_id"), _b.id == bindparam("b_id")
)
_BOOKING_BY_ID = _booking_with_refunds(_b.id == bindparam("b_id"))
_BOOKING_BY_SESSION = _booking_with_refunds(_b.gateway_session_id == bindparam("b_session_id"))
_BOOKING_BY_PAYMENT = _booking_with_refunds(
    _b.payment_intent_id == bindparam("b_payment_intent_id")
)

# A booking's columns come as parameters of the execution (all but its key, so SET names
# every one of them); the version goes up by one.
_UPDATE_BOOKING = (
    update(orm.bookings)
    .where(_b.tenant_id == bindparam("b_tenant_id"), _b.id == bindparam("b_id"))
    .values(version=_b.version + 1)
    .returning(_b.version)
)
# … only while it is still the version this unit of work read (optimistic locking).
_UPDATE_BOOKING_AT_VERSION = _UPDATE_BOOKING.where(_b.version == bindparam("b_version"))


_HOLD_AND_ADD: dict[tuple[str, ...], Select[Any]] = {}


def _hold_and_add_statement(columns: tuple[str, ...]) -> Select[Any]:
    """PostgreSQL: the seat hold (_TRY_HOLD) and the booking's INSERT in one statement.

    The conditional UPDATE runs in a CTE, and the INSERT takes its row from that CTE's
    RETURNING, so the booking is stored only if the seats were held; the result tells
    how many rows each wrote (held 0: no seats; held 1, added 0: the id is taken). Built
    once per set of columns given (like a plain INSERT, the others get their defaults);
    the value of column c is the parameter bk_c.
    """
    statement = _HOLD_AND_ADD.get(columns)
    if statement is not None:
        return statement
    held = _TRY_HOLD.cte("held")
    bookings = orm.bookings
    row = select(
        *(bindparam(f"bk_{name}", type_=bookings.c[name].type) for name in columns)
    ).select_from(held)
    added = (
        postgresql.insert(bookings)
        .from_select(list(columns), row)
        .on_conflict_do_nothing()
        .returning(bookings.c.id)
        .cte("added")
    )
    statement = select(
        select(func.count()).select_from(held).scalar_subquery().label("held"),
        select(func.count()).select_from(added).scalar_subquery().label("added"),
    )
    _HOLD_AND_ADD[columns] = statement
    return statement


# The checkout's last write, built once: a conditional UPDATE instead of read-then-update.
# The condition is wrapped in a CASE so that no index can serve it and PostgreSQL always
# finds the row by its primary key: as `status = … AND gateway_session_id IS NULL`, the
# generic plan of the prepared statement (a pooled connection keeps it) used the index on
# (tenant_id, status) when the statistics were stale, and filtered every pending booking
# of the tenant: 4.4 ms of database CPU per checkout with 15,000 of them (bench/findings.md).
_ATTACH_SESSION = (
    update(orm.bookings)
    .where(
        orm.bookings.c.tenant_id == bindparam("b_tenant_id"),
        orm.bookings.c.id == bindparam("b_id"),
        case(
            (
                and_(
                    orm.bookings.c.status == BookingStatus.PENDING_PAYMENT.value,
                    orm.bookings.c.gateway_session_id.is_(None),
                ),
                true(),
            ),
            else_=false(),
        ),
    )
    .values(gateway_session_id=bindparam("b_session_id"), version=orm.bookings.c.version + 1)
    .returning(orm.bookings.c.version)
)


class SqlAlchemyBookingRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        # The version each booking was read at in this unit of work (optimistic locking),
        # and its refunds as stored then, so an update writes only refunds that changed.
        self._versions: dict[tuple[str, str], int] = {}
        self._stored_refunds: dict[tuple[str, str], tuple[Refund, ...]] = {}
        self._stored_disputes: dict[tuple[str, str], tuple[Dispute, ...]] = {}

    def forget_versions(self) -> None:
        self._versions.clear()
        self._stored_refunds.clear()
        self._stored_disputes.clear()

    async def _save_disputes(self, booking: Booking) -> None:
        """Store the booking's disputes as they are now (few per booking: each changed
        one is written again whole; the booking's version guards them)."""
        key = (booking.tenant_id, booking.id)
        stored = {d.dispute_id: d for d in self._stored_disputes.get(key, ())}
        table = orm.disputes
        for dispute in booking.disputes:
            if stored.get(dispute.dispute_id) == dispute:
                continue
            await self._connection.execute(
                delete(table).where(
                    table.c.tenant_id == dispute.tenant_id,
                    table.c.dispute_id == dispute.dispute_id,
                )
            )
            await self._connection.execute(insert(table).values(_dispute_values(dispute)))
        self._stored_disputes[key] = booking.disputes

    async def _with_disputes(self, bookings: builtins.list[Booking]) -> builtins.list[Booking]:
        paid = [b for b in bookings if b.status.value in _PAID_STATUSES]
        if not paid:
            return bookings
        table = orm.disputes
        found: dict[tuple[str, str], builtins.list[Dispute]] = {}
        by_tenant: dict[str, builtins.list[str]] = {}
        for booking in paid:
            by_tenant.setdefault(booking.tenant_id, []).append(booking.id)
        for tenant_id, ids in by_tenant.items():
            result = await self._connection.execute(
                select(table)
                .where(table.c.tenant_id == tenant_id, table.c.booking_id.in_(ids))
                .order_by(table.c.created_at, table.c.dispute_id)
            )
            for row in result:
                found.setdefault((row.tenant_id, row.booking_id), []).append(_dispute_from_row(row))
        loaded = []
        for booking in bookings:
            disputes = tuple(found.get((booking.tenant_id, booking.id), ()))
            self._stored_disputes[booking.tenant_id, booking.id] = disputes
            loaded.append(replace(booking, disputes=disputes) if disputes else booking)
        return loaded

    async def add(self, booking: Booking) -> None:
        values = booking_row(booking) | {"version": 1}
        if not await _insert_once(self._connection, orm.bookings, values):
            raise AlreadyExists(f"booking {booking.id} exists")
        self._versions[booking.tenant_id, booking.id] = 1
        await self._add_refunds(booking)
        await self._save_disputes(booking)

    async def count_pending_for_customer(self, tenant_id: str, email: str) -> int:
        table = orm.bookings
        count = await self._connection.scalar(
            select(func.count())
            .select_from(table)
            .where(
                table.c.tenant_id == tenant_id,
                table.c.status == BookingStatus.PENDING_PAYMENT.value,
                func.lower(table.c.customer_email) == email.lower(),
            )
        )
        return int(count or 0)

    async def add_holding_seats(self, booking: Booking) -> bool:
        if self._connection.dialect.name != "postgresql":
            slots = SqlAlchemySlotRepository(self._connection)
            if not await slots.try_hold(booking.tenant_id, booking.slot_id, booking.seats):
                return False
            await self.add(booking)
            return True
        values = booking_row(booking) | {"version": 1}
        statement = _hold_and_add_statement(tuple(values))
        parameters = {f"bk_{name}": value for name, value in values.items()}
        parameters |= {
            "s_tenant_id": booking.tenant_id,
            "s_id": booking.slot_id,
            "s_seats": require_seats(booking.seats),
        }
        counts = (await self._connection.execute(statement, parameters)).one()
        if not counts.held:
            return False
        if not counts.added:
            # The statement held the seats all the same: give them back before refusing,
            # which matters when no transaction would roll the hold back (single_write).
            slots = SqlAlchemySlotRepository(self._connection)
            await slots.release_hold(booking.tenant_id, booking.slot_id, booking.seats)
            raise AlreadyExists(f"booking {booking.id} exists")
        self._versions[booking.tenant_id, booking.id] = 1
        await self._add_refunds(booking)
        return True

    async def _add_refunds(self, booking: Booking, start: int = 0) -> None:
        for position, refund in enumerate(booking.refunds[start:], start=start):
            await self._insert_refund(booking, position, refund)
        self._stored_refunds[booking.tenant_id, booking.id] = booking.refunds

    async def _replace_refunds(self, booking: Booking) -> None:
        """Store the booking's refunds as they are now: a reserved refund may have been
        settled under the gateway's id, or released; the booking's version guards it.

        Most updates leave the refunds alone or append one: only then is nothing deleted.
        """
        stored = self._stored_refunds.get((booking.tenant_id, booking.id))
        if stored is not None and booking.refunds[: len(stored)] == stored:
            if len(booking.refunds) > len(stored):
                await self._add_refunds(booking, start=len(stored))
            return
        table = orm.booking_refunds
        await self._connection.execute(
            delete(table).where(
                table.c.tenant_id == booking.tenant_id, table.c.booking_id == booking.id
            )
        )
        await self._add_refunds(booking)

    async def _insert_refund(self, booking: Booking, position: int, refund: Refund) -> None:
        await _insert_once(
            self._connection,
            orm.booking_refunds,
            {
                "tenant_id": booking.tenant_id,
                "booking_id": booking.id,
                "refund_id": refund.refund_id,
                "position": position,
                "currency": refund.split.customer_refund.currency,
                "customer_refund": refund.split.customer_refund.amount,
                "application_fee_refund": refund.split.application_fee_refund.amount,
                "pending": refund.pending,
                "reason": refund.reason,
                "cancels": None if refund.cancels is None else refund.cancels.value,
                "reference": refund.reference,
            },
        )

    async def _load(self, query: Select[Any]) -> builtins.list[Booking]:
        rows = (await self._connection.execute(query)).all()
        if not rows:
            return []
        refunds: dict[tuple[str, str], builtins.list[Refund]] = {}
        table = orm.booking_refunds
        by_tenant: dict[str, builtins.list[str]] = {}
        for row in rows:
            by_tenant.setdefault(row.tenant_id, []).append(row.id)
        for tenant_id, ids in by_tenant.items():
            result = await self._connection.execute(
                select(table)
                .where(table.c.tenant_id == tenant_id, table.c.booking_id.in_(ids))
                .order_by(table.c.position)
            )
            for refund in result:
                refunds.setdefault((refund.tenant_id, refund.booking_id), []).append(
                    _refund_from_row(refund)
                )
        return await self._with_disputes(
            [self._seen(row, refunds.get((row.tenant_id, row.id), ())) for row in rows]
        )

    def _seen(self, row: Row[Any], refunds: Iterable[Refund]) -> Booking:
        booking = _booking_from_row(row, refunds)
        self._versions[row.tenant_id, row.id] = row.version
        self._stored_refunds[row.tenant_id, row.id] = booking.refunds
        return booking

    async def _first(self, statement: Select[Any], **parameters: str) -> Booking | None:
        """One booking and its refunds, read by one of the _BOOKING_BY_* statements."""
        rows = (await self._connection.execute(statement, parameters)).all()
        if not rows:
            return None
        refunds = [
            _refund_from_row(_Prefixed(row._mapping, "r_"))
            for row in rows
            if row.r_refund_id is not None
        ]
        (booking,) = await self._with_disputes([self._seen(rows[0], refunds)])
        return booking

    async def get(self, tenant_id: str, booking_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_KEY, b_tenant_id=tenant_id, b_id=booking_id)

    async def find_by_id(self, booking_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_ID, b_id=booking_id)

    async def on_slot(self, tenant_id: str, slot_id: str) -> builtins.list[Booking]:
        query = (
            select(orm.bookings)
            .where(
                _b.tenant_id == tenant_id,
                _b.slot_id == slot_id,
                _b.status.in_([s.value for s in statuses_taking_seats()]),
            )
            .order_by(_b.created_at, _b.id)
        )
        return await self._load(query)

    async def find_by_gateway_session(self, session_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_SESSION, b_session_id=session_id)

    async def find_by_payment_intent(self, payment_intent_id: str) -> Booking | None:
        return await self._first(_BOOKING_BY_PAYMENT, b_payment_intent_id=payment_intent_id)

    async def update(self, booking: Booking) -> None:
        values = booking_row(booking)
        del values["tenant_id"], values["id"]
        values["b_tenant_id"], values["b_id"] = booking.tenant_id, booking.id
        read_at = self._versions.get((booking.tenant_id, booking.id))
        if read_at is None:
            statement = _UPDATE_BOOKING
        else:
            statement = _UPDATE_BOOKING_AT_VERSION
            values["b_version"] = read_at
        result = await self._connection.execute(statement, values)
        version = result.scalar_one_or_none()
        if version is None:
            if read_at is None:
                raise NotFound("booking", booking.id)
            raise ConcurrentUpdate(f"booking {booking.id} changed since it was read")
        self._versions[booking.tenant_id, booking.id] = version
        await self._replace_refunds(booking)
        await self._save_disputes(booking)

    async def attach_session(self, tenant_id: str, booking_id: str, session_id: str) -> bool:
        # The version goes up, but the one this unit of work may have read stays recorded:
        # a copy read before this write is stale (it lacks the session), and saving it
        # must be a ConcurrentUpdate.
        result = await self._connection.execute(
            _ATTACH_SESSION,
            {"b_tenant_id": tenant_id, "b_id": booking_id, "b_session_id": session_id},
        )
        return result.first() is not None

    async def claim_lapsed_holds(
        self,
        tenant_id: str,
        before: datetime,
        *,
        now: datetime,
        claim_until: datetime,
        limit: int = 100,
    ) -> builtins.list[Booking]:
        # One UPDATE over the rows a CTE picks: on PostgreSQL the CTE locks them and skips
        # rows another sweeper is claiming right now (SKIP LOCKED), and once that sweeper
        # commits, its claim excludes them; on SQLite every write is serialised. (A CTE,
        # not `IN (subquery)`: with the subquery, PostgreSQL updated more rows than its
        # LIMIT in the repository contract test, as a plan may scan it again per row; a
        # CTE with FOR UPDATE is evaluated once.)
        c = orm.bookings.c
        lapsed = orm.bookings.alias("lapsed").c
        picked = (
            select(lapsed.tenant_id, lapsed.id)
            .where(
                lapsed.tenant_id == tenant_id,
                lapsed.status.in_([s.value for s in statuses_holding_seats()]),
                lapsed.hold_expires_at < before,
                or_(lapsed.sweep_claimed_until.is_(None), lapsed.sweep_claimed_until <= now),
            )
            .order_by(lapsed.hold_expires_at, lapsed.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        claimed = await self._connection.execute(
            update(orm.bookings)
            .where(c.tenant_id == picked.c.tenant_id, c.id == picked.c.id)
            .values(sweep_claimed_until=claim_until)
            .returning(c.id)
        )
        ids = list(claimed.scalars())
        if not ids:
            return []
        query = (
            select(orm.bookings)
            .where(c.tenant_id == tenant_id, c.id.in_(ids))
            .order_by(c.hold_expires_at, c.id)
        )
        return await self._load(query)

    async def with_refunds_due(self, *, limit: int = 100) -> builtins.list[tuple[str, str]]:
        r, b = orm.booking_refunds.c, orm.bookings.c
        unknown = select(r.tenant_id, r.booking_id).where(r.pending.is_(True))
        refunded_or_reserved = (
            select(func.coalesce(func.sum(r.customer_refund), 0))
            .where(r.tenant_id == b.tenant_id, r.booking_id == b.id)
            .scalar_subquery()
        )
        owed = select(b.tenant_id, b.id.label("booking_id")).where(
            b.cancelled_by == CancelledBy.SYSTEM.value,
            b.customer_total > refunded_or_reserved,
        )
        due = union(unknown, owed).subquery()
        query = select(due.c.tenant_id, due.c.booking_id).order_by(
            due.c.tenant_id, due.c.booking_id
        )
        rows = await self._connection.execute(query.limit(limit))
        return [(row.tenant_id, row.booking_id) for row in rows]

    async def tenants_with_lapsed_holds(self, before: datetime) -> builtins.list[str]:
        c = orm.bookings.c
        query = (
            select(c.tenant_id)
            .where(
                c.status.in_([s.value for s in statuses_holding_seats()]),
                c.hold_expires_at < before,
            )
            .distinct()
            .order_by(c.tenant_id)
        )
        return list((await self._connection.execute(query)).scalars())

    async def list(
        self,
        tenant_id: str,
        *,
        statuses: Collection[BookingStatus] = (),
        payment_statuses: Collection[PaymentStatus] = (),
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> BookingPage:
        c = orm.bookings.c
        criteria: builtins.list[Any] = [c.tenant_id == tenant_id]
        if statuses:
            criteria.append(c.status.in_([BookingStatus(s).value for s in statuses]))
        if payment_statuses:
            criteria.append(
                c.payment_status.in_([PaymentStatus(s).value for s in payment_statuses])
            )
        if created_from is not None:
            criteria.append(c.created_at >= created_from)
        if created_before is not None:
            criteria.append(c.created_at < created_before)
        if starts_from is not None:
            criteria.append(c.starts_at >= starts_from)
        if starts_before is not None:
            criteria.append(c.starts_at < starts_before)
        if cursor is not None:
            last_created, last_id = decode_cursor(cursor)
            criteria.append(
                or_(c.created_at < last_created, and_(c.created_at == last_created, c.id < last_id))
            )
        query = (
            select(orm.bookings)
            .where(*criteria)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit + 1)
        )
        found = await self._load(query)
        page = found[:limit]
        next_cursor = (
            encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
        )
        return BookingPage(items=tuple(page), next_cursor=next_cursor)


_KIND_ORDER = {kind.value: rank for rank, kind in enumerate(EntryKind)}
_LEDGER_INSERTS: dict[tuple[str, int], Insert] = {}
_LEDGER_COLUMNS = (
    "tenant_id",
    "gateway_ref",
    "kind",
    "booking_id",
    "amount",
    "currency",
    "created_at",
    "borne_by",
)


def _ledger_insert(dialect: str, rows: int) -> Insert:
    """A multi-row INSERT … ON CONFLICT DO NOTHING RETURNING the key, built once per row
    count: row n's values are the parameters <column>_<n>. (SQLAlchemy's executemany with
    RETURNING sends the same SQL, but re-renders it on every call.)"""
    statement = _LEDGER_INSERTS.get((dialect, rows))
    if statement is None:
        table = orm.ledger_entries
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(table)
            .values(
                [
                    {
                        name: bindparam(f"{name}_{n}", type_=table.c[name].type)
                        for name in _LEDGER_COLUMNS
                    }
                    for n in range(rows)
                ]
            )
            .on_conflict_do_nothing()
            .returning(table.c.tenant_id, table.c.gateway_ref, table.c.kind)
        )
        _LEDGER_INSERTS[dialect, rows] = statement
    return statement


def _ledger_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "tenant_id": entry.tenant_id,
        "gateway_ref": entry.gateway_ref,
        "kind": entry.kind.value,
        "booking_id": entry.booking_id,
        "amount": entry.amount.amount,
        "currency": entry.amount.currency,
        "created_at": entry.created_at,
        "borne_by": entry.borne_by.value,
    }


class SqlAlchemyLedgerRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, entry: LedgerEntry) -> bool:
        return await _insert_once(self._connection, orm.ledger_entries, _ledger_values(entry))

    async def add_all(self, entries: Iterable[LedgerEntry]) -> builtins.list[bool]:
        rows = [_ledger_values(entry) for entry in entries]
        if not rows:
            return []
        statement = _ledger_insert(self._connection.dialect.name, len(rows))
        parameters = {
            f"{name}_{n}": value for n, row in enumerate(rows) for name, value in row.items()
        }
        # One INSERT … VALUES (…), (…) … ON CONFLICT DO NOTHING: conflicting rows return nothing.
        inserted = {tuple(row) for row in await self._connection.execute(statement, parameters)}
        flags = []
        for row in rows:
            key = (row["tenant_id"], row["gateway_ref"], row["kind"])
            flags.append(key in inserted)
            inserted.discard(key)
        return flags

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[LedgerEntry]:
        c = orm.ledger_entries.c
        query = (
            select(orm.ledger_entries)
            .where(c.tenant_id == tenant_id, c.booking_id == booking_id)
            .order_by(c.created_at, case(_KIND_ORDER, value=c.kind), c.gateway_ref)
        )
        return [
            LedgerEntry(
                tenant_id=row.tenant_id,
                booking_id=row.booking_id,
                kind=EntryKind(row.kind),
                amount=Money(row.amount, row.currency),
                gateway_ref=row.gateway_ref,
                created_at=row.created_at,
                borne_by=Party(row.borne_by),
            )
            for row in await self._connection.execute(query)
        ]

    async def statement(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        currency: str | None = None,
    ) -> list[StatementLine]:
        c = orm.ledger_entries.c
        criteria: list[Any] = [c.tenant_id == tenant_id]
        if since is not None:
            criteria.append(c.created_at >= since)
        if until is not None:
            criteria.append(c.created_at < until)
        if currency is not None:
            criteria.append(c.currency == currency)
        query = (
            select(
                c.currency,
                c.kind,
                c.borne_by,
                func.sum(c.amount),
                func.count(c.booking_id.distinct()),
            )
            .where(*criteria)
            .group_by(c.currency, c.kind, c.borne_by)
        )
        sums: dict[str, dict[EntryKind, int]] = {}
        bookings: dict[str, int] = {}
        for code, kind, borne_by, total, distinct in await self._connection.execute(query):
            totals = sums.setdefault(code, dict.fromkeys(EntryKind, 0))
            if tenant_bears(EntryKind(kind), Party(borne_by)):
                totals[EntryKind(kind)] += int(total)
            if kind == EntryKind.CHARGE.value:
                bookings[code] = int(distinct)
        return [
            statement_line(code, bookings.get(code, 0), totals)
            for code, totals in sorted(sums.items())
        ]


class SqlAlchemyDisputeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def list_for_booking(self, tenant_id: str, booking_id: str) -> list[Dispute]:
        c = orm.disputes.c
        query = (
            select(orm.disputes)
            .where(c.tenant_id == tenant_id, c.booking_id == booking_id)
            .order_by(c.created_at, c.dispute_id)
        )
        return [_dispute_from_row(row) for row in await self._connection.execute(query)]

    async def with_pending_recoveries(self, *, limit: int = 100) -> list[tuple[str, str]]:
        c = orm.disputes.c
        query = (
            select(c.tenant_id, c.booking_id)
            .where(c.recovery_reference.is_not(None), c.recovery_reversal_id.is_(None))
            .distinct()
            .order_by(c.tenant_id, c.booking_id)
            .limit(limit)
        )
        return [(row.tenant_id, row.booking_id) for row in await self._connection.execute(query)]


class SqlAlchemyWebhookInbox:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(self, event_id: str) -> bool:
        values = {"event_id": event_id, "received_at": _now()}
        return await _insert_once(self._connection, orm.webhook_inbox, values)


_TAKE_PARKED = (
    delete(orm.parked_events)
    .where(orm.parked_events.c.payment_intent_id == bindparam("p_payment"))
    .returning(orm.parked_events.c.payload)
)


class SqlAlchemyParkedEvents:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def park(self, payment_intent_id: str, event: PaymentAftermath) -> bool:
        values = {
            "event_id": event.event_id,
            "payment_intent_id": payment_intent_id,
            "payload": _aftermath_json(event),
            "created_at": event.created_at,
            "parked_at": _now(),
        }
        return await _insert_once(self._connection, orm.parked_events, values)

    async def take(self, payment_intent_id: str) -> list[PaymentAftermath]:
        # One DELETE … RETURNING: of two transactions taking the same events, one gets them.
        # It runs for every newly paid booking and usually deletes nothing: built once.
        rows = await self._connection.execute(_TAKE_PARKED, {"p_payment": payment_intent_id})
        events = [_aftermath_from_json(row.payload) for row in rows]
        return sorted(events, key=lambda event: (event.created_at, event.event_id))

    async def discard(self, created_before: datetime) -> builtins.list[str]:
        c = orm.parked_events.c
        statement = (
            delete(orm.parked_events).where(c.created_at < created_before).returning(c.event_id)
        )
        return sorted((await self._connection.execute(statement)).scalars())


_DISPUTE_EVENTS: dict[str, type[DisputeEvent]] = {
    "created": DisputeCreated,
    "updated": DisputeUpdated,
    "closed": DisputeClosed,
    "funds_withdrawn": DisputeFundsWithdrawn,
    "funds_reinstated": DisputeFundsReinstated,
}
_DISPUTE_EVENT_NAMES = {kind: name for name, kind in _DISPUTE_EVENTS.items()}


def _aftermath_json(event: PaymentAftermath) -> dict[str, Any]:
    common = {
        "event_id": event.event_id,
        "created_at": event.created_at.isoformat(),
        "account_id": event.account_id,
        "charge_id": event.charge_id,
        "payment_intent_id": event.payment_intent_id,
    }
    if isinstance(event, DisputeEvent):
        return {
            **common,
            "type": "dispute",
            "event_type": _DISPUTE_EVENT_NAMES[type(event)],
            "dispute_id": event.dispute_id,
            "amount": _money_json(event.amount),
            "reason": event.reason,
            "status": event.status.value,
            "is_charge_refundable": event.is_charge_refundable,
            "opened_at": None if event.opened_at is None else event.opened_at.isoformat(),
            "balance_transactions": [
                {
                    "id": funds.balance_transaction_id,
                    "amount": _money_json(funds.amount),
                    "fee": _money_json(funds.fee),
                }
                for funds in event.balance_transactions
            ],
        }
    return {
        **common,
        "type": "refund",
        "amount_refunded": _money_json(event.amount_refunded),
        "refunds": [
            {"refund_id": r.refund_id, "amount": _money_json(r.amount)} for r in event.refunds
        ],
        "fee_refunded": None if event.fee_refunded is None else _money_json(event.fee_refunded),
    }


def _aftermath_from_json(data: Mapping[str, Any]) -> PaymentAftermath:
    common = {
        "event_id": data["event_id"],
        "created_at": datetime.fromisoformat(data["created_at"]),
        "account_id": data["account_id"],
        "charge_id": data["charge_id"],
        "payment_intent_id": data["payment_intent_id"],
    }
    if data["type"] == "dispute":
        # Rows parked before disputes had a lifecycle hold only what `created` told.
        kind = _DISPUTE_EVENTS[data.get("event_type", "created")]
        opened_at = data.get("opened_at")
        return kind(
            **common,
            dispute_id=data["dispute_id"],
            amount=_money(data["amount"]),
            reason=data["reason"],
            status=DisputeStatus(data.get("status", DisputeStatus.NEEDS_RESPONSE.value)),
            is_charge_refundable=bool(data.get("is_charge_refundable", False)),
            opened_at=None if opened_at is None else datetime.fromisoformat(opened_at),
            balance_transactions=tuple(
                DisputeFunds(funds["id"], _money(funds["amount"]), _money(funds["fee"]))
                for funds in data.get("balance_transactions", ())
            ),
        )
    return ChargeRefunded(
        **common,
        amount_refunded=_money(data["amount_refunded"]),
        refunds=tuple(RefundRecord(r["refund_id"], _money(r["amount"])) for r in data["refunds"]),
        fee_refunded=None if data.get("fee_refunded") is None else _money(data["fee_refunded"]),
    )


def _money(data: Mapping[str, Any]) -> Money:
    return Money(int(data["amount"]), str(data["currency"]))


class SqlAlchemyIdempotencyStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime | None = None,
        stale_before: datetime | None = None,
    ) -> IdempotencyClaim:
        table = orm.idempotency_keys
        now = now or _now()
        values = {"tenant_id": scope, "key": key, "fingerprint": fingerprint, "created_at": now}
        # A claim released between our insert and our read leaves nothing to read: retry.
        for _ in range(3):
            if await _insert_once(self._connection, table, values):
                return IdempotencyClaim(ClaimOutcome.CLAIMED)
            query = select(
                table.c.fingerprint, table.c.response_status, table.c.response_body
            ).where(table.c.tenant_id == scope, table.c.key == key)
            row = (await self._connection.execute(query)).first()
            if row is None:
                continue
            if row.fingerprint != fingerprint:
                return IdempotencyClaim(ClaimOutcome.MISMATCH)
            if row.response_status is None:
                if stale_before is not None and await self._take_over(
                    scope, key, now, stale_before
                ):
                    return IdempotencyClaim(ClaimOutcome.CLAIMED)
                return IdempotencyClaim(ClaimOutcome.IN_PROGRESS)
            response = StoredResponse(row.response_status, bytes(row.response_body or b""))
            return IdempotencyClaim(ClaimOutcome.REPLAY, response)
        return IdempotencyClaim(ClaimOutcome.IN_PROGRESS)

    async def _take_over(self, scope: str, key: str, now: datetime, stale_before: datetime) -> bool:
        """One conditional statement: of several retries, exactly one takes a dead claim."""
        table = orm.idempotency_keys
        result = await self._connection.execute(
            update(table)
            .where(
                table.c.tenant_id == scope,
                table.c.key == key,
                table.c.response_status.is_(None),
                table.c.created_at < stale_before,
            )
            .values(created_at=now)
            .returning(table.c.key)
        )
        return result.first() is not None

    async def store_response(self, scope: str, key: str, response: StoredResponse) -> None:
        table = orm.idempotency_keys
        result = await self._connection.execute(
            update(table)
            .where(
                table.c.tenant_id == scope,
                table.c.key == key,
                table.c.response_status.is_(None),
            )
            .values(response_status=response.status, response_body=response.body)
            .returning(table.c.key)
        )
        if result.first() is not None:
            return
        exists = await self._connection.execute(
            select(table.c.key).where(table.c.tenant_id == scope, table.c.key == key)
        )
        if exists.first() is None:
            raise NotFound("idempotency key", key)

    async def release(self, scope: str, key: str) -> None:
        table = orm.idempotency_keys
        await self._connection.execute(
            table.delete().where(
                table.c.tenant_id == scope, table.c.key == key, table.c.response_status.is_(None)
            )
        )

    async def purge(self, created_before: datetime) -> int:
        table = orm.idempotency_keys
        result = await self._connection.execute(
            table.delete().where(table.c.created_at < created_before).returning(table.c.key)
        )
        return len(result.all())
