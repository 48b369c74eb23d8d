"""A points change: everything one points-changing request writes, as one TransactWriteItems: the
ledger entries, the member (guarded by its version, and for spends by `available >= points`),
the idempotency record (`attribute_not_exists`), and whatever else the change touches (the
order, the reward's stock, a promotion's budget, a referral's status).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.gamification import BadgeAward, Completion
from loyalty.domain.holders import Hold, Order
from loyalty.domain.member import ClosedHold, Entry, Member
from loyalty.store import db, escrow, gamification, households, referrals, shares
from loyalty.store.audit import AuditRecord, add_audit
from loyalty.store.db import Txn
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency
from loyalty.store.ledger import (
    EntryItem,
    HoldItem,
    OrderItem,
    closed_hold_actions,
    entry_item,
    entry_key,
    hold_item,
    hold_key,
    order_item,
    updated_order_item,
)
from loyalty.store.members import MemberItem, item_of, member_update_actions
from loyalty.store.partners import CodeItem, PromotionMemberItem, code_key, promotion_member_key
from loyalty.store.referrals import Referral, ReferralItem, referral_key
from loyalty.store.vouchers import Voucher, VoucherItem, voucher_item


@dataclass
class PromotionCharge:
    """What a claim or a boosted partner earn takes from a promotion, checked in the same transaction."""

    promotion_id: str
    member_id: str
    points: int
    pool: shares.Pool  # what `points` takes from which budget share (planned by Pool.take)
    max_per_member: int | None
    member_claims: int | None  # what the read found (None: the member never claimed this promotion)
    new_member: bool
    code: str | None = None
    by_code: bool = True


def charge_actions(txn: Txn, charge: PromotionCharge) -> None:
    first = charge.member_claims is None
    counters = {"codes_claimed" if charge.by_code else "earns": 1,
                "members_reached": int(first), "new_members": int(first and charge.new_member)}
    shares.take_actions(txn, charge.pool, counters)
    per_member = PromotionMemberItem(*promotion_member_key(charge.promotion_id, charge.member_id))
    condition = (PromotionMemberItem.pk.does_not_exist() if first
                 else PromotionMemberItem.claims == int(charge.member_claims or 0))
    txn.update("per_member", per_member, [PromotionMemberItem.claims.add(1)], condition, versioned=False)
    if charge.code is not None:
        code = CodeItem(*code_key(charge.code), code=charge.code, promotion_id=charge.promotion_id, partner_id="")
        txn.update("code", code, [CodeItem.status.set("claimed"), CodeItem.claimed_by.set(charge.member_id),
                                  CodeItem.claimed_at.set(iso_utc(utc_now()))],
                   CodeItem.status == "issued", versioned=False)


@dataclass
class PointsChange:
    """Everything one points-changing request writes, committed as one transaction."""

    member: Member
    entries: list[Entry]
    idempotency: IdempotencyRecord | None = None
    # Spends: the member must still hold at least this many available points.
    spend: int | None = None
    new_order: Order | None = None
    # A bulk import's purchases of one member, recorded together: one order each (labels order0, order1...).
    new_orders: list[Order] = field(default_factory=list)
    updated_order: Order | None = None
    # A reward handed out: one unit of its stock, as planned on its pool (nothing when unlimited).
    reward_taken: shares.Pool | None = None
    # Other members touched in the same transaction (a referrer's bonus), each under its own version.
    other_members: list[Member] = field(default_factory=list)
    # A promotion's budget, per-member limit and code, charged in the same transaction.
    promotion: PromotionCharge | None = None
    # The prize wheel's budget, as planned on its pool, checked in the same transaction.
    spin_budget: shares.Pool | None = None
    new_voucher: Voucher | None = None
    # A hold placed; holds closed (captured, released, or found expired), each still open when read.
    new_hold: Hold | None = None
    closed_holds: list[ClosedHold] = field(default_factory=list)
    # A redemption cancelled: its entry marked (once), and one unit of its reward's stock given back.
    # An admin's change: its audit record, in the same transaction.
    audit: AuditRecord | None = None
    cancelled_redemption: Entry | None = None
    stock_given_back: tuple[str, int, str | None] | None = None  # (owner, share index, when the stock was set)
    # Campaign points drawn from this instance's chunks of their budgets (store.escrow): nothing of the
    # budget is written here; a failed commit gives them back (services.pointschange).
    campaign_budgets: list[escrow.Draw] = field(default_factory=list)
    # Referrals whose status changes (flagged or held again by a first purchase, approved, rejected, released,
    # cancelled by a return), each with the status it must still have. Labels: referral, referral1, ...
    referrals: list[tuple[Referral, str]] = field(default_factory=list)
    # A household's pool spent: the household must still be at this version (its id, the version read).
    household_unchanged: tuple[str, int] | None = None
    # Badges given and challenges completed by this change (store.gamification).
    badges: list[BadgeAward] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)


def commit_points_change(change: PointsChange) -> None:
    """Raises db.ConditionFailed with labels: member (version or balance moved), order (already
    recorded / changed), share<nn> (a stock or budget share gave meanwhile: re-read), idempotency
    (the key was used meanwhile)."""
    txn = Txn()
    member = item_of(change.member)
    cold = member.compact_if_due()
    if cold is not None:
        txn.put("cold_wallet", cold)  # guarded by the member's version, like every write of its wallet
    for index, entry in enumerate(change.entries):
        txn.put(f"entry{index}", entry_item(entry), EntryItem.pk.does_not_exist())
    condition = MemberItem.pk.exists()
    if change.spend is not None:
        condition &= MemberItem.available >= change.spend
    txn.update("member", member, member_update_actions(member), condition)
    for index, other in enumerate(map(item_of, change.other_members)):
        txn.update(f"other_member{index}", other, member_update_actions(other), MemberItem.pk.exists())
    if change.new_order is not None:
        txn.put("order", order_item(change.new_order), OrderItem.pk.does_not_exist())
    for index, order in enumerate(change.new_orders):
        txn.put(f"order{index}", order_item(order), OrderItem.pk.does_not_exist())
    if change.updated_order is not None:
        txn.update("order", *updated_order_item(change.updated_order))
    if change.promotion is not None:
        charge_actions(txn, change.promotion)
    if change.spin_budget is not None:
        shares.take_actions(txn, change.spin_budget)
    if change.new_voucher is not None:
        txn.put("voucher", voucher_item(change.new_voucher), VoucherItem.pk.does_not_exist())
    if change.new_hold is not None:
        txn.put("hold", hold_item(change.new_hold), HoldItem.pk.does_not_exist())
    for index, hold in enumerate(change.closed_holds):
        txn.update(f"closed_hold{index}", HoldItem(*hold_key(hold.member_id, hold.hold_id)),
                   closed_hold_actions(hold), HoldItem.status == "held", versioned=False)
    if change.cancelled_redemption is not None:
        redemption = change.cancelled_redemption
        txn.update("redemption", EntryItem(*entry_key(redemption.member_id, redemption.entry_id)),
                   [EntryItem.redemption.set(redemption.redemption),
                    EntryItem.reversal_id.set(str(redemption.reversal_id))],
                   EntryItem.pk.exists() & EntryItem.reversal_id.does_not_exist(), versioned=False)
    if change.stock_given_back is not None:
        shares.give_back_actions(txn, *change.stock_given_back)
    for number, (referral, was) in enumerate(change.referrals):
        txn.update(f"referral{number or ''}", ReferralItem(*referral_key(referral.referee_id)),
                   referrals.update_actions(referral), referrals.still(was), versioned=False)
    if change.household_unchanged is not None:
        households.unchanged_check(txn, *change.household_unchanged)
    gamification.award_actions(txn, change.badges, change.completions)
    add_audit(txn, change.audit)
    add_idempotency(txn, change.idempotency)
    # A reward's stock is taken before the transaction, outside it (shares.take_now), and given back if the
    # transaction does not go through.
    stock = change.reward_taken
    if stock is not None:
        shares.take_now(stock)
    try:
        db.commit(txn)
    except BaseException:
        if stock is not None:
            shares.give_back_now(stock.owner, stock.takes.items())
        raise
