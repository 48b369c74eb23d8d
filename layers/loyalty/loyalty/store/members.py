"""Members: the member item (profile, balance, hot wallet, tier, caps; versioned), its cold
wallet, the uniqueness guards (email, referral code) and phone search keys, the roster and due
indexes; enrollment, profile updates, erasure, lists and search.

  MEMBER#<id>      / PROFILE        the member (versioned)
  MEMBER#<id>      / WALLET         the older days of its lots and qualifying days (daycounts)
  EMAIL#<email>    / EMAIL          unique email -> member
  REFCODE#<code>   / REFCODE        unique referral code -> member
  PHONE#<digits>   / MEMBER#<id>    a member's phone number, for search (not unique)
  GSI2 DUE#<nn> / <day>#<member>    members with scheduled work (sparse, keys only)
  GSI3 ROSTER#<tier>#<status>#<nn> / <member>   members by tier and status (keys only)
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from loyalty.domain.errors import BadRequest, ServiceUnavailable
from loyalty.domain.member import Entry, Member
from loyalty.store import db
from loyalty.store.audit import AuditRecord, add_audit
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.daycounts import (
    DayCountsAttribute,
    WalletDays,
    WalletDaysAttribute,
    compacted,
    merged_lots,
    merged_qualifying,
    split_lots,
    split_qualifying,
)
from loyalty.store.db import (
    ConditionFailed,
    Txn,
    batch_get,
    decode_cursor,
    encode_cursor,
    load,
    raise_if_transient,
    typed_key,
)
from loyalty.store.guards import UniqueItem, email_key, phone_key, referral_code_key
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency
from loyalty.store.ledger import EntryItem, entry_item, member_partition
from loyalty.store.referrals import Referral, ReferralItem, referral_item


class ScheduleIndex(GlobalSecondaryIndex["MemberItem"]):
    """Sparse, keys-only: members with scheduled work (DUE#<shard> / <next due day>#<member>): lots to expire,
    pending points to release, a birthday, a tier review. It changes only when that day changes."""

    class Meta:
        index_name = "GSI2"
        projection = KeysOnlyProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class RosterIndex(GlobalSecondaryIndex["MemberItem"]):
    """Keys-only: members by tier and status (ROSTER#<tier>#<status>#<nn> / <member>), for the back
    office's lists. Its keys change only on enrollment, a tier change or a block."""

    class Meta:
        index_name = "GSI3"
        projection = KeysOnlyProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class MemberItem(Item):
    class Meta(TableMeta):
        pass

    def remember_stored(self, attribute_values: dict[str, dict[str, Any]] | None = None) -> None:
        """Keep the item as the table holds it (read, or just written), so an update can name only the
        attributes that changed: the update carries a few clauses instead of every mutable one."""
        object.__setattr__(self, "_stored", dict(attribute_values if attribute_values is not None
                                                 else self.serialize(null_check=False)))

    def _wallet(self) -> WalletDays:
        """The hot part of the lots and qualifying days (all of them while the member has no cold item)."""
        if self.wallet_days is None:
            self.wallet_days = WalletDays(dict(self.legacy_lots or {}), dict(self.legacy_qualifying_days or {}))
        return self.wallet_days

    def attach_cold(self, cold: ColdWalletItem | None) -> None:
        """The member's WALLET item, read with it (see daycounts: the older days of its wallet)."""
        object.__setattr__(self, "_cold", cold.days if cold is not None else None)

    def cold_matches(self, cold: ColdWalletItem | None) -> bool:
        """Whether the WALLET item read goes with this member item (a BatchGetItem is no snapshot: a
        compaction may have committed between the two reads)."""
        return (None if cold is None else int(cold.rev)) == (None if self.cold_rev is None else int(self.cold_rev))

    def _cold_days(self) -> WalletDays:
        if self.cold_rev is None:
            return WalletDays()
        cold: WalletDays | None = getattr(self, "_cold", None)
        if cold is None:
            raise ColdWalletNotRead(f"member {self.member_id}: its WALLET item was not read with it")
        return cold

    @property
    def lots(self) -> dict[str, int]:
        """{last valid local day: remaining points}: see loyalty.domain.lots."""
        return merged_lots(self._cold_days().lots, int(self.cold_consumed or 0), self._wallet().lots)

    @lots.setter
    def lots(self, value: dict[str, int]) -> None:
        hot, consumed = split_lots(self._cold_days().lots, int(self.cold_consumed or 0), dict(value))
        self._wallet().lots = hot
        self.cold_consumed = consumed or None

    @property
    def qualifying_days(self) -> dict[str, int]:
        """{local day: qualifying points earned that day}, pruned to the tier window."""
        return merged_qualifying(self._cold_days().qualifying, self.cold_floor, self._wallet().qualifying)

    @qualifying_days.setter
    def qualifying_days(self, value: dict[str, int]) -> None:
        hot, floor = split_qualifying(self._cold_days().qualifying, self.cold_floor, dict(value))
        self._wallet().qualifying = hot
        self.cold_floor = floor

    def set_next_due(self, day: str | None) -> None:
        """The member's next day with scheduled work, on the due index (domain.member.PointsHolder)."""
        schedule_member(self, day)

    def compact_if_due(self) -> ColdWalletItem | None:
        """When the hot part has grown past HOT_DAYS_MAX days: the new WALLET item, holding every day but
        the latest HOT_DAYS_KEPT of each map, which stay on the member (its next write stores them)."""
        hot = self._wallet()
        if len(hot.lots) + len(hot.qualifying) <= HOT_DAYS_MAX:
            return None
        cold, kept = compacted(self.lots, self.qualifying_days, HOT_DAYS_KEPT)
        rev = int(self.cold_rev or 0) + 1
        item = ColdWalletItem(*cold_wallet_key(self.member_id), days=cold, rev=rev)
        self.wallet_days, self.cold_consumed, self.cold_floor, self.cold_rev = kept, None, None, rev
        self.attach_cold(item)
        return item

    def stored_legacy_days(self) -> list[str]:
        """The attributes names of the maps as stored apart (items written before wallet_days), if any."""
        stored: dict[str, Any] = getattr(self, "_stored", None) or {}
        return [name for name in ("lots", "qualifying_days") if name in stored]

    def changed(self, names: tuple[str, ...]) -> list[str]:
        """Which of `names` differ from what the table holds (all of them for an item never read)."""
        stored: dict[str, Any] | None = getattr(self, "_stored", None)
        if stored is None:
            return list(names)
        current = self.serialize(null_check=False)
        attributes = self.get_attributes()
        return [name for name in names
                if current.get(attributes[name].attr_name) != stored.get(attributes[name].attr_name)]

    member_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    birthday = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    nickname = UnicodeAttribute(null=True)  # shown on leaderboards instead of the first name and last initial
    preferences = JSONAttribute(null=True)
    consents = JSONAttribute(null=True)
    referral_code = UnicodeAttribute()
    referred_by = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    enrolled_at = UnicodeAttribute()
    tier = UnicodeAttribute()
    tier_since = UnicodeAttribute()
    available = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    lifetime_earned = NumberAttribute(default=0)
    debt = NumberAttribute(default=0)
    # The lots and the qualifying days (their hot part once the member has a WALLET item), as one value.
    wallet_days = WalletDaysAttribute(null=True)
    # The older days live on the member's WALLET item (ColdWalletItem) once it has one (its rev here): points
    # taken from its lots' front, and the day below which its qualifying days no longer count.
    cold_rev = NumberAttribute(null=True)
    cold_consumed = NumberAttribute(null=True)
    cold_floor = UnicodeAttribute(null=True)
    # The two maps as items written before wallet_days hold them: read, then removed on the next write.
    legacy_lots = DayCountsAttribute(attr_name="lots", null=True)
    legacy_qualifying_days = DayCountsAttribute(attr_name="qualifying_days", null=True)
    # {action: [period key, count]}: cap counters, checked under the version condition
    action_counts = JSONAttribute(default=dict)
    # {reward_id: count}: per-member reward limits
    reward_counts = JSONAttribute(default=dict)
    enrolled_day = UnicodeAttribute(null=True)
    last_activity_day = UnicodeAttribute(null=True)
    last_purchase_day = UnicodeAttribute(null=True)
    # The two latest purchase days and the last day each SKU was bought: see loyalty.domain.metrics.
    purchase_days = JSONAttribute(default=list)
    sku_days = JSONAttribute(default=dict)
    purchases = NumberAttribute(default=0)
    profile_completed_at = UnicodeAttribute(null=True)
    # Purchases whose points wait for pending_days: [{release, order_id, points, qualifying, earned}]
    pending_lots = JSONAttribute(default=list)
    tier_review_day = UnicodeAttribute(null=True)
    # Lots (by last valid day) whose points.expiring notice went out.
    expiry_notified = JSONAttribute(default=list)
    # Tier reminders given for the coming review ("<review day>/<days before>").
    tier_reminded = JSONAttribute(null=True)
    # Referral safeguards: the member's most recent device and payment fingerprints, hashed
    # (loyalty.domain.referrals), and, for a referred member, its referral's status.
    device_hashes = JSONAttribute(null=True)
    payment_hashes = JSONAttribute(null=True)
    referral_status = UnicodeAttribute(null=True)
    birthday_awarded_year = NumberAttribute(null=True)
    # {invited, signed_up, converted, points_earned}: the member's referral funnel
    referrals = JSONAttribute(default=dict)
    # {plan_id, status, started_on, current_period_end, cancel_at_period_end, payment_reference}
    membership = JSONAttribute(null=True)
    # Open holds {hold_id: {points, expires_at, lots}}: their points are out of `available` and `lots`
    # until captured, released or expired (at most MAX_OPEN_HOLDS, so the item stays small).
    holds = JSONAttribute(default=dict)
    # Points sent by transfer in the month: {"month": "YYYY-MM", "points": n} (the monthly limit).
    transfers_sent = JSONAttribute(null=True)
    schedule = ScheduleIndex()
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    roster = RosterIndex()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    # The bulk import that created the member (a re-run of that import counts it as its own).
    imported_by = UnicodeAttribute(null=True)
    # {campaign_id: {"n": times awarded, "t": 1 once seen in the treated group, "h": 1 in the holdout}}, for
    # the running campaigns only (pruned as they end): per-member maximums and the reports' member counts.
    campaign_counts = JSONAttribute(null=True)
    # {challenge_id: progress} on the running challenges only (domain.gamification.advance; pruned as they end).
    challenge_progress = JSONAttribute(null=True)
    # {streak_id: run} for the program's streaks (domain.gamification.streak_step).
    streak_progress = JSONAttribute(null=True)
    # The member's values on what leaderboards rank, this and the last week and month (domain.leaderboards).
    board = JSONAttribute(null=True)
    # Set by a write that changes what the leaderboards show of the member (its values, its name or consent),
    # removed by any other points change: the stream processor's filter passes only the writes that set it.
    board_changed_at = UnicodeAttribute(null=True)
    # {household_id, role, contributed}: the household the member belongs to (store.households), and the points
    # its earns moved to the household's pool since it joined.
    household = JSONAttribute(null=True)
    # Optimistic lock: every points change is conditioned on the version it read.
    rev = VersionAttribute()


class ColdWalletItem(Item):
    """MEMBER#<id> / WALLET: the older days of a member's lots and qualifying days (see daycounts). Read with
    the member by every call that reads it; written only when the member item's hot part is compacted, in
    the transaction that writes the member (so the member's version guards it too)."""

    class Meta(TableMeta):
        pass

    days = WalletDaysAttribute()
    rev = NumberAttribute()


class ColdWalletNotRead(RuntimeError):
    """A member with a WALLET item was read without it: its lots would be wrong, so nothing uses them."""


# The member item's hot wallet: compacted when it holds more than this many days (lots and qualifying days
# together), keeping the latest HOT_DAYS_KEPT of each. A member who earns daily compacts every ~23 days;
# that points call also writes the WALLET item.
HOT_DAYS_MAX = 60


HOT_DAYS_KEPT = 7


def member_key(member_id: str) -> tuple[str, str]:
    return member_partition(member_id), "PROFILE"


def cold_wallet_key(member_id: str) -> tuple[str, str]:
    return member_partition(member_id), "WALLET"


# Member attributes a points change may rewrite (under the version condition).
MEMBER_MUTABLE = (
    "available", "pending", "lifetime_earned", "debt", "wallet_days", "cold_rev", "cold_consumed", "cold_floor",
    "action_counts",
    "reward_counts", "last_activity_day", "last_purchase_day", "purchases", "tier", "tier_since",
    "purchase_days", "sku_days", "gsi2pk", "gsi2sk", "pending_lots", "tier_review_day", "birthday_awarded_year",
    "referrals", "expiry_notified", "tier_reminded", "membership", "device_hashes", "payment_hashes",
    "referral_status",
    "profile_completed_at", "name", "nickname", "email", "birthday", "phone", "locale", "preferences", "consents",
    "status", "referred_by", "holds", "transfers_sent", "gsi3pk", "gsi3sk", "campaign_counts",
    "household", "challenge_progress", "streak_progress", "board",
    "board_changed_at",
)


# The roster index (GSI3) is split over this many partition keys per tier and status: its keys change only
# on enrollment, a tier change or a block. After a change of the tier thresholds most calls for a while
# move their member to another tier (a delete on the old key, a put on the new): 64 keys keep that burst
# under a third of a partition at 25,000 calls/s (BENCHMARKS.md, "Capacity"). A list walks them all.
ROSTER_SHARDS = 64


# Roster queries one page of a member list may make (see roster_page).
ROSTER_QUERIES_PER_PAGE = 16


# The attributes a member item and the domain's Member share by name. The rest are the store's: the wallet's
# hot and cold parts (Member.lots and .qualifying_days are the whole maps), the index keys (Member.due_day is
# the due index's day), the version.
_SHARED = tuple(field.name for field in dataclasses.fields(Member)
                if field.name not in ("lots", "qualifying_days", "due_day", "stored"))


def _due_day(item: MemberItem) -> str | None:
    return (item.gsi2sk or "").split("#", 1)[0] or None


def member_of(item: MemberItem) -> Member:
    """The domain's member of an item read with its WALLET item (`stored`: the item, for the write back)."""
    return record_of(Member, item, lots=item.lots,
                     qualifying_days=item.qualifying_days, due_day=_due_day(item), stored=item)


def item_of(member: Member) -> MemberItem:
    """The item to write for a member: the one it was read from (or a new one) with what changed set, so an
    update names only those attributes (member_update_actions)."""
    item = member.stored if isinstance(member.stored, MemberItem) else MemberItem(
        *member_key(member.member_id), member_id=member.member_id)
    member.stored = item
    for name in _SHARED:
        value = getattr(member, name)
        if getattr(item, name) != value:
            setattr(item, name, value)
    if item.lots != member.lots:
        item.lots = dict(member.lots)
    if item.qualifying_days != member.qualifying_days:
        item.qualifying_days = dict(member.qualifying_days)
    if _due_day(item) != member.due_day:
        schedule_member(item, member.due_day)
    return item


def roster_key(tier: str, status: str, shard: int) -> str:
    return f"ROSTER#{tier}#{status}#{shard:02d}"


def place_on_roster(member: MemberItem) -> None:
    """The member's roster keys follow its tier and status (an erased member leaves the roster)."""
    if member.status in ("erased", "pool"):  # a household's pool is no member of the back office's lists
        member.gsi3pk = member.gsi3sk = None
    else:
        shard = zlib.crc32(member.member_id.encode()) % ROSTER_SHARDS
        member.gsi3pk, member.gsi3sk = roster_key(member.tier, member.status, shard), member.member_id


def member_update_actions(member: MemberItem) -> list[Any]:
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


def new_member(member_id: str, **attributes: Any) -> Member:
    """A member not yet stored, with an item's defaults (create_member writes it)."""
    return member_of(MemberItem(*member_key(member_id), member_id=member_id, **attributes))


def create_member(member: Member, idempotency: IdempotencyRecord | None,
                  entries: Iterable[Entry] = (), referrer: Member | None = None,
                  audit: AuditRecord | None = None, referral: Referral | None = None) -> None:
    """Raises ConditionFailed: member (id taken), email (taken), referral_code (collision),
    referrer (moved meanwhile), idempotency."""
    txn = Txn()
    item = item_of(member)
    place_on_roster(item)
    txn.put("member", item, MemberItem.pk.does_not_exist())
    txn.put("email", UniqueItem(*email_key(member.email), member_id=member.member_id),
            UniqueItem.pk.does_not_exist())
    txn.put("referral_code", UniqueItem(*referral_code_key(member.referral_code), member_id=member.member_id),
            UniqueItem.pk.does_not_exist())
    if member.phone:
        txn.put("phone", UniqueItem(*phone_key(member.phone, member.member_id), member_id=member.member_id))
    for index, entry in enumerate(entries):
        txn.put(f"entry{index}", entry_item(entry), EntryItem.pk.does_not_exist())
    if referrer is not None:
        referrer_item = item_of(referrer)
        txn.update("referrer", referrer_item, member_update_actions(referrer_item), MemberItem.pk.exists())
    if referral is not None:
        txn.put("referral", referral_item(referral), ReferralItem.pk.does_not_exist())
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


def update_member(member: Member, idempotency: IdempotencyRecord | None, *, old_email: str | None = None,
                  old_phone: str | None = None, entries: Iterable[Entry] = (),
                  audit: AuditRecord | None = None) -> None:
    """A profile change (and the entries it awards), guarded by the member's version. A changed email
    moves its uniqueness guard in the same transaction, a changed phone its search item.
    ConditionFailed: member, email, idempotency."""
    txn = Txn()
    item = item_of(member)
    txn.update("member", item, member_update_actions(item), MemberItem.pk.exists())
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
    add_audit(txn, audit)
    for index, entry in enumerate(entries):
        txn.put(f"entry{index}", entry_item(entry), EntryItem.pk.does_not_exist())
    add_idempotency(txn, idempotency)
    db.commit(txn)


def erase_member(member: Member, email: str, referral_code: str, phone: str | None = None,
                 audit: AuditRecord | None = None) -> None:
    """The member without personal data, its email and referral code released, under the version read.
    ConditionFailed(member) when the member changed since."""
    txn = Txn()
    item = item_of(member)
    txn.update("member", item, member_update_actions(item), MemberItem.pk.exists())
    txn.delete("email", UniqueItem(*email_key(email), member_id=member.member_id))
    txn.delete("referral_code", UniqueItem(*referral_code_key(referral_code), member_id=member.member_id))
    if phone:
        txn.delete("phone", UniqueItem(*phone_key(phone, member.member_id)))
    add_audit(txn, audit)
    db.commit(txn)


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
        last = typed_key({name: start[name] for name in fields[1:]}) if start["pk"] else None
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


def members(member_ids: list[str]) -> list[Member]:
    """The members named, with their WALLET items, in the order given, those that exist."""
    keys = [key for member_id in member_ids for key in (member_key(member_id), cold_wallet_key(member_id))]
    for _attempt in range(TORN_READ_ATTEMPTS):
        raw = batch_get(keys) if keys else {}
        loaded: dict[str, Any] = {}
        for member_id in member_ids:
            loaded[member_id] = load(MemberItem, raw.get(member_key(member_id)))
            loaded[f"{member_id}_cold"] = load(ColdWalletItem, raw.get(cold_wallet_key(member_id)))
        if with_cold_wallets(loaded):
            return [member_of(loaded[member_id]) for member_id in member_ids if loaded[member_id] is not None]
    raise ServiceUnavailable("a member's wallet kept changing while it was read; retry", retry_after=1)


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


def backfill_search_keys(segment: int, total: int, after: dict[str, str] | None, *, stop: Callable[[int], bool],
                         page_size: int = 200) -> tuple[int, int, dict[str, str] | None]:
    """The roster key and phone item of each member of one segment of a parallel Scan that has none, from just
    after the item `after`, until `stop(members seen)`. Returns (members seen, members given their keys, the
    item to go on after, None when the segment is done). A job."""
    start = {"pk": after["pk"], "sk": after["sk"]} if after else None
    seen = backfilled = 0
    try:
        for member in MemberItem.scan(MemberItem.sk == "PROFILE", segment=segment, total_segments=total,
                                      page_size=page_size, last_evaluated_key=typed_key(start) if start else None):
            seen += 1
            backfilled += int(_add_search_keys(member))
            if stop(seen):
                return seen, backfilled, {"pk": str(member.pk), "sk": str(member.sk)}
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return seen, backfilled, None


def _add_search_keys(member: MemberItem) -> bool:
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
        db.commit(txn)
    except ConditionFailed:
        return False
    return True


# A member item and its WALLET item are read in one BatchGetItem, which is no snapshot: a compaction that
# commits between the two reads is seen half. Rare (a compaction is one call in ~23 of a daily member's):
# read again.
TORN_READ_ATTEMPTS = 5


def with_cold_wallets(loaded: dict[str, Any]) -> bool:
    """Attaches each member read to its WALLET item; False when one does not go with its member."""
    for name, member in loaded.items():
        if isinstance(member, MemberItem):
            cold = loaded.get(f"{name}_cold")
            if not member.cold_matches(cold):
                return False
            member.attach_cold(cold)
    return True
