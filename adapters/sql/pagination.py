"""The one codec of opaque page cursors for keyset pagination.

A cursor is the sort key of the last item of a page — `(position, id)`, where the position
is a moment (bookings by `created_at`, slots by `starts_at`) or a text (offerings by name,
tenants by id) — as unpadded URL-safe base64 of a JSON pair. Clients treat it as opaque;
anything this codec did not make is InvalidCursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from application.ports.repositories import InvalidCursor
from domain.clock import as_utc


def encode_cursor(position: datetime | str, ident: str) -> str:
    """The cursor after the item whose sort key is (position, ident)."""
    key = as_utc(position).isoformat() if isinstance(position, datetime) else position
    raw = json.dumps([key, ident], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(position, str) or not isinstance(ident, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor(f"invalid page cursor {cursor!r}") from error
    return position, ident


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(moment, id) of a cursor over a time-ordered list; InvalidCursor otherwise."""
    position, ident = _decode(cursor)
    try:
        moment = datetime.fromisoformat(position)
    except ValueError as error:
        raise InvalidCursor(f"invalid page cursor {cursor!r}") from error
    if moment.tzinfo is None:
        raise InvalidCursor(f"invalid page cursor {cursor!r}")
    return as_utc(moment), ident


def decode_text_cursor(cursor: str) -> tuple[str, str]:
    """(text, id) of a cursor over a list ordered by a text, then id; InvalidCursor otherwise."""
    return _decode(cursor)
