"""Applying points to a member: lots, debt, qualifying days, lifetime, activity and tier upgrades.

A `MemberChange` accumulates the ledger entries one request writes for one member; the store then
commits them with the member in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from loyalty.domain import tiers
from loyalty.domain.actions import count_action
from loyalty.domain.clock import iso_utc, local_day
from loyalty.domain.errors import LimitReached, ValidationFailed
from loyalty.domain.ids import new_ulid
from loyalty.domain.lots import Wallet, lot_expiry
from loyalty.domain.program import ProgramConfig
from loyalty.services.views import expires_at
from loyalty.store.models import EntryItem, MemberItem
from loyalty.store.repository import new_entry, schedule_tier_review

# Entry types that make a member "active" (enrolled, earned, redeemed or did an action).
ACTIVITY_TYPES = {"earn", "redeem", "action", "partner_earn", "promo", "referral", "return", "bonus"}


class MemberChange:
    def __init__(self, member: MemberItem, config: ProgramConfig, now: datetime) -> None:
        self.member = member
        self.config = config
        self.now = now
        self.today = local_day(now, config.zone)
        self.wallet = Wallet(dict(member.lots or {}), int(member.debt or 0))
        self.entries: list[EntryItem] = []
        self.previous_activity_day = member.last_activity_day

    def _entry(self, entry_type: str, points: int, occurred_at: datetime, **attributes: Any) -> EntryItem:
        entry_id = new_ulid()
        day = local_day(occurred_at, self.config.zone)
        entry = new_entry(
            self.member.member_id, entry_id, type=entry_type, points=points,
            occurred_at=iso_utc(occurred_at), recorded_at=iso_utc(self.now), day=day.isoformat(),
            recorded_day=self.today.isoformat(),
            balance_after=self.wallet.available, previous_activity_day=self.previous_activity_day,
            **attributes,
        )
        if entry_type in ACTIVITY_TYPES:
            self._touch(day)
        self.entries.append(entry)
        return entry

    def _touch(self, day: date) -> None:
        current = self.member.last_activity_day
        if current is None or day.isoformat() > current:
            self.member.last_activity_day = day.isoformat()

    def earn(self, entry_type: str, points: int, *, qualifying: int, occurred_at: datetime,
             source: dict[str, Any], breakdown: list[dict[str, Any]] | None = None, **attributes: Any) -> EntryItem:
        earned_on = local_day(occurred_at, self.config.zone)
        lot = lot_expiry(self.config.expiry, earned_on)
        credited = self.wallet.add(lot, points)
        self.member.lifetime_earned = int(self.member.lifetime_earned or 0) + points
        if qualifying:
            days = dict(self.member.qualifying_days or {})
            days[earned_on.isoformat()] = days.get(earned_on.isoformat(), 0) + qualifying
            self.member.qualifying_days = tiers.prune_buckets(days, self.today, self.config.tier_window_days)
        return self._entry(
            entry_type, points, occurred_at, source=source, breakdown=breakdown or [], qualifying=qualifying,
            lots={lot: credited} if credited else {}, expires_at=expires_at(self.config, lot), **attributes,
        )

    def spend(self, entry_type: str, points: int, *, source: dict[str, Any], **attributes: Any) -> EntryItem:
        drawn = self.wallet.draw(points)
        return self._entry(entry_type, -points, self.now, source=source, lots=dict(drawn), **attributes)

    def claw_back(self, entry_type: str, points: int, *, qualifying: int, earned_on: date, lot: str | None,
                  occurred_at: datetime, source: dict[str, Any], **attributes: Any) -> EntryItem:
        drawn = self.wallet.claw_back(points, lot, self.config.return_policy == "allow_negative")
        if qualifying:
            days = dict(self.member.qualifying_days or {})
            key = earned_on.isoformat()
            if key in days:
                days[key] = days[key] - qualifying
            self.member.qualifying_days = tiers.prune_buckets(days, self.today, self.config.tier_window_days)
        return self._entry(entry_type, -points, occurred_at, source=source, lots=dict(drawn),
                           qualifying=-qualifying, **attributes)

    def action(self, action: str, *, occurred_at: datetime, source: dict[str, Any],
               details: dict[str, Any] | None = None) -> EntryItem:
        rule = self.config.actions.get(action)
        if rule is None:
            raise ValidationFailed(f"unknown action {action}",
                                   errors=[{"field": "action", "message": "not an action of this program"}])
        self.member.action_counts = count_action(rule, action, dict(self.member.action_counts or {}),
                                                 local_day(occurred_at, self.config.zone))
        return self.earn(
            "action", rule.points, qualifying=rule.points if rule.qualifying else 0, occurred_at=occurred_at,
            source={"action": action, **source}, breakdown=[{"rule": f"action:{action}", "points": rule.points,
                                                             "detail": f"{action}"}],
            details=details,
        )

    def note(self, entry_type: str, *, details: dict[str, Any]) -> EntryItem:
        """A 0-point ledger fact (feedback and the like) that metrics count."""
        return self._entry(entry_type, 0, self.now, source={}, details=details)

    def finish(self) -> list[EntryItem]:
        """Write the wallet back and upgrade the tier when qualifying points reached a threshold."""
        self.member.lots = dict(self.wallet.lots)
        self.member.debt = self.wallet.debt
        self.member.available = self.wallet.available
        qualifying = tiers.qualifying_points(self.member.qualifying_days or {}, self.today,
                                             self.config.tier_window_days)
        reached = tiers.upgrade(self.config, self.member.tier, qualifying)
        if reached is not None:
            self.change_tier(reached, qualifying, "upgrade")
        return self.entries

    def change_tier(self, tier: str, qualifying: int, reason: str) -> None:
        previous = self.member.tier
        self.member.tier = tier
        self.member.tier_since = iso_utc(self.now)
        review = tiers.review_day(self.config, tier, self.today, self.today, self.member.qualifying_days or {})
        schedule_tier_review(self.member, review.isoformat() if review else None)
        self._entry("tier_change", 0, self.now, source={}, details={
            "from": previous, "to": tier, "qualifying_points": qualifying, "reason": reason,
        })


def award_action(member: MemberItem, config: ProgramConfig, action: str, now: datetime, *,
                 source: dict[str, Any], silent_when_capped: bool = False) -> list[EntryItem]:
    """Award `action` to `member` (mutated in place); [] when capped and `silent_when_capped`."""
    change = MemberChange(member, config, now)
    try:
        change.action(action, occurred_at=now, source=source)
    except LimitReached:
        if silent_when_capped:
            return []
        raise
    return change.finish()
