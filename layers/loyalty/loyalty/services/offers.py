"""GET /members/{id}/offers: what this member can use now, best first."""

from __future__ import annotations

from typing import Any

from loyalty.domain.balances import available_points
from loyalty.domain.clock import utc_now
from loyalty.domain.holders import Member
from loyalty.domain.offers import matches_preferences, preference_values
from loyalty.domain.promotions import is_eligible, is_running
from loyalty.services.catalog import reward_unavailable_reason
from loyalty.services.context import Caller, Outcome
from loyalty.services.program import config_of
from loyalty.services.views import reward_view
from loyalty.services.writes import enrolled_member
from loyalty.store import catalog
from loyalty.store import partners as partner_store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.catalog import Reward
from loyalty.store.partners import Partner, Promotion

CATALOG_PAGE = 100
CATALOG_LIMIT = 1000


def rank_offers(rewards: list[Reward], member: Member, config: Any, now: Any) -> list[dict[str, Any]]:
    preferences = preference_values(member.preferences)
    available = available_points(member, now)
    offers = []
    for reward in rewards:
        if reward_unavailable_reason(reward, member, config, now):
            continue
        tags = list((reward.data or {}).get("tags") or [])
        if not matches_preferences(tags, preferences):
            continue
        view = reward_view(reward)
        price = int(view["points"] or 0)
        view["affordable"] = price <= available
        view["points_needed"] = max(0, price - available)
        view["personalized"] = bool(tags)
        offers.append(view)
    # Affordable first (most valuable first), then what the member is closest to; personal before generic.
    offers.sort(key=lambda offer: (not offer["affordable"], not offer["personalized"],
                                   -offer["points"] if offer["affordable"] else offer["points_needed"],
                                   offer["reward_id"]))
    return offers


PARTNERS_LISTED = 50


def promotion_offers(member: Member, config: Any, now: Any) -> list[dict[str, Any]]:
    """Partner promotions running now that this member may still use: the rules a claim applies
    (window, tier audience, budget, per-member limit)."""
    listed, _ = partner_store.list_partners(limit=PARTNERS_LISTED, cursor=None)
    running: list[tuple[Partner, Promotion]] = []
    for partner in listed:
        promotions, _ = partner_store.list_promotions(partner.partner_id, limit=100, cursor=None)
        running.extend((partner, promotion) for promotion in promotions
                       if is_running(promotion.data or {}, now)
                       and is_eligible(promotion.data or {}, member.tier, config))
    usage = partner_store.promotion_usage([promotion.promotion_id for _, promotion in running], member.member_id)
    found = []
    for partner, promotion in running:
        data = promotion.data or {}
        pool, claims = usage[promotion.promotion_id]
        if not partner_store.has_room(pool, claims, data, points=1):
            continue
        found.append({"promotion_id": promotion.promotion_id, "partner_id": promotion.partner_id,
                      "partner": partner.name, "name": data.get("name"), "kind": data.get("kind"),
                      "points": data.get("points"), "multiplier": data.get("multiplier"),
                      "ends_at": data.get("ends_at"), "description": data.get("description")})
    found.sort(key=lambda offer: (-int(offer["points"] or 0), str(offer["promotion_id"])))
    return found


def offers(caller: Caller, path_id: str) -> Outcome:
    member_id = caller.authorize_member(path_id)
    snapshot = snapshot_store.read_snapshot(member_id=member_id)
    member = enrolled_member(snapshot, member_id)
    config = config_of(snapshot.program)
    rewards: list[Reward] = []
    cursor = None
    while len(rewards) < CATALOG_LIMIT:
        page, cursor = catalog.list_rewards(limit=CATALOG_PAGE, cursor=cursor)
        rewards.extend(page)
        if cursor is None:
            break
    now = utc_now()
    items = rank_offers(rewards, member, config, now) + promotion_offers(member, config, now)
    return Outcome(200, {"items": items})
