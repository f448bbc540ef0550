"""Seats each client puts on hold on a slot: counted outside the database, across processes."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol


class SeatsHeldPerClient(Protocol):
    """How many seats one client (e.g. a client address) put on hold on one slot lately.

    `take` counts `seats` for `client` on `slot_id` within a moving `window` and answers None
    when the client stays within `most` seats, else the whole seconds to wait before its
    oldest seats leave the window (and counts nothing). It never raises: a store that cannot
    be reached lets the checkout through, as every rate limit does."""

    async def take(
        self, client: str, slot_id: str, seats: int, most: int, window: timedelta
    ) -> int | None: ...
