"""Wire scalars of the HTTP API: amounts, currencies, names, pages; the shapes every body shares.

Constraints here only describe the wire format (types, lengths); the bounds of what may be
sold are the domain's constants, repeated here so that the OpenAPI document shows them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from msgspec import Meta, Struct

from domain.fees import BPS
from domain.offering import (
    MAX_CAPACITY,
    MAX_DURATION_MINUTES,
    MAX_SEATS_PER_BOOKING,
)

T = TypeVar("T")

MAX_AMOUNT = 99_999_999_999  # Stripe's amount fields are 8-byte integers; stay well inside
Amount = Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description="whole minor units")]
Currency = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=3,
        pattern="^[A-Za-z]{3}$",
        description="ISO-4217 code, lowercase in responses",
    ),
]
Bps = Annotated[int, Meta(ge=0, le=BPS, description="basis points: 500 = 5 %")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(max_length=2000)]
Slug = Annotated[str, Meta(min_length=2, max_length=63, pattern="^[a-z0-9][a-z0-9-]*[a-z0-9]$")]
Seats = Annotated[int, Meta(ge=1, le=MAX_SEATS_PER_BOOKING)]
Capacity = Annotated[int, Meta(ge=1, le=MAX_CAPACITY)]
DurationMinutes = Annotated[int, Meta(ge=1, le=MAX_DURATION_MINUTES)]
Url = Annotated[str, Meta(max_length=2048, pattern="^https?://")]
Email = Annotated[str, Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


SignedAmount = Annotated[
    int, Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT, description="whole minor units; may be negative")
]


class Money(Struct, forbid_unknown_fields=True):
    """An amount in the currency's minor unit (cents; yen for JPY), never negative."""

    amount: Amount
    currency: Currency


class SignedMoney(Struct):
    """Money that can be negative, such as a statement's net (minor units)."""

    amount: SignedAmount
    currency: Currency


class Page(Struct, Generic[T]):
    """One page of a list: pass `next_cursor` as `cursor` for the next; None on the last."""

    data: list[T]
    next_cursor: str | None


class StatementFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class Health(Struct):
    status: str


class Readiness(Struct):
    """`status`: ok, unavailable (the database) or stalled (the line of requests does not
    move); `in_flight` and `waiting`: this process's requests at work and in line (not
    counted when admission is unbounded)."""

    status: str
    in_flight: int
    waiting: int
