"""A household's pool is a holder of points like a member: what a member earns moves to it with its lots'
expiry and qualifying points; a return takes it back; who may join, leave and spend (no AWS)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from loyalty.domain import households as rules
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, Forbidden
from loyalty.domain.households import Household, contribute, contributed, goes_to_pool
from loyalty.domain.ids import ulid_floor
from loyalty.domain.member import Member, MemberChange
from loyalty.domain.program import Households, ProgramConfig
from tests.unit.programs import DEMO_PROGRAM

NOW = datetime(2026, 6, 1, 17, tzinfo=UTC)


def config() -> ProgramConfig:
    return ProgramConfig.model_validate({**DEMO_PROGRAM, "households": {"enabled": True, "max_members": 3}})


def member(member_id: str = "ben", household: str | None = "h1") -> Member:
    seat = {"household_id": household, "role": "member", "contributed": 0} if household else None
    return Member(member_id, tier="Bronze", tier_since="2026-01-01T00:00:00.000Z", household=seat)


def pool() -> Member:
    return Member(rules.pool_id("h1"), tier="Bronze", tier_since="2026-01-01T00:00:00.000Z", status="pool")


def test_an_earn_moves_to_the_pool_with_its_lot_and_qualifying_points() -> None:
    # Given Ben with 50 points of his own, in household h1
    ben, shared = member(), pool()
    before = MemberChange(ben, config(), NOW)
    before.earn(EntryType.ADJUST, 50, qualifying=0, occurred_at=NOW, source={})
    before.finish()
    # When Ben earns 200 (qualifying) and the change contributes to the pool
    change, pool_change = MemberChange(ben, config(), NOW), MemberChange(shared, config(), NOW)
    earned = change.earn(EntryType.EARN, 200, qualifying=200, occurred_at=NOW, source={"order_id": "o-1"})
    contribute(change, pool_change, "h1")
    member_entries = change.finish()
    pool_entries = pool_change.finish()
    # Then Ben keeps his own 50 (and his qualifying 200); the pool has the 200 in the same lot
    assert (ben.available, shared.available) == (50, 200)
    assert shared.lots == dict(earned.lots or {}) and sum(shared.lots.values()) == 200
    assert shared.qualifying_days == {"2026-06-01": 200} and ben.qualifying_days == {"2026-06-01": 200}
    assert earned.source["household_id"] == "h1" and contributed(member_entries) == 200
    # And the earn entry, written once, says so for both: Ben's balance without the 200, the pool's with them
    assert [entry.type for entry in member_entries] == ["earn"] and pool_entries == []
    assert (earned.points, earned.balance_after) == (200, 50)
    assert (earned.pooled_to, earned.pooled_points, earned.pooled_balance_after) == ("h1", 200, 200)


def test_entries_after_a_pooled_earn_in_the_same_change_leave_it_out_of_the_members_balance() -> None:
    # Given Ben, in household h1, who owes 30 points
    ben, shared = member(), pool()
    ben.debt = 30
    change, pool_change = MemberChange(ben, config(), NOW), MemberChange(shared, config(), NOW)
    # When one change earns 100 (30 of them pay the debt), then gets a 20-point adjustment
    earned = change.earn(EntryType.EARN, 100, qualifying=100, occurred_at=NOW, source={})
    adjusted = change.earn(EntryType.ADJUST, 20, qualifying=0, occurred_at=NOW, source={})
    contribute(change, pool_change, "h1")
    change.finish()
    pool_change.finish()
    # Then the pool has the 70 the earn credited; Ben's balance is the debt paid and the adjustment
    assert (shared.available, earned.pooled_points, earned.pooled_balance_after) == (70, 70, 70)
    assert (earned.balance_after, adjusted.balance_after, ben.available) == (0, 20, 20)
    assert contributed(change.entries) == 70


def test_what_goes_to_the_pool() -> None:
    change = MemberChange(member(), config(), NOW)
    earned = change.earn(EntryType.EARN, 10, qualifying=10, occurred_at=NOW, source={})
    adjusted = change.earn(EntryType.ADJUST, 10, qualifying=0, occurred_at=NOW, source={})
    pending = change.earn(EntryType.EARN, 10, qualifying=10, occurred_at=NOW, source={},
                          pending_until=date(2026, 6, 15))
    assert goes_to_pool(earned, "h1") and not goes_to_pool(adjusted, "h1") and not goes_to_pool(pending, "h1")
    # A pending lot earned in the household remembers it; released, it goes to that household's pool only
    assert change.member.pending_lots[0]["household"] == "h1"


def test_a_return_takes_the_points_back_from_the_pool_first() -> None:
    ben, shared = member(), pool()
    change, pool_change = MemberChange(ben, config(), NOW), MemberChange(shared, config(), NOW)
    earned = change.earn(EntryType.EARN, 300, qualifying=300, occurred_at=NOW, source={})
    contribute(change, pool_change, "h1")
    change.finish()
    pool_change.finish()
    lot = next(iter(earned.lots or {}))
    # When 100 of them are returned
    change, pool_change = MemberChange(ben, config(), NOW), MemberChange(shared, config(), NOW)
    taken = pool_change.household_return(100, qualifying=100, earned_on=date(2026, 6, 1), lot=lot, source={})
    change.household_returned(dict(taken.lots or {}), source={})
    change.claw_back(100, qualifying=100, earned_on=date(2026, 6, 1), lot=lot, source={})
    change.finish()
    pool_change.finish()
    # Then the pool has 200 (and 200 qualifying), Ben is where he was (less the returned qualifying points)
    assert (shared.available, ben.available, ben.debt) == (200, 0, 0)
    assert shared.qualifying_days == {"2026-06-01": 200} and ben.qualifying_days == {"2026-06-01": 200}


def test_joining_leaving_and_spending_rules() -> None:
    settings = Households(enabled=True, max_members=2, members_may_spend=False)
    home = Household("h1", "Home", "ann", "2026-06-01T00:00:00.000Z",
                     {"ann": {"role": "owner", "joined_at": "x"}, "ben": {"role": "member", "joined_at": "y"}})
    with pytest.raises(Conflict, match="has its 2 members"):
        rules.check_may_join(home, settings, "cal", None)
    with pytest.raises(Conflict, match="already belongs"):
        rules.check_may_join(home, settings, "cal", {"household_id": "h2"})
    with pytest.raises(Conflict, match="owner leaves last"):
        rules.check_may_remove(home, "ann", "ann", admin=False)
    with pytest.raises(Forbidden):
        rules.check_may_remove(home, "ben", "ann", admin=False)
    rules.check_may_remove(home, "ben", "ben", admin=False)  # a member leaves
    rules.check_may_remove(home, "ann", "ben", admin=False)  # the owner removes it
    rules.check_may_spend(home, settings, "ann", admin=False)
    with pytest.raises(Forbidden):
        rules.check_may_spend(home, settings, "ben", admin=False)
    with pytest.raises(Forbidden):
        rules.check_may_spend(home, settings, "eve", admin=False)


def test_a_member_following_the_pools_tier_neither_upgrades_nor_is_reviewed_on_its_own() -> None:
    ben = member()
    change = MemberChange(ben, config(), NOW)
    tier_change = change.follow_tier("Silver")
    change.earn(EntryType.EARN, 20_000, qualifying=20_000, occurred_at=NOW, source={})
    change.finish()
    assert tier_change is not None and ben.tier == "Silver" and ben.tier_review_day is None


def test_a_members_tier_follows_its_pool_only_with_tier_basis_household() -> None:
    # Given a seat in household h1, under both tier bases
    seat = {"household_id": "h1", "role": "member", "contributed": 0}
    by_household = ProgramConfig.model_validate(
        {**DEMO_PROGRAM, "households": {"enabled": True, "tier_basis": "household"}})
    # Then only tier_basis household makes the seat follow the pool, and no seat follows nothing
    assert rules.followed_household(by_household, seat) == "h1"
    assert rules.followed_household(config(), seat) is None
    assert rules.followed_household(by_household, None) is None
    assert rules.tiers_follow_pools(by_household) and not rules.tiers_follow_pools(config())


def test_a_households_tenure_bounds_where_its_pooled_earns_can_be() -> None:
    # Given Ann's household, which Ben joins, leaves and joins again, and Cy joins and leaves
    household = Household("h1", "The Smiths", "ann", "2026-01-01T00:00:00.000Z")
    rules.seat(household, "ann", "owner", "2026-01-01T00:00:00.000Z")
    rules.seat(household, "ben", "member", "2026-02-01T00:00:00.000Z")
    assert rules.leave(household, "ben", "2026-03-01T00:00:00.000Z") == "member"
    rules.seat(household, "ben", "member", "2026-04-01T00:00:00.000Z")
    rules.seat(household, "cy", "member", "2026-05-01T00:00:00.000Z")
    rules.leave(household, "cy", "2026-05-10T00:00:00.000Z")
    # Then each member's pooled earns lie between its first joining and its last leaving (give or take the
    # clocks' skew): Ben's from February on, Cy's until May 10th; the seated ones up to now
    skew = rules.CLOCK_SKEW_MS

    def ms(moment: str) -> int:
        return int(datetime.fromisoformat(moment).timestamp() * 1000)

    assert rules.contributors(household) == [
        ("ann", ulid_floor(ms("2026-01-01T00:00:00+00:00") - skew), None),
        ("ben", ulid_floor(ms("2026-02-01T00:00:00+00:00") - skew), None),
        ("cy", ulid_floor(ms("2026-05-01T00:00:00+00:00") - skew), ulid_floor(ms("2026-05-10T00:00:00+00:00") + skew))]
    assert sorted(household.members) == ["ann", "ben"]


def test_a_pools_notes_tell_each_members_tenure() -> None:
    # Given the pool's notes: Ann joined; Ben joined, left and joined again; Cy joined and left
    notes = [("ann", "joined", "2026-01-01T00:00:00.000Z"), ("ben", "joined", "2026-02-01T00:00:00.000Z"),
             ("ben", "left", "2026-03-01T00:00:00.000Z"), ("ben", "joined", "2026-04-01T00:00:00.000Z"),
             ("cy", "joined", "2026-05-01T00:00:00.000Z"), ("cy", "left", "2026-05-10T00:00:00.000Z")]
    # Then each tenure runs from the first joining to the last leaving (open while seated)
    assert rules.tenure_of(notes) == {
        "ann": {"since": "2026-01-01T00:00:00.000Z", "until": None},
        "ben": {"since": "2026-02-01T00:00:00.000Z", "until": None},
        "cy": {"since": "2026-05-01T00:00:00.000Z", "until": "2026-05-10T00:00:00.000Z"}}
