"""Whether a reward can be taken now, without AWS: its window and activity for everyone, then a member's tier,
membership plan, the stock and the per-member limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loyalty.domain.program import ProgramConfig
from loyalty.domain.rewards import closed_reason, unavailable_reason
from tests.unit.programs import DEMO_PROGRAM

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CONFIG = ProgramConfig.model_validate(DEMO_PROGRAM)


def _reason(data: dict[str, Any], stock: int | None = 5, *, tier: str = "Bronze",
            membership: dict[str, Any] | None = None, taken: int = 0) -> str | None:
    return unavailable_reason(data, stock, tier=tier, membership=membership, taken=taken, config=CONFIG, now=NOW)


def test_a_reward_is_closed_when_inactive_or_outside_its_window() -> None:
    assert closed_reason({}, NOW) is None
    assert closed_reason({"active": False}, NOW) == "the reward is not active"
    assert closed_reason({"starts_at": "2026-12-08T00:00:00Z"}, NOW) == "the reward is not available yet"
    assert closed_reason({"ends_at": "2026-12-07T12:00:00Z"}, NOW) == "the reward is no longer available"


def test_a_member_needs_the_tier_the_plan_the_stock_and_room_under_its_limit() -> None:
    # Given an open reward, When a Bronze member with nothing taken asks, Then it may take it
    assert _reason({}) is None
    # Then a tier above its own, an empty stock or its limit reached say why not
    assert _reason({"min_tier": "Silver"}) == "the reward needs tier Silver or above"
    assert _reason({"min_tier": "Silver"}, tier="Silver") is None
    assert _reason({}, stock=0) == "the reward is out of stock"
    assert _reason({}, stock=None) is None  # no stock kept: unlimited
    assert _reason({"per_member_limit": 2}, taken=2) == "the reward is limited to 2 per member"
    assert _reason({"per_member_limit": 2}, taken=1) is None
    # And a plan's reward needs that plan active and paid through today
    paid = {"plan_id": "plus", "status": "active", "current_period_end": "2026-12-31"}
    assert _reason({"membership_plans": ["plus"]}) == "the reward is for members of plus"
    assert _reason({"membership_plans": ["plus"]}, membership=paid) is None
    lapsed = {**paid, "current_period_end": "2026-12-01"}
    assert _reason({"membership_plans": ["plus"]}, membership=lapsed) == "the reward is for members of plus"
