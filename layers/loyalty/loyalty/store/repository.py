"""Every DynamoDB key, condition and transaction of the API paths lives here.

Points-changing writes are one TransactWriteItems each: the ledger entries, the member (guarded by
its version, and for spends by `available >= points`), the idempotency record
(`attribute_not_exists`), and whatever else the change touches (the order, the reward's stock).
"""

from __future__ import annotations

import math
import random
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import BadRequest, ServiceUnavailable
from loyalty.domain.ids import new_ulid
from loyalty.settings import settings
from loyalty.store import escrow, referrals, shares
from loyalty.store.db import (
    ConditionFailed,
    Key,
    Txn,
    batch_get,
    decode_cursor,
    encode_cursor,
    load,
    raise_if_transient,
)
from loyalty.store.models import (
    AUDIT_PK,
    PROGRAM_REPLICAS,
    AuditItem,
    CatalogItem,
    CodeItem,
    ColdWalletItem,
    EntryItem,
    HoldItem,
    IdempotencyItem,
    MemberItem,
    OrderItem,
    ProgramItem,
    PromotionItem,
    PromotionMemberItem,
    RewardItem,
    UniqueItem,
    VoucherItem,
    audit_key,
    code_key,
    cold_wallet_key,
    email_key,
    entry_key,
    hold_key,
    idempotency_key,
    member_key,
    order_key,
    phone_key,
    program_replica_key,
    program_version_key,
    promotion_key,
    promotion_member_key,
    referral_code_key,
    reward_key,
)
from loyalty.store.referrals import ReferralItem

IDEMPOTENCY_TTL = timedelta(days=7)
# Answers longer than this are stored deflated in their idempotency record (a few hundred bytes fit any
# record in one write unit as they are; deflating them would only cost CPU).
DEFLATE_ANSWERS_OVER = 600

# Member attributes a points change may rewrite (under the version condition).
MEMBER_MUTABLE = (
    "available", "pending", "lifetime_earned", "debt", "wallet_days", "cold_rev", "cold_consumed", "cold_floor",
    "action_counts",
    "reward_counts", "last_activity_day", "last_purchase_day", "purchases", "tier", "tier_since",
    "purchase_days", "sku_days", "gsi2pk", "gsi2sk", "pending_lots", "tier_review_day", "birthday_awarded_year",
    "referrals", "expiry_notified", "tier_reminded", "membership", "device_hashes", "payment_hashes",
    "referral_status",
    "profile_completed_at", "name", "email", "birthday", "phone", "locale", "preferences", "consents",
    "status", "referred_by", "holds", "transfers_sent", "gsi3pk", "gsi3sk", "campaign_counts",
)
# The roster index (GSI3) is split over this many partition keys per tier and status: its keys change only
# on enrollment, a tier change or a block. After a change of the tier thresholds most calls for a while
# move their member to another tier (a delete on the old key, a put on the new): 64 keys keep that burst
# under a third of a partition at 25,000 calls/s (BENCHMARKS.md, "Capacity"). A list walks them all.
ROSTER_SHARDS = 64
# Roster queries one page of a member list may make (see roster_page).
ROSTER_QUERIES_PER_PAGE = 16


@dataclass(frozen=True)
class IdempotencyRequest:
    scope: str
    key: str
    request_hash: str


@dataclass
class Snapshot:
    """What one consistent BatchGetItem returned for a request."""

    member: MemberItem | None = None
    program: ProgramItem | None = None
    idempotency: IdempotencyItem | None = None
    order: OrderItem | None = None
    # A reward or promotion as a claim sees it: the definition from the share the request picked, whose
    # pool the claim takes from (reward.stock: what that share holds, or all of them once it held none).
    reward: RewardItem | None = None
    reward_pool: shares.Pool | None = None
    email: UniqueItem | None = None
    referral: UniqueItem | None = None
    promotion: PromotionItem | None = None
    promotion_pool: shares.Pool | None = None
    promotion_member: PromotionMemberItem | None = None
    spin_pool: shares.Pool | None = None
    code: CodeItem | None = None
    voucher: VoucherItem | None = None
    hold: HoldItem | None = None
    # A ledger entry of the member (the redemption a cancel names).
    entry: EntryItem | None = None
    # The other member of a transfer.
    other_member: MemberItem | None = None


def read_snapshot(
    *,
    member_id: str | None = None,
    idempotency: IdempotencyRequest | None = None,
    order_id: str | None = None,
    reward_id: str | None = None,
    email: str | None = None,
    referral_code: str | None = None,
    with_program: bool = True,
    order_key_override: Key | None = None,
    promotion_id: str | None = None,
    code: str | None = None,
    spin: bool = False,
    reward_definition: str | None = None,
    voucher_code: str | None = None,
    hold_id: str | None = None,
    entry_id: str | None = None,
    other_member_id: str | None = None,
) -> Snapshot:
    wanted: dict[str, tuple[type, Key]] = {}
    if member_id is not None:
        wanted["member"] = (MemberItem, member_key(member_id))
        wanted["member_cold"] = (ColdWalletItem, cold_wallet_key(member_id))
        if hold_id is not None:
            wanted["hold"] = (HoldItem, hold_key(member_id, hold_id))
        if entry_id is not None:
            wanted["entry"] = (EntryItem, entry_key(member_id, entry_id))
    if other_member_id is not None:
        wanted["other_member"] = (MemberItem, member_key(other_member_id))
        wanted["other_member_cold"] = (ColdWalletItem, cold_wallet_key(other_member_id))
    if with_program:
        # Any replica will do: the PUT wrote them all in one transaction before it answered.
        replica = random.randrange(PROGRAM_REPLICAS)  # noqa: S311 - spreading load, not security
        wanted["program"] = (ProgramItem, program_replica_key(replica))
    if idempotency is not None:
        wanted["idempotency"] = (IdempotencyItem, idempotency_key(idempotency.scope, idempotency.key))
    if order_key_override is not None:
        wanted["order"] = (OrderItem, order_key_override)
    elif order_id is not None:
        wanted["order"] = (OrderItem, order_key(order_id))
    pools: dict[str, tuple[str, int]] = {}
    if promotion_id is not None:
        pools["promotion_pool"] = (shares.promotion_owner(promotion_id), shares.random_share())
        if member_id is not None:
            wanted["promotion_member"] = (PromotionMemberItem, promotion_member_key(promotion_id, member_id))
    if code is not None:
        wanted["code"] = (CodeItem, code_key(code))
    if reward_definition is not None:
        wanted["reward"] = (RewardItem, reward_key(reward_definition))
    if reward_id is not None:
        pools["reward_pool"] = (shares.reward_owner(reward_id), shares.random_share())
    if spin:
        pools["spin_pool"] = (shares.SPIN, shares.random_share())
    if email is not None:
        wanted["email"] = (UniqueItem, email_key(email))
    if referral_code is not None:
        wanted["referral"] = (UniqueItem, referral_code_key(referral_code))
    if voucher_code is not None:
        wanted["voucher"] = (VoucherItem, voucher_key(voucher_code))
    share_keys = {name: shares.share_key(owner, index) for name, (owner, index) in pools.items()}
    keys = [key for _, key in wanted.values()] + list(share_keys.values())
    for _attempt in range(TORN_READ_ATTEMPTS):
        raw = batch_get(keys) if keys else {}
        snapshot = Snapshot()
        loaded = {name: load(cls, raw.get(key)) for name, (cls, key) in wanted.items()}
        for name, value in loaded.items():
            if not name.endswith("_cold"):
                setattr(snapshot, name, value)
        if _with_cold_wallets(loaded):
            break
    else:
        raise ServiceUnavailable("a member's wallet kept changing while it was read; retry", retry_after=1)
    for name, (owner, index) in pools.items():
        setattr(snapshot, name, shares.pool_from(owner, index, raw.get(share_keys[name])))
    if reward_id is not None:
        snapshot.reward = _claimed_reward(reward_id, snapshot.reward_pool)
    if promotion_id is not None:
        snapshot.promotion = _claimed_promotion(promotion_id, snapshot.promotion_pool)
    return snapshot


# A member item and its WALLET item are read in one BatchGetItem, which is no snapshot: a compaction that
# commits between the two reads is seen half. Rare (a compaction is one call in ~23 of a daily member's):
# read again.
TORN_READ_ATTEMPTS = 5


def _with_cold_wallets(loaded: dict[str, Any]) -> bool:
    """Attaches each member read to its WALLET item; False when one does not go with its member."""
    for name, member in loaded.items():
        if isinstance(member, MemberItem):
            cold = loaded.get(f"{name}_cold")
            if not member.cold_matches(cold):
                return False
            member.attach_cold(cold)
    return True


def _claimed_reward(reward_id: str, pool: shares.Pool | None) -> RewardItem | None:
    """The reward as its share has it; a stocked share with nothing left sends the read to all shares
    (near the end of the stock only), so that `stock` < 1 means the reward is sold out."""
    head = pool.head if pool is not None else None
    if pool is None or head is None or head.data is None:
        return None
    stock: int | None = None if head.left is None else int(head.left)
    if stock is not None and stock < 1:
        stock = pool.total()
    return new_reward(reward_id, data=dict(head.data), stock=stock, created_at=head.created_at or "",
                      updated_at=head.updated_at or "")


def _claimed_promotion(promotion_id: str, pool: shares.Pool | None) -> PromotionItem | None:
    head = pool.head if pool is not None else None
    if pool is None or head is None or head.data is None:
        return None
    return PromotionItem(*promotion_key(promotion_id), promotion_id=promotion_id, partner_id=head.partner_id or "",
                         data=dict(head.data), created_at=head.created_at or "",
                         gsi1pk=f"PARTNER#{head.partner_id}#PROMOS", gsi1sk=promotion_id)


def read_idempotency(request: IdempotencyRequest) -> IdempotencyItem | None:
    raw = batch_get([idempotency_key(request.scope, request.key)])
    return load(IdempotencyItem, next(iter(raw.values()), None))


def idempotency_record(request: IdempotencyRequest, status_code: int, body: str) -> IdempotencyItem:
    now = utc_now()
    pk, sk = idempotency_key(request.scope, request.key)
    record = IdempotencyItem(pk, sk, request_hash=request.request_hash, status_code=status_code,
                             created_at=iso_utc(now), expires=now + IDEMPOTENCY_TTL)
    if len(body) > DEFLATE_ANSWERS_OVER:
        record.body_deflated = zlib.compress(body.encode("utf-8"), 6)
    else:
        record.body = body
    return record


def _add_idempotency(txn: Txn, record: IdempotencyItem | None) -> None:
    if record is not None:
        txn.put("idempotency", record, IdempotencyItem.pk.does_not_exist())


def new_audit(actor: str, action: str, target: str, details: dict[str, Any] | None = None) -> AuditItem:
    """An audit record of an admin write, for the transaction of that write (who, what, on what)."""
    audit_id = new_ulid()
    return AuditItem(*audit_key(audit_id), audit_id=audit_id, at=iso_utc(utc_now()), actor=actor, action=action,
                     target=target, details=details or {})


def _add_audit(txn: Txn, audit: AuditItem | None) -> None:
    if audit is not None:
        txn.put("audit", audit, AuditItem.pk.does_not_exist())


def create_audited(label: str, item: Model, audit: AuditItem | None, idempotency: IdempotencyItem | None) -> None:
    """A new item of an admin write (an import, a what-if job, a segment...), its audit record and the
    idempotency record of its request, in one transaction. Raises ConditionFailed: `label` (the id is
    taken), idempotency."""
    txn = Txn()
    txn.put(label, item, type(item).pk.does_not_exist())  # type: ignore[attr-defined]
    _add_audit(txn, audit)
    _add_idempotency(txn, idempotency)
    _commit(txn)


def list_audit(*, limit: int, cursor: str | None) -> tuple[list[AuditItem], str | None]:
    """A page of the audit log, oldest first."""
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != AUDIT_PK:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    return _page(AuditItem, AUDIT_PK, None, limit, start, forward=True)


def _page(model: Any, pk: str, range_condition: Any, limit: int, start: dict[str, str] | None,
          forward: bool) -> tuple[list[Any], str | None]:
    try:
        query = model.query(pk, range_condition, scan_index_forward=forward, limit=limit, page_size=limit,
                            last_evaluated_key=_typed_key(start) if start else None)
        items = list(query)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    more = len(items) >= limit and query.last_evaluated_key
    return items, encode_cursor(query.last_evaluated_key) if more else None


def roster_key(tier: str, status: str, shard: int) -> str:
    return f"ROSTER#{tier}#{status}#{shard:02d}"


def place_on_roster(member: MemberItem) -> None:
    """The member's roster keys follow its tier and status (an erased member leaves the roster)."""
    if member.status == "erased":
        member.gsi3pk = member.gsi3sk = None
    else:
        shard = zlib.crc32(member.member_id.encode()) % ROSTER_SHARDS
        member.gsi3pk, member.gsi3sk = roster_key(member.tier, member.status, shard), member.member_id


def _member_actions(member: MemberItem) -> list[Any]:
    place_on_roster(member)
    attributes = MemberItem.get_attributes()
    actions = []
    # The update is conditioned on the version it read, so the attributes left out still hold what was read.
    for name in member.changed(MEMBER_MUTABLE):
        value = getattr(member, name)
        attribute = attributes[name]
        actions.append(attribute.remove() if value is None else attribute.set(value))
        if name == "wallet_days":
            # An item written before the lots and qualifying days were one value: drop the two apart.
            actions.extend(attributes[f"legacy_{legacy}"].remove() for legacy in member.stored_legacy_days())
    return actions


def new_entry(member_id: str, entry_id: str, **attributes: Any) -> EntryItem:
    pk, sk = entry_key(member_id, entry_id)
    return EntryItem(pk, sk, entry_id=entry_id, member_id=member_id, **attributes)


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

    member: MemberItem
    entries: list[EntryItem]
    idempotency: IdempotencyItem | None = None
    # Spends: the member must still hold at least this many available points.
    spend: int | None = None
    new_order: OrderItem | None = None
    # A bulk import's purchases of one member, recorded together: one order each (labels order0, order1...).
    new_orders: list[OrderItem] = field(default_factory=list)
    updated_order: OrderItem | None = None
    # A reward handed out: one unit of its stock, as planned on its pool (nothing when unlimited).
    reward_taken: shares.Pool | None = None
    # Other members touched in the same transaction (a referrer's bonus), each under its own version.
    other_members: list[MemberItem] = field(default_factory=list)
    # A promotion's budget, per-member limit and code, charged in the same transaction.
    promotion: PromotionCharge | None = None
    # The prize wheel's budget, as planned on its pool, checked in the same transaction.
    spin_budget: shares.Pool | None = None
    new_voucher: VoucherItem | None = None
    # A hold placed; holds closed (captured, released, or found expired), each still open when read.
    new_hold: HoldItem | None = None
    closed_holds: list[HoldItem] = field(default_factory=list)
    # A redemption cancelled: its entry marked (once), and one unit of its reward's stock given back.
    # An admin's change: its audit record, in the same transaction.
    audit: AuditItem | None = None
    cancelled_redemption: EntryItem | None = None
    stock_given_back: tuple[str, int, str | None] | None = None  # (owner, share index, when the stock was set)
    # Campaign points drawn from this instance's chunks of their budgets (store.escrow): nothing of the
    # budget is written here; a failed commit gives them back (services.pointschange).
    campaign_budgets: list[escrow.Draw] = field(default_factory=list)
    # Referrals whose status changes (flagged or held again by a first purchase, approved, rejected, released,
    # cancelled by a return), each with the status it must still have. Labels: referral, referral1, ...
    referrals: list[tuple[ReferralItem, str]] = field(default_factory=list)


def commit_points_change(change: PointsChange) -> None:
    """Raises db.ConditionFailed with labels: member (version or balance moved), order (already
    recorded / changed), share<nn> (a stock or budget share gave meanwhile: re-read), idempotency
    (the key was used meanwhile)."""
    txn = Txn()
    cold = change.member.compact_if_due()
    if cold is not None:
        txn.put("cold_wallet", cold)  # guarded by the member's version, like every write of its wallet
    for index, entry in enumerate(change.entries):
        txn.put(f"entry{index}", entry, EntryItem.pk.does_not_exist())
    condition = MemberItem.pk.exists()
    if change.spend is not None:
        condition &= MemberItem.available >= change.spend
    txn.update("member", change.member, _member_actions(change.member), condition)
    for index, other in enumerate(change.other_members):
        txn.update(f"other_member{index}", other, _member_actions(other), MemberItem.pk.exists())
    if change.new_order is not None:
        txn.put("order", change.new_order, OrderItem.pk.does_not_exist())
    for index, order in enumerate(change.new_orders):
        txn.put(f"order{index}", order, OrderItem.pk.does_not_exist())
    if change.updated_order is not None:
        order = change.updated_order
        txn.update("order", order, [
            OrderItem.refunded.set(order.refunded),
            OrderItem.points_returned.set(order.points_returned),
            OrderItem.qualifying_returned.set(order.qualifying_returned),
            OrderItem.pending.set(order.pending),
        ])
    if change.promotion is not None:
        charge_actions(txn, change.promotion)
    if change.spin_budget is not None:
        shares.take_actions(txn, change.spin_budget)
    if change.new_voucher is not None:
        txn.put("voucher", change.new_voucher, VoucherItem.pk.does_not_exist())
    if change.new_hold is not None:
        txn.put("hold", change.new_hold, HoldItem.pk.does_not_exist())
    for index, hold in enumerate(change.closed_holds):
        txn.update(f"closed_hold{index}", hold, [
            HoldItem.status.set(hold.status), HoldItem.captured_points.set(hold.captured_points),
            HoldItem.closed_id.set(hold.closed_id), HoldItem.closed_at.set(hold.closed_at),
            HoldItem.balance_after.set(hold.balance_after),
            HoldItem.redemption_id.set(hold.redemption_id) if hold.redemption_id else HoldItem.redemption_id.remove(),
        ], HoldItem.status == "held", versioned=False)
    if change.cancelled_redemption is not None:
        entry = change.cancelled_redemption
        txn.update("redemption", entry, [EntryItem.redemption.set(entry.redemption),
                                         EntryItem.reversal_id.set(entry.reversal_id)],
                   EntryItem.pk.exists() & EntryItem.reversal_id.does_not_exist(), versioned=False)
    if change.stock_given_back is not None:
        shares.give_back_actions(txn, *change.stock_given_back)
    for number, (referral, was) in enumerate(change.referrals):
        txn.update(f"referral{number or ''}", referral, referrals.update_actions(referral), referrals.still(was),
                   versioned=False)
    _add_audit(txn, change.audit)
    _add_idempotency(txn, change.idempotency)
    # A reward's stock is taken before the transaction, outside it (shares.take_now), and given back if the
    # transaction does not go through.
    stock = change.reward_taken
    if stock is not None:
        shares.take_now(stock)
    try:
        _commit(txn)
    except BaseException:
        if stock is not None:
            shares.give_back_now(stock.owner, stock.takes.items())
        raise


def _commit(txn: Txn) -> None:
    try:
        txn.commit()
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


# --- members -------------------------------------------------------------------------------------


def new_member(member_id: str, **attributes: Any) -> MemberItem:
    pk, sk = member_key(member_id)
    return MemberItem(pk, sk, member_id=member_id, **attributes)


def create_member(member: MemberItem, idempotency: IdempotencyItem | None,
                  entries: Iterable[EntryItem] = (), referrer: MemberItem | None = None,
                  audit: AuditItem | None = None, referral: ReferralItem | None = None) -> None:
    """Raises ConditionFailed: member (id taken), email (taken), referral_code (collision),
    referrer (moved meanwhile), idempotency."""
    txn = Txn()
    place_on_roster(member)
    txn.put("member", member, MemberItem.pk.does_not_exist())
    txn.put("email", UniqueItem(*email_key(member.email), member_id=member.member_id),
            UniqueItem.pk.does_not_exist())
    txn.put("referral_code", UniqueItem(*referral_code_key(member.referral_code), member_id=member.member_id),
            UniqueItem.pk.does_not_exist())
    if member.phone:
        txn.put("phone", UniqueItem(*phone_key(member.phone, member.member_id), member_id=member.member_id))
    for index, entry in enumerate(entries):
        txn.put(f"entry{index}", entry, EntryItem.pk.does_not_exist())
    if referrer is not None:
        txn.update("referrer", referrer, _member_actions(referrer), MemberItem.pk.exists())
    if referral is not None:
        txn.put("referral", referral, ReferralItem.pk.does_not_exist())
    _add_audit(txn, audit)
    _add_idempotency(txn, idempotency)
    _commit(txn)


def update_member(member: MemberItem, idempotency: IdempotencyItem | None, *, old_email: str | None = None,
                  old_phone: str | None = None, entries: Iterable[EntryItem] = (),
                  audit: AuditItem | None = None) -> None:
    """A profile change (and the entries it awards), guarded by the member's version. A changed email
    moves its uniqueness guard in the same transaction, a changed phone its search item.
    ConditionFailed: member, email, idempotency."""
    txn = Txn()
    txn.update("member", member, _member_actions(member), MemberItem.pk.exists())
    if old_email is not None and old_email != member.email:
        txn.put("email", UniqueItem(*email_key(member.email), member_id=member.member_id),
                UniqueItem.pk.does_not_exist())
        txn.delete("old_email", UniqueItem(*email_key(old_email), member_id=member.member_id))
    if old_phone is not None and old_phone != (member.phone or ""):
        if old_phone and phone_key(old_phone, member.member_id) != (phone_key(member.phone, member.member_id)
                                                                    if member.phone else None):
            txn.delete("old_phone", UniqueItem(*phone_key(old_phone, member.member_id)))
        if member.phone:
            txn.put("phone", UniqueItem(*phone_key(member.phone, member.member_id), member_id=member.member_id))
    _add_audit(txn, audit)
    for index, entry in enumerate(entries):
        txn.put(f"entry{index}", entry, EntryItem.pk.does_not_exist())
    _add_idempotency(txn, idempotency)
    _commit(txn)


def save_idempotent_result(idempotency: IdempotencyItem) -> None:
    """For requests that change nothing else: the record alone, first writer wins."""
    txn = Txn()
    _add_idempotency(txn, idempotency)
    _commit(txn)


def list_entries(member_id: str, *, limit: int, cursor: str | None, types: set[str] | None) -> tuple[
    list[EntryItem], str | None
]:
    """A page of the member's ledger, newest first, optionally filtered by entry type."""
    pk, _ = member_key(member_id)
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != pk:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    try:
        query = EntryItem.query(
            pk, EntryItem.sk.startswith("ENTRY#"), scan_index_forward=False,
            filter_condition=EntryItem.type.is_in(*types) if types else None,
            last_evaluated_key=_typed_key(start) if start else None,
            # pynamodb stops at `limit` matching items; with a filter it reads bigger pages.
            limit=limit, page_size=100 if types else limit,
        )
        items = list(query)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    more = len(items) >= limit and query.last_evaluated_key
    return items, encode_cursor(query.last_evaluated_key) if more else None


def all_entries(member_id: str, types: set[str] | None = None, limit: int = 10_000) -> list[EntryItem]:
    """The member's whole ledger, oldest first (exports, erasure; not a request-path read)."""
    pk, _ = member_key(member_id)
    try:
        return list(EntryItem.query(pk, EntryItem.sk.startswith("ENTRY#"), limit=limit,
                                    filter_condition=EntryItem.type.is_in(*types) if types else None))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def scrub_feedback(feedback: list[EntryItem]) -> None:
    """Feedback comments are free text (they may name someone): removed from the entries, one by one."""
    for entry in feedback:
        details = {name: value for name, value in (entry.details or {}).items() if name != "comment"}
        txn = Txn()
        txn.update("entry", entry, [EntryItem.details.set(details)], EntryItem.pk.exists(), versioned=False)
        _commit(txn)


def erase_member(member: MemberItem, email: str, referral_code: str, phone: str | None = None,
                 audit: AuditItem | None = None) -> None:
    """The member without personal data, its email and referral code released, under the version read.
    ConditionFailed(member) when the member changed since."""
    txn = Txn()
    txn.update("member", member, _member_actions(member), MemberItem.pk.exists())
    txn.delete("email", UniqueItem(*email_key(email), member_id=member.member_id))
    txn.delete("referral_code", UniqueItem(*referral_code_key(referral_code), member_id=member.member_id))
    if phone:
        txn.delete("phone", UniqueItem(*phone_key(phone, member.member_id)))
    _add_audit(txn, audit)
    _commit(txn)


def _typed_key(plain: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in plain.items()}


# --- program ---------------------------------------------------------------------------------------


def save_program(current: ProgramItem | None, config_json: str, updated_by: str,
                 idempotency: IdempotencyItem | None, audit: AuditItem | None = None, *,
                 spin_basis: int | None = None) -> ProgramItem:
    """Writes version n+1 and moves every replica of CURRENT to it in one transaction (so any replica read
    after the answer is the new version); ConditionFailed(program) when another PUT won."""
    version = (int(current.version) if current else 0) + 1
    now = iso_utc(utc_now())
    history = ProgramItem(*program_version_key(version), version=version, config=config_json,
                          updated_at=now, updated_by=updated_by)
    txn = Txn()
    txn.put("history", history, ProgramItem.pk.does_not_exist())
    latest = history
    for replica in range(PROGRAM_REPLICAS):
        latest = ProgramItem(*program_replica_key(replica), version=version, config=config_json, updated_at=now,
                             updated_by=updated_by, campaigns=current.campaigns if current else None,
                             campaigns_deflated=current.campaigns_deflated if current else None,
                             campaigns_rev=current.campaigns_rev if current else None, spin_basis=spin_basis)
        # The campaigns carried over must be the ones in force: a campaign written meanwhile wins the race.
        condition = ProgramItem.pk.does_not_exist() if current is None else (
            (ProgramItem.version == current.version) & (
                ProgramItem.campaigns_rev.does_not_exist() if current.campaigns_rev is None
                else ProgramItem.campaigns_rev == current.campaigns_rev))
        txn.put("program", latest, condition)
    _add_audit(txn, audit)
    _add_idempotency(txn, idempotency)
    _commit(txn)
    return latest


def list_holds(member_id: str, *, limit: int, cursor: str | None) -> tuple[list[HoldItem], str | None]:
    """A page of the member's holds, newest first (open and closed)."""
    pk, _ = member_key(member_id)
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != pk:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    return _page(HoldItem, pk, HoldItem.sk.startswith("HOLD#"), limit, start, forward=False)


def program_versions(*, limit: int, cursor: str | None) -> tuple[list[ProgramItem], str | None]:
    """The program's history, newest first."""
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != "PROGRAM":
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    return _page(ProgramItem, "PROGRAM", ProgramItem.sk.startswith("VERSION#"), limit, start, forward=False)


def all_program_versions() -> Iterator[ProgramItem]:
    """Every version the program ever had, oldest first, page by page (reconciliation's rules in force)."""
    try:
        yield from ProgramItem.query("PROGRAM", ProgramItem.sk.startswith("VERSION#"))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def program_version(version: int) -> ProgramItem | None:
    raw = batch_get([program_version_key(version)])
    return load(ProgramItem, next(iter(raw.values()), None))


# --- back-office search ------------------------------------------------------------------------------


def member_id_by(kind: str, value: str) -> str | None:
    """The member an email or a referral code belongs to (their uniqueness guards), or None."""
    key = email_key(value) if kind == "email" else referral_code_key(value)
    raw = batch_get([key])
    found = load(UniqueItem, next(iter(raw.values()), None))
    return None if found is None else str(found.member_id)


def member_ids_by_phone(phone: str, limit: int) -> list[str]:
    pk, _ = phone_key(phone, "")
    items, _ = _page(UniqueItem, pk, UniqueItem.sk.startswith("MEMBER#"), limit, None, forward=True)
    return [str(item.member_id) for item in items]


def roster_page(keys: list[str], *, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
    """Member ids of the roster keys given, walked one key after the other (each in member id order).

    At most ROSTER_QUERIES_PER_PAGE queries per call: a list over every tier, status and shard is hundreds
    of keys, mostly empty in a small program, and one call must not walk them all (the function's time). A
    page may so hold fewer than `limit` ids, even none, and still have a `next_cursor`."""
    fields = ("key", "pk", "sk", "gsi3pk", "gsi3sk")
    start = decode_cursor(cursor, fields)
    position = 0
    last: dict[str, Any] | None = None
    if start is not None:
        if start["key"] not in keys:
            raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
        position = keys.index(start["key"])
        last = _typed_key({name: start[name] for name in fields[1:]}) if start["pk"] else None
    found: list[str] = []
    queries = 0
    try:
        while position < len(keys) and len(found) < limit and queries < ROSTER_QUERIES_PER_PAGE:
            queries += 1
            query = MemberItem.roster.query(keys[position], limit=limit - len(found), page_size=limit - len(found),
                                            last_evaluated_key=last)
            found.extend(str(item.pk).removeprefix("MEMBER#") for item in query)
            last = query.last_evaluated_key
            if not last:
                position += 1
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    if position >= len(keys):
        return found, None
    plain = {name: (last or {}).get(name, {}).get("S", "") for name in fields[1:]}
    return found, encode_cursor({"key": {"S": keys[position]}, **{k: {"S": v} for k, v in plain.items()}})


def members(member_ids: list[str]) -> list[MemberItem]:
    """The members named, with their WALLET items, in the order given, those that exist."""
    keys = [key for member_id in member_ids for key in (member_key(member_id), cold_wallet_key(member_id))]
    for _attempt in range(TORN_READ_ATTEMPTS):
        raw = batch_get(keys) if keys else {}
        loaded: dict[str, Any] = {}
        for member_id in member_ids:
            loaded[member_id] = load(MemberItem, raw.get(member_key(member_id)))
            loaded[f"{member_id}_cold"] = load(ColdWalletItem, raw.get(cold_wallet_key(member_id)))
        if _with_cold_wallets(loaded):
            return [loaded[member_id] for member_id in member_ids if loaded[member_id] is not None]
    raise ServiceUnavailable("a member's wallet kept changing while it was read; retry", retry_after=1)


# --- rewards ---------------------------------------------------------------------------------------


def new_reward(reward_id: str, **attributes: Any) -> RewardItem:
    pk, sk = reward_key(reward_id)
    return RewardItem(pk, sk, reward_id=reward_id, gsi1pk="CATALOG", gsi1sk=f"REWARD#{reward_id}", **attributes)


# The catalog is listed from this many partitions, each holding every reward: a page reads one at random.
CATALOG_REPLICAS = 16


def catalog_key(replica: int) -> str:
    return f"CATALOG#{replica:02d}"


def _catalog_entries(reward: RewardItem) -> list[CatalogItem]:
    return [CatalogItem(catalog_key(replica), f"REWARD#{reward.reward_id}", reward_id=reward.reward_id,
                        data=reward.data, stock=reward.stock, created_at=reward.created_at,
                        updated_at=reward.updated_at) for replica in range(CATALOG_REPLICAS)]


def save_reward(reward: RewardItem, idempotency: IdempotencyItem | None, *, must_be_new: bool,
                audit: AuditItem | None = None) -> None:
    """The reward, its catalog entries and its shares (the definition copied, the stock split) in one
    transaction: a PUT sets the stock to what it says, as claims after it see it."""
    txn = Txn()
    txn.put("reward", reward, RewardItem.pk.does_not_exist() if must_be_new else None)
    total = None if reward.stock is None else int(reward.stock)
    for share in shares.new_shares(shares.reward_owner(reward.reward_id), total=total, data=reward.data,
                                   created_at=reward.created_at, updated_at=reward.updated_at):
        txn.put("share", share)
    for entry in _catalog_entries(reward):
        txn.put("catalog", entry)
    _add_audit(txn, audit)
    _add_idempotency(txn, idempotency)
    _commit(txn)


def backfill_catalog(rewards: Iterable[RewardItem]) -> int:
    """Catalog entries for rewards saved before the catalog had its own partitions (idempotent)."""
    written = 0
    for reward in rewards:
        for entry in _catalog_entries(reward):
            try:
                entry.save()
            except PynamoDBException as exc:
                raise_if_transient(exc)
                raise
        written += 1
    return written


def rewards_on_the_old_index() -> Iterator[RewardItem]:
    """Every reward, from the catalog index rewards were once listed by (GSI1: CATALOG)."""
    try:
        yield from RewardItem.catalog.query("CATALOG")
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def get_reward(reward_id: str) -> RewardItem | None:
    """The catalog entry with its live stock (the shares summed)."""
    raw = batch_get([reward_key(reward_id)])
    reward = load(RewardItem, next(iter(raw.values()), None))
    if reward is not None:
        with_live_stock([reward])
    return reward


def claimable_reward(reward_id: str) -> tuple[RewardItem | None, shares.Pool]:
    """A reward as a claim sees it, outside a snapshot (the wheel's reward prize)."""
    owner, index = shares.reward_owner(reward_id), shares.random_share()
    raw = batch_get([shares.share_key(owner, index)])
    pool = shares.pool_from(owner, index, raw.get(shares.share_key(owner, index)))
    return _claimed_reward(reward_id, pool), pool


# A stocked reward's live stock as a catalog page shows it: read from its shares at most this often by an
# instance (a reward's own page, and every claim, read them exactly).
_stock_seen: dict[str, tuple[float, int]] = {}


def with_live_stock(rewards: list[RewardItem], max_age: float = 0.0) -> list[RewardItem]:
    """Sets each stocked reward's `stock` to what its shares hold (one read of all their shares), or to what
    this instance read less than `max_age` seconds ago."""
    now = time.monotonic()
    stocked = [reward for reward in rewards if reward.stock is not None]
    stale = [reward for reward in stocked if now - _stock_seen.get(reward.reward_id, (-math.inf, 0))[0] >= max_age]
    if stale:
        found = shares.read_shares(shares.reward_owner(reward.reward_id) for reward in stale)
        if len(_stock_seen) > 10_000:
            _stock_seen.clear()
        for reward in stale:
            owner = shares.reward_owner(reward.reward_id)
            _stock_seen[reward.reward_id] = (now, shares.Pool(owner, 0, found[owner], complete=True).total() or 0)
    for reward in stocked:
        reward.stock = _stock_seen[reward.reward_id][1]
    return rewards


def list_rewards(*, limit: int, cursor: str | None) -> tuple[list[RewardItem], str | None]:
    """A page of the catalog, from one of its partitions (a cursor stays on its partition); stock as this
    instance read it at most `catalog_stock_seconds` ago."""
    start = decode_cursor(cursor, ("pk", "sk"))
    replica = start["pk"] if start else catalog_key(random.randrange(CATALOG_REPLICAS))  # noqa: S311 - spreading load
    if not replica.startswith("CATALOG#"):
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    try:
        query = CatalogItem.query(replica, limit=limit, page_size=limit, consistent_read=False,
                                  last_evaluated_key=_typed_key(start) if start else None)
        entries = list(query)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    items = [new_reward(entry.reward_id, data=entry.data, stock=entry.stock, created_at=entry.created_at,
                        updated_at=entry.updated_at) for entry in entries]
    more = len(entries) >= limit and query.last_evaluated_key
    return (with_live_stock(items, settings().catalog_stock_seconds),
            encode_cursor(query.last_evaluated_key) if more else None)


# --- scheduled reviews ------------------------------------------------------------------------------

DUE = "DUE"
# The index of scheduled work is split over this many partition keys (DUE#<nn>, by member), so that
# no one index partition takes every member's writes; member maintenance fans out over them (a worker a key
# at a time, several members at once: BENCHMARKS.md, "Jobs").
DUE_SHARDS = 64


def due_shard(member_id: str) -> str:
    return due_shard_key(zlib.crc32(member_id.encode()) % DUE_SHARDS)


def schedule_member(member: MemberItem, day: str | None) -> None:
    """Put the member in (or take it out of) the sparse index of scheduled work; written with the member."""
    if day is None:
        member.gsi2pk = member.gsi2sk = None
    else:
        member.gsi2pk, member.gsi2sk = due_shard(member.member_id), f"{day}#{member.member_id}"


def due_shard_key(shard: int) -> str:
    return f"{DUE}#{shard:02d}"


def due_page(shard_key: str, *, through_day: str, after: str | None, limit: int) -> list[tuple[str, str]]:
    """(index key, member id) of up to `limit` members of one due-index shard due on or before `through_day`,
    soonest first, after the index key `after` (eventually consistent: a member just visited may still show
    as due; its own read of itself says not)."""
    low = f"{after}\u0001" if after else ""
    condition = MemberItem.gsi2sk.between(low, f"{through_day}#\uffff") if low else (
        MemberItem.gsi2sk <= f"{through_day}#\uffff")
    try:
        keys = MemberItem.schedule.query(shard_key, condition, limit=limit, page_size=limit)
        return [(str(item.gsi2sk), str(item.pk).removeprefix("MEMBER#")) for item in keys]
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def members_in_segment(segment: int, total: int, after: dict[str, str] | None,
                       page_size: int = 200) -> Iterator[MemberItem]:
    """The members of one segment of a parallel Scan, from just after the item `after`. A job."""
    start = {"pk": after["pk"], "sk": after["sk"]} if after else None
    try:
        yield from MemberItem.scan(MemberItem.sk == "PROFILE", segment=segment, total_segments=total,
                                   page_size=page_size, last_evaluated_key=_typed_key(start) if start else None)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def members_due(through_day: str) -> list[str]:
    """Member ids with scheduled work on or before `through_day` (eventually consistent index)."""
    due: list[tuple[str, str]] = []
    try:
        for shard in range(DUE_SHARDS):
            keys = MemberItem.schedule.query(f"{DUE}#{shard:02d}", MemberItem.gsi2sk <= f"{through_day}#\uffff")
            due.extend((str(item.gsi2sk), str(item.pk).removeprefix("MEMBER#")) for item in keys)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return [member_id for _, member_id in sorted(due)]  # soonest due first, as one index would list them


def members_without_search_keys(page_size: int = 200) -> Iterable[MemberItem]:
    """Members written before the back office's search keys existed (no roster key), page by page. A job."""
    try:
        yield from MemberItem.scan(MemberItem.sk == "PROFILE", page_size=page_size)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def add_search_keys(member: MemberItem) -> bool:
    """The member's roster key and phone item, as a write of the member would set them now (no other
    attribute changes; a member erased or written meanwhile is left to its own write). False: nothing to do."""
    if member.status == "erased" or member.gsi3pk:
        return False
    place_on_roster(member)
    txn = Txn()
    txn.update("member", MemberItem(*member_key(member.member_id)),
               [MemberItem.gsi3pk.set(member.gsi3pk), MemberItem.gsi3sk.set(member.gsi3sk)],
               MemberItem.gsi3pk.does_not_exist() & (MemberItem.status != "erased"), versioned=False)
    if member.phone:
        txn.put("phone", UniqueItem(*phone_key(member.phone, member.member_id), member_id=member.member_id))
    try:
        _commit(txn)
    except ConditionFailed:
        return False
    return True


# --- vouchers ----------------------------------------------------------------------------------------


def voucher_key(code: str) -> Key:
    return f"VOUCHER#{code}", "VOUCHER"


def use_voucher(voucher: VoucherItem, at: str, idempotency: IdempotencyItem | None) -> None:
    """ConditionFailed(voucher) when it was used meanwhile, (idempotency) when the key was."""
    txn = Txn()
    txn.update("voucher", voucher, [VoucherItem.status.set("used"), VoucherItem.used_at.set(at)],
               VoucherItem.status == "issued", versioned=False)
    _add_idempotency(txn, idempotency)
    _commit(txn)
