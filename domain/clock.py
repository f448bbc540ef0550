"""Time is always timezone-aware; the domain normalises it to UTC."""

from datetime import UTC, datetime

from domain.errors import MomentOutOfRange, NaiveDatetime


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused, never guessed.

    Raises NaiveDatetime, or MomentOutOfRange for an instant outside what UTC can write
    (9999-12-31T23:59:59-05:00 is already in year 10000 there).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetime(f"{moment.isoformat()} has no timezone")
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise MomentOutOfRange(f"{moment.isoformat()} is out of range in UTC") from error
