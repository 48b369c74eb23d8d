"""Time in the program's zone: day boundaries for caps, expiry dates and metrics days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """RFC 3339 UTC with a Z and millisecond precision."""
    moment = moment.astimezone(UTC)
    # %Y does not pad years before 1000 on Linux: always four digits, so stored times sort and parse.
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a time needs an offset")
    return moment.astimezone(UTC)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `zone` (DST-safe: local midnight, then to UTC)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` ends in `zone`, i.e. the start of the next day."""
    return start_of_local_day(day + timedelta(days=1), zone)
