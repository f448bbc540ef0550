"""Query parameters shared by the routes: time windows and keyset pages (API.md).

`from`/`to` arrive as text and are parsed here, so a bad value is reported under the
parameter's own name (`from`, `to`) and a moment without an offset is refused. Cursors are
decoded with the one codec of adapters/pagination.py; a cursor this server did not make is
a 400 under `cursor`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from litestar.exceptions import ValidationException
from litestar.params import Parameter

from adapters.sql.pagination import decode_cursor, decode_text_cursor, encode_cursor
from application.ports.repositories import InvalidCursor

T = TypeVar("T")

# RFC 3339's date-time, with the offset it requires: what fromisoformat would also read
# (week dates, basic format, a space for T) is not the documented form.
_RFC_3339 = re.compile(
    r"(?P<whole>\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})"
)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 date-time with an offset, as an aware UTC datetime; ValueError for any
    other text, or OverflowError past year 9999 in UTC."""
    match = _RFC_3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 date-time: {text!r}")
    # Python reads at most microseconds: six digits of the fraction.
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    normal = f"{match['whole']}.{fraction}{match['offset']}".upper()
    return datetime.fromisoformat(normal).astimezone(UTC)


DEFAULT_LIMIT = 50
MAX_LIMIT = 200

_MOMENT = {"format": "date-time"}
From = Annotated[
    str | None,
    Parameter(
        query="from",
        max_length=64,
        schema_extra=_MOMENT,
        description="inclusive; RFC 3339 with an offset",
    ),
]
To = Annotated[
    str | None,
    Parameter(
        query="to",
        max_length=64,
        schema_extra=_MOMENT,
        description="exclusive; RFC 3339 with an offset",
    ),
]
Limit = Annotated[
    int, Parameter(ge=1, le=MAX_LIMIT, description=f"page size (default {DEFAULT_LIMIT})")
]
Cursor = Annotated[
    str | None,
    Parameter(max_length=512, description="`next_cursor` of the previous page; omit for the first"),
]


def _invalid(key: str, message: str) -> ValidationException:
    return ValidationException(
        detail=f"Invalid query parameter {key!r}",
        extra=[{"key": key, "message": message, "source": "query"}],
    )


def moment(value: str | None, key: str) -> datetime | None:
    """The query parameter `key` as an aware datetime; 400 under `key` when it is not one."""
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as error:
        raise _invalid(
            key, "an RFC 3339 date-time with an offset, e.g. 2026-01-01T00:00:00Z"
        ) from error
    except OverflowError as error:  # e.g. 9999-12-31T23:59:59-14:00 is past year 9999 in UTC
        raise _invalid(key, "out of range") from error


def after_moment(cursor: str | None) -> tuple[datetime, str] | None:
    """The (moment, id) a page of a time-ordered list starts after."""
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except InvalidCursor as error:
        raise _invalid("cursor", "not a cursor this server handed out") from error


def after_text(cursor: str | None) -> tuple[str, str] | None:
    """The (text, id) a page of a list ordered by a text starts after."""
    if cursor is None:
        return None
    try:
        return decode_text_cursor(cursor)
    except InvalidCursor as error:
        raise _invalid("cursor", "not a cursor this server handed out") from error


def after_sequence(cursor: str | None) -> int | None:
    """The position a page of a list ordered by a sequence number starts before (newest
    first), from a cursor of `page(..., key=lambda item: (str(item.sequence), item.id))`."""
    after = after_text(cursor)
    if after is None:
        return None
    if not after[0].isdigit():
        raise _invalid("cursor", "not a cursor this server handed out")
    return int(after[0])


def page(
    items: Sequence[T], limit: int, key: Callable[[T], tuple[datetime | str, str]]
) -> tuple[list[T], str | None]:
    """The first `limit` items of `limit + 1` fetched, and the cursor after them (None on
    the last page)."""
    shown = list(items[:limit])
    if len(items) <= limit or not shown:
        return shown, None
    return shown, encode_cursor(*key(shown[-1]))
