"""Opaque cursors for keyset pagination over (created_at, id), newest first."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from application.ports import InvalidCursor
from domain.clock import as_utc


def encode_cursor(created_at: datetime, ident: str) -> str:
    raw = json.dumps([as_utc(created_at).isoformat(), ident], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(created)
        if not isinstance(ident, str) or moment.tzinfo is None:
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor(f"invalid page cursor {cursor!r}") from error
    return as_utc(moment), ident
