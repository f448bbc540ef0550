"""A clock tests move by hand."""

from datetime import datetime, timedelta


class ManualClock:
    """A clock that stands still until told to move (tests, simulations)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment
