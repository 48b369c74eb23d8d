"""Points lots: each earn is a lot with an expiry day; spending draws the soonest-expiring first.

A member's lots are kept as a map {last valid local day (ISO) -> remaining points}; earns that
expire on the same day share one lot, which keeps the member item small. Points that never expire
sit under NEVER, which sorts after every real date. `debt` is what a return took beyond the lots
(return_policy allow_negative); it is paid back first from the next earn.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from loyalty.domain.errors import InsufficientPoints
from loyalty.domain.program import Expiry

NEVER = "9999-12-31"


@dataclass
class Wallet:
    lots: dict[str, int] = field(default_factory=dict)
    debt: int = 0

    @property
    def available(self) -> int:
        return sum(self.lots.values()) - self.debt

    def copy(self) -> Wallet:
        return Wallet(dict(self.lots), self.debt)

    def add(self, expires_on: str, points: int) -> int:
        """Credit an earn; an outstanding debt is paid back from it first. Returns what went into the lot."""
        if points <= 0:
            return 0
        repay = min(self.debt, points)
        self.debt -= repay
        points -= repay
        if points:
            self.lots[expires_on] = self.lots.get(expires_on, 0) + points
        return points

    def draw(self, points: int) -> list[tuple[str, int]]:
        """Spend `points`, soonest-expiring lots first; returns what was taken from which lot."""
        if points > self.available:
            raise InsufficientPoints(f"{points} points requested, {max(self.available, 0)} available")
        return self._take(points, sorted(self.lots))

    def hold(self, points: int) -> dict[str, int]:
        """Set `points` aside for a hold, soonest-expiring lots first; returns what came from which lot."""
        return dict(self.draw(points))

    def restore(self, lots: dict[str, int]) -> None:
        """Held points back into the lots they came from, with their expiry, exactly as they left (a lot
        already past its day expires on the next scheduled visit, with its entry). A debt is not paid from
        them: it is paid by the next earn, as always."""
        for day, amount in lots.items():
            if int(amount) > 0:
                self.lots[day] = self.lots.get(day, 0) + int(amount)

    def remove(self, lots: dict[str, int]) -> None:
        """Exactly these points out of exactly these lots (what an earn just credited, moved on to a
        household's pool with their expiry)."""
        for day, amount in lots.items():
            left = self.lots.get(day, 0) - int(amount)
            if left < 0:
                raise ValueError(f"lot {day} holds {self.lots.get(day, 0)} points, not {amount}")
            if left:
                self.lots[day] = left
            else:
                self.lots.pop(day, None)

    def give_back(self, lots: dict[str, int], today: date) -> tuple[dict[str, int], int]:
        """Spent points coming back (a cancelled redemption): into the lots they came from, except lots
        whose last valid day is already past, which stay expired. Returns what went into which lot (after
        paying any debt first) and the points not given back."""
        returned: dict[str, int] = {}
        expired = 0
        for day, amount in sorted(lots.items()):
            if day < today.isoformat():
                expired += int(amount)
                continue
            credited = self.add(day, int(amount))
            if credited:
                returned[day] = credited
        return returned, expired

    def claw_back(self, points: int, prefer: str | None, allow_negative: bool) -> tuple[list[tuple[str, int]], int]:
        """Take back points for a return: from the order's own lot first, then soonest-expiring. What the
        lots cannot cover becomes debt when allowed (allow_negative); otherwise it is not collected.
        Returns what was taken from which lot, and the points left uncollected."""
        uncollected = 0
        if not allow_negative and points > max(self.available, 0):
            uncollected = points - max(self.available, 0)
            points -= uncollected
        order = sorted(self.lots)
        if prefer in self.lots:
            order.remove(prefer)
            order.insert(0, prefer)
        taken = self._take(min(points, sum(self.lots.values())), order)
        shortfall = points - sum(amount for _, amount in taken)
        self.debt += shortfall
        return taken, uncollected

    def expire_through(self, today: date) -> list[tuple[str, int]]:
        """Remove every lot whose last valid day is before `today`."""
        due = [(day, amount) for day, amount in sorted(self.lots.items()) if day < today.isoformat()]
        for day, _ in due:
            del self.lots[day]
        return due

    def expire_all(self) -> list[tuple[str, int]]:
        due = sorted(self.lots.items())
        self.lots.clear()
        return due

    def expiring_within(self, today: date, days: int) -> int:
        last = (today + timedelta(days=days)).isoformat()
        return sum(amount for day, amount in self.lots.items() if day <= last)

    def _take(self, points: int, order: list[str]) -> list[tuple[str, int]]:
        taken = []
        for day in order:
            if points <= 0:
                break
            amount = min(self.lots[day], points)
            if amount <= 0:
                continue
            self.lots[day] -= amount
            points -= amount
            taken.append((day, amount))
            if self.lots[day] == 0:
                del self.lots[day]
        return taken


def split_lots(lots: dict[str, int], points: int) -> tuple[dict[str, int], dict[str, int]]:
    """A capture of `points` out of held `lots`: the soonest-expiring first. Returns (taken, the rest)."""
    taken: dict[str, int] = {}
    rest: dict[str, int] = {}
    for day, amount in sorted(lots.items()):
        take = min(int(amount), points)
        points -= take
        if take:
            taken[day] = take
        if int(amount) - take:
            rest[day] = int(amount) - take
    if points > 0:
        raise ValueError(f"{points} points more than the lots hold")
    return taken, rest


def lot_expiry(policy: Expiry, earned_on: date) -> str:
    """The last local day on which points earned on `earned_on` can be spent."""
    if policy.policy == "rolling" and policy.days:
        return (earned_on + timedelta(days=policy.days)).isoformat()
    if policy.policy == "end_of_period" and policy.period:
        if policy.period == "month":
            last_month = earned_on.month
        elif policy.period == "quarter":
            last_month = ((earned_on.month - 1) // 3 + 1) * 3
        else:
            last_month = 12
        last_day = calendar.monthrange(earned_on.year, last_month)[1]
        return date(earned_on.year, last_month, last_day).isoformat()
    # "inactivity" expires everything at once after a quiet spell (the scheduler decides); "none" never.
    return NEVER
