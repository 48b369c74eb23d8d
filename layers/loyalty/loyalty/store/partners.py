"""Partners, their API keys, promotions, codes and claims: every key and condition of the partner flows.
The use cases hold plain records (`Partner`, `PartnerKey`, `Promotion`, `Code`, `MemberClaims`); the items
are this module's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.ids import new_ulid, ulid_floor
from loyalty.store import db, shares
from loyalty.store.audit import AuditRecord, add_audit
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import (
    ConditionFailed,
    Txn,
    batch_get,
    decode_cursor,
    encode_cursor,
    load,
    raise_if_transient,
)
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency
from loyalty.store.shares import ShareItem


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


class PartnerItem(Item):
    class Meta(TableMeta):
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


class PartnerKeyItem(Item):
    class Meta(TableMeta):
        pass

    key_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


class PromotionItem(Item):
    class Meta(TableMeta):
        pass

    listing = PromotionsIndex()
    promotion_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    data = JSONAttribute()
    created_at = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()


class PromotionCountersItem(Item):
    """The codes a promotion issued (a partner's batch call, not a claim): claims count in the shares."""

    class Meta(TableMeta):
        pass

    budget_points = NumberAttribute()
    codes_issued = NumberAttribute(default=0)


class CodeBatchItem(Item):
    """CODEBATCH#<batch> / CHUNK#<nnnnn>: the codes one transaction of a batch issued, so a retried batch
    continues where it stopped instead of issuing its codes again."""

    class Meta(TableMeta):
        pass

    promotion_id = UnicodeAttribute()
    codes = JSONAttribute(default=list)
    expires = TTLAttribute(null=True)


class PromotionMemberItem(Item):
    class Meta(TableMeta):
        pass

    claims = NumberAttribute(default=0)


class CodeItem(Item):
    class Meta(TableMeta):
        pass

    code = UnicodeAttribute()
    promotion_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    status = UnicodeAttribute(default="issued")
    claimed_by = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)


class ClaimFailureItem(Item):
    class Meta(TableMeta):
        pass

    reason = UnicodeAttribute()
    day = UnicodeAttribute(null=True)  # program-timezone day, for the metrics
    expires = TTLAttribute(null=True)


@dataclass
class Partner:
    partner_id: str
    name: str
    contact_email: str
    created_at: str
    status: str = "active"
    key_ids: list[str] = field(default_factory=list)
    # API Gateway usage plan and the key value the authorizer returns as usageIdentifierKey.
    usage_plan_id: str | None = None
    usage_key_id: str | None = None
    usage_key: str | None = None


@dataclass
class PartnerKey:
    key_id: str
    partner_id: str
    secret_hash: str
    created_at: str
    status: str = "active"
    revoked_at: str | None = None


@dataclass(frozen=True)
class Promotion:
    promotion_id: str
    partner_id: str
    data: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class Code:
    code: str
    promotion_id: str
    partner_id: str
    status: str = "issued"
    claimed_by: str | None = None
    claimed_at: str | None = None


@dataclass(frozen=True)
class MemberClaims:
    """How many times a member claimed a promotion (its per-member limit)."""

    claims: int


def _partner_of(item: PartnerItem | None) -> Partner | None:
    return None if item is None else record_of(Partner, item)


def _key_of(item: PartnerKeyItem | None) -> PartnerKey | None:
    return None if item is None else record_of(PartnerKey, item)


def _promotion_of(item: PromotionItem | None) -> Promotion | None:
    return None if item is None else Promotion(str(item.promotion_id), str(item.partner_id), dict(item.data or {}),
                                               str(item.created_at))


def code_of(item: CodeItem | None) -> Code | None:
    """The code of an item read (store.snapshot reads it with the rest of a claim)."""
    return None if item is None else record_of(Code, item)


def claims_of(item: PromotionMemberItem | None) -> MemberClaims | None:
    return None if item is None else MemberClaims(int(item.claims or 0))


def _partner_item(partner: Partner) -> PartnerItem:
    return PartnerItem(*partner_key(partner.partner_id), gsi1pk="PARTNERS", gsi1sk=partner.partner_id,
                       **dataclasses.asdict(partner))


def _key_item(key: PartnerKey) -> PartnerKeyItem:
    return PartnerKeyItem(*partner_api_key(key.key_id), **dataclasses.asdict(key))


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


def code_key(code: str) -> tuple[str, str]:
    return f"CODE#{code}", "CODE"


def partner_order_key(partner_id: str, order_id: str) -> tuple[str, str]:
    return f"PARTNERORDER#{partner_id}#{order_id}", "ORDER"


def claimed_promotion(promotion_id: str, pool: shares.Pool | None) -> Promotion | None:
    head = pool.head if pool is not None else None
    if pool is None or head is None or head.data is None:
        return None
    return Promotion(promotion_id, head.partner_id or "", dict(head.data), head.created_at or "")



CODES_PER_TRANSACTION = 98  # plus the chunk record and the counters update: DynamoDB's limit is 100 actions
CODE_BATCH_TTL = timedelta(days=7)  # as long as an idempotency record: a retry comes within it
CLAIM_FAILURE_TTL_SECONDS = 24 * 3600


def new_partner(partner_id: str, **attributes: Any) -> Partner:
    return Partner(partner_id=partner_id, **attributes)


def new_key(key_id: str, partner_id: str, secret_hash: str) -> PartnerKey:
    return PartnerKey(key_id=key_id, partner_id=partner_id, secret_hash=secret_hash, created_at=iso_utc(utc_now()))


def create_partner(partner: Partner, key: PartnerKey, idempotency: IdempotencyRecord | None,
                   audit: AuditRecord | None = None) -> None:
    txn = Txn()
    txn.put("partner", _partner_item(partner), PartnerItem.pk.does_not_exist())
    txn.put("key", _key_item(key), PartnerKeyItem.pk.does_not_exist())
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


def add_key(partner: Partner, key: PartnerKey, revoke: list[PartnerKey],
            idempotency: IdempotencyRecord | None, audit: AuditRecord | None = None) -> None:
    txn = Txn()
    txn.put("key", _key_item(key), PartnerKeyItem.pk.does_not_exist())
    txn.update("partner", PartnerItem(*partner_key(partner.partner_id)), [PartnerItem.key_ids.set(partner.key_ids)],
               PartnerItem.pk.exists(), versioned=False)
    for index, old in enumerate(revoke):
        txn.update(f"revoke{index}", PartnerKeyItem(*partner_api_key(old.key_id)),
                   [PartnerKeyItem.status.set("revoked"), PartnerKeyItem.revoked_at.set(iso_utc(utc_now()))],
                   PartnerKeyItem.partner_id == key.partner_id, versioned=False)
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


def revoke_key(key: PartnerKey, audit: AuditRecord | None = None) -> None:
    txn = Txn()
    txn.update("key", PartnerKeyItem(*partner_api_key(key.key_id)),
               [PartnerKeyItem.status.set("revoked"), PartnerKeyItem.revoked_at.set(iso_utc(utc_now()))],
               PartnerKeyItem.partner_id == key.partner_id, versioned=False)
    add_audit(txn, audit)
    db.commit(txn)


def get_partner(partner_id: str) -> Partner | None:
    return _partner_of(load(PartnerItem, batch_get([partner_key(partner_id)]).get(partner_key(partner_id))))


def get_key(key_id: str, consistent: bool = True) -> PartnerKey | None:
    key = partner_api_key(key_id)
    return _key_of(load(PartnerKeyItem, batch_get([key], consistent=consistent).get(key)))


def get_keys(key_ids: list[str]) -> list[PartnerKey]:
    raw = batch_get([partner_api_key(key_id) for key_id in key_ids])
    return [key for key_id in key_ids if (key := _key_of(load(PartnerKeyItem, raw.get(partner_api_key(key_id)))))]


def list_partners(*, limit: int, cursor: str | None) -> tuple[list[Partner], str | None]:
    start = decode_cursor(cursor, ("pk", "sk", "gsi1pk", "gsi1sk"))
    try:
        query = PartnerItem.listing.query(
            "PARTNERS", limit=limit, page_size=limit,
            last_evaluated_key={name: {"S": value} for name, value in start.items()} if start else None,
        )
        return [record_of(Partner, item) for item in query], encode_cursor(query.last_evaluated_key)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


# --- promotions -------------------------------------------------------------------------------------


def create_promotion(promotion: Promotion, budget_points: int,
                     idempotency: IdempotencyRecord | None, audit: AuditRecord | None = None) -> None:
    """The promotion, its codes counter and its budget shares (each with a copy of the definition)."""
    txn = Txn()
    txn.put("promotion", PromotionItem(*promotion_key(promotion.promotion_id), promotion_id=promotion.promotion_id,
                                       partner_id=promotion.partner_id, data=promotion.data,
                                       created_at=promotion.created_at,
                                       gsi1pk=f"PARTNER#{promotion.partner_id}#PROMOS", gsi1sk=promotion.promotion_id),
            PromotionItem.pk.does_not_exist())
    txn.put("counters", PromotionCountersItem(*promotion_counters_key(promotion.promotion_id),
                                              budget_points=budget_points), PromotionCountersItem.pk.does_not_exist())
    for share in shares.new_shares(shares.promotion_owner(promotion.promotion_id), total=budget_points,
                                   data=promotion.data, partner_id=promotion.partner_id,
                                   created_at=promotion.created_at):
        txn.put("share", share)
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


CLAIM_COUNTERS = ("taken", "left", "codes_claimed", "earns", "members_reached", "new_members")


@dataclass
class PromotionUsage:
    codes_issued: int
    points_awarded: int
    budget_left: int
    codes_claimed: int
    earns: int
    members_reached: int
    new_members: int


def get_promotion(promotion_id: str) -> tuple[Promotion | None, PromotionUsage | None]:
    """The promotion and its counters (the codes counter and every budget share summed)."""
    keys = [promotion_key(promotion_id), promotion_counters_key(promotion_id)]
    raw = batch_get(keys + shares.share_keys(shares.promotion_owner(promotion_id)))
    promotion = load(PromotionItem, raw.get(keys[0]))
    counters = load(PromotionCountersItem, raw.get(keys[1]))
    if promotion is None:
        return None, None
    found = [load(ShareItem, raw.get(key)) for key in shares.share_keys(shares.promotion_owner(promotion_id))]
    totals = shares.sum_counters(found, CLAIM_COUNTERS)
    return _promotion_of(promotion), PromotionUsage(
        codes_issued=int(counters.codes_issued or 0) if counters is not None else 0,
        points_awarded=totals["taken"], budget_left=totals["left"], codes_claimed=totals["codes_claimed"],
        earns=totals["earns"], members_reached=totals["members_reached"], new_members=totals["new_members"])


def promotion_usage(promotion_ids: list[str], member_id: str) -> dict[
    str, tuple[shares.Pool, MemberClaims | None]
]:
    """Each promotion's budget pool (one share picked at random) and this member's claims, in one
    BatchGetItem per 50 promotions."""
    picked = {promotion_id: shares.random_share() for promotion_id in promotion_ids}
    keys = {promotion_id: (shares.share_key(shares.promotion_owner(promotion_id), picked[promotion_id]),
                           promotion_member_key(promotion_id, member_id))
            for promotion_id in promotion_ids}
    raw = batch_get(key for pair in keys.values() for key in pair)
    return {promotion_id: (shares.pool_from(shares.promotion_owner(promotion_id), picked[promotion_id],
                                            raw.get(share)),
                           claims_of(load(PromotionMemberItem, raw.get(claims))))
            for promotion_id, (share, claims) in keys.items()}


def list_promotions(partner_id: str, *, limit: int, cursor: str | None) -> tuple[list[Promotion], str | None]:
    start = decode_cursor(cursor, ("pk", "sk", "gsi1pk", "gsi1sk"))
    try:
        query = PromotionItem.listing.query(
            f"PARTNER#{partner_id}#PROMOS", limit=limit, page_size=limit,
            last_evaluated_key={name: {"S": value} for name, value in start.items()} if start else None,
        )
        return [promotion for item in query if (promotion := _promotion_of(item)) is not None], encode_cursor(
            query.last_evaluated_key)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def code_batch_key(batch_id: str, index: int) -> tuple[str, str]:
    return f"CODEBATCH#{batch_id}", f"CHUNK#{index:05d}"


def code_batch(batch_id: str) -> list[list[str]]:
    """The codes each committed chunk of a batch issued, in order."""
    try:
        return [list(chunk.codes or []) for chunk in CodeBatchItem.query(f"CODEBATCH#{batch_id}")]
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def issue_code_chunk(promotion_id: str, partner_id: str, batch_id: str, index: int, codes: list[str]) -> bool:
    """Writes one chunk of a batch (at most CODES_PER_TRANSACTION codes), its record and the codes_issued
    counter in one transaction. False when a code met an existing one (astronomically rare: nothing was
    written, draw new codes). ConditionFailed(chunk) when this chunk was written meanwhile (a concurrent
    retry of the same batch)."""
    txn = Txn()
    for position, code in enumerate(codes):
        txn.put(f"code{position}", CodeItem(*code_key(code), code=code, promotion_id=promotion_id,
                                            partner_id=partner_id, status="issued"), CodeItem.pk.does_not_exist())
    txn.put("chunk", CodeBatchItem(*code_batch_key(batch_id, index), promotion_id=promotion_id, codes=codes,
                                   expires=CODE_BATCH_TTL), CodeBatchItem.pk.does_not_exist())
    counters = PromotionCountersItem(*promotion_counters_key(promotion_id))
    txn.update("counters", counters, [PromotionCountersItem.codes_issued.add(len(codes))],
               PromotionCountersItem.pk.exists(), versioned=False)
    try:
        db.commit(txn)
    except ConditionFailed as failed:
        if "chunk" in failed.labels:
            raise
        return False
    return True


def get_code(code: str) -> Code | None:
    return code_of(load(CodeItem, batch_get([code_key(code)]).get(code_key(code))))


def record_claim_failure(member_id: str, reason: str, day: str | None) -> None:
    item = ClaimFailureItem(f"CLAIMFAIL#{member_id}", new_ulid(), reason=reason, day=day,
                            expires=timedelta(seconds=CLAIM_FAILURE_TTL_SECONDS))
    try:
        item.save()
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def recent_claim_failures(member_id: str, since_ms: int, limit: int) -> int:
    since = ulid_floor(since_ms)
    try:
        return sum(1 for _ in ClaimFailureItem.query(f"CLAIMFAIL#{member_id}", ClaimFailureItem.sk >= since,
                                                     limit=limit))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def has_room(pool: shares.Pool | None, claims: MemberClaims | None, data: dict[str, Any], points: int) -> bool:
    """The member is under the per-member limit and the budget still covers `points` (planned on the
    pool: the write takes exactly that, under a condition on each share it draws on)."""
    limit = data.get("max_per_member")
    if limit is not None and claims is not None and int(claims.claims) >= int(limit):
        return False
    return pool is not None and pool.take(points)
