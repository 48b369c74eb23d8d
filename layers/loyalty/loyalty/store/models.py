"""pynamodb models of the single LoyaltyTable.

Key design (pk / sk):
  MEMBER#<id>      / PROFILE        the member: profile, balance, lots, tier, cap counters (versioned)
  MEMBER#<id>      / ENTRY#<ulid>   the ledger, newest last
  MEMBER#<id>      / HOLD#<ulid>    a hold of points at a checkout (its open ones also on the member item)
  MEMBER#<id>      / WALLET         the older days of the member's lots and qualifying days (see daycounts)
  IDEM#<scope>#<k> / IDEM           idempotency record, written in the same transaction it protects
  ORDER#<order_id> / ORDER          one order earns once; what returns may still claw back
  EMAIL#<email>    / EMAIL          unique email -> member
  REFCODE#<code>   / REFCODE        unique referral code -> member
  PROGRAM#<nn>     / CURRENT        the program config in force, one of PROGRAM_REPLICAS identical copies
  PROGRAM          / VERSION#<n>    the program's history
  REWARD#<id>      / REWARD         a catalog reward (GSI1: CATALOG / REWARD#<id> lists them)
  SHARE#<owner>#<nn> / SHARE        one of SHARES shares of an allowance (a reward's stock, a promotion's
                                    budget, the prize wheel's budget), with a copy of its definition
  PROMOCLAIMS#<promotion>#<member> / CLAIMS   a member's claims of a promotion
  PHONE#<digits>   / MEMBER#<id>    a member's phone number, for back-office search (not unique)
  AUDIT            / <ulid>         the audit log of admin writes, oldest first (staff writes only: one
                                    partition's 1,000 writes/s is far above what program staff do)
  CAMPAIGNS        / <id>           a campaign; SEGMENTS / <id>: a segment (the running campaigns are
                                    also on the program replicas, with their segments' conditions)
  WHATIF#<id>      / JOB            a what-if replay job (TTL)
  IMPORT#<id>      / IMPORT         a bulk import: kind, format, rows and chunks once split, chunks staged
  IMPORT#<id>      / CHUNK#<nnnnnn> what one chunk of the file did (counts, bad rows): idempotent results
  IMPORT#<id>      / APPLY#<ss>#<nnnnnn>  what one page of a member shard's staged transactions did
  IMPORTROWS#<id>#<member> / <occurred_at>#<order_id>   a staged transaction row (TTL): one member's rows
                                    in occurred_at order, whichever chunks they came from
  IMPORTSHARD#<id>#<ss> / <member>  the members with staged rows, split in IMPORT_SHARDS keys (TTL)
"""

from __future__ import annotations

import zlib
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from loyalty.settings import settings
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


def table_name() -> str:
    return settings().table_name


def _region() -> str:
    return settings().region


class _Meta:
    table_name = table_name()
    region = _region()
    # botocore's own retries of throttling and server errors, before a 503 tells the caller to retry.
    max_retry_attempts = settings().dynamodb_max_retries


class CatalogIndex(GlobalSecondaryIndex["RewardItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


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


class _Item(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class MemberItem(_Item):
    class Meta(_Meta):
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
    # Optimistic lock: every points change is conditioned on the version it read.
    rev = VersionAttribute()


class ColdWalletItem(_Item):
    """MEMBER#<id> / WALLET: the older days of a member's lots and qualifying days (see daycounts). Read with
    the member by every call that reads it; written only when the member item's hot part is compacted, in
    the transaction that writes the member (so the member's version guards it too)."""

    class Meta(_Meta):
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


class EntryItem(_Item):
    class Meta(_Meta):
        pass

    entry_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    type = UnicodeAttribute()
    points = NumberAttribute()
    occurred_at = UnicodeAttribute()
    recorded_at = UnicodeAttribute()
    # The member's local day of the event (program time zone): the metrics day; and of its recording.
    day = UnicodeAttribute()
    recorded_day = UnicodeAttribute(null=True)
    source = JSONAttribute(default=dict)
    breakdown = JSONAttribute(default=list)
    balance_after = NumberAttribute()
    status = UnicodeAttribute(default="available")
    expires_at = UnicodeAttribute(null=True)
    qualifying = NumberAttribute(default=0)
    # The day whose qualifying bucket `qualifying` changed (the earn day, also for releases and returns).
    qualifying_day = UnicodeAttribute(null=True)
    # Which lots (by last valid day) a spend or claw-back drew on, or which lot an earn went to.
    lots = JSONAttribute(null=True)
    # Money in the program currency (decimal string) for revenue metrics.
    amount = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    redemption = JSONAttribute(null=True)
    # A redemption's cancellation: the redeem_reversal entry that gave its points back (set once).
    reversal_id = UnicodeAttribute(null=True)
    # For the stream processor: the member's previous activity day, and the member version.
    previous_activity_day = UnicodeAttribute(null=True)
    member_rev = NumberAttribute(null=True)
    details = JSONAttribute(null=True)
    # Facts for the period metrics (previous purchase days, upsell days, referral conversion).
    facts = JSONAttribute(null=True)


class HoldItem(_Item):
    """A hold at a checkout, as its GET reads it. `closed_id` is the ULID of the moment its points came
    back or were spent (the capture's redeem entry): reconciliation places it in the ledger's order."""

    class Meta(_Meta):
        pass

    hold_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    points = NumberAttribute()
    captured_points = NumberAttribute(default=0)
    status = UnicodeAttribute(default="held")  # held, captured, released, expired
    order_id = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute()
    created_at = UnicodeAttribute()
    balance_after = NumberAttribute()
    lots = JSONAttribute(default=dict)
    closed_id = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    redemption_id = UnicodeAttribute(null=True)


class IdempotencyItem(_Item):
    class Meta(_Meta):
        pass

    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    # The answer to replay: as text when short, deflated when that keeps the record under fewer 1 KB
    # write units (a 50-SKU purchase's answer is 2 KB as text, well under 1 KB deflated).
    body = UnicodeAttribute(null=True)
    body_deflated = BinaryAttribute(null=True, legacy_encoding=False)
    created_at = UnicodeAttribute()
    expires = TTLAttribute(null=True)

    def answer(self) -> str:
        if self.body_deflated is not None:
            return zlib.decompress(self.body_deflated).decode("utf-8")
        return self.body or ""


class OrderItem(_Item):
    class Meta(_Meta):
        pass

    # The bulk import that recorded the order (a re-run of that import counts it as its own).
    import_id = UnicodeAttribute(null=True)

    order_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    entry_id = UnicodeAttribute()
    total = UnicodeAttribute()
    currency = UnicodeAttribute()
    points = NumberAttribute()
    qualifying = NumberAttribute()
    earned_day = UnicodeAttribute()
    lot = UnicodeAttribute()
    refunded = UnicodeAttribute(default="0")
    pending = NumberAttribute(default=0)  # 1 while the order's points wait for pending_days
    # A referee's first order while referral rewards may be held: the referrer (its full return cancels them).
    referral_of = UnicodeAttribute(null=True)
    points_returned = NumberAttribute(default=0)
    qualifying_returned = NumberAttribute(default=0)
    channel = UnicodeAttribute()
    rev = VersionAttribute()


class UniqueItem(_Item):
    """EMAIL#<email> and REFCODE#<code>: uniqueness guards pointing at a member; PHONE#<digits> too,
    one item per member (a phone number may be shared)."""

    class Meta(_Meta):
        pass

    member_id = UnicodeAttribute()


class AuditItem(_Item):
    """One admin write, recorded in the transaction of the write itself."""

    class Meta(_Meta):
        pass

    audit_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    details = JSONAttribute(default=dict)


class ProgramItem(_Item):
    class Meta(_Meta):
        pass

    version = NumberAttribute()
    config = UnicodeAttribute()  # the JSON body as PUT, so GET returns the same field types
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute(null=True)
    # The running campaigns (JSON: each with its segment's conditions), deflated, on every replica: they
    # arrive with the program read, which every request pays for per started 4 KB (campaign JSON deflates
    # to about a fifth). `campaigns` is the plain JSON that replicas written before held; a campaign write
    # replaces it. campaigns_rev orders campaign writes; a program PUT carries them over.
    campaigns_deflated = BinaryAttribute(null=True, legacy_encoding=False)
    campaigns = UnicodeAttribute(null=True)
    campaigns_rev = NumberAttribute(null=True)
    # What the prize wheel's share caps split: its budget, or the highest it had once lowered (see
    # shares.budget_change). Absent: the config's spin.budget_points (written before budgets could be lowered).
    spin_basis = NumberAttribute(null=True)


class RewardItem(_Item):
    class Meta(_Meta):
        pass

    catalog = CatalogIndex()
    gsi1pk = UnicodeAttribute(default="CATALOG")
    gsi1sk = UnicodeAttribute()
    reward_id = UnicodeAttribute()
    data = JSONAttribute()  # name, description, points, tags, min_tier, per_member_limit, window, partner
    stock = NumberAttribute(null=True)  # remaining units; null = unlimited
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class PartnersIndex(GlobalSecondaryIndex["PartnerItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class PromotionsIndex(GlobalSecondaryIndex["PromotionItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class CatalogItem(_Item):
    """CATALOG#<nn> / REWARD#<id>: a reward as the catalog lists it, on each of CATALOG_REPLICAS partitions
    (a page reads one at random: no single key takes every app's browsing)."""

    class Meta(_Meta):
        pass

    reward_id = UnicodeAttribute()
    data = JSONAttribute()
    stock = NumberAttribute(null=True)  # the stock the reward was given (its shares hold what is left)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class PartnerItem(_Item):
    class Meta(_Meta):
        pass

    listing = PartnersIndex()
    partner_id = UnicodeAttribute()
    key_ids = JSONAttribute(default=list)
    name = UnicodeAttribute()
    contact_email = UnicodeAttribute()
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    # API Gateway usage plan and the key value the authorizer returns as usageIdentifierKey.
    usage_plan_id = UnicodeAttribute(null=True)
    usage_key_id = UnicodeAttribute(null=True)
    usage_key = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(default="PARTNERS")
    gsi1sk = UnicodeAttribute()


class PartnerKeyItem(_Item):
    class Meta(_Meta):
        pass

    key_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


class PromotionItem(_Item):
    class Meta(_Meta):
        pass

    listing = PromotionsIndex()
    promotion_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    data = JSONAttribute()
    created_at = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()


class PromotionCountersItem(_Item):
    """The codes a promotion issued (a partner's batch call, not a claim): claims count in the shares."""

    class Meta(_Meta):
        pass

    budget_points = NumberAttribute()
    codes_issued = NumberAttribute(default=0)


class ShareItem(_Item):
    """One share of an allowance (see loyalty.domain.allowance). A claim reads one share at random,
    which carries a copy of the definition, and takes from it under a condition on what it has left."""

    class Meta(_Meta):
        pass

    owner = UnicodeAttribute(null=True)
    data = JSONAttribute(null=True)  # the reward's or promotion's definition, as the main item has it
    partner_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # What this share may still give (stock units, budget points); null: unlimited.
    left = NumberAttribute(null=True)
    # What it gave, and the promotion counters of the claims it took (summed over the shares for reports).
    taken = NumberAttribute(null=True)
    # Of `taken`, what a lowered campaign budget took out of reach (no member got it): see
    # shares.set_budget.
    burned = NumberAttribute(null=True)
    codes_claimed = NumberAttribute(null=True)
    earns = NumberAttribute(null=True)
    members_reached = NumberAttribute(null=True)
    new_members = NumberAttribute(null=True)


class CodeBatchItem(_Item):
    """CODEBATCH#<batch> / CHUNK#<nnnnn>: the codes one transaction of a batch issued, so a retried batch
    continues where it stopped instead of issuing its codes again."""

    class Meta(_Meta):
        pass

    promotion_id = UnicodeAttribute()
    codes = JSONAttribute(default=list)
    expires = TTLAttribute(null=True)


class CampaignItem(_Item):
    """CAMPAIGNS / <id>: a campaign as written (staff writes only: one partition)."""

    class Meta(_Meta):
        pass

    definition = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    budget_shares = NumberAttribute(null=True)  # fixed at the first write; absent: 32 (store.budget_shares)
    # What the budget's share caps split (shares.budget_change): the budget, or the highest it had
    # once it was lowered. Absent: the definition's budget_points (written before budgets could be lowered).
    budget_basis = NumberAttribute(null=True)


class SegmentItem(_Item):
    """SEGMENTS / <id>: a segment (its conditions over member facts)."""

    class Meta(_Meta):
        pass

    definition = UnicodeAttribute()
    created_at = UnicodeAttribute()


class WhatIfItem(_Item):
    """WHATIF#<id> / JOB: a what-if replay: the proposed config, the period, and where the job has got to
    (the scan's next key and the totals so far, moved on by one step at a time)."""

    class Meta(_Meta):
        pass

    job_id = UnicodeAttribute()
    status = UnicodeAttribute()  # running, completed, failed
    config = UnicodeAttribute()
    from_day = UnicodeAttribute()
    to_day = UnicodeAttribute()
    created_at = UnicodeAttribute()
    actor = UnicodeAttribute()
    step = NumberAttribute(default=0)
    cursor = JSONAttribute(null=True)
    totals = JSONAttribute(null=True)
    report = JSONAttribute(null=True)
    expires = TTLAttribute(null=True)


class ImportItem(_Item):
    """IMPORT#<id> / IMPORT: one bulk import."""

    class Meta(_Meta):
        pass

    import_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    format = UnicodeAttribute()
    status = UnicodeAttribute()  # awaiting_upload, processing, failed (completed is read from the results)
    created_at = UnicodeAttribute()
    actor = UnicodeAttribute()
    rows = NumberAttribute(null=True)
    chunks = NumberAttribute(null=True)
    # Transactions: the chunks whose rows are staged (a set: a chunk processed twice counts once).
    staged = NumberSetAttribute(null=True)
    # Why a file could not be read at all (status failed), or why its split gave up (status unchanged)
    error = JSONAttribute(null=True)
    # The one upload this import takes (its S3 version, or its ETag where the bucket keeps no versions).
    upload = UnicodeAttribute(null=True)
    # Later uploads to the same URL, by version: imported not at all, listed as upload_ignored errors.
    ignored_uploads = UnicodeSetAttribute(null=True)


class ImportResultItem(_Item):
    """IMPORT#<id> / CHUNK#<n> or APPLY#<shard>#<page>: what one unit of work did, written whole when it
    ends (a unit done again writes the same counts: rows it recorded before count as its own)."""

    class Meta(_Meta):
        pass

    imported = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    errors = JSONAttribute(default=list)  # [{line, code, detail}], at most MAX_ERRORS
    last = NumberAttribute(null=True)  # APPLY: 1 on a shard's last page
    # 1: the unit failed on its last try and went to the dead-letter queue (not done; its error says so).
    # Done again after a redrive, it writes its result over this one.
    gave_up = NumberAttribute(null=True)


class StagedRowItem(_Item):
    """IMPORTROWS#<import>#<member> / <occurred_at>#<order_id>: a transaction row waiting for its turn."""

    class Meta(_Meta):
        pass

    line = NumberAttribute()
    row = JSONAttribute()
    expires = TTLAttribute(null=True)


class ImportShardItem(_Item):
    """IMPORTSHARD#<import>#<ss> / <member>: a member with staged rows."""

    class Meta(_Meta):
        pass

    expires = TTLAttribute(null=True)


class PromotionMemberItem(_Item):
    class Meta(_Meta):
        pass

    claims = NumberAttribute(default=0)


class CodeItem(_Item):
    class Meta(_Meta):
        pass

    code = UnicodeAttribute()
    promotion_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    status = UnicodeAttribute(default="issued")
    claimed_by = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)


class ClaimFailureItem(_Item):
    class Meta(_Meta):
        pass

    reason = UnicodeAttribute()
    day = UnicodeAttribute(null=True)  # program-timezone day, for the metrics
    expires = TTLAttribute(null=True)


class VoucherItem(_Item):
    """VOUCHER#<code> / VOUCHER: a personal single-use voucher from a visit."""

    class Meta(_Meta):
        pass

    code = UnicodeAttribute()
    member_id = UnicodeAttribute()
    voucher_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="issued")
    valid_until = UnicodeAttribute()
    used_at = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


class WebhookItem(_Item):
    class Meta(_Meta):
        pass

    webhook_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    url = UnicodeAttribute()
    # The HMAC key must be usable to sign, so it is kept (encrypted at rest by the table's SSE).
    secret = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()


class DeliveryItem(_Item):
    """WEBHOOKLOG#<partner> / <ulid>: one delivery attempt; DELIVERED#<webhook>#<event> / DELIVERED marks success."""

    class Meta(_Meta):
        pass

    webhook_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    event_type = UnicodeAttribute(null=True)
    attempt = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    http_status = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    at = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


def partner_key(partner_id: str) -> tuple[str, str]:
    return f"PARTNER#{partner_id}", "PARTNER"


def partner_api_key(key_id: str) -> tuple[str, str]:
    return f"PARTNERKEY#{key_id}", "KEY"


def promotion_key(promotion_id: str) -> tuple[str, str]:
    return f"PROMO#{promotion_id}", "PROMO"


def promotion_counters_key(promotion_id: str) -> tuple[str, str]:
    return f"PROMO#{promotion_id}", "COUNTERS"


def promotion_member_key(promotion_id: str, member_id: str) -> tuple[str, str]:
    # Its own partition key: every member's claims under PROMO#<id> would share one partition.
    return f"PROMOCLAIMS#{promotion_id}#{member_id}", "CLAIMS"


def share_key(owner: str, index: int) -> tuple[str, str]:
    return f"SHARE#{owner}#{index:02d}", "SHARE"


def code_key(code: str) -> tuple[str, str]:
    return f"CODE#{code}", "CODE"


def partner_order_key(partner_id: str, order_id: str) -> tuple[str, str]:
    return f"PARTNERORDER#{partner_id}#{order_id}", "ORDER"


def member_key(member_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", "PROFILE"


def cold_wallet_key(member_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", "WALLET"


def hold_key(member_id: str, hold_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", f"HOLD#{hold_id}"


def entry_key(member_id: str, entry_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", f"ENTRY#{entry_id}"


def idempotency_key(scope: str, key: str) -> tuple[str, str]:
    return f"IDEM#{scope}#{key}", "IDEM"


def order_key(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "ORDER"


def email_key(email: str) -> tuple[str, str]:
    return f"EMAIL#{email}", "EMAIL"


def phone_key(phone: str, member_id: str) -> tuple[str, str]:
    return f"PHONE#{phone_digits(phone)}", f"MEMBER#{member_id}"


def phone_digits(phone: str) -> str:
    """A phone number as searched: its digits (a leading + and separators dropped)."""
    return "".join(character for character in phone if character.isdigit())


AUDIT_PK = "AUDIT"


def audit_key(audit_id: str) -> tuple[str, str]:
    return AUDIT_PK, audit_id


def referral_code_key(code: str) -> tuple[str, str]:
    return f"REFCODE#{code}", "REFCODE"


# The program config is read by every request: it is kept in this many identical replicas, all written
# by the PUT's one transaction, and a request reads any one of them consistently (no single hot item).
PROGRAM_REPLICAS = 32


def program_replica_key(replica: int) -> tuple[str, str]:
    return f"PROGRAM#{replica:02d}", "CURRENT"


def program_version_key(version: int) -> tuple[str, str]:
    return "PROGRAM", f"VERSION#{version:08d}"


def reward_key(reward_id: str) -> tuple[str, str]:
    return f"REWARD#{reward_id}", "REWARD"


def import_key(import_id: str) -> tuple[str, str]:
    return f"IMPORT#{import_id}", "IMPORT"
