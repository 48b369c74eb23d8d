"""Lots (spend soonest-expiring first, debt), tiers (window, upgrade, retention), cap periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from loyalty.domain.actions import count_action
from loyalty.domain.clock import local_day, start_of_local_day
from loyalty.domain.errors import InsufficientPoints, LimitReached
from loyalty.domain.lots import NEVER, Wallet, lot_expiry
from loyalty.domain.periods import period_key
from loyalty.domain.program import ActionRule, Expiry, ProgramConfig
from loyalty.domain.tiers import downgrade, next_tier, prune_buckets, qualifying_points, upgrade
from tests.unit.programs import DEMO_PROGRAM

CONFIG = ProgramConfig.model_validate(DEMO_PROGRAM)


def test_spending_draws_the_soonest_expiring_lots_first() -> None:
    wallet = Wallet({"2027-03-01": 100, "2026-12-31": 50, NEVER: 10})
    assert wallet.draw(70) == [("2026-12-31", 50), ("2027-03-01", 20)]
    assert wallet.lots == {"2027-03-01": 80, NEVER: 10}
    with pytest.raises(InsufficientPoints):
        wallet.draw(91)


def test_a_return_claws_back_from_its_own_lot_then_becomes_debt_when_allowed() -> None:
    wallet = Wallet({"2026-12-31": 50, "2027-06-01": 30})
    assert wallet.claw_back(40, "2027-06-01", allow_negative=True) == ([("2027-06-01", 30), ("2026-12-31", 10)], 0)
    assert wallet.claw_back(60, None, allow_negative=True) == ([("2026-12-31", 40)], 0)
    assert (wallet.available, wallet.debt) == (-20, 20)
    # The next earn pays the debt first
    wallet.add("2027-12-01", 50)
    assert (wallet.available, wallet.lots, wallet.debt) == (30, {"2027-12-01": 30}, 0)
    # within_balance: what the balance cannot cover is not collected; the balance never goes negative
    strict = Wallet({"2026-12-31": 10})
    assert strict.claw_back(15, None, allow_negative=False) == ([("2026-12-31", 10)], 5)
    assert (strict.available, strict.debt) == (0, 0)


def test_expiry_policies_give_the_last_valid_day() -> None:
    earned = date(2026, 2, 10)
    assert lot_expiry(Expiry(policy="rolling", days=365), earned) == "2027-02-10"
    assert lot_expiry(Expiry(policy="end_of_period", period="month"), earned) == "2026-02-28"
    assert lot_expiry(Expiry(policy="end_of_period", period="quarter"), earned) == "2026-03-31"
    assert lot_expiry(Expiry(policy="end_of_period", period="year"), earned) == "2026-12-31"
    assert lot_expiry(Expiry(policy="none"), earned) == NEVER
    wallet = Wallet({"2026-02-09": 5, "2026-02-10": 7, NEVER: 1})
    assert wallet.expire_through(date(2026, 2, 10)) == [("2026-02-09", 5)]
    assert wallet.expiring_within(date(2026, 2, 10), 30) == 7


def test_qualifying_points_count_only_the_rolling_window() -> None:
    buckets = {"2025-01-01": 500, "2025-06-01": 300, "2026-05-31": 200}
    today = date(2026, 5, 31)
    # A 365-day window ending 31 May 2026 starts on 1 June 2025 (both days included)
    assert qualifying_points(buckets, today, 365) == 500
    assert qualifying_points(buckets, today, 364) == 200
    assert qualifying_points(buckets, today, 600) == 1000
    assert prune_buckets(buckets, today, 364) == {"2026-05-31": 200}


def test_upgrade_at_the_threshold_and_next_tier() -> None:
    assert upgrade(CONFIG, "Bronze", 999) is None
    assert upgrade(CONFIG, "Bronze", 1000) == "Silver"
    assert upgrade(CONFIG, "Bronze", 20000) == "Platinum"
    assert upgrade(CONFIG, "Gold", 1000) is None  # never down through an upgrade
    assert next_tier(CONFIG, "Silver", 1200).points_needed == 3800  # type: ignore[union-attr]
    assert next_tier(CONFIG, "Platinum", 0) is None


def test_downgrade_only_after_retention_and_when_the_window_no_longer_qualifies() -> None:
    since = date(2025, 6, 1)
    assert downgrade(CONFIG, "Gold", since, date(2026, 5, 31), 0) is None  # inside retention
    assert downgrade(CONFIG, "Gold", since, date(2026, 6, 1), 5000) is None  # still qualifies
    assert downgrade(CONFIG, "Gold", since, date(2026, 6, 1), 1200) == "Silver"
    assert downgrade(CONFIG, "Gold", since, date(2026, 6, 1), 0) == "Bronze"


def test_period_keys() -> None:
    assert period_key("day", date(2026, 3, 8)) == "2026-03-08"
    assert period_key("week", date(2026, 1, 1)) == "2026-W01"
    assert period_key("week", date(2027, 1, 1)) == "2026-W53"  # ISO weeks cross the new year
    assert period_key("month", date(2026, 3, 8)) == "2026-03"
    assert period_key("quarter", date(2026, 12, 31)) == "2026-Q4"
    assert period_key("year", date(2026, 12, 31)) == "2026"
    assert period_key("lifetime", date(2026, 12, 31)) == "lifetime"


def test_days_are_counted_in_the_program_time_zone_across_dst() -> None:
    zone = CONFIG.zone  # America/New_York
    # 03:30 UTC on 8 March is still 7 March in New York (EST, UTC-5)
    assert local_day(datetime(2026, 3, 8, 3, 30, tzinfo=UTC), zone) == date(2026, 3, 7)
    # DST starts on 8 March 2026: the next day begins at 04:00 UTC, not 05:00
    assert start_of_local_day(date(2026, 3, 8), zone) == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert start_of_local_day(date(2026, 3, 9), zone) == datetime(2026, 3, 9, 4, tzinfo=UTC)


def test_caps_count_per_period_and_reset_with_the_next() -> None:
    rule = ActionRule(points=50, limit={"count": 1, "per": "day"})  # type: ignore[arg-type]
    counts = count_action(rule, "social_share", {}, date(2026, 3, 7))
    with pytest.raises(LimitReached):
        count_action(rule, "social_share", counts, date(2026, 3, 7))
    assert count_action(rule, "social_share", counts, date(2026, 3, 8))["social_share"] == ["2026-03-08", 1]
