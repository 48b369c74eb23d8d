"""Challenges' rules without AWS: what a definition may say, how one fact advances a member's progress, and
the events a completion and a badge announce."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.domain import gamification as game
from loyalty.domain.campaigns import Facts, Line
from loyalty.domain.events import events_of

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
TIERS = ("Bronze", "Silver", "Gold")


def challenge(goal: dict[str, Any], **fields: Any) -> game.Challenge:
    return game.Challenge.model_validate({
        "challenge_id": "c", "name": "C", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z",
        "goal": goal, "reward": {"points": 10}, **fields})


def fact(event: str = "purchase", *, at: datetime = AT, day: date | None = None, total: str = "10",
         lines: tuple[Line, ...] = (), tier: str = "Bronze") -> game.Fact:
    return game.Fact(event, at, day or at.date(), Facts(channel="online", total=Decimal(total), lines=lines,
                                                         tier=tier, tiers=TIERS))


def run(rule: game.Challenge, facts: list[game.Fact], state: dict[str, Any] | None = None) -> tuple[
        dict[str, Any] | None, int]:
    completions = 0
    for one in facts:
        new, done = game.advance(rule, state, one, segments={}, currency="USD")
        if new is not None:
            state = new
        completions += done
    return state, completions


@pytest.mark.parametrize(("goal", "fields", "message"), [
    ({"event": "purchase", "count": 2, "distinct_days": 2}, {}, "exactly one of count"),
    ({"event": "purchase"}, {}, "exactly one of count"),
    ({"event": "action:review", "amount": {"amount": "5", "currency": "USD"}}, {}, "its event must be purchase"),
    ({"event": "action:review", "count": 1, "conditions": [{"fact": "channel", "op": "eq", "value": "app"}]}, {},
     "an action has no basket"),
    ({"event": "purchase", "count": 1}, {"ends_at": "2025-01-01T00:00:00Z"}, "ends_at must be after starts_at"),
    ({"event": "purchase", "count": 1}, {"reward": {"points": 0}}, "a reward gives points, a badge or both"),
    ({"event": "purchase", "distinct_days": 0}, {}, "greater than or equal to 1"),
])
def test_a_definition_says_one_goal_a_window_and_a_reward(goal: dict[str, Any], fields: dict[str, Any],
                                                          message: str) -> None:
    # When a challenge is defined wrongly, Then it is refused with a message that says why
    with pytest.raises(ValidationError, match=message):
        challenge(goal, **fields)


def test_a_count_completes_once_unless_it_repeats() -> None:
    # Given "three purchases", once and repeatable
    once, again = challenge({"event": "purchase", "count": 3}), challenge({"event": "purchase", "count": 3},
                                                                          repeatable=True)
    # When seven purchases happen
    state_once, done_once = run(once, [fact()] * 7)
    state_again, done_again = run(again, [fact()] * 7)
    # Then the one-off completed once and stays completed; the repeatable twice, one purchase into the third round
    assert done_once == 1 and state_once is not None and state_once["n"] == 1
    assert done_again == 2 and game.progress_of(again, state_again) == 1
    assert game.times_completed(again, state_again) == 2


def test_facts_outside_the_window_the_event_or_the_conditions_do_not_count() -> None:
    rule = challenge({"event": "purchase", "count": 1, "conditions": [
        {"fact": "basket.total", "op": "gte", "value": {"amount": "20.00", "currency": "USD"}}]},
        audience={"min_tier": "Silver"})
    misses = [fact(at=datetime(2025, 1, 1, tzinfo=UTC), tier="Gold"), fact("action:review", tier="Gold"),
              fact(total="5", tier="Gold"), fact(total="50", tier="Bronze")]
    assert run(rule, misses) == (None, 0)
    assert run(rule, [fact(total="50", tier="Silver")])[1] == 1


def test_an_amount_counts_the_named_lines_share_of_what_was_paid() -> None:
    # Given "spend 100 on shoes", and a basket whose shoes' share of what was paid is 40
    rule = challenge({"event": "purchase", "amount": {"amount": "100", "currency": "USD"},
                      "conditions": [{"fact": "basket.categories", "op": "contains", "value": "shoes"}]})
    lines = (Line("run-1", "shoes", 1, Decimal("40")), Line("sock-1", "socks", 2, Decimal("10")))
    state, done = run(rule, [fact(total="50", lines=lines)] * 2)
    # Then two such purchases count 80, not 100
    assert done == 0 and game.progress_of(rule, state) == Decimal("80")
    assert run(rule, [fact(total="50", lines=lines)], state)[1] == 1


def test_distinct_days_count_a_day_once_whatever_the_order() -> None:
    rule = challenge({"event": "purchase", "distinct_days": 3})
    days = [date(2026, 6, 3), date(2026, 6, 1), date(2026, 6, 3), date(2026, 6, 2)]
    state, done = run(rule, [fact(day=day) for day in days[:3]])
    assert game.progress_of(rule, state) == 2 and done == 0
    assert run(rule, [fact(day=days[3])], state)[1] == 1


def test_distinct_days_are_kept_as_a_bit_per_day_and_states_written_before_still_count() -> None:
    # Given "62 distinct days" over the year, and 61 days counted
    rule = challenge({"event": "purchase", "distinct_days": 62})
    days = [date(2026, 11, 1).fromordinal(date(2026, 11, 1).toordinal() - number) for number in range(61)]
    state, done = run(rule, [fact(day=day) for day in days])
    # Then the state stays small on the member item every purchase writes (the ordinals took 7 bytes a day)
    assert state is not None and done == 0 and game.progress_of(rule, state) == 61
    assert len(str(state)) < 150
    # And a state written before, with day ordinals, still counts them, and a day it has counted is not new
    before = {"s": state["s"], "n": 0, "d": [day.toordinal() for day in days]}
    assert game.progress_of(rule, before) == 61
    assert run(rule, [fact(day=days[0])], before) == (before, 0)
    after, completed = run(rule, [fact(day=date(2026, 11, 2))], before)
    assert completed == 1 and after is not None and "d" not in after and "b" not in after


def test_a_moved_window_starts_progress_again_and_ended_challenges_are_dropped() -> None:
    rule = challenge({"event": "purchase", "count": 3})
    state, _ = run(rule, [fact()] * 2)
    moved = challenge({"event": "purchase", "count": 3}, starts_at="2026-05-01T00:00:00Z")
    assert game.progress_of(moved, state) == 0
    assert game.kept_states({"c": state, "gone": {"p": 1}}, [rule]) == {"c": state}


def test_a_completion_and_a_badge_announce_themselves_once_per_completion() -> None:
    # Given a challenge entry and a member's badge, as the stream delivers them
    entry = {"type": "challenge", "entry_id": "01E", "member_id": "ann", "points": 300, "balance_after": 300,
             "recorded_at": "2026-06-01T12:00:00Z", "source": {"challenge_id": "review-3"},
             "details": {"times_completed": 1, "badge_id": "critic"}}
    badge = {"member_id": "ann", "badge_id": "critic", "times": 2, "last_earned_at": "2026-06-01T12:00:00Z"}
    # Then the entry announces points.earned and challenge.completed; the badge badge.earned, named by its count
    kinds = [found["type"] for found in events_of("INSERT", {"pk": "MEMBER#ann", "sk": "ENTRY#01E"}, entry)]
    assert kinds == ["points.earned", "challenge.completed"]
    earned = events_of("MODIFY", {"pk": "MEMBER#ann", "sk": "BADGE#critic"}, badge)
    assert [(found["type"], found["id"]) for found in earned] == [("badge.earned", "badge.earned:ann:critic:2")]


def streak(period: str = "day", grace: int = 0, rewards: list[dict[str, Any]] | None = None) -> game.Streak:
    return game.Streak.model_validate({"streak_id": "s", "name": "S", "event": "purchase", "period": period,
                                       "grace_periods": grace, "rewards": rewards or []})


def walk(rule: game.Streak, days: list[date]) -> tuple[dict[str, Any] | None, list[int]]:
    state: dict[str, Any] | None = None
    given: list[int] = []
    for day in days:
        new, reached = game.streak_step(rule, state, day)
        if new is not None:
            state = new
        given += [reward.length for reward in reached]
    return state, given


def test_a_streak_counts_periods_in_a_row_and_rewards_each_length_once_per_run() -> None:
    # Given a daily streak with rewards at 2 and 3 days
    rule = streak(rewards=[{"length": 2, "points": 20}, {"length": 3, "points": 30, "badge_id": "b"}])
    first = [date(2026, 6, day) for day in (1, 1, 2, 3, 4)]
    # When a member buys on four days in a row (twice on the first), misses a day, then buys three days again
    state, given = walk(rule, first + [date(2026, 6, day) for day in (6, 7, 8)])
    # Then each run gave each reward once; the best run is 4
    assert given == [2, 3, 2, 3]
    assert state is not None and (state["c"], state["b"]) == (3, 4)


def test_grace_periods_keep_a_run_without_counting_and_a_late_fact_fills_no_gap() -> None:
    rule = streak("week", grace=1)
    # Weeks of 2026-06-01 (a Monday), skip one, 2026-06-15, then a fact back in the skipped week
    state, _ = walk(rule, [date(2026, 6, 3), date(2026, 6, 17), date(2026, 6, 10)])
    assert state is not None and state["c"] == 2
    assert game.period_start(state["l"], "week") == date(2026, 6, 15)
    # Two missed weeks break it
    broken, _ = walk(rule, [date(2026, 6, 3), date(2026, 6, 24)])
    assert broken is not None and (broken["c"], broken["b"]) == (1, 1)


def test_the_view_shows_current_and_best_right_after_a_gap() -> None:
    rule = streak("month", rewards=[{"length": 3, "points": 5}])
    state, _ = walk(rule, [date(2026, 1, 31), date(2026, 2, 1)])
    # In March the run may still grow; in April, March was missed: current is 0, best stays
    march = game.streak_view(rule, state, date(2026, 3, 5))
    april = game.streak_view(rule, state, date(2026, 4, 1))
    assert (march["current"], march["best"], march["next_reward"]) == (2, 2, {"length": 3, "points": 5,
                                                                              "badge_id": None})
    assert (april["current"], april["best"], april["last_period_start"]) == (0, 2, "2026-02-01")
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        streak(rewards=[{"length": 0, "points": 5}])


def test_the_metrics_count_completions_per_challenge_and_rewards_per_streak() -> None:
    from loyalty.domain.metrics import contributions

    # Given a challenge entry and a streak entry as the stream delivers them
    base = {"member_id": "ann", "balance_after": 10, "day": "2026-06-01", "recorded_at": "2026-06-01T12:00:00Z"}
    completed = contributions("INSERT", {"pk": "MEMBER#ann", "sk": "ENTRY#01A"}, {
        **base, "type": "challenge", "entry_id": "01A", "points": 300, "source": {"challenge_id": "review-3"}})
    streaked = contributions("INSERT", {"pk": "MEMBER#ann", "sk": "ENTRY#01B"}, {
        **base, "type": "streak", "entry_id": "01B", "points": 0, "source": {"streak_id": "weekly"}})
    # Then each counts on its day, and the challenge's points count as issued
    day = next(key for key in completed if key[1] == "2026-06-01")
    assert completed[day]["challenges:review-3"] == 1 and completed[day]["points_issued"] == 300
    assert streaked[day]["streaks:weekly"] == 1
