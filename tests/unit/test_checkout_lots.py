"""The lot arithmetic of checkout: holds, captures, releases, cancelled redemptions, transfers (no AWS)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.domain.errors import Conflict, InsufficientPoints
from loyalty.domain.events import events_of
from loyalty.domain.lots import Wallet, split_lots
from loyalty.domain.member import MAX_OPEN_HOLDS, Member, MemberChange
from loyalty.domain.metrics import contributions
from loyalty.domain.program import ProgramConfig
from tests.unit.programs import DEMO_PROGRAM

NOW = datetime(2026, 6, 1, 17, tzinfo=UTC)
TODAY = date(2026, 6, 1)


def test_a_hold_takes_the_soonest_expiring_lots_and_a_release_puts_them_back_exactly() -> None:
    # Given lots expiring in June, July and never
    wallet = Wallet({"2026-06-10": 100, "2026-07-01": 200, "9999-12-31": 50})
    # When 250 points are held
    held = wallet.hold(250)
    # Then they come from the soonest-expiring lots first
    assert held == {"2026-06-10": 100, "2026-07-01": 150}
    assert wallet.available == 100
    # And a release puts every point back into its own lot
    wallet.restore(held)
    assert wallet.lots == {"2026-06-10": 100, "2026-07-01": 200, "9999-12-31": 50}


def test_a_hold_of_more_than_available_is_refused() -> None:
    with pytest.raises(InsufficientPoints):
        Wallet({"2026-06-10": 100}, debt=10).hold(91)


def test_a_release_does_not_pay_a_debt_the_next_earn_pays_it() -> None:
    wallet = Wallet({"2026-06-10": 100})
    held = wallet.hold(100)
    wallet.debt = 30  # a return meanwhile took more than the lots held
    wallet.restore(held)
    assert (wallet.lots, wallet.debt, wallet.available) == ({"2026-06-10": 100}, 30, 70)


def test_a_capture_spends_the_soonest_expiring_held_lots_and_returns_the_rest() -> None:
    taken, rest = split_lots({"2026-07-01": 150, "2026-06-10": 100}, 120)
    assert taken == {"2026-06-10": 100, "2026-07-01": 20}
    assert rest == {"2026-07-01": 130}
    with pytest.raises(ValueError, match="more than the lots hold"):
        split_lots({"2026-06-10": 10}, 11)


def test_a_cancelled_redemption_comes_back_except_into_expired_lots() -> None:
    wallet = Wallet({"2026-08-01": 10}, debt=25)
    returned, not_returned = wallet.give_back({"2026-05-31": 40, "2026-06-01": 30, "2026-09-01": 20}, TODAY)
    # The lot whose last valid day was yesterday stays expired; the debt is paid first from the rest
    assert not_returned == 40
    assert returned == {"2026-06-01": 5, "2026-09-01": 20}
    assert (wallet.debt, wallet.available) == (0, 35)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["2026-06-01", "2026-06-15", "2026-07-01", "9999-12-31"]),
                       st.integers(1, 500), min_size=1),
       st.data())
def test_hold_then_capture_or_release_never_creates_or_loses_a_point(lots: dict[str, int], data: st.DataObject) -> None:
    wallet = Wallet(dict(lots))
    total = wallet.available
    points = data.draw(st.integers(1, total))
    held = wallet.hold(points)
    assert sum(held.values()) == points and wallet.available == total - points
    captured = data.draw(st.integers(0, points))
    taken, rest = split_lots(held, captured)
    assert sum(taken.values()) == captured and sum(rest.values()) == points - captured
    wallet.restore(rest)
    assert wallet.available == total - captured
    # Every lot holds what it held less what the capture took from it
    assert all(wallet.lots.get(day, 0) == amount - taken.get(day, 0) for day, amount in lots.items())


def config(**fields: object) -> ProgramConfig:
    return ProgramConfig.model_validate({**DEMO_PROGRAM, **fields})


def member_with(points: int, day: str = "2027-06-01"):  # type: ignore[no-untyped-def]
    member = Member("m", tier="Bronze", tier_since="2026-01-01T00:00:00.000Z")
    member.lots, member.available = {day: points}, points
    return member


def test_an_expired_hold_is_folded_back_before_the_change_plans() -> None:
    member = member_with(500)
    change = MemberChange(member, config(), NOW)
    change.hold(200, hold_id="H1", expires_at="2026-06-01T17:10:00.000Z")
    change.finish()
    later = MemberChange(member, config(), NOW + timedelta(minutes=10))
    closed = later.fold_expired_holds()
    assert [hold.status for hold in closed] == ["expired"]
    assert later.wallet.available == 500 and later.open_holds() == {}


def test_a_member_has_at_most_twenty_open_holds() -> None:
    change = MemberChange(member_with(1000), config(), NOW)
    for index in range(MAX_OPEN_HOLDS):
        change.hold(1, hold_id=f"H{index:02d}", expires_at="2026-06-01T18:00:00.000Z")
    with pytest.raises(Conflict, match="open holds"):
        change.hold(1, hold_id="H99", expires_at="2026-06-01T18:00:00.000Z")


def test_received_points_expire_by_the_policy_counted_from_the_transfer_and_are_not_earned() -> None:
    receiver = member_with(0)
    change = MemberChange(receiver, config(expiry={"policy": "rolling", "days": 30}), NOW)
    entry = change.transfer_in(300, from_member_id="s", transfer_id="T1", message=None)
    change.finish()
    assert entry.lots == {"2026-07-01": 300}
    assert int(receiver.lifetime_earned or 0) == 0 and not receiver.qualifying_days


def test_the_books_count_cancellations_net_and_lapsed_points_as_expired() -> None:
    reversal = {"type": "redeem_reversal", "points": 60, "day": "2026-06-01", "recorded_day": "2026-06-01",
                "details": '{"points_not_returned": 40}', "lots": '{"2026-07-01": 60}'}
    found = contributions("INSERT", {"pk": "MEMBER#m", "sk": "ENTRY#E2"}, reversal)
    day = found[("DAYS", "2026-06-01")]
    assert (day["points_redeemed"], day["redemptions"], day["points_expired"]) == (-100, -1, 40)


def test_holds_and_transfers_announce_events_with_stable_ids() -> None:
    hold = {"hold_id": "H1", "member_id": "m", "points": 300, "captured_points": 0, "status": "held",
            "created_at": "t0", "expires_at": "t1", "balance_after": 700}
    placed = events_of("INSERT", {"pk": "MEMBER#m", "sk": "HOLD#H1"}, hold)
    assert [(event["type"], event["id"]) for event in placed] == [("points.held", "points.held:H1")]
    partly = events_of("MODIFY", {"pk": "MEMBER#m", "sk": "HOLD#H1"},
                       {**hold, "status": "captured", "captured_points": 120, "closed_at": "t2"})
    assert [(event["type"], event["data"]["points"]) for event in partly] == [("points.released", 180)]
    whole = events_of("MODIFY", {"pk": "MEMBER#m", "sk": "HOLD#H1"}, {**hold, "status": "captured",
                                                                       "captured_points": 300})
    assert whole == []
    expired = events_of("MODIFY", {"pk": "MEMBER#m", "sk": "HOLD#H1"}, {**hold, "status": "expired"})
    assert expired[0]["data"]["reason"] == "expired"
    sent = events_of("INSERT", {"pk": "MEMBER#m", "sk": "ENTRY#E3"}, {
        "type": "transfer_out", "points": -100, "entry_id": "E3", "member_id": "m", "balance_after": 0,
        "source": '{"to_member_id": "n", "transfer_id": "T1"}'})
    assert [(event["type"], event["data"]["to_member_id"], event["data"]["points"]) for event in sent] == [
        ("points.transferred", "n", 100)]
