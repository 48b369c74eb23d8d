"""Property test: any sequence of earns, redemptions, returns and expiries keeps the books straight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.domain.errors import InsufficientPoints
from loyalty.domain.lots import NEVER
from loyalty.domain.member import Member, MemberChange
from loyalty.domain.program import ProgramConfig
from loyalty.domain.returns import claw_back
from tests.unit.programs import DEMO_PROGRAM

START = datetime(2026, 1, 1, 17, tzinfo=UTC)

operations = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 500), st.integers(0, 3)),
    st.tuples(st.just("redeem"), st.integers(1, 800), st.integers(0, 3)),
    st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 4)),
    st.tuples(st.just("wait"), st.integers(1, 40), st.just(0)),
), max_size=40)


@settings(max_examples=150, deadline=None)
@given(operations, st.sampled_from(["allow_negative", "within_balance"]), st.sampled_from([20, 90, 365]))
def test_available_is_the_sum_of_lots_and_nothing_is_lost(ops: list[tuple[str, int, int]], policy: str,
                                                           expiry_days: int) -> None:
    config = ProgramConfig.model_validate({**DEMO_PROGRAM, "return_policy": policy,
                                           "expiry": {"policy": "rolling", "days": expiry_days}})
    member = Member("p", tier="Bronze", tier_since="2026-01-01T00:00:00.000Z")
    now = START
    orders: list[dict] = []
    earned = spent = clawed = expired = 0
    for kind, amount, extra in ops:
        change = MemberChange(member, config, now)
        change.expire_due()
        if kind == "earn":
            change.earn("earn", amount, qualifying=amount, occurred_at=now - timedelta(days=extra), source={})
            orders.append({"points": amount, "returned": 0, "refunded": Decimal(0), "day": change.today,
                           "lot": next(iter(change.entries[-1].lots or {NEVER: 0}))})
            earned += amount
        elif kind == "redeem":
            before = change.wallet.available
            try:
                change.spend("redeem", amount, source={})
                spent += amount
                assert change.wallet.available == before - amount >= 0
            except InsufficientPoints:
                assert amount > before
        elif kind == "return" and orders:
            order = orders[amount % len(orders)]
            total = Decimal(order["points"])
            refund = min(total - order["refunded"], (total / extra).quantize(Decimal(1)))
            if refund > 0:
                back = claw_back(order_total=total, already_refunded=order["refunded"], refund=refund,
                                 order_points=order["points"], points_returned=order["returned"],
                                 order_qualifying=order["points"], qualifying_returned=order["returned"])
                entry = change.claw_back(back.points, qualifying=back.qualifying, earned_on=order["day"],
                                         lot=order["lot"], source={})
                order["refunded"] = back.refunded_total
                order["returned"] += back.points
                clawed += -int(entry.points)
                assert order["returned"] <= order["points"]
        else:
            now += timedelta(days=amount)
            continue
        for entry in change.finish():
            if entry.type == "expire":
                expired += -int(entry.points)
        # The books: available is what the lots hold less the debt, and every point is accounted for.
        assert member.available == sum(member.lots.values()) - member.debt
        assert all(value > 0 for value in member.lots.values())
        assert member.debt >= 0 and (policy == "allow_negative" or member.debt == 0)
        assert member.available == earned - spent - clawed - expired
        assert member.lifetime_earned == earned
        assert sum(member.qualifying_days.values()) <= earned
