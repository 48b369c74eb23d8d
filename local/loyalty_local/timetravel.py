"""Time travel for the local stack and the tests, kept out of the production code.

The production clock (`loyalty.domain.clock.utc_now`) reads `datetime.now(UTC)`. To travel, the name
`datetime` in that module is swapped for a stand-in whose `now()` answers the chosen moment; everything
else on it is the real `datetime`. Nothing under `layers/` knows about it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

_moment: datetime | None = None


class _TravellingDateTime:
    """`datetime` as the clock module uses it, with `now()` answering the travelled moment."""

    @staticmethod
    def now(tz: tzinfo | None = None) -> datetime:
        moment = _moment
        if moment is None:
            return datetime.now(tz)
        return moment.astimezone(tz) if tz is not None else moment.astimezone(UTC).replace(tzinfo=None)

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)


def install() -> None:
    """Swap the clock module's `datetime` (idempotent). Until `travel` is called, time is real."""
    from loyalty.domain import clock

    if not isinstance(clock.datetime, _TravellingDateTime):
        setattr(clock, "datetime", _TravellingDateTime())  # noqa: B010 - a module global, swapped from outside


def travel(moment: datetime | None) -> None:
    """Every clock read after this answers `moment` (an aware datetime); None returns to the real clock."""
    global _moment
    if moment is not None and moment.tzinfo is None:
        raise ValueError("travel to an aware datetime")
    install()
    _moment = moment


def travelled() -> datetime | None:
    """The moment travelled to, or None on the real clock."""
    return _moment
