"""Partner promotions: when one runs and who may use it (the budget and per-member limits are checked
against the store's counters by the use cases)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.clock import parse_utc
from loyalty.domain.program import ProgramConfig
from loyalty.domain.tiers import rank


def is_running(data: dict[str, Any], now: datetime) -> bool:
    return parse_utc(data["starts_at"]) <= now < parse_utc(data["ends_at"])


def is_eligible(data: dict[str, Any], member_tier: str, config: ProgramConfig) -> bool:
    """The member's tier is in the promotion's audience (no minimum tier: everyone)."""
    minimum = (data.get("audience") or {}).get("min_tier")
    return not minimum or rank(config, member_tier) >= rank(config, minimum)
