"""A request's consistent read: everything a points change needs (member and its cold wallet, the
program, the idempotency record, the order, reward, promotion, hold or entry it touches) in one
BatchGetItem.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from loyalty.domain.errors import ServiceUnavailable
from loyalty.domain.holders import Hold, Order
from loyalty.domain.households import Household
from loyalty.domain.member import Entry, Member
from loyalty.store import referrals, shares
from loyalty.store.catalog import Reward, RewardItem, claimed_reward, reward_key, reward_of
from loyalty.store.db import Key, batch_get, load
from loyalty.store.guards import Taken, UniqueItem, email_key, referral_code_key, taken_of
from loyalty.store.households import HouseholdItem, household_key, household_of
from loyalty.store.idempotency import (
    IdempotencyItem,
    IdempotencyRecord,
    IdempotencyRequest,
    idempotency_key,
    idempotency_record_of,
)
from loyalty.store.ledger import (
    EntryItem,
    HoldItem,
    OrderItem,
    entry_key,
    entry_of,
    hold_key,
    hold_of,
    order_key,
    order_of,
)
from loyalty.store.members import (
    TORN_READ_ATTEMPTS,
    ColdWalletItem,
    MemberItem,
    cold_wallet_key,
    member_key,
    member_of,
    with_cold_wallets,
)
from loyalty.store.partners import (
    Code,
    CodeItem,
    MemberClaims,
    Promotion,
    PromotionMemberItem,
    claimed_promotion,
    claims_of,
    code_key,
    code_of,
    promotion_member_key,
)
from loyalty.store.program import PROGRAM_REPLICAS, Program, ProgramItem, program_of, program_replica_key
from loyalty.store.referrals import Referral, ReferralItem
from loyalty.store.vouchers import Voucher, VoucherItem, voucher_key, voucher_of


@dataclass
class Snapshot:
    """What one consistent BatchGetItem returned for a request."""

    member: Member | None = None
    program: Program | None = None
    idempotency: IdempotencyRecord | None = None
    order: Order | None = None
    # A reward or promotion as a claim sees it: the definition from the share the request picked, whose
    # pool the claim takes from (reward.stock: what that share holds, or all of them once it held none).
    reward: Reward | None = None
    reward_pool: shares.Pool | None = None
    email: Taken | None = None
    referral: Taken | None = None
    promotion: Promotion | None = None
    promotion_pool: shares.Pool | None = None
    promotion_member: MemberClaims | None = None
    spin_pool: shares.Pool | None = None
    code: Code | None = None
    voucher: Voucher | None = None
    hold: Hold | None = None
    # A ledger entry of the member (the redemption a cancel names).
    entry: Entry | None = None
    # The other member of a transfer.
    other_member: Member | None = None
    # A referred member's referral record (read with its referrer, at its first purchase or a return).
    referral_record: Referral | None = None
    # A household whose pool the request spends: the household and its version.
    household: Household | None = None
    household_rev: int | None = None


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
    referral_record_of: str | None = None,
    household_id: str | None = None,
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
    if referral_record_of is not None:  # a referee: its referral's record
        wanted["referral_record"] = (ReferralItem, referrals.referral_key(referral_record_of))
    if household_id is not None:
        wanted["household_item"] = (HouseholdItem, household_key(household_id))
    share_keys = {name: shares.share_key(owner, index) for name, (owner, index) in pools.items()}
    keys = [key for _, key in wanted.values()] + list(share_keys.values())
    for _attempt in range(TORN_READ_ATTEMPTS):
        raw = batch_get(keys) if keys else {}
        snapshot = Snapshot()
        loaded = {name: load(cls, raw.get(key)) for name, (cls, key) in wanted.items()}
        for name, value in loaded.items():
            if name == "household_item":
                snapshot.household, snapshot.household_rev = household_of(value)
            elif name == "idempotency":
                snapshot.idempotency = idempotency_record_of(value)
            elif name == "referral_record":
                snapshot.referral_record = referrals.referral_of(value) if value is not None else None
            elif name in ("email", "referral"):
                setattr(snapshot, name, taken_of(value))
            elif name == "promotion_member":
                snapshot.promotion_member = claims_of(value)
            elif name == "code":
                snapshot.code = code_of(value)
            elif name == "voucher":
                snapshot.voucher = voucher_of(value)
            elif name == "program":
                snapshot.program = program_of(value)
            elif name == "reward":
                snapshot.reward = reward_of(value)
            elif name == "order":
                snapshot.order = order_of(value) if value is not None else None
            elif name == "hold":
                snapshot.hold = hold_of(value) if value is not None else None
            elif name == "entry":
                snapshot.entry = entry_of(value) if value is not None else None
            elif not name.endswith("_cold"):
                setattr(snapshot, name, value)
        if with_cold_wallets(loaded):
            break
    else:
        raise ServiceUnavailable("a member's wallet kept changing while it was read; retry", retry_after=1)
    # The use cases see the domain's members; the items stay the store's (member_of keeps them to write back).
    for name in ("member", "other_member"):
        item = loaded.get(name)
        if isinstance(item, MemberItem):
            setattr(snapshot, name, member_of(item))
    for name, (owner, index) in pools.items():
        setattr(snapshot, name, shares.pool_from(owner, index, raw.get(share_keys[name])))
    if reward_id is not None:
        snapshot.reward = claimed_reward(reward_id, snapshot.reward_pool)
    if promotion_id is not None:
        snapshot.promotion = claimed_promotion(promotion_id, snapshot.promotion_pool)
    return snapshot




