"""Held referral rewards on the referrer (referrals.hold_days): pending lots that name their referee, released
a bounded number of referees a visit, cancelled per referee (no AWS)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from loyalty.domain.member import MAX_REFERRALS_RELEASED, Member, MemberChange
from loyalty.domain.program import ProgramConfig
from tests.unit.programs import DEMO_PROGRAM

NOW = datetime(2026, 6, 1, 17, tzinfo=UTC)
TODAY = date(2026, 6, 1)


def config() -> ProgramConfig:
    return ProgramConfig.model_validate({**DEMO_PROGRAM, "actions": {
        **DEMO_PROGRAM["actions"], "referral_signup": {"points": 500}, "referral_conversion": {"points": 300}},
        "referrals": {"hold_days": 7}})


def referrer() -> Member:
    return Member("alice", tier="Bronze", tier_since="2026-01-01T00:00:00.000Z")


def held(member: Member, referee: str, action: str = "referral_signup", release: date = TODAY) -> None:
    change = MemberChange(member, config(), NOW - timedelta(days=7))
    change.action(action, occurred_at=NOW - timedelta(days=7), source={"referred_member_id": referee},
                  pending_until=release)
    change.finish()


def test_a_held_reward_is_a_pending_lot_naming_its_referee() -> None:
    member = referrer()
    held(member, "bo")
    assert member.pending == 500 and member.available == 0
    assert [(lot["referral"], lot["points"], lot["release"]) for lot in member.pending_lots] == [
        ("bo", 500, TODAY.isoformat())]


def test_a_visit_releases_at_most_so_many_referees_and_comes_back_the_same_day_for_the_rest() -> None:
    # Given 30 referees' rewards due today
    member = referrer()
    for number in range(30):
        held(member, f"r{number:02d}")
    # When the job visits
    change = MemberChange(member, config(), NOW)
    entries = change.release_due()
    change.finish()
    # Then MAX_REFERRALS_RELEASED referees are released, the rest wait, and the member is due again today
    assert len(entries) == MAX_REFERRALS_RELEASED == len(change.released_referrals)
    assert member.available == 500 * MAX_REFERRALS_RELEASED and member.pending == 500 * 5
    assert member.due_day == TODAY.isoformat()


def test_a_referee_with_a_reward_still_held_is_not_reported_released() -> None:
    member = referrer()
    held(member, "bo")
    held(member, "bo", "referral_conversion", release=TODAY + timedelta(days=1))
    change = MemberChange(member, config(), NOW)
    assert [int(entry.points) for entry in change.release_due()] == [500]
    assert change.released_referrals == []


def test_cancelling_takes_only_that_referees_held_rewards() -> None:
    # Given rewards held for Bo (two) and Cy, and pending purchase points
    member = referrer()
    held(member, "bo")
    held(member, "bo", "referral_conversion")
    held(member, "cy")
    member.pending_lots = [*member.pending_lots, {"release": TODAY.isoformat(), "order_id": "o-1", "points": 40,
                                                  "qualifying": 40, "earned": TODAY.isoformat()}]
    member.pending = int(member.pending) + 40
    # When Bo's are cancelled
    change = MemberChange(member, config(), NOW)
    entry = change.cancel_referral("bo", source={"referred_member_id": "bo"})
    # Then one pending entry takes back his 800; Cy's and the order's stay held
    assert entry is not None and (int(entry.points), entry.status, str(entry.type)) == (
        -800, "pending", "referral_reversal")
    assert member.pending == 540
    assert sorted(lot.get("referral") or lot["order_id"] for lot in member.pending_lots) == ["cy", "o-1"]
    # And cancelling again finds nothing
    assert change.cancel_referral("bo", source={}) is None
