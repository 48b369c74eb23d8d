"""Campaigns and segments: their items, the running list on every program replica, their budgets' shares.

A campaign write is one transaction: the campaign item, every program replica's running list (so the
next purchase after the answer sees it, whichever replica it reads), the audit record and the
idempotency record. Budgets are shares of `CAMPAIGN#<id>` with caps from the definition (like the prize
wheel): a purchase takes from one share without reading it (the condition checks the cap). Caps only
grow; a lowered budget burns the room above it instead (shares.set_budget).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from loyalty.domain.allowance import split
from loyalty.store import db, escrow, shares
from loyalty.store.audit import AuditRecord, add_audit, create_audited
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import Txn, batch_get, load, raise_if_transient
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency
from loyalty.store.program import Program, ProgramItem, update_riders


class CampaignItem(Item):
    """CAMPAIGNS / <id>: a campaign as written (staff writes only: one partition)."""

    class Meta(TableMeta):
        pass

    definition = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    budget_shares = NumberAttribute(null=True)  # fixed at the first write; absent: 32 (store.budget_shares)
    # What the budget's share caps split (shares.budget_change): the budget, or the highest it had
    # once it was lowered. Absent: the definition's budget_points (written before budgets could be lowered).
    budget_basis = NumberAttribute(null=True)


class SegmentItem(Item):
    """SEGMENTS / <id>: a segment (its conditions over member facts)."""

    class Meta(TableMeta):
        pass

    definition = UnicodeAttribute()
    created_at = UnicodeAttribute()



CAMPAIGNS_PK = "CAMPAIGNS"
SEGMENTS_PK = "SEGMENTS"


def budget_owner(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


# A campaign that applies to every purchase takes from its budget on every purchase: at 25,000 points
# calls/s, 32 shares would each take ~80% of a partition's writes (BENCHMARKS.md "Scale"), so a large
# budget is spread over up to 128 shares. A small one gets fewer (a share holds at least
# MIN_SHARE_POINTS): a purchase that needs more than its share holds reads every share and takes from
# several, and a small budget is spent before its shares could run hot. The count is fixed when the
# campaign is first written (its shares' caps are parts of the budget); campaigns written before have 32.
MAX_BUDGET_SHARES = 128
MIN_SHARE_POINTS = 10_000
FIRST_BUDGET_SHARES = shares.SHARES


def budget_shares(budget_points: int | None) -> int:
    return max(1, min(MAX_BUDGET_SHARES, (budget_points or 0) // MIN_SHARE_POINTS))


def budget(campaign_id: str, budget_points: int, basis: int | None, count: int) -> escrow.Budget:
    """The campaign's budget as its running definition has it: its shares' caps split `basis` (the highest
    budget it had; the budget itself when never lowered), the budget itself. See store.escrow."""
    return escrow.Budget(budget_owner(campaign_id), tuple(split(budget_points if basis is None else int(basis),
                                                                 count)), budget_points)


def awarded(campaign_id: str, count: int) -> int:
    """Points the campaign's budget gave members so far (every share read)."""
    return shares.awarded(budget_owner(campaign_id), count)


def set_budget(campaign_id: str, count: int, basis: int, budget: int) -> None:
    """The budget's shares brought to the new budget (see shares.set_budget)."""
    shares.set_budget(budget_owner(campaign_id), list(split(basis, count)), budget)


@dataclass(frozen=True)
class StoredCampaign:
    """A campaign as written: its definition (JSON) and its budget's share count and basis."""

    campaign_id: str
    definition: str
    created_at: str
    updated_at: str
    budget_shares: int | None = None  # fixed at the first write; absent: 32 (budget_shares)
    # What the budget's share caps split (shares.budget_change): the budget, or the highest it had once it was
    # lowered. None: the definition's budget_points (written before budgets could be lowered).
    budget_basis: int | None = None


@dataclass(frozen=True)
class StoredSegment:
    """A segment as written: its conditions over member facts (JSON)."""

    segment_id: str
    definition: str
    created_at: str


def _campaign_of(item: CampaignItem) -> StoredCampaign:
    return StoredCampaign(str(item.sk), str(item.definition), str(item.created_at), str(item.updated_at),
                          None if item.budget_shares is None else int(item.budget_shares),
                          None if item.budget_basis is None else int(item.budget_basis))


def get_campaign(campaign_id: str) -> StoredCampaign | None:
    key = (CAMPAIGNS_PK, campaign_id)
    item = load(CampaignItem, batch_get([key]).get(key))
    return None if item is None else _campaign_of(item)


def list_campaigns() -> Iterator[StoredCampaign]:
    try:
        for item in CampaignItem.query(CAMPAIGNS_PK):
            yield _campaign_of(item)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def save_campaign(campaign: StoredCampaign, *, must_be_new: bool, program: Program, running_json: str,
                  audit: AuditRecord, idempotency: IdempotencyRecord | None) -> None:
    """Raises ConditionFailed: campaign (exists, when new), program (a campaign or program written
    meanwhile: re-read), idempotency."""
    txn = Txn()
    item = CampaignItem(CAMPAIGNS_PK, campaign.campaign_id, definition=campaign.definition,
                        created_at=campaign.created_at, updated_at=campaign.updated_at,
                        budget_shares=campaign.budget_shares, budget_basis=campaign.budget_basis)
    txn.put("campaign", item, CampaignItem.pk.does_not_exist() if must_be_new else None)
    update_riders(txn, program, [ProgramItem.campaigns_deflated.set(deflate_running(running_json)),
                                 ProgramItem.campaigns.remove()])
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


def deflate_running(running_json: str) -> bytes:
    return zlib.compress(running_json.encode(), 9)


def running_list(program: Program | None) -> bytes | str | None:
    """The running campaigns as stored on a program replica: deflated JSON, or plain JSON on a replica
    written before (see running_json)."""
    if program is None:
        return None
    return program.campaigns_deflated or program.campaigns or None


def running_json(stored: bytes | str | None) -> str:
    if not stored:
        return "[]"
    return zlib.decompress(stored).decode() if isinstance(stored, bytes) else stored


def get_segment(segment_id: str) -> StoredSegment | None:
    key = (SEGMENTS_PK, segment_id)
    item = load(SegmentItem, batch_get([key]).get(key))
    return None if item is None else StoredSegment(str(item.sk), str(item.definition), str(item.created_at))


def save_segment(segment: StoredSegment, audit: AuditRecord, idempotency: IdempotencyRecord | None) -> None:
    """Raises ConditionFailed: segment (the id is taken), idempotency."""
    item = SegmentItem(SEGMENTS_PK, segment.segment_id, definition=segment.definition, created_at=segment.created_at)
    create_audited("segment", item, audit, idempotency)
