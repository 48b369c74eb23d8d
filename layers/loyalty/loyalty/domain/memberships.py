"""Paid memberships: which plan a member holds on a day, what it multiplies, how it reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from loyalty.domain.program import ProgramConfig

# (name, multiplier, label) rows added to an earning's breakdown.
Multipliers = tuple[tuple[str, Decimal, str], ...]


def active_plan(membership: dict[str, Any] | None, today: date) -> dict[str, Any] | None:
    """The membership, if it is active and paid through `today`."""
    current = membership or {}
    if current.get("status") == "active" and current.get("current_period_end", "") >= today.isoformat():
        return dict(current)
    return None


def membership_multiplier(membership: dict[str, Any] | None, config: ProgramConfig, today: date) -> Multipliers:
    """The extra earn multiplier of the member's paid plan: base x tier x membership x bonus events."""
    plan = active_plan(membership, today)
    if plan is None or plan["plan_id"] not in config.memberships:
        return ()
    definition = config.memberships[plan["plan_id"]]
    if definition.earn_multiplier == 1:
        return ()
    return (("membership_multiplier", definition.earn_multiplier, f"{definition.name} x{definition.earn_multiplier}"),)


def membership_view(membership: dict[str, Any] | None, config: ProgramConfig, today: date) -> dict[str, Any] | None:
    """The membership as a member reads it: its status on `today`, the plan's name and benefits."""
    if not membership:
        return None
    definition = config.memberships.get(membership.get("plan_id", ""))
    active = active_plan(membership, today) is not None
    return {**membership, "status": "active" if active else "expired" if membership.get("status") == "active"
            else membership.get("status"), "name": definition.name if definition else None,
            "benefits": list(definition.benefits) if definition and active else [],
            "earn_multiplier": float(definition.earn_multiplier) if definition else 1.0}
