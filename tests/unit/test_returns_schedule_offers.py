"""Rules of returns, scheduling (birthdays, expiry, inactivity), offers, caps across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from loyalty.domain.actions import count_action
from loyalty.domain.clock import local_day
from loyalty.domain.errors import BusinessRuleViolation, LimitReached
from loyalty.domain.offers import matches_preferences
from loyalty.domain.program import ActionRule, ProgramConfig
from loyalty.domain.returns import claw_back
from loyalty.domain.schedule import (
    birthday_due,
    birthday_in,
    expiry_reminder_anchor,
    next_birthday,
    next_due,
    next_reminder,
    reminders_due,
)
from loyalty.domain.tiers import points_to_keep
from tests.unit.programs import DEMO_PROGRAM

CONFIG = ProgramConfig.model_validate(DEMO_PROGRAM)


def back(refund: str, refunded: str = "0", returned: int = 0) -> tuple[int, bool]:
    result = claw_back(order_total=Decimal("40.00"), already_refunded=Decimal(refunded), refund=Decimal(refund),
                       order_points=10, points_returned=returned, order_qualifying=10, qualifying_returned=returned)
    return result.points, result.completes_order


def test_each_return_takes_the_floor_and_the_last_the_remainder() -> None:
    assert back("15.00") == (3, False)  # floor(10 * 15 / 40) = 3
    assert back("15.00", "15.00", 3) == (3, False)
    assert back("10.00", "30.00", 6) == (4, True)  # the remainder
    with pytest.raises(BusinessRuleViolation) as raised:
        back("10.01", "30.00", 6)
    assert raised.value.code == "refund_exceeds_order"


def test_birthdays_in_the_program_zone_with_leap_days_and_grace() -> None:
    assert birthday_in(2027, date(2000, 2, 29)) == date(2027, 2, 28)
    assert birthday_in(2028, date(2000, 2, 29)) == date(2028, 2, 29)
    assert birthday_due(date(1990, 3, 5), date(2026, 3, 5), None)
    assert birthday_due(date(1990, 3, 5), date(2026, 3, 12), 2025)  # a late run inside the grace week
    assert not birthday_due(date(1990, 3, 5), date(2026, 3, 13), 2025)
    assert not birthday_due(date(1990, 3, 5), date(2026, 3, 5), 2026)  # once a year
    assert next_birthday(date(1990, 3, 5), date(2026, 3, 6), 2026) == date(2027, 3, 5)
    # Local day of a UTC instant: the job at 03:00 UTC on the 5th is still the 4th in New York
    assert local_day(datetime(2026, 3, 5, 3, tzinfo=UTC), CONFIG.zone) == date(2026, 3, 4)


def test_the_next_due_day_is_the_earliest_piece_of_work() -> None:
    due = next_due(CONFIG, date(2026, 3, 1), lots={"2026-04-10": 5, "9999-12-31": 3},
                   pending_lots=[{"release": "2026-03-20"}], tier_review_day="2026-05-01", birthday="1990-08-01",
                   birthday_awarded_year=None, last_activity_day="2026-03-01")
    assert due == date(2026, 3, 20)
    assert next_due(CONFIG, date(2026, 3, 1), lots={"9999-12-31": 3}, pending_lots=[], tier_review_day=None,
                    birthday=None, birthday_awarded_year=None, last_activity_day=None) is None
    expiring = next_due(CONFIG, date(2026, 3, 1), lots={"2026-04-10": 5}, pending_lots=[], tier_review_day=None,
                        birthday=None, birthday_awarded_year=None, last_activity_day=None)
    assert expiring == date(2026, 4, 4)  # the points.expiring notice, 7 days before the lot expires
    announced = next_due(CONFIG, date(2026, 3, 1), lots={"2026-04-10": 5}, pending_lots=[], tier_review_day=None,
                         birthday=None, birthday_awarded_year=None, last_activity_day=None, notified=["2026-04-10"])
    assert announced == date(2026, 4, 11)  # then the day after the lot's last valid day


def test_reminder_days_come_once_each_and_a_late_visit_gives_one() -> None:
    # Given reminders 30 and 7 days before a lot that expires on 2026-04-11 (last valid day the 10th)
    config = ProgramConfig.model_validate({**DEMO_PROGRAM, "reminders": {"expiry_days": [7, 30],
                                                                         "tier_review_days": [14]}})
    anchor, expires_on = expiry_reminder_anchor("2026-04-10")
    assert config.expiry_reminder_days == (30, 7) and expires_on == date(2026, 4, 11)
    # Then the first is due on 2026-03-12, and the next, once it is given, on 2026-04-04
    assert reminders_due(anchor, expires_on, config.expiry_reminder_days, date(2026, 3, 11), set()) == []
    assert reminders_due(anchor, expires_on, config.expiry_reminder_days, date(2026, 3, 12), set()) == [
        "2026-04-10/30"]
    assert next_reminder(anchor, expires_on, config.expiry_reminder_days, {"2026-04-10/30"}) == date(2026, 4, 4)
    assert next_reminder(anchor, expires_on, config.expiry_reminder_days,
                         {"2026-04-10/30", "2026-04-10/7"}) is None
    # And a visit after both days finds both due (the caller sends one and marks both)
    assert reminders_due(anchor, expires_on, config.expiry_reminder_days, date(2026, 4, 6), set()) == [
        "2026-04-10/30", "2026-04-10/7"]
    # And the member's next due day is the next reminder not given, of a lot or of its tier review
    due = next_due(config, date(2026, 3, 1), lots={"2026-04-10": 5}, pending_lots=[], tier_review_day="2026-05-01",
                   birthday=None, birthday_awarded_year=None, last_activity_day=None, notified=["2026-04-10/30"],
                   tier_reminded=[])
    assert due == date(2026, 4, 4)
    assert next_due(config, date(2026, 3, 1), lots={}, pending_lots=[], tier_review_day="2026-05-01",
                    birthday=None, birthday_awarded_year=None, last_activity_day=None,
                    tier_reminded=["2026-05-01/14"]) == date(2026, 5, 1)
    assert next_due(config, date(2026, 3, 1), lots={}, pending_lots=[], tier_review_day="2026-05-01",
                    birthday=None, birthday_awarded_year=None, last_activity_day=None) == date(2026, 4, 17)


def test_the_points_to_keep_a_tier_count_what_is_still_in_the_window_on_the_review_day() -> None:
    # Given Silver (1,000) over a 365-day window, with 600 points earned on 2026-01-10 and 300 on 2026-06-01
    buckets = {"2026-01-10": 600, "2026-06-01": 300}
    # Then a review on 2026-12-01 counts both (100 to go), one on 2027-01-10 only the later (700 to go)
    assert points_to_keep(CONFIG, "Silver", date(2026, 12, 1), buckets) == 100
    assert points_to_keep(CONFIG, "Silver", date(2027, 1, 10), buckets) == 700
    assert points_to_keep(CONFIG, "Bronze", date(2027, 1, 10), buckets) == 0


def test_offers_match_preferences_case_blind() -> None:
    assert matches_preferences([], {"tea"})
    assert matches_preferences(["Tea", "Herbal"], {"tea"})
    assert not matches_preferences(["coffee"], {"tea"})


def test_a_daily_cap_counts_local_days_across_the_daylight_saving_change() -> None:
    rule = ActionRule(points=50, limit={"count": 1, "per": "day"})  # type: ignore[arg-type]
    zone = CONFIG.zone
    # 8 March 2026: clocks go forward in New York; 03:59 UTC on the 9th is 23:59 on the 8th (EDT)
    before_midnight = local_day(datetime(2026, 3, 9, 3, 59, tzinfo=UTC), zone)
    after_midnight = local_day(datetime(2026, 3, 9, 4, 1, tzinfo=UTC), zone)
    assert (before_midnight, after_midnight) == (date(2026, 3, 8), date(2026, 3, 9))
    counts = count_action(rule, "share", {}, before_midnight)
    with pytest.raises(LimitReached):
        count_action(rule, "share", counts, local_day(datetime(2026, 3, 8, 5, 30, tzinfo=UTC), zone))
    assert count_action(rule, "share", counts, after_midnight)["share"] == ["2026-03-09", 1]
