"""What a holder of points has as of a moment, for every read: its balance with the holds whose moment has
passed given back (before the next write or the scheduled visit folds them), what it holds, and what
expires soon. Pure: the member item and a plain Member read the same."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from loyalty.domain.clock import iso_utc
from loyalty.domain.holders import PointsHolder
from loyalty.domain.lots import Wallet
from loyalty.domain.program import ProgramConfig

# A member's `expiring_next_30_days`.
EXPIRING_WINDOW_DAYS = 30


def lapsed_holds(member: PointsHolder, now: datetime) -> dict[str, dict[str, Any]]:
    """Open holds whose moment has passed: their points are the member's again, even before the next
    write or the scheduled visit folds them back (every read counts them as available)."""
    moment = iso_utc(now)
    return {hold_id: hold for hold_id, hold in (member.holds or {}).items() if hold["expires_at"] <= moment}


def held_points(member: PointsHolder, now: datetime) -> int:
    moment = iso_utc(now)
    return sum(int(hold["points"]) for hold in (member.holds or {}).values() if hold["expires_at"] > moment)


def available_points(member: PointsHolder, now: datetime) -> int:
    """The balance as of `now`: the stored one plus what lapsed holds give back."""
    return int(member.available) + sum(int(hold["points"]) for hold in lapsed_holds(member, now).values())


def expiring_soon(member: PointsHolder, config: ProgramConfig, today: date,
                  now: datetime | None = None) -> int:
    """The points that expire within EXPIRING_WINDOW_DAYS of `today`: their lots' (with lapsed holds' lots
    given back), or the whole balance when an inactivity expiry falls within the window."""
    wallet = Wallet(dict(member.lots or {}), int(member.debt or 0))
    for hold in lapsed_holds(member, now).values() if now is not None else ():
        wallet.restore(hold["lots"])
    if config.expiry.policy == "inactivity" and config.expiry.days and member.last_activity_day:
        lapse = date.fromisoformat(member.last_activity_day) + timedelta(days=config.expiry.days)
        return max(wallet.available, 0) if lapse <= today + timedelta(days=EXPIRING_WINDOW_DAYS) else 0
    return wallet.expiring_within(today, EXPIRING_WINDOW_DAYS)
