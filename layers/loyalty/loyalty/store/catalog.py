"""The reward catalog: REWARD#<id> / REWARD, and its listing replicated over CATALOG_REPLICAS keys
(CATALOG#<nn>); a reward's stock is in its shares (store.shares). The use cases hold a plain `Reward`; the
items are this module's.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.domain.errors import BadRequest
from loyalty.settings import settings
from loyalty.store import db, shares
from loyalty.store.audit import AuditRecord, add_audit
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import Txn, batch_get, decode_cursor, encode_cursor, load, raise_if_transient, typed_key
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency


class CatalogIndex(GlobalSecondaryIndex["RewardItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class RewardItem(Item):
    class Meta(TableMeta):
        pass

    catalog = CatalogIndex()
    gsi1pk = UnicodeAttribute(default="CATALOG")
    gsi1sk = UnicodeAttribute()
    reward_id = UnicodeAttribute()
    data = JSONAttribute()  # name, description, points, tags, min_tier, per_member_limit, window, partner
    stock = NumberAttribute(null=True)  # remaining units; null = unlimited
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class CatalogItem(Item):
    """CATALOG#<nn> / REWARD#<id>: a reward as the catalog lists it, on each of CATALOG_REPLICAS partitions
    (a page reads one at random: no single key takes every app's browsing)."""

    class Meta(TableMeta):
        pass

    reward_id = UnicodeAttribute()
    data = JSONAttribute()
    stock = NumberAttribute(null=True)  # the stock the reward was given (its shares hold what is left)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


@dataclass
class Reward:
    """A reward of the catalog: its definition (`data`: name, description, points, tags, min_tier,
    per_member_limit, window, partner) and its stock (None: unlimited)."""

    reward_id: str
    data: dict[str, Any]
    stock: int | None
    created_at: str
    updated_at: str


def _reward_of(item: RewardItem) -> Reward:
    return Reward(str(item.reward_id), dict(item.data or {}), None if item.stock is None else int(item.stock),
                  str(item.created_at), str(item.updated_at))


def reward_of(item: RewardItem | None) -> Reward | None:
    """The reward of an item read (store.snapshot reads it with the rest of a request)."""
    return None if item is None else _reward_of(item)


def reward_key(reward_id: str) -> tuple[str, str]:
    return f"REWARD#{reward_id}", "REWARD"


def claimed_reward(reward_id: str, pool: shares.Pool | None) -> Reward | None:
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


def new_reward(reward_id: str, *, data: dict[str, Any], stock: int | None, created_at: str, updated_at: str) -> Reward:
    return Reward(reward_id, data, stock, created_at, updated_at)


def _reward_item(reward: Reward) -> RewardItem:
    return RewardItem(*reward_key(reward.reward_id), reward_id=reward.reward_id, gsi1pk="CATALOG",
                      gsi1sk=f"REWARD#{reward.reward_id}", data=reward.data, stock=reward.stock,
                      created_at=reward.created_at, updated_at=reward.updated_at)


# The catalog is listed from this many partitions, each holding every reward: a page reads one at random.
CATALOG_REPLICAS = 16


def catalog_key(replica: int) -> str:
    return f"CATALOG#{replica:02d}"


def _catalog_entries(reward: Reward | RewardItem) -> list[CatalogItem]:
    return [CatalogItem(catalog_key(replica), f"REWARD#{reward.reward_id}", reward_id=reward.reward_id,
                        data=reward.data, stock=reward.stock, created_at=reward.created_at,
                        updated_at=reward.updated_at) for replica in range(CATALOG_REPLICAS)]


def save_reward(reward: Reward, idempotency: IdempotencyRecord | None, *, must_be_new: bool,
                audit: AuditRecord | None = None) -> None:
    """The reward, its catalog entries and its shares (the definition copied, the stock split) in one
    transaction: a PUT sets the stock to what it says, as claims after it see it."""
    txn = Txn()
    txn.put("reward", _reward_item(reward), RewardItem.pk.does_not_exist() if must_be_new else None)
    total = None if reward.stock is None else int(reward.stock)
    for share in shares.new_shares(shares.reward_owner(reward.reward_id), total=total, data=reward.data,
                                   created_at=reward.created_at, updated_at=reward.updated_at):
        txn.put("share", share)
    for entry in _catalog_entries(reward):
        txn.put("catalog", entry)
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


def backfill_catalog() -> int:
    """Catalog entries for rewards saved before the catalog had its own partitions (idempotent)."""
    written = 0
    for reward in _rewards_on_the_old_index():
        for entry in _catalog_entries(reward):
            try:
                entry.save()
            except PynamoDBException as exc:
                raise_if_transient(exc)
                raise
        written += 1
    return written


def _rewards_on_the_old_index() -> Iterator[RewardItem]:
    """Every reward, from the catalog index rewards were once listed by (GSI1: CATALOG)."""
    try:
        yield from RewardItem.catalog.query("CATALOG")
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def get_reward(reward_id: str) -> Reward | None:
    """The catalog entry with its live stock (the shares summed)."""
    raw = batch_get([reward_key(reward_id)])
    reward = reward_of(load(RewardItem, next(iter(raw.values()), None)))
    if reward is not None:
        with_live_stock([reward])
    return reward


def claimable_reward(reward_id: str) -> tuple[Reward | None, shares.Pool]:
    """A reward as a claim sees it, outside a snapshot (the wheel's reward prize)."""
    owner, index = shares.reward_owner(reward_id), shares.random_share()
    raw = batch_get([shares.share_key(owner, index)])
    pool = shares.pool_from(owner, index, raw.get(shares.share_key(owner, index)))
    return claimed_reward(reward_id, pool), pool


# A stocked reward's live stock as a catalog page shows it: read from its shares at most this often by an
# instance (a reward's own page, and every claim, read them exactly).
_stock_seen: dict[str, tuple[float, int]] = {}


def with_live_stock(rewards: list[Reward], max_age: float = 0.0) -> list[Reward]:
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


def list_rewards(*, limit: int, cursor: str | None) -> tuple[list[Reward], str | None]:
    """A page of the catalog, from one of its partitions (a cursor stays on its partition); stock as this
    instance read it at most `catalog_stock_seconds` ago."""
    start = decode_cursor(cursor, ("pk", "sk"))
    replica = start["pk"] if start else catalog_key(random.randrange(CATALOG_REPLICAS))  # noqa: S311 - spreading load
    if not replica.startswith("CATALOG#"):
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    try:
        query = CatalogItem.query(replica, limit=limit, page_size=limit, consistent_read=False,
                                  last_evaluated_key=typed_key(start) if start else None)
        entries = list(query)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    items = [new_reward(str(entry.reward_id), data=dict(entry.data or {}),
                        stock=None if entry.stock is None else int(entry.stock), created_at=str(entry.created_at),
                        updated_at=str(entry.updated_at)) for entry in entries]
    more = len(entries) >= limit and query.last_evaluated_key
    return (with_live_stock(items, settings().catalog_stock_seconds),
            encode_cursor(query.last_evaluated_key) if more else None)
