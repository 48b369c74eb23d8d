"""Whether a reward can be taken now: by anyone (active, within its window) and by one member (tier,
membership plan, stock, its per-member limit). Pure: the catalog's item and the member's are read by the
use case, which passes what these rules look at."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from loyalty.domain.clock import parse_utc
from loyalty.domain.memberships import active_plan
from loyalty.domain.program import ProgramConfig
from loyalty.domain.tiers import rank


def closed_reason(data: Mapping[str, Any], now: datetime) -> str | None:
    """Why nobody can take the reward now (inactive, before or after its window), or None."""
    if not data.get("active", True):
        return "the reward is not active"
    if data.get("starts_at") and now < parse_utc(data["starts_at"]):
        return "the reward is not available yet"
    if data.get("ends_at") and now >= parse_utc(data["ends_at"]):
        return "the reward is no longer available"
    return None


def unavailable_reason(data: Mapping[str, Any], stock: int | None, *, tier: str,
                       membership: Mapping[str, Any] | None, taken: int, config: ProgramConfig,
                       now: datetime) -> str | None:
    """Why a member (its tier, membership and the times it took this reward) cannot take the reward now,
    or None when it can (stock is also checked on write)."""
    closed = closed_reason(data, now)
    if closed:
        return closed
    if data.get("min_tier") and rank(config, tier) < rank(config, data["min_tier"]):
        return f"the reward needs tier {data['min_tier']} or above"
    plans = data.get("membership_plans")
    if plans:
        plan = active_plan(dict(membership) if membership else None, now.astimezone(config.zone).date())
        if plan is None or plan["plan_id"] not in plans:
            return "the reward is for members of " + ", ".join(plans)
    if stock is not None and int(stock) <= 0:
        return "the reward is out of stock"
    limit = data.get("per_member_limit")
    if limit is not None and taken >= int(limit):
        return f"the reward is limited to {limit} per member"
    return None
