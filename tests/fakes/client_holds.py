"""The seats each client holds of a slot, counted on a clock tests move by hand."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from application.ports.time_and_identity import Clock


class SeatsHeldOnTheClock:
    """SeatsHeldPerClient (application/ports/client_holds.py) as the `limits` moving window
    counts it (adapters/rate_limits/limiter.py), but on `clock`: each take leaves the count
    `window` after it was made; a refused take counts nothing."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._taken: defaultdict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)

    async def take(
        self, client: str, slot_id: str, seats: int, most: int, window: timedelta
    ) -> int | None:
        now = self._clock.now()
        kept = [(at, n) for at, n in self._taken[client, slot_id] if at + window > now]
        self._taken[client, slot_id] = kept
        if sum(n for _, n in kept) + seats <= most:
            kept.append((now, seats))
            return None
        oldest = kept[0][0] if kept else now
        return max(1, math.ceil((oldest + window - now).total_seconds()))
