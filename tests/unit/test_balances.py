"""What a holder has as of a moment, without AWS: lapsed holds count as available on every read, live ones
as held, and what expires within 30 days by its lots or by inactivity."""

from __future__ import annotations

from datetime import UTC, date, datetime

from loyalty.domain.balances import available_points, expiring_soon, held_points, lapsed_holds
from loyalty.domain.holders import Member
from loyalty.domain.program import ProgramConfig
from tests.unit.programs import DEMO_PROGRAM

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _member() -> Member:
    # Given 100 available points in two lots, and two holds: one whose moment passed an hour ago
    return Member(member_id="ann", tier="Bronze", tier_since="2026-01-01T00:00:00Z", available=100,
                  lots={"2026-12-20": 60, "2027-06-01": 40}, last_activity_day="2026-12-01",
                  holds={"lapsed": {"points": 30, "expires_at": "2026-12-07T11:00:00Z", "lots": {"2026-12-20": 30}},
                         "live": {"points": 20, "expires_at": "2026-12-07T13:00:00Z", "lots": {"2027-06-01": 20}}})


def test_a_lapsed_hold_counts_as_available_and_a_live_one_as_held() -> None:
    member = _member()
    # When its balances are read now, Then the lapsed hold's points are available again, the live one's held
    assert set(lapsed_holds(member, NOW)) == {"lapsed"}
    assert (available_points(member, NOW), held_points(member, NOW)) == (130, 20)
    # And the stored member is not changed by reading it
    assert member.available == 100 and set(member.holds) == {"lapsed", "live"}


def test_what_expires_within_30_days_counts_the_lapsed_holds_lots_back() -> None:
    config = ProgramConfig.model_validate(DEMO_PROGRAM)
    # The lot of 2026-12-20 (60, and the lapsed hold's 30 back in it) is within 30 days; June's is not
    assert expiring_soon(_member(), config, date(2026, 12, 7), NOW) == 90
    assert expiring_soon(_member(), config, date(2026, 12, 7)) == 60


def test_an_inactivity_expiry_within_30_days_counts_the_whole_balance() -> None:
    config = ProgramConfig.model_validate({**DEMO_PROGRAM, "expiry": {"policy": "inactivity", "days": 30}})
    # Given a last activity on 2026-12-01: everything lapses on 2026-12-31, within the window
    assert expiring_soon(_member(), config, date(2026, 12, 7), NOW) == 130
    # And nothing when the lapse is further away than 30 days
    assert expiring_soon(_member(), config, date(2026, 10, 1), NOW) == 0
