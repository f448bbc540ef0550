"""The one codec of opaque page cursors for keyset pagination.

A cursor is the sort key of the last item of a page — `(position, id)`, where the position
is a moment (bookings by `created_at`, slots by `starts_at`) or a text (offerings by name,
tenants by id) — as unpadded URL-safe base64 of a compact JSON pair. Clients treat it as
opaque; anything this codec did not make is InvalidCursor: a cursor is taken back only when
encoding what it decodes to gives it again, byte for byte, and its texts are ones the
database can hold (no NUL, no lone surrogate, no more than MAX_TEXT characters).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from application.ports.repositories import InvalidCursor
from domain.clock import as_utc
from domain.errors import DomainError

# Longer than any name or id the API accepts (names are at most 200 characters).
MAX_TEXT = 255


def encode_cursor(position: datetime | str, ident: str) -> str:
    """The cursor after the item whose sort key is (position, ident)."""
    key = as_utc(position).isoformat() if isinstance(position, datetime) else position
    raw = json.dumps([key, ident], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _storable(text: object) -> bool:
    if not isinstance(text, str) or len(text) > MAX_TEXT or "\x00" in text:
        return False
    try:
        text.encode()  # refuses lone surrogates, which no database column can hold
    except UnicodeEncodeError:
        return False
    return True


def _decode(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        pair = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError) as error:
        raise InvalidCursor(f"invalid page cursor {cursor!r}") from error
    if not isinstance(pair, list) or len(pair) != 2 or not all(_storable(t) for t in pair):
        raise InvalidCursor(f"invalid page cursor {cursor!r}")
    position, ident = pair
    if encode_cursor(position, ident) != cursor:
        raise InvalidCursor(f"invalid page cursor {cursor!r}")
    return position, ident


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(moment, id) of a cursor over a time-ordered list; InvalidCursor otherwise."""
    position, ident = _decode(cursor)
    try:
        moment = datetime.fromisoformat(position)
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(position)
        utc = as_utc(moment)
    except (ValueError, OverflowError, DomainError) as error:
        raise InvalidCursor(f"invalid page cursor {cursor!r}") from error
    if utc.isoformat() != position:  # this codec writes UTC moments only
        raise InvalidCursor(f"invalid page cursor {cursor!r}")
    return utc, ident


def decode_text_cursor(cursor: str) -> tuple[str, str]:
    """(text, id) of a cursor over a list ordered by a text, then id; InvalidCursor otherwise."""
    return _decode(cursor)
