"""Time is always timezone-aware; the domain normalises it to UTC."""

from datetime import UTC, datetime

from domain.errors import NaiveDatetime


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused, never guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetime(f"{moment.isoformat()} has no timezone")
    return moment.astimezone(UTC)
