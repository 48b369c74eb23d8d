"""Engagement actions: points per action and caps per period, counted in the program's time zone."""

from __future__ import annotations

from datetime import date

from loyalty.domain.errors import LimitReached
from loyalty.domain.periods import period_key
from loyalty.domain.program import ActionRule

# {action: [period key, count in that period]}
Counts = dict[str, list]


def count_action(rule: ActionRule, action: str, counts: Counts, day: date) -> Counts:
    """The counters after one more `action` on local `day`; LimitReached when the cap is used up."""
    if rule.limit is None:
        return counts
    key = period_key(rule.limit.per, day)
    current_key, current = (counts.get(action) or [key, 0])[:2]
    used = int(current) if current_key == key else 0
    if used >= rule.limit.count:
        raise LimitReached(
            f"{action} is limited to {rule.limit.count} per {rule.limit.per}",
            limit=rule.limit.count, per=rule.limit.per,
        )
    updated = dict(counts)
    updated[action] = [key, used + 1]
    return updated


def profile_is_complete(name: str | None, birthday: str | None, phone: str | None,
                        preferences: dict | None) -> bool:
    return bool(name and birthday and phone and preferences)
