"""Gamification (contract: "Gamification"): badges and challenges, and how one fact advances a challenge.

A challenge has a goal over facts of one kind (purchases, or one engagement action): a count of them, the
money spent on them, or the distinct days they happened on; conditions in the campaign language; an
audience; a window; a reward (points, a badge). Progress is kept on the member (a few numbers per running
challenge) and written in the same transaction as the fact that advances it, under the member's version
and the fact's idempotency record: a retried call replays, two racing calls re-plan, so each fact counts
once. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StringConstraints, model_validator

from loyalty.domain.campaigns import CampaignId, Condition, Facts, Label, MoneyValue, Name, _Model, all_hold
from loyalty.domain.fields import _URL_REST, Moment, _parsable_url

# Challenges running at once: they ride on every program read, like the running campaigns.
MAX_RUNNING_CHALLENGES = 25
# A distinct-days goal keeps the days it counted on the member (a few bytes each): at most this many.
MAX_DISTINCT_DAYS = 62
MAX_COUNT = 1_000_000

Event = Annotated[str, StringConstraints(pattern=r"^(purchase|action:[a-z][a-z0-9_]{0,39})$")]
Description = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
ImageUrl = Annotated[str, StringConstraints(min_length=12, max_length=2000, pattern=f"^https://{_URL_REST}$"),
                     AfterValidator(_parsable_url)]


class Badge(_Model):
    badge_id: CampaignId
    name: Name
    description: Description | None = None
    image_url: ImageUrl | None = None


class ChallengeAudience(_Model):
    segment: CampaignId | None = None
    min_tier: Label | None = None


class Goal(_Model):
    event: Event
    count: Annotated[StrictInt, Field(ge=1, le=MAX_COUNT)] | None = None
    amount: MoneyValue | None = Field(default=None, description="money spent on qualifying purchases")
    distinct_days: Annotated[StrictInt, Field(ge=1, le=MAX_DISTINCT_DAYS)] | None = None
    conditions: Annotated[list[Condition], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _one_target(self) -> Goal:
        targets = [name for name in ("count", "amount", "distinct_days") if getattr(self, name) is not None]
        if len(targets) != 1:
            raise ValueError("a goal has exactly one of count, amount or distinct_days"
                             + (f" (it has {', '.join(targets)})" if targets else ""))
        if self.amount is not None:
            if self.event != "purchase":
                raise ValueError("an amount goal counts purchases: its event must be purchase")
            if Decimal(self.amount.amount) <= 0:
                raise ValueError("amount.amount must be greater than zero")
        if self.event != "purchase":
            for index, condition in enumerate(self.conditions):
                if not condition.fact.startswith("member."):
                    raise ValueError(f"conditions.{index}.fact: an action has no basket or channel")
        return self


class ChallengeReward(_Model):
    points: Annotated[StrictInt, Field(ge=0, le=1_000_000_000)] | None = None
    badge_id: CampaignId | None = None

    @model_validator(mode="after")
    def _something(self) -> ChallengeReward:
        if not self.points and self.badge_id is None:
            raise ValueError("a reward gives points, a badge or both")
        return self


class Challenge(_Model):
    challenge_id: CampaignId
    name: Name
    description: Description | None = None
    starts_at: Moment
    ends_at: Moment
    audience: ChallengeAudience = ChallengeAudience()
    goal: Goal
    reward: ChallengeReward
    repeatable: StrictBool = False
    active: StrictBool = True

    @model_validator(mode="after")
    def _window(self) -> Challenge:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def target(self) -> int | Decimal:
        goal = self.goal
        if goal.amount is not None:
            return Decimal(goal.amount.amount)
        return int(goal.count if goal.count is not None else goal.distinct_days or 0)


class StreakReward(_Model):
    length: Annotated[StrictInt, Field(ge=1, le=1000)]
    points: Annotated[StrictInt, Field(ge=0, le=1_000_000_000)] = 0
    badge_id: CampaignId | None = None

    @model_validator(mode="after")
    def _something(self) -> StreakReward:
        if not self.points and self.badge_id is None:
            raise ValueError("a streak reward gives points, a badge or both")
        return self


class Streak(_Model):
    """A streak in the program config: periods in a row with a qualifying event."""

    streak_id: CampaignId
    name: Name
    event: Event
    period: Literal["day", "week", "month"]
    grace_periods: Annotated[StrictInt, Field(ge=0, le=3)] = 0
    rewards: Annotated[list[StreakReward], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _distinct_lengths(self) -> Streak:
        lengths = [reward.length for reward in self.rewards]
        if len(set(lengths)) != len(lengths):
            raise ValueError("each reward of a streak has a length of its own")
        return self


# --- progress ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One thing a member did that may advance challenges: a purchase or an action."""

    event: str  # "purchase" or "action:<name>"
    at: datetime  # when it happened (the window is checked on it)
    day: date  # its day in the program's time zone
    facts: Facts  # what the conditions look at (the basket as shares of the total, the member)


def in_audience(challenge: Challenge, facts: Facts, segments: Mapping[str, Sequence[Condition]],
                currency: str) -> bool:
    audience = challenge.audience
    ranks = {name: rank for rank, name in enumerate(facts.tiers)}
    if audience.min_tier is not None and ranks.get(facts.tier, -1) < ranks.get(audience.min_tier, 0):
        return False
    return audience.segment is None or all_hold(segments.get(audience.segment, ()), facts, currency)


def counted_amount(goal: Goal, facts: Facts) -> Decimal:
    """What a purchase adds to an amount goal: the total paid, or, when the conditions name categories or
    SKUs the basket must contain, the shares of the total of those lines only (never more than was paid)."""
    categories = {str(c.value) for c in goal.conditions if c.fact == "basket.categories" and c.op == "contains"}
    skus = {str(c.value) for c in goal.conditions if c.fact == "basket.skus" and c.op == "contains"}
    if not categories and not skus:
        return facts.total or Decimal(0)
    return sum((line.amount for line in facts.lines if line.category in categories or line.sku in skus), Decimal(0))


def advance(challenge: Challenge, state: Mapping[str, Any] | None, fact: Fact, *,
            segments: Mapping[str, Sequence[Condition]], currency: str) -> tuple[dict[str, Any] | None, bool]:
    """The member's progress on `challenge` after `fact`, and whether the fact completed it. None (and
    False) when the fact does not count: another event, outside the window, outside the audience, a
    condition that fails, or a challenge completed already that does not repeat.

    The state: {"s": the window's start it counts in, "p": progress (an integer, or a decimal string for
    an amount goal), "b": the days counted (distinct-days goals: a bit per day from the day before the window's
    start, in hex; "d", their ordinals, in states written before), "n": times completed,
    "at": the last completion}. A completion of a repeatable challenge starts it again from zero (what the
    completing fact brought beyond the target is not carried over)."""
    if (not challenge.active or fact.event != challenge.goal.event
            or not challenge.starts_at <= fact.at < challenge.ends_at):
        return None, False
    if not in_audience(challenge, fact.facts, segments, currency):
        return None, False
    if not all_hold(challenge.goal.conditions, fact.facts, currency):
        return None, False
    window = challenge.starts_at.isoformat()
    kept = dict(state or {})
    if kept.get("s") != window:  # a new window (the challenge was moved): progress starts again
        kept = {"s": window, "n": 0}
    times = int(kept.get("n", 0))
    if times and not challenge.repeatable:
        return None, False
    goal = challenge.goal
    if goal.amount is not None:
        added = counted_amount(goal, fact.facts)
        if added <= 0:
            return None, False
        progress: int | Decimal = Decimal(str(kept.get("p", "0"))) + added
        done = progress >= Decimal(goal.amount.amount)
        kept["p"] = str(progress)
    elif goal.distinct_days is not None:
        days = days_counted(challenge, kept)
        ordinal = fact.day.toordinal()
        if ordinal in days:
            return None, False
        days.add(ordinal)
        done = len(days) >= goal.distinct_days
        kept.pop("d", None)
        kept["b"] = _day_bits(challenge, days)
    else:
        progress = int(kept.get("p", 0)) + 1
        done = progress >= int(goal.count or 0)
        kept["p"] = progress
    if done:
        kept["n"] = times + 1
        kept["at"] = fact.at.isoformat()
        for name in ("p", "d", "b"):
            kept.pop(name, None)
    return kept, done


def _first_day(challenge: Challenge) -> int:
    # Two days before the window's start in UTC: a fact's day in any time zone (UTC-12 to UTC+14) is later.
    return challenge.starts_at.astimezone(UTC).date().toordinal() - 2


def _day_bits(challenge: Challenge, days: set[int]) -> str:
    """The days as a bit per day from _first_day, in hex: at most 16 characters for a two-month window, where
    a list of day ordinals took 7 bytes a day (the member item every purchase writes stays small)."""
    return format(sum(1 << max(0, day - _first_day(challenge)) for day in days), "x")


def days_counted(challenge: Challenge, state: Mapping[str, Any]) -> set[int]:
    """The day ordinals a distinct-days state has counted."""
    days = {int(day) for day in state.get("d", [])}
    bits, first = int(str(state.get("b", "0")), 16), _first_day(challenge)
    offset = 0
    while bits:
        if bits & 1:
            days.add(first + offset)
        bits >>= 1
        offset += 1
    return days


def progress_of(challenge: Challenge, state: Mapping[str, Any] | None) -> int | Decimal:
    """The progress a member's state shows on `challenge` now (0 when it counts in another window)."""
    if not state or state.get("s") != challenge.starts_at.isoformat():
        return Decimal(0) if challenge.goal.amount is not None else 0
    if challenge.goal.amount is not None:
        return Decimal(str(state.get("p", "0")))
    if challenge.goal.distinct_days is not None:
        return len(days_counted(challenge, state))
    return int(state.get("p", 0))


def times_completed(challenge: Challenge, state: Mapping[str, Any] | None) -> int:
    if not state or state.get("s") != challenge.starts_at.isoformat():
        return 0
    return int(state.get("n", 0))


def kept_states(states: Mapping[str, Any] | None, running: Sequence[Challenge]) -> dict[str, Any]:
    """The member's states of the running challenges only (an ended challenge's state is dropped: its
    completions are kept in their own records)."""
    names = {challenge.challenge_id for challenge in running}
    return {challenge_id: state for challenge_id, state in (states or {}).items() if challenge_id in names}


# --- what a change gives, and what a member has earned ------------------------------------------------------


@dataclass(frozen=True)
class BadgeAward:
    """A badge given to a member, written in the transaction of the change that gives it."""

    member_id: str
    badge_id: str
    at: str  # RFC 3339
    source: str  # challenge:<id>, streak:<id>, admin


@dataclass(frozen=True)
class Completion:
    """A challenge completed, recorded on the member (what GET /members/{id}/challenges shows once the
    challenge no longer runs)."""

    member_id: str
    challenge_id: str
    at: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class EarnedBadge:
    badge_id: str
    times: int
    earned_at: str
    last_earned_at: str


@dataclass(frozen=True)
class CompletedChallenge:
    challenge_id: str
    summary: dict[str, Any]
    times: int
    completed_at: str


def summary(challenge: Challenge) -> dict[str, Any]:
    """What a member's completion record keeps of the challenge."""
    target = challenge.target()
    return {"name": challenge.name, "description": challenge.description,
            "starts_at": challenge.starts_at.isoformat(), "ends_at": challenge.ends_at.isoformat(),
            "target": str(target) if isinstance(target, Decimal) else target,
            "amount": challenge.goal.amount is not None}


# --- streaks --------------------------------------------------------------------------------------------


def period_index(day: date, period: str) -> int:
    """The period a day falls in, as a number that grows by one per period (weeks start on Monday)."""
    if period == "day":
        return day.toordinal()
    if period == "week":
        return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
    return day.year * 12 + day.month - 1


def period_start(index: int, period: str) -> date:
    if period == "day":
        return date.fromordinal(index)
    if period == "week":
        return date.fromordinal(index * 7 + 1)
    return date(index // 12, index % 12 + 1, 1)


def streak_step(streak: Streak, state: Mapping[str, Any] | None, day: date) -> tuple[
        dict[str, Any] | None, list[StreakReward]]:
    """The member's streak after a qualifying event on `day`, and the rewards it reaches now. None (and no
    reward) when the day's period was counted already, or is before the last one counted (a late fact does
    not fill a gap it finds).

    The state: {"c": current run, "b": best run, "l": the last period counted, "g": lengths rewarded in this
    run}. Up to `grace_periods` missed periods in a row keep the run going (and do not count)."""
    index = period_index(day, streak.period)
    kept = dict(state or {})
    last = int(kept["l"]) if "l" in kept else None
    if last is not None and index <= last:
        return None, []
    current, given = 1, []
    if last is not None and index - last - 1 <= streak.grace_periods:
        current, given = int(kept["c"]) + 1, [int(length) for length in kept.get("g", [])]
    reached = [reward for reward in streak.rewards if reward.length == current and reward.length not in given]
    best = max(int(kept.get("b", 0)), current)
    return {"c": current, "b": best, "l": index, "g": given + [reward.length for reward in reached]}, reached


def streak_view(streak: Streak, state: Mapping[str, Any] | None, today: date) -> dict[str, Any]:
    """What GET /members/{id}/streaks shows: the run (0 once more periods than the grace were missed since
    the last one counted; the current period may still count), the best, the next reward of the run."""
    current, best, last_start, given = 0, 0, None, []
    if state:
        last = int(state["l"])
        best = int(state.get("b", 0))
        last_start = period_start(last, streak.period).isoformat()
        missed = period_index(today, streak.period) - last - 1
        if missed <= streak.grace_periods:
            current, given = int(state["c"]), [int(length) for length in state.get("g", [])]
    upcoming = sorted((reward for reward in streak.rewards if reward.length > current and reward.length not in given),
                      key=lambda reward: reward.length)
    following = None if not upcoming else {"length": upcoming[0].length, "points": upcoming[0].points,
                                           "badge_id": upcoming[0].badge_id}
    return {"streak_id": streak.streak_id, "name": streak.name, "period": streak.period, "current": current,
            "best": best, "last_period_start": last_start, "next_reward": following}


def kept_streaks(states: Mapping[str, Any] | None, streaks: Sequence[Streak]) -> dict[str, Any]:
    names = {streak.streak_id for streak in streaks}
    return {streak_id: state for streak_id, state in (states or {}).items() if streak_id in names}

