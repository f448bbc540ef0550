"""The webhook inbox (each event applied once) and the events parked until their booking exists."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import orm
from adapters.sql.codecs import (
    _money_json,
)
from adapters.sql.statements import Statements, insert_once, utc_now
from application.ports.gateway_events import (
    ApplicationFeeRefunded,
    ChargeRefunded,
    DisputeClosed,
    DisputeCreated,
    DisputeEvent,
    DisputeFunds,
    DisputeFundsReinstated,
    DisputeFundsWithdrawn,
    DisputeUpdated,
    PaymentAftermath,
    RefundRecord,
)
from domain.dispute import DisputeStatus
from domain.money import Money


class SqlAlchemyWebhookInbox:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def record(self, event_id: str) -> bool:
        values = {"event_id": event_id, "received_at": utc_now()}
        return await insert_once(self._connection, self._sql.insert_once["webhook_inbox"], values)

    async def seen(self, event_id: str) -> bool:
        found = await self._connection.execute(self._sql.inbox_seen, {"w_event_id": event_id})
        return found.first() is not None


class SqlAlchemyParkedEvents:
    def __init__(self, connection: AsyncConnection, statements: Statements) -> None:
        self._connection = connection
        self._sql = statements

    async def park(self, payment_intent_id: str, event: PaymentAftermath) -> bool:
        values = {
            "event_id": event.event_id,
            "payment_intent_id": payment_intent_id,
            "payload": _aftermath_json(event),
            "created_at": event.created_at,
            "parked_at": utc_now(),
        }
        return await insert_once(self._connection, self._sql.insert_once["parked_events"], values)

    async def take(self, payment_intent_id: str) -> list[PaymentAftermath]:
        # One DELETE … RETURNING: of two transactions taking the same events, one gets them.
        rows = await self._connection.execute(
            self._sql.take_parked, {"p_payment": payment_intent_id}
        )
        events = [_aftermath_from_json(row.payload) for row in rows]
        return sorted(events, key=lambda event: (event.created_at, event.event_id))

    async def for_payment(self, payment_intent_id: str) -> builtins.list[PaymentAftermath]:
        rows = await self._connection.execute(
            self._sql.parked_for_payment, {"p_payment": payment_intent_id}
        )
        events = [_aftermath_from_json(row.payload) for row in rows]
        return sorted(events, key=lambda event: (event.created_at, event.event_id))

    async def remove(self, event_id: str) -> bool:
        c = orm.parked_events.c
        statement = delete(orm.parked_events).where(c.event_id == event_id).returning(c.event_id)
        return (await self._connection.execute(statement)).first() is not None

    async def payments(self) -> builtins.list[str]:
        c = orm.parked_events.c
        statement = select(c.payment_intent_id).distinct().order_by(c.payment_intent_id)
        return builtins.list((await self._connection.execute(statement)).scalars())

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
    if isinstance(event, ApplicationFeeRefunded):
        return {
            **common,
            "type": "fee_refund",
            "fee_id": event.fee_id,
            "amount_refunded": _money_json(event.amount_refunded),
            "fee_account_id": event.fee_account_id,
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
    if data["type"] == "fee_refund":
        return ApplicationFeeRefunded(
            **common,
            fee_id=data["fee_id"],
            amount_refunded=_money(data["amount_refunded"]),
            fee_account_id=data.get("fee_account_id"),
        )
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
