"""Points-changing use cases: purchases, redemptions, admin adjustments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from loyalty.domain import referrals as referral_rules
from loyalty.domain.campaigns import Line, paid_lines
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.earning import purchase_points
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, NotFound, ValidationFailed
from loyalty.domain.holders import Member, Order
from loyalty.domain.households import pool_id
from loyalty.domain.ids import random_code
from loyalty.domain.lots import lot_expiry
from loyalty.domain.member import Entry, MemberChange, award_action, pending_release_day, referral_release_day
from loyalty.domain.memberships import membership_multiplier
from loyalty.domain.metrics import purchase_facts
from loyalty.domain.money import format_amount, parse_amount, to_program_currency
from loyalty.domain.program import ProgramConfig
from loyalty.domain.returns import claw_back
from loyalty.inputs.purchases import AdjustmentRequest, PurchaseRequest, ReturnRequest
from loyalty.inputs.redemptions import RedemptionRequest
from loyalty.services import campaigns, gamification
from loyalty.services.catalog import reward_unavailable_reason
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.members import identity
from loyalty.services.pointschange import Decision, Turn, change_points, quote_points
from loyalty.services.views import entry_view
from loyalty.services.writes import key_required
from loyalty.store import audit as audit_store
from loyalty.store import referrals as referrals_store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.idempotency import IdempotencyRequest
from loyalty.store.referrals import Referral

# Back ends may send a purchase a little ahead of our clock; more than this is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
# A purchase entry keeps at most this many distinct SKUs (what the repeat and upsell facts need).
MAX_SKUS_RECORDED = 50
# Characters of a redemption code (from ids.random_code's unambiguous alphabet).
REDEMPTION_CODE_LENGTH = 10


def record_purchase(caller: Caller, path_id: str, request: PurchaseRequest,
                    idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_trusted()
    member_id = caller.authorize_member(path_id)
    idempotency = key_required(idempotency)
    now = utc_now()
    occurred_at = _checked_moment(request, now)
    decide = purchase(member_id, request, occurred_at, now)
    return change_points(idempotency, member_id, now, decide, order_id=request.order_id)


def quote_purchase(caller: Caller, path_id: str, request: PurchaseRequest) -> Outcome:
    """What recording `request` now would earn, planned on the purchase's own path (pointschange.quote_points)
    and written nowhere. The member itself, a trusted back end or an admin may ask. Without an order id
    (a basket not yet paid) no order is read: the plan's order item is never written anyway."""
    member_id = caller.authorize_member(path_id)
    now = utc_now()
    occurred_at = _checked_moment(request, now)
    quoted = quote_points(member_id, now, purchase(member_id, request, occurred_at, now), order_id=request.order_id)
    entry = quoted.answer
    return Outcome(200, {
        "points": entry["points"], "status": entry["status"], "breakdown": entry["breakdown"],
        "tier": {"current": quoted.tier_before, "after": quoted.tier_after},
        "campaigns": [row["rule"].removeprefix("campaign:") for row in entry["breakdown"]
                      if str(row["rule"]).startswith("campaign:")],
        # Challenges are not built yet (issue 32): no purchase advances one.
        "challenges": [],
    })


def _checked_moment(request: PurchaseRequest, now: datetime) -> datetime:
    occurred_at = request.occurred_at or now
    if occurred_at > now + CLOCK_SKEW:
        raise ValidationFailed("occurred_at is in the future",
                               errors=[{"field": "occurred_at", "message": "must not be in the future"}])
    return occurred_at


def purchase(member_id: str, request: PurchaseRequest, occurred_at: datetime, now: datetime, *,
             import_tag: str | None = None) -> Callable[[Turn], Decision]:
    """A purchase's plan on the member (for change_points). A bulk import records a historical purchase
    the same way; `import_tag` (the import and line) marks its order, and no referral converts."""
    currency = request.total.currency
    amount = parse_amount(request.total.amount, currency, "total.amount")
    def decide(turn: Turn) -> Decision:
        member, config = turn.member, turn.config
        if turn.snapshot.order is not None:
            raise Conflict(f"order {request.order_id} was already recorded", code="order_already_recorded")
        first_purchase = int(member.purchases or 0) == 0
        tier_multiplier = config.tier_named(member.tier).multiplier
        earning = purchase_points(
            config=config, amount=amount, currency=currency, channel=request.channel,
            tier_multiplier=tier_multiplier, occurred_at=occurred_at,
            extra_multipliers=membership_multiplier(member.membership, config, local_day(occurred_at, config.zone)),
        )
        campaign_rows: list[dict[str, Any]] = []
        campaign_facts: dict[str, list[int]] = {}
        paid = None
        if import_tag is None:  # history is recorded as it was: no campaign or challenge of today applies to it
            paid = basket(request, config, earning.amount_in_program_currency)
            campaign_rows, drawn, campaign_facts = campaigns.purchase_awards(
                turn.snapshot.program, member, config, channel=request.channel,
                total=earning.amount_in_program_currency,
                basket=paid, occurred_at=occurred_at,
                today=turn.today, points_per_unit=config.earn_rates[request.channel] * tier_multiplier,
                quoting=turn.quoting)
            turn.writes.campaign_budgets.extend(drawn)
        points = earning.points + sum(int(row["points"]) for row in campaign_rows)
        day = local_day(occurred_at, config.zone).isoformat()
        skus = sorted({item.sku for item in request.items or []})
        facts, member.purchase_days, member.sku_days = purchase_facts(
            list(member.purchase_days or []), dict(member.sku_days or {}), day, skus,
        )
        if request.payment_fingerprint is not None:
            member.payment_hashes = referral_rules.remember(member.payment_hashes, request.payment_fingerprint)
        if request.device_id is not None:
            member.device_hashes = referral_rules.remember(member.device_hashes, request.device_id)
        referrer = _referral_conversion(member, config, now) if (
            first_purchase and member.referred_by and import_tag is None) else None
        pending_until = pending_release_day(config, occurred_at)
        entry = turn.change.earn(
            EntryType.EARN, points, qualifying=points, occurred_at=occurred_at,
            pending_until=pending_until,
            facts={**facts.as_dict(), **({"referral_conversion": member.referred_by} if referrer else {}),
                   **({"campaigns": campaign_facts} if campaign_facts else {})},
            source={"channel": request.channel, "order_id": request.order_id},
            breakdown=[row.as_dict() for row in earning.breakdown] + campaign_rows,
            amount=format_amount(earning.amount_in_program_currency, config.currency),
            details={"total": {"amount": request.total.amount, "currency": currency},
                     "items": len(request.items or []),
                     "skus": skus[:MAX_SKUS_RECORDED]},
        )
        member.purchases = int(member.purchases or 0) + 1
        if member.last_purchase_day is None or day > member.last_purchase_day:
            member.last_purchase_day = day
        turn.writes.new_order = Order(
            order_id=request.order_id, member_id=member_id,
            entry_id=entry.entry_id, total=request.total.amount, currency=currency, points=points,
            qualifying=points, earned_day=day, lot=lot_expiry(config.expiry, date.fromisoformat(day)),
            channel=request.channel, pending=1 if pending_until else 0, import_id=import_tag,
            # The referee's first order while referral rewards may be held: its full return cancels them.
            referral_of=member.referred_by if referrer is not None and member.referral_status and (
                config.referral_rules.hold_days > 0) else None,
        )
        if paid is not None:
            gamification.advance(turn, "purchase", occurred_at, basket={
                "channel": request.channel, "total": earning.amount_in_program_currency, **paid})
        if referrer is not None:
            turn.writes.other_members.append(referrer[0])
            turn.writes.entries.extend(referrer[1])
            if referrer[2] is not None:
                turn.writes.referrals.append(referrer[2])
        return Decision(201, lambda: entry_view(entry), final_conflicts={
            "order": Conflict(f"order {request.order_id} was already recorded", code="order_already_recorded"),
        })

    return decide


def basket(request: PurchaseRequest, config: ProgramConfig, total: Decimal) -> dict[str, Any]:
    """The basket's lines in the program currency as shares of `total` (what was paid, converted), and the
    scale they were cut by: what the campaigns' facts and effects read."""
    lines = tuple(Line(item.sku, item.category, item.quantity, to_program_currency(
        parse_amount(item.unit_price.amount, item.unit_price.currency, "items.unit_price.amount") * item.quantity,
        item.unit_price.currency, config.currency, config.exchange_rates, "items.unit_price.currency"))
        for item in request.items or [])
    shares, scale = paid_lines(lines, total)
    return {"lines": shares, "scale": scale}


def _referral_conversion(friend: Member, config: ProgramConfig, now: datetime) -> tuple[
        Member, list[Entry], tuple[Referral, str] | None] | None:
    """A referred member's first purchase converts the referral: the referrer's funnel counts it and
    earns the `referral_conversion` action when the program has one (within its caps). Not while the
    referral is flagged or rejected; and a first purchase paid with the referrer's card, or from its device,
    flags it now (the referral's change is the third part: written with the purchase)."""
    # The referrer and the referral's record in one read. Referrals recorded before the safeguards have no
    # record (and no status on the member).
    found = snapshot_store.read_snapshot(member_id=str(friend.referred_by), with_program=False,
                                         referral_record_of=friend.member_id if friend.referral_status else None)
    referrer, referral = found.member, found.referral_record
    if referrer is None or referrer.status != "active":
        return None
    change: tuple[Referral, str] | None = None
    if referral is not None and referral.status in ("pending", "rewarded"):
        checks = tuple(check for check in config.referral_rules.block_same
                       if check in ("device_id", "payment_fingerprint"))
        reasons = referral_rules.shared(identity(friend), identity(referrer), checks)
        if reasons:
            change = (referral, referral.status)
            referrals_store.move_to(referral, "flagged", iso_utc(now))
            referral.reasons = sorted({*referral.reasons, *reasons})
    entries: list[Entry] = []
    funnel = dict(referrer.referrals or {})
    if referral is not None and referral.status in ("flagged", "rejected"):
        friend.referral_status = referral.status
        if referral.status == "flagged" and "referral_conversion" in config.actions and (
                "referral_conversion" not in referral.withheld):
            change = change or (referral, referral.status)
            referral.withheld = [*referral.withheld, "referral_conversion"]
    elif "referral_conversion" in config.actions:
        entries = award_action(referrer, config, "referral_conversion", now,
                               source={"referred_member_id": friend.member_id}, silent_when_capped=True,
                               pending_until=referral_release_day(config, now))
        if referral is not None and referral.status == "rewarded" and any(e.status == "pending" for e in entries):
            # A held conversion reward: the referral is pending again until it is released.
            change = (referral, "rewarded")
            referrals_store.move_to(referral, "pending", iso_utc(now))
            friend.referral_status = "pending"
    funnel["converted"] = int(funnel.get("converted", 0)) + 1
    funnel["points_earned"] = int(funnel.get("points_earned", 0)) + sum(int(e.points) for e in entries)
    referrer.referrals = funnel
    return referrer, entries, change


def _cancel_held_referral(turn: Turn, order_id: str, referrer_id: str, now: datetime) -> None:
    """The referee's first order fully returned while its referral's rewards are held: the referrer's held
    rewards for it are cancelled and the referral rejected, in the return's transaction (the referral must
    still be pending, the referrer unchanged). Rewards already released stay given."""
    friend = turn.member
    found = snapshot_store.read_snapshot(member_id=referrer_id, with_program=False,
                                         referral_record_of=friend.member_id)
    referral, referrer = found.referral_record, found.member
    if referral is None or referral.status != "pending" or referrer is None:
        return
    change = MemberChange(referrer, turn.config, now)
    cancelled = change.cancel_referral(friend.member_id, source={"referred_member_id": friend.member_id,
                                                                  "order_id": order_id})
    if cancelled is not None:
        funnel = dict(referrer.referrals or {})
        funnel["points_earned"] = int(funnel.get("points_earned", 0)) + int(cancelled.points)
        funnel["cancelled"] = int(funnel.get("cancelled", 0)) + 1
        referrer.referrals = funnel
        turn.writes.other_members.append(referrer)
        turn.writes.entries.extend(change.finish())
    referrals_store.move_to(referral, "rejected", iso_utc(now))
    referral.reasons = sorted({*referral.reasons, "first_order_returned"})
    turn.writes.referrals.append((referral, "pending"))
    friend.referral_status = "rejected"


def _back_from_the_pool(turn: Turn, order: Order, points: int, qualifying: int, now: datetime) -> None:
    """The order's points went to a household's pool: the pool gives them back to the member (as far as it
    still has them), in the return's transaction, and the member returns them as any return."""
    household_id = str(order.household_id)
    pool = snapshot_store.read_snapshot(member_id=pool_id(household_id), with_program=False).member
    if pool is None:
        return
    pool_change = MemberChange(pool, turn.config, now)
    turn.writes.closed_holds.extend(pool_change.fold_expired_holds())
    source = {"household_id": household_id, "order_id": order.order_id, "member_id": turn.member.member_id}
    taken = pool_change.household_return(points, qualifying=qualifying, earned_on=date.fromisoformat(order.earned_day),
                                         lot=order.lot, source=source)
    if taken.lots:
        turn.change.household_returned(dict(taken.lots), source=source)
        seat = turn.member.household or {}
        if seat.get("household_id") == household_id:
            turn.member.household = {**seat, "contributed": int(seat.get("contributed", 0)) + int(taken.points)}
    turn.writes.other_members.append(pool)
    turn.writes.entries.extend(pool_change.finish())


def record_return(caller: Caller, path_id: str, request: ReturnRequest,
                  idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_trusted()
    member_id = caller.authorize_member(path_id)
    idempotency = key_required(idempotency)
    now = utc_now()
    refund = parse_amount(request.refund.amount, request.refund.currency, "refund.amount")

    def decide(turn: Turn) -> Decision:
        member, order = turn.member, turn.snapshot.order
        if order is None or order.member_id != member_id:
            raise NotFound(f"order {request.order_id} is not an order of member {member_id}", code="order_not_found")
        if request.refund.currency != order.currency:
            raise ValidationFailed("the refund is in another currency than the order", errors=[
                {"field": "refund.currency", "message": f"the order was paid in {order.currency}"}])
        back = claw_back(order_total=Decimal(order.total), already_refunded=Decimal(order.refunded or "0"),
                         refund=refund, order_points=int(order.points), points_returned=int(order.points_returned),
                         order_qualifying=int(order.qualifying), qualifying_returned=int(order.qualifying_returned))
        source = {"order_id": order.order_id, "channel": order.channel}
        details = {"refund": {"amount": request.refund.amount, "currency": request.refund.currency},
                   "refunded_total": str(back.refunded_total), "reason": request.reason}
        still_pending = bool(order.pending) and any(
            pending.get("order_id") == order.order_id for pending in member.pending_lots or [])
        if still_pending:
            entry = turn.change.cancel_pending(order.order_id, back.points, source=source, details=details)
        else:
            if order.household_id:
                _back_from_the_pool(turn, order, back.points, back.qualifying, now)
            entry = turn.change.claw_back(back.points, qualifying=back.qualifying,
                                          earned_on=date.fromisoformat(order.earned_day), lot=order.lot,
                                          source=source, details=details)
        order.refunded = str(back.refunded_total)
        order.points_returned = int(order.points_returned) + back.points
        order.qualifying_returned = int(order.qualifying_returned) + back.qualifying
        turn.writes.updated_order = order
        if order.referral_of and back.refunded_total >= Decimal(order.total):
            _cancel_held_referral(turn, order.order_id, order.referral_of, now)
        return Decision(201, lambda: entry_view(entry))

    # A return takes back what a refund undoes, blocked member or not.
    return change_points(idempotency, member_id, now, decide, while_blocked=True, order_id=request.order_id)


def redeem(caller: Caller, path_id: str, request: RedemptionRequest,
           idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    return redeem_from(member_id, request, key_required(idempotency), source=caller.on_behalf(member_id))


def redeem_from(holder_id: str, request: RedemptionRequest, idempotency: IdempotencyRequest, *,
                source: dict[str, str], check: Callable[[Turn], None] | None = None, **reading: Any) -> Outcome:
    """A redemption from a holder of points: a member, or a household's pool (`check`: the spender's right
    to it, asked on each attempt's read; `reading`: what it needs read with the holder)."""
    member_id = holder_id
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        if check is not None:
            check(turn)
        member, snapshot = turn.member, turn.snapshot
        if request.reward_id is not None:
            reward = snapshot.reward
            if reward is None:
                raise NotFound(f"reward {request.reward_id} does not exist", code="reward_not_found")
            reason = reward_unavailable_reason(reward, member, turn.config, now)
            if reason:
                raise Conflict(reason, code="reward_unavailable")
            if snapshot.reward_pool is None or not snapshot.reward_pool.take(1):
                raise Conflict("the reward is out of stock", code="reward_unavailable")
            points = int(reward.data["points"])
            description = reward.data.get("name")
            counts = dict(member.reward_counts or {})
            counts[reward.reward_id] = counts.get(reward.reward_id, 0) + 1
            member.reward_counts = counts
            turn.writes.reward_taken = pool = snapshot.reward_pool
            # Where the unit came from, for a cancellation to give it back without reading the stock.
            stock = {} if not pool.takes else {"stock_share": next(iter(pool.takes)),
                                               "stock_set_at": pool.head.updated_at if pool.head else None}
        else:
            points = int(request.points or 0)
            description = request.description
            stock = {}
        code = random_code(REDEMPTION_CODE_LENGTH)
        redemption = {"reward_id": request.reward_id, "code": code, "status": "issued", **stock}
        entry = turn.change.spend(EntryType.REDEEM, points, source={"reward_id": request.reward_id, **source},
                                  description=description, redemption=redemption)
        turn.writes.spend = points
        return Decision(201, lambda: redemption_view(entry, int(entry.balance_after)))

    return change_points(idempotency, member_id, now, decide, reward_id=request.reward_id, **reading)


def redemption_view(entry: Entry, balance_after: int) -> dict[str, Any]:
    """The Redemption shape, from its redeem entry (as issued, or cancelled since)."""
    redemption = entry.redemption or {}
    view = {
        "redemption_id": entry.entry_id, "entry_id": entry.entry_id, "reward_id": redemption.get("reward_id"),
        "points": -int(entry.points), "code": redemption.get("code"), "status": redemption.get("status", "issued"),
        "balance_after": balance_after, "description": entry.description, "redeemed_at": entry.recorded_at,
    }
    for name in ("hold_id", "order_id", "cancelled_at"):
        if redemption.get(name) is not None:
            view[name] = redemption[name]
    if entry.reversal_id is not None:
        view["reversal_id"] = entry.reversal_id
    return view


def adjust(caller: Caller, member_id: str, request: AdjustmentRequest,
           idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()
    checked_id(member_id, "member")
    idempotency = key_required(idempotency)
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        source = {"admin": caller.sub}
        if request.points > 0:
            entry = turn.change.earn(EntryType.ADJUST, request.points, qualifying=0, occurred_at=now, source=source,
                                     reason=request.reason)
        else:
            entry = turn.change.spend(EntryType.ADJUST, -request.points, source=source, reason=request.reason)
            turn.writes.spend = -request.points
        return Decision(201, lambda: entry_view(entry))

    audit = audit_store.new_audit(caller.sub, "points.adjusted", f"member:{member_id}",
                                 {"points": request.points, "reason": request.reason})
    return change_points(idempotency, member_id, now, decide, while_blocked=True, audit=audit)
