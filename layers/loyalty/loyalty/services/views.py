"""The contract's response shapes (Member, LedgerEntry, Reward) built from store items."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from loyalty.domain.clock import end_of_local_day, iso_utc
from loyalty.domain.lots import NEVER, Wallet
from loyalty.domain.memberships import membership_view
from loyalty.domain.program import ProgramConfig
from loyalty.domain.tiers import next_tier, qualifying_points
from loyalty.store.models import EntryItem, MemberItem, RewardItem

EXPIRING_WINDOW_DAYS = 30


def expires_at(config: ProgramConfig, last_valid_day: str | None) -> str | None:
    if not last_valid_day or last_valid_day == NEVER:
        return None
    return iso_utc(end_of_local_day(date.fromisoformat(last_valid_day), config.zone))


def expiring_soon(member: MemberItem, config: ProgramConfig, today: date) -> int:
    wallet = Wallet(dict(member.lots or {}), int(member.debt or 0))
    if config.expiry.policy == "inactivity" and config.expiry.days and member.last_activity_day:
        lapse = date.fromisoformat(member.last_activity_day) + timedelta(days=config.expiry.days)
        return max(wallet.available, 0) if lapse <= today + timedelta(days=EXPIRING_WINDOW_DAYS) else 0
    return wallet.expiring_within(today, EXPIRING_WINDOW_DAYS)


def member_view(member: MemberItem, config: ProgramConfig, now: datetime) -> dict[str, Any]:
    today = now.astimezone(config.zone).date()
    qualifying = qualifying_points(member.qualifying_days or {}, today, config.tier_window_days)
    tier = config.tier_named(member.tier)
    upcoming = next_tier(config, tier.name, qualifying)
    return {
        "member_id": member.member_id,
        "email": member.email,
        "name": member.name,
        "birthday": member.birthday,
        "phone": member.phone,
        "locale": member.locale,
        "status": member.status,
        "enrolled_at": member.enrolled_at,
        "tier": {
            "name": tier.name,
            "since": member.tier_since,
            "multiplier": float(tier.multiplier),
            "benefits": list(tier.benefits),
        },
        "next_tier": None if upcoming is None else {
            "name": upcoming.name, "points_needed": upcoming.points_needed,
        },
        "points": {
            "available": int(member.available),
            "pending": int(member.pending or 0),
            "lifetime_earned": int(member.lifetime_earned or 0),
            "qualifying": qualifying,
            "expiring_next_30_days": expiring_soon(member, config, today),
        },
        "preferences": member.preferences or {},
        "consents": member.consents or {},
        "referral_code": member.referral_code,
        "referred_by": member.referred_by,
        "membership": _membership(member, config, today),
    }


def _membership(member: MemberItem, config: ProgramConfig, today: date) -> dict[str, Any] | None:
    return membership_view(member.membership, config, today)


def entry_view(entry: EntryItem) -> dict[str, Any]:
    source = {"channel": None, "order_id": None, "partner_id": None, "action": None}
    source.update(entry.source or {})
    view: dict[str, Any] = {
        "entry_id": entry.entry_id,
        "member_id": entry.member_id,
        "type": entry.type,
        "points": int(entry.points),
        "occurred_at": entry.occurred_at,
        "recorded_at": entry.recorded_at,
        "source": source,
        "breakdown": entry.breakdown or [],
        "balance_after": int(entry.balance_after),
        "status": entry.status,
        "expires_at": entry.expires_at,
        "qualifying_points": int(entry.qualifying or 0),
    }
    if entry.reason is not None:
        view["reason"] = entry.reason
    if entry.description is not None:
        view["description"] = entry.description
    if entry.redemption is not None:
        view["redemption"] = entry.redemption
    if entry.details is not None:
        view["details"] = entry.details
    return view


def reward_view(reward: RewardItem) -> dict[str, Any]:
    data = dict(reward.data or {})
    return {
        "reward_id": reward.reward_id,
        "name": data.get("name"),
        "description": data.get("description"),
        "points": data.get("points"),
        "tags": data.get("tags", []),
        "min_tier": data.get("min_tier"),
        "stock": None if reward.stock is None else int(reward.stock),
        "per_member_limit": data.get("per_member_limit"),
        "starts_at": data.get("starts_at"),
        "ends_at": data.get("ends_at"),
        "partner_id": data.get("partner_id"),
        "active": data.get("active", True),
    }
