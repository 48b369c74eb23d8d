"""The contract's response shapes (Member, LedgerEntry, Reward) built from store items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from loyalty.domain.balances import available_points, expiring_soon, held_points
from loyalty.domain.clock import iso_utc, start_of_local_day
from loyalty.domain.holders import Hold, Member
from loyalty.domain.member import Entry
from loyalty.domain.memberships import membership_view
from loyalty.domain.program import ProgramConfig
from loyalty.domain.tiers import next_tier, points_to_keep, qualifying_points
from loyalty.store.catalog import Reward


def member_view(member: Member, config: ProgramConfig, now: datetime,
                tier_of: Member | None = None) -> dict[str, Any]:
    """The Member shape. `tier_of`: the household pool whose tier the member's follows (tier_basis household):
    its tier, and the next one on its qualifying points."""
    today = now.astimezone(config.zone).date()
    qualifying = qualifying_points(member.qualifying_days or {}, today, config.tier_window_days)
    holder = tier_of if tier_of is not None else member
    tier = config.tier_named(holder.tier)
    upcoming = next_tier(config, tier.name, qualifying if tier_of is None else qualifying_points(
        tier_of.qualifying_days or {}, today, config.tier_window_days))
    return {
        "member_id": member.member_id,
        "email": member.email,
        "name": member.name,
        "birthday": member.birthday,
        "phone": member.phone,
        "locale": member.locale,
        "nickname": member.nickname,
        "status": member.status,
        "enrolled_at": member.enrolled_at,
        "tier": {
            "name": tier.name,
            "since": holder.tier_since,
            "multiplier": float(tier.multiplier),
            "benefits": list(tier.benefits),
        },
        "next_tier": None if upcoming is None else {
            "name": upcoming.name, "points_needed": upcoming.points_needed,
        },
        "points": {
            "available": available_points(member, now),
            "pending": int(member.pending or 0),
            "held": held_points(member, now),
            "lifetime_earned": int(member.lifetime_earned or 0),
            "qualifying": qualifying,
            "expiring_next_30_days": expiring_soon(member, config, today, now),
        },
        "preferences": member.preferences or {},
        "consents": member.consents or {},
        "referral_code": member.referral_code,
        "referred_by": member.referred_by,
        "membership": _membership(member, config, today),
        "tier_review": _tier_review(member, config) if tier_of is None else None,
        "household": {"household_id": member.household["household_id"], "role": member.household["role"]}
        if member.household else None,
    }


def _tier_review(member: Member, config: ProgramConfig) -> dict[str, Any] | None:
    """When the member's tier is next reviewed and how many more qualifying points it needs by then to keep
    it; None when it cannot fall (the lowest tier)."""
    if not member.tier_review_day or config.tier_rank(member.tier) == 0:
        return None
    review = date.fromisoformat(member.tier_review_day)
    return {"at": iso_utc(start_of_local_day(review, config.zone)),
            "points_to_keep": points_to_keep(config, member.tier, review, member.qualifying_days or {})}


def _membership(member: Member, config: ProgramConfig, today: date) -> dict[str, Any] | None:
    return membership_view(member.membership, config, today)


def entry_view(entry: Entry) -> dict[str, Any]:
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
        # Where its stock unit came from is the store's business, not the member's.
        view["redemption"] = {name: value for name, value in entry.redemption.items() if not name.startswith("stock_")}
    if entry.details is not None:
        view["details"] = entry.details
    if entry.pooled_to is not None:
        view["pooled_points"] = int(entry.pooled_points or 0)
    return view


def pool_entry_view(entry: Entry) -> dict[str, Any]:
    """An entry of a household pool's ledger: a contributor's earn shows what the pool received and the
    pool's balance after it."""
    view = entry_view(entry)
    if entry.pooled_to is not None:
        view.update(points=int(entry.pooled_points or 0), balance_after=int(entry.pooled_balance_after or 0))
        view.pop("pooled_points")
    return view


def hold_view(hold: Hold, now: datetime) -> dict[str, Any]:
    status = str(hold.status)
    if status == "held" and str(hold.expires_at) <= iso_utc(now):
        status = "expired"  # its points are back already, for every read (see lapsed_holds)
    return {
        "hold_id": hold.hold_id,
        "member_id": hold.member_id,
        "points": int(hold.points),
        "captured_points": int(hold.captured_points or 0),
        "status": status,
        "order_id": hold.order_id,
        "description": hold.description,
        "expires_at": hold.expires_at,
        "created_at": hold.created_at,
        "closed_at": hold.closed_at,
        "redemption_id": hold.redemption_id,
        "balance_after": int(hold.balance_after),
    }


def reward_view(reward: Reward) -> dict[str, Any]:
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
