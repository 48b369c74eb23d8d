"""Households: the household (its members and roles; versioned), its invitations (stored by the code's
hash), and its pool, which is a member item of its own (store.members) under the pool id.

  HOUSEHOLD#<id>      / HOUSEHOLD   name, owner, members {member_id: {role, joined_at}}, status
  HHCODE#<sha256>     / HHCODE      an invitation: its household, when it lapses, who used it
  MEMBER#household#<id> / ...       the pool: a points holder like a member, and its ledger

A household changes only when a member joins or leaves; earning in it writes the member and the pool (one
item per household: its few members' earns and spends share it, far below a partition's limit).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, VersionAttribute

from loyalty.domain.errors import ServiceUnavailable
from loyalty.domain.households import Household, pool_id
from loyalty.domain.member import Entry, Member
from loyalty.store import db
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import Key, Txn, batch_get, load
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency
from loyalty.store.ledger import EntryItem, entry_item
from loyalty.store.members import (
    TORN_READ_ATTEMPTS,
    ColdWalletItem,
    MemberItem,
    cold_wallet_key,
    item_of,
    member_key,
    member_of,
    member_update_actions,
    new_member,
    with_cold_wallets,
)


class HouseholdItem(Item):
    class Meta(TableMeta):
        pass

    household_id = UnicodeAttribute()
    name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    members = JSONAttribute(default=dict)
    status = UnicodeAttribute(default="open")
    tenure = JSONAttribute(default=dict)
    rev = VersionAttribute()


class InvitationItem(Item):
    class Meta(TableMeta):
        pass

    household_id = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    created_at = UnicodeAttribute()
    used_by = UnicodeAttribute(null=True)
    used_at = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class Invitation:
    household_id: str
    expires_at: str
    used_by: str | None


def household_key(household_id: str) -> Key:
    return f"HOUSEHOLD#{household_id}", "HOUSEHOLD"


def invitation_key(code: str) -> Key:
    """Codes are kept only as their hash: the table never holds one that works."""
    return f"HHCODE#{hashlib.sha256(code.encode()).hexdigest()}", "HHCODE"


def household_of(item: HouseholdItem | None) -> tuple[Household | None, int | None]:
    """A household item read: the household and its version (None, None when there is none)."""
    if item is None:
        return None, None
    return _household(item), int(item.rev) if item.rev is not None else None


def _household(item: HouseholdItem) -> Household:
    return Household(household_id=str(item.household_id), name=str(item.name), owner_id=str(item.owner_id),
                     created_at=str(item.created_at), members=dict(item.members or {}), status=str(item.status),
                     tenure=dict(item.tenure or {}))


@dataclass
class HouseholdRead:
    """A household as one consistent read found it (with its pool, and the members asked for)."""

    household: Household | None
    pool: Member | None
    members: dict[str, Member] = field(default_factory=dict)
    invitation: Invitation | None = None
    rev: int | None = None


def read_household(household_id: str, *, member_ids: tuple[str, ...] = (), code: str | None = None,
                   with_pool: bool = True) -> HouseholdRead:
    """The household, its pool (with its cold wallet), the members named and an invitation, in one
    BatchGetItem."""
    wanted: dict[str, tuple[type, Key]] = {"household": (HouseholdItem, household_key(household_id))}
    if with_pool:
        pool = pool_id(household_id)
        wanted["pool"] = (MemberItem, member_key(pool))
        wanted["pool_cold"] = (ColdWalletItem, cold_wallet_key(pool))
    for member_id in member_ids:
        wanted[f"m:{member_id}"] = (MemberItem, member_key(member_id))
        wanted[f"m:{member_id}_cold"] = (ColdWalletItem, cold_wallet_key(member_id))
    if code is not None:
        wanted["invitation"] = (InvitationItem, invitation_key(code))
    for _attempt in range(TORN_READ_ATTEMPTS):
        raw = batch_get([key for _, key in wanted.values()])
        loaded: dict[str, Any] = {name: load(cls, raw.get(key)) for name, (cls, key) in wanted.items()}
        if with_cold_wallets(loaded):
            break
    else:
        raise ServiceUnavailable("a household's wallet kept changing while it was read; retry", retry_after=1)
    item = loaded["household"]
    invitation = loaded.get("invitation")
    return HouseholdRead(
        household=_household(item) if item is not None else None,
        pool=member_of(loaded["pool"]) if loaded.get("pool") is not None else None,
        members={name[2:]: member_of(value) for name, value in loaded.items()
                 if name.startswith("m:") and isinstance(value, MemberItem)},
        invitation=Invitation(str(invitation.household_id), str(invitation.expires_at), invitation.used_by)
        if invitation is not None else None,
        rev=int(item.rev) if item is not None and item.rev is not None else None,
    )


def read_whole_household(household_id: str, *, also: tuple[str, ...] = (), code: str | None = None) -> HouseholdRead:
    """The household with every member it seats (and `also`) read in the same BatchGetItem: the household's
    seats are only known once it is read, so a read that finds a member it did not ask for (one who joined
    meanwhile) reads again."""
    member_ids = tuple(also)
    for _attempt in range(TORN_READ_ATTEMPTS):
        found = read_household(household_id, member_ids=member_ids, code=code)
        if found.household is None:
            return found
        seated = set(found.household.members) | set(also)
        if seated <= set(member_ids):
            return found
        member_ids = tuple(sorted(seated))
    raise ServiceUnavailable("a household's members kept changing while it was read; retry", retry_after=1)


def new_pool(household_id: str, name: str, *, tier: str, now: str) -> Member:
    """The pool's item: a holder of points, never enrolled (no profile, no roster, no enrollment metrics)."""
    return new_member(pool_id(household_id), email="", name=name, referral_code="", status="pool",
                      enrolled_at=now, tier=tier, tier_since=now)


@dataclass
class HouseholdChange:
    """What one household call writes, as one transaction."""

    household: Household
    rev: int | None  # the version read (None: a new household)
    pool: Member
    new_pool: bool = False
    members: list[Member] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    # An invitation used now: (code, member_id, now).
    used_code: tuple[str, str, str] | None = None
    idempotency: IdempotencyRecord | None = None


def commit_household_change(change: HouseholdChange) -> None:
    """Raises db.ConditionFailed: household (changed meanwhile, or exists), member<n> (moved on), pool,
    invitation (used meanwhile), idempotency."""
    txn = Txn()
    household = change.household
    item = HouseholdItem(*household_key(household.household_id), household_id=household.household_id,
                         name=household.name, owner_id=household.owner_id, created_at=household.created_at,
                         members=household.members, status=household.status, tenure=household.tenure)
    if change.rev is None:
        txn.put("household", item, HouseholdItem.pk.does_not_exist())
    else:
        item.rev = change.rev
        txn.update("household", item, [HouseholdItem.members.set(household.members),
                                       HouseholdItem.status.set(household.status),
                                       HouseholdItem.tenure.set(household.tenure),
                                       HouseholdItem.owner_id.set(household.owner_id)], HouseholdItem.pk.exists())
    pool = item_of(change.pool)
    if change.new_pool:
        txn.put("pool", pool, MemberItem.pk.does_not_exist())
    else:
        txn.update("pool", pool, member_update_actions(pool), MemberItem.pk.exists())
    for index, member in enumerate(map(item_of, change.members)):
        txn.update(f"member{index}", member, member_update_actions(member), MemberItem.pk.exists())
    for index, entry in enumerate(change.entries):
        txn.put(f"entry{index}", entry_item(entry), EntryItem.pk.does_not_exist())
    if change.used_code is not None:
        code, member_id, now = change.used_code
        txn.update("invitation", InvitationItem(*invitation_key(code)),
                   [InvitationItem.used_by.set(member_id), InvitationItem.used_at.set(now)],
                   InvitationItem.pk.exists() & InvitationItem.used_by.does_not_exist(), versioned=False)
    add_idempotency(txn, change.idempotency)
    db.commit(txn)


def add_invitation(household_id: str, code: str, expires_at: str, now: str) -> None:
    """Raises db.ConditionFailed (invitation) on the rare code already taken: the caller draws another."""
    item = InvitationItem(*invitation_key(code), household_id=household_id, expires_at=expires_at, created_at=now)
    db.commit(Txn().put("invitation", item, InvitationItem.pk.does_not_exist()))


def unchanged_check(txn: Txn, household_id: str, rev: int) -> None:
    """A pool's spend goes through only while the household is as the spender's authorization read it."""
    txn.check("household", HouseholdItem, household_key(household_id), HouseholdItem.rev == rev)
