"""When a member next has scheduled work: lots to expire, pending points to release, a birthday, a
tier review. The maintenance job visits members on that day; every write recomputes it."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from loyalty.domain.lots import NEVER
from loyalty.domain.program import ProgramConfig

# A birthday the job could not award on the day (an outage, a late run) is still awarded this long after.
BIRTHDAY_GRACE_DAYS = 7


def birthday_in(year: int, birthday: date) -> date:
    """The birthday in `year`; 29 February falls on the 28th in other years."""
    day = min(birthday.day, calendar.monthrange(year, birthday.month)[1])
    return date(year, birthday.month, day)


def birthday_due(birthday: date | None, today: date, awarded_year: int | None) -> bool:
    if birthday is None or awarded_year == today.year:
        return False
    this_year = birthday_in(today.year, birthday)
    return this_year <= today <= this_year + timedelta(days=BIRTHDAY_GRACE_DAYS)


def next_birthday(birthday: date, today: date, awarded_year: int | None) -> date:
    this_year = birthday_in(today.year, birthday)
    if awarded_year != today.year and today <= this_year + timedelta(days=BIRTHDAY_GRACE_DAYS):
        return max(this_year, today) if this_year <= today else this_year
    return birthday_in(today.year + 1, birthday)


def inactivity_lapse(config: ProgramConfig, last_activity_day: str | None) -> date | None:
    """With the inactivity policy: the first day on which all points have expired."""
    if config.expiry.policy != "inactivity" or not config.expiry.days or not last_activity_day:
        return None
    return date.fromisoformat(last_activity_day) + timedelta(days=config.expiry.days + 1)


def reminder_key(anchor: str, days: int) -> str:
    """What a member keeps of a reminder given: the day it is about (a lot, a review) and how long before."""
    return f"{anchor}/{days}"


def reminders_due(anchor: str, when: date, days: tuple[int, ...], today: date, given: set[str]) -> list[str]:
    """The reminders of `anchor` (an event on day `when`) due by `today` and not given yet. A member visited
    late gets one reminder (the caller sends one and marks them all), never a burst of stale ones."""
    return [reminder_key(anchor, before) for before in days
            if when - timedelta(days=before) <= today and reminder_key(anchor, before) not in given]


def next_reminder(anchor: str, when: date, days: tuple[int, ...], given: set[str]) -> date | None:
    """The day of the next reminder of `anchor` not given yet (None: none left)."""
    left = [when - timedelta(days=before) for before in days if reminder_key(anchor, before) not in given]
    return min(left) if left else None


def expiry_reminder_anchor(lot: str) -> tuple[str, date]:
    """A lot's reminders are about the day it expires: the day after its last valid day."""
    return lot, date.fromisoformat(lot) + timedelta(days=1)


def next_due(config: ProgramConfig, today: date, *, lots: dict[str, int], pending_lots: list[dict],
             tier_review_day: str | None, birthday: str | None, birthday_awarded_year: int | None,
             last_activity_day: str | None, notified: list[str] | None = None,
             membership_end: str | None = None, hold_expiries: list[date] | None = None,
             tier_reminded: list[str] | None = None) -> date | None:
    candidates: list[date] = []
    # A hold that expires gives its points back (and announces it) on the first visit after its moment.
    candidates.extend(hold_expiries or [])
    if membership_end:
        candidates.append(date.fromisoformat(membership_end) + timedelta(days=1))
    dated = [day for day, amount in lots.items() if day != NEVER and amount > 0]
    if dated:
        candidates.append(date.fromisoformat(min(dated)) + timedelta(days=1))
        given = set(notified or [])
        for lot in dated:
            if lot in given:  # told before reminders were kept per day: nothing more for this lot
                continue
            reminder = next_reminder(*expiry_reminder_anchor(lot), config.expiry_reminder_days, given)
            if reminder is not None:
                candidates.append(reminder)
    if any(amount > 0 for amount in lots.values()):
        lapse = inactivity_lapse(config, last_activity_day)
        if lapse is not None:
            candidates.append(lapse)
    candidates.extend(date.fromisoformat(lot["release"]) for lot in pending_lots)
    if tier_review_day:
        candidates.append(date.fromisoformat(tier_review_day))
        reminder = next_reminder(tier_review_day, date.fromisoformat(tier_review_day), config.tier_reminder_days,
                                 set(tier_reminded or []))
        if reminder is not None:
            candidates.append(reminder)
    if birthday and "birthday" in config.actions:
        candidates.append(next_birthday(date.fromisoformat(birthday), today, birthday_awarded_year))
    return min(candidates) if candidates else None
