"""Time and identity: the clock and the id generator."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

# --- Time and identity ---------------------------------------------------------------


class Clock(Protocol):
    """The current time, timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New opaque identifiers, e.g. "bk_…" for a booking."""

    def new_id(self, prefix: str) -> str: ...
