"""Domain events: what other systems learn from the ledger (messaging, CRM, analytics, partners).

Each event's `id` is derived from the ledger entry (or the member) it describes, so a redelivered
stream record publishes the same id again and consumers can de-duplicate. Webhook deliveries are
signed: `Loyalty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from loyalty.domain.entries import ISSUING_TYPES, is_pool
from loyalty.domain.metrics import PoisonRecord, json_attribute

SOURCE = "loyalty"
# How long a signature stays acceptable to a receiver (replay protection).
SIGNATURE_TOLERANCE_SECONDS = 300


def _json(value: Any) -> Any:
    return json_attribute(value, {}) or {}


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise PoisonRecord(f"not a number: {value!r}") from exc


def event(event_type: str, event_id: str, occurred_at: str, member_id: str, data: dict[str, Any],
          partner_id: str | None = None) -> dict[str, Any]:
    built: dict[str, Any] = {"id": f"{event_type}:{event_id}", "type": event_type, "occurred_at": occurred_at,
                             "member_id": member_id, "data": data}
    if partner_id:
        built["partner_id"] = partner_id  # partner webhooks route on it
    return built


def _hold_events(event_name: str, hold: dict[str, Any]) -> list[dict[str, Any]]:
    """A hold placed (INSERT) and its points back (MODIFY to released or expired, or the part a capture
    did not spend): one event each, with the hold's id."""
    hold_id, member_id = str(hold.get("hold_id", "")), str(hold.get("member_id", ""))
    if not hold_id:
        raise PoisonRecord("hold without an id")
    status = hold.get("status")
    data = {"hold_id": hold_id, "order_id": hold.get("order_id"), "points": _number(hold.get("points", 0)),
            "balance_after": _number(hold.get("balance_after", 0))}
    if event_name == "INSERT" and status == "held":
        return [event("points.held", hold_id, str(hold.get("created_at", "")), member_id,
                      {**data, "expires_at": hold.get("expires_at")})]
    if event_name != "MODIFY" or status not in ("released", "expired", "captured"):
        return []
    back = _number(hold.get("points", 0)) - _number(hold.get("captured_points", 0))
    if back <= 0:
        return []
    return [event("points.released", hold_id, str(hold.get("closed_at", "")), member_id,
                  {**data, "points": back, "reason": status})]


def events_of(event_name: str, keys: dict[str, Any], new: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The domain events one stream record announces (none for most records)."""
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    if not new or not pk.startswith("MEMBER#"):
        return []
    if sk.startswith("HOLD#"):
        return _hold_events(event_name, new)
    if sk.startswith("BADGE#") and event_name in ("INSERT", "MODIFY"):
        # Every write of a member's badge is an award (store.gamification): its count names the event.
        member_id, badge_id = str(new.get("member_id") or pk[7:]), str(new.get("badge_id") or sk[6:])
        times = _number(new.get("times", 1))
        return [event("badge.earned", f"{member_id}:{badge_id}:{times}", str(new.get("last_earned_at", "")),
                      member_id, {"badge_id": badge_id, "times": times, "source": new.get("source")})]
    if event_name != "INSERT":
        return []
    if sk == "PROFILE":
        if is_pool(pk[7:]):
            return []  # a household's pool enrolls nobody
        member_id = str(new.get("member_id") or pk[7:])
        return [event("member.enrolled", member_id, str(new.get("enrolled_at", "")), member_id, {
            "tier": new.get("tier"), "referred_by": new.get("referred_by")})]
    if not sk.startswith("ENTRY#"):
        return []
    kind = str(new.get("type") or "")
    if not kind:
        raise PoisonRecord("ledger entry without a type")
    entry_id = str(new.get("entry_id") or sk[6:])
    member_id = str(new.get("member_id") or pk[7:])
    occurred = str(new.get("recorded_at") or new.get("occurred_at") or "")
    points = _number(new.get("points", 0))
    source = _json(new.get("source"))
    details = _json(new.get("details"))
    partner_id = source.get("partner_id")
    base = {"entry_id": entry_id, "entry_type": kind, "points": points,
            "balance_after": _number(new.get("balance_after", 0)), "source": source}
    found: list[dict[str, Any]] = []
    pending = new.get("status") == "pending"
    if kind in ISSUING_TYPES and points > 0 and not pending:
        # A partner hears of the points it funds (partner earn); a code claim has its own event.
        # A household member's earn says what went on to the pool (its balance_after is the member's own).
        pooled = {"pooled_points": _number(new.get("pooled_points", 0))} if new.get("pooled_to") else {}
        found.append(event("points.earned", entry_id, occurred, member_id,
                           {**base, "expires_at": new.get("expires_at"), **pooled},
                           partner_id if kind == "partner_earn" else None))
    if kind in ("earn", "bonus"):
        for row in _json(new.get("breakdown")) or []:
            rule = str(row.get("rule", ""))
            if rule.startswith("campaign:") and _number(row.get("points", 0)) > 0:
                campaign_id = rule.removeprefix("campaign:")
                found.append(event("campaign.awarded", f"{entry_id}:{campaign_id}", occurred, member_id, {
                    "entry_id": entry_id, "campaign_id": campaign_id, "points": _number(row["points"]),
                    "order_id": source.get("order_id")}))
    if kind in ("redeem", "donation") or (kind == "adjust" and points < 0):
        found.append(event("points.redeemed", entry_id, occurred, member_id, {**base, "points": -points}))
        redemption = _json(new.get("redemption"))
        if redemption.get("reward_id"):
            found.append(event("reward.redeemed", entry_id, occurred, member_id, {
                "entry_id": entry_id, "reward_id": redemption["reward_id"], "code": redemption.get("code"),
                "points": -points}))
    if kind == "return" and not pending:
        found.append(event("points.returned", entry_id, occurred, member_id, {**base, "points": -points}))
    if kind == "redeem_reversal":
        found.append(event("redemption.cancelled", entry_id, occurred, member_id, {
            **base, "redemption_id": source.get("redemption_id"), "reward_id": source.get("reward_id"),
            "points_not_returned": _number(details.get("points_not_returned", 0))}))
    if kind == "transfer_out":
        found.append(event("points.transferred", entry_id, occurred, member_id, {
            **base, "points": -points, "transfer_id": source.get("transfer_id"),
            "to_member_id": source.get("to_member_id")}))
    if kind == "expire":
        found.append(event("points.expired", entry_id, occurred, member_id, {**base, "points": -points}))
    if kind == "expiry_notice":
        found.append(event("points.expiring", entry_id, occurred, member_id, {
            "entry_id": entry_id, "points": _number(details.get("points", 0)),
            "expires_at": details.get("expires_at"), "lot": details.get("lot"),
            **({"days_left": _number(details["days_left"])} if "days_left" in details else {})}))
    if kind == "tier_reminder":
        found.append(event("tier.at_risk", entry_id, occurred, member_id, {
            "entry_id": entry_id, "tier": details.get("tier"), "review_at": details.get("review_at"),
            "points_to_keep": _number(details.get("points_to_keep", 0)),
            "days_left": _number(details.get("days_left", 0))}))
    if kind == "tier_change":
        found.append(event("tier.changed", entry_id, occurred, member_id, {
            "entry_id": entry_id, "from": details.get("from"), "to": details.get("to"),
            "reason": details.get("reason"), "qualifying_points": details.get("qualifying_points")}))
    if kind == "household" and details.get("action") in ("joined", "left"):
        # On the pool's ledger; the event is the member's.
        found.append(event(f"household.member_{details['action']}", entry_id, occurred,
                           str(details.get("member_id", "")), {
                               "entry_id": entry_id, "household_id": source.get("household_id"),
                               "role": details.get("role")}))
    if kind == "challenge":
        found.append(event("challenge.completed", entry_id, occurred, member_id, {
            **base, "challenge_id": source.get("challenge_id"), "times_completed": details.get("times_completed"),
            "badge_id": details.get("badge_id")}))
    if kind == "streak":
        found.append(event("streak.reward_granted", entry_id, occurred, member_id, {
            **base, "streak_id": source.get("streak_id"), "length": details.get("length"),
            "badge_id": details.get("badge_id")}))
    if kind == "birthday":
        found.append(event("birthday.reward_granted", entry_id, occurred, member_id, {**base}))
    if kind == "promo" and source.get("code"):
        found.append(event("promotion.code_claimed", entry_id, occurred, member_id, {
            "entry_id": entry_id, "promotion_id": source.get("promotion_id"), "code": source["code"],
            "points": points}, partner_id))
    return found


def signature(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, now: int) -> bool:
    """What a receiver runs: the signature matches the body and is recent."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")
