"""What-if: a member's recorded purchases and actions replayed under a proposed program config.

Pure: the job (services/whatif.py) hands one member's ledger at a time. The replay walks the member's
purchases and actions in order from its first entry, earning them by the proposed config (rates, tier
multipliers, bonus events, action points) with the tier it would have had then: qualifying points by day
in the proposed window, upgrades at the proposed thresholds (no downgrade: retention is not replayed).
Only the entries of the period count in the totals; the ones before it build the tier.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loyalty.domain import tiers
from loyalty.domain.earning import purchase_points
from loyalty.domain.errors import DomainError
from loyalty.domain.program import ProgramConfig


@dataclass
class Totals:
    purchases_replayed: int = 0
    current: int = 0
    proposed: int = 0
    members_affected: int = 0
    tier_changes: Counter[str] = field(default_factory=Counter)

    def add(self, other: Totals) -> None:
        self.purchases_replayed += other.purchases_replayed
        self.current += other.current
        self.proposed += other.proposed
        self.members_affected += other.members_affected
        self.tier_changes.update(other.tier_changes)

    def as_dict(self) -> dict[str, Any]:
        return {"purchases_replayed": self.purchases_replayed, "current": self.current, "proposed": self.proposed,
                "members_affected": self.members_affected, "tier_changes": dict(self.tier_changes)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Totals:
        return cls(int(raw.get("purchases_replayed", 0)), int(raw.get("current", 0)), int(raw.get("proposed", 0)),
                   int(raw.get("members_affected", 0)), Counter(raw.get("tier_changes") or {}))


def _json(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value)
    return value or {}


def _counted(entry: dict[str, Any]) -> bool:
    """A purchase or an action: what the replay earns again."""
    source = _json(entry.get("source"))
    return bool((entry.get("type") == "earn" and source.get("order_id"))
                or (entry.get("type") == "action" and source.get("action")))


def current_tier_at(member: dict[str, Any], entries: list[dict[str, Any]], last_day: str) -> str:
    """The member's tier at the end of `last_day` as its ledger tells it: the tier changes recorded before
    its last purchase or action of the period, and with it (an upgrade is written in the purchase's own
    transaction, dated the day it was recorded, which for a purchase sent late is after the period)."""
    changes = [entry for entry in entries if entry.get("type") == "tier_change"]
    tier = str(_json(changes[0].get("details")).get("from")) if changes else str(member.get("tier", ""))
    counted = [index for index, entry in enumerate(entries) if _counted(entry) and str(entry.get("day")) <= last_day]
    if not counted:
        before = [entry for entry in changes if str(entry.get("day")) <= last_day]
        return str(_json(before[-1].get("details")).get("to")) if before else tier
    last = counted[-1]
    stamp = entries[last].get("recorded_at")
    for index, entry in enumerate(entries):
        if entry.get("type") == "tier_change" and (index < last or entry.get("recorded_at") == stamp):
            tier = str(_json(entry.get("details")).get("to"))
    return tier


def replay_member(member: dict[str, Any], entries: list[dict[str, Any]], proposed: ProgramConfig,
                  first: date, last: date) -> Totals:
    """One member under the proposed config (entries in ledger order)."""
    totals = Totals()
    first_day, last_day = first.isoformat(), last.isoformat()
    changes = [entry for entry in entries if entry.get("type") == "tier_change"]
    start_tier = str(_json(changes[0].get("details")).get("from")) if changes else str(member.get("tier", ""))
    tier = start_tier if start_tier in {t.name for t in proposed.tiers} else proposed.tiers[0].name
    buckets: dict[str, int] = {}
    proposed_in_period = current_in_period = 0
    for entry in entries:
        day = str(entry.get("day", ""))
        if day > last_day:
            continue  # after the period (a purchase sent late may still come later in the ledger)
        kind = entry.get("type")
        source = _json(entry.get("source"))
        points: int | None = None
        if kind == "earn" and source.get("order_id"):
            total = _json(entry.get("details")).get("total") or {}
            try:
                points = purchase_points(
                    config=proposed, amount=Decimal(str(total.get("amount", "0"))),
                    currency=str(total.get("currency", proposed.currency)), channel=str(source.get("channel")),
                    tier_multiplier=proposed.tier_named(tier).multiplier,
                    occurred_at=datetime.fromisoformat(str(entry["occurred_at"]).replace("Z", "+00:00"))).points
            except (DomainError, ArithmeticError):
                points = 0  # a channel or currency the proposed program does not earn on
            if day >= first_day:
                totals.purchases_replayed += 1
        elif kind == "action" and source.get("action"):
            rule = proposed.actions.get(str(source["action"]))
            points = rule.points if rule is not None else 0
        if points is None:
            continue
        if day >= first_day:
            proposed_in_period += points
            current_in_period += int(entry.get("points", 0))
        buckets[day] = buckets.get(day, 0) + points
        reached = tiers.upgrade(proposed, tier, tiers.qualifying_points(buckets, date.fromisoformat(day),
                                                                        proposed.tier_window_days))
        tier = reached or tier
    totals.current, totals.proposed = current_in_period, proposed_in_period
    now_tier = current_tier_at(member, entries, last_day)
    if now_tier != tier:
        totals.tier_changes[f"{now_tier}→{tier}"] += 1
    if now_tier != tier or current_in_period != proposed_in_period:
        totals.members_affected = 1
    return totals
