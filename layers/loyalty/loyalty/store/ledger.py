"""The ledger: a member's entries, its holds, and the orders that earned.

  MEMBER#<id>      / ENTRY#<ulid>   the ledger, newest last
  MEMBER#<id>      / HOLD#<ulid>    a hold of points (its open ones also on the member item)
  ORDER#<order_id> / ORDER          one order earns once; what returns may still claw back
  GSI1 LEDGERDAY#<day>#<nnn> / <ulid>  the entries recorded on a day (program time zone), by shard of member:
                                      the day's checkpoint reads them in entry_id order (store.checkpoints)
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.domain.errors import BadRequest
from loyalty.domain.holders import Hold, Order
from loyalty.domain.member import ClosedHold, Entry
from loyalty.store import db
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import (
    Txn,
    batch_get,
    decode_cursor,
    encode_cursor,
    load,
    query_page,
    raise_if_transient,
    typed_key,
)

# A day's entries are indexed under this many partition keys (by member), so that no index partition takes
# every entry's write: about 35,000 entries a second at 25,000 points calls/s is under 300 write units a
# second per key (BENCHMARKS.md, "Capacity"). A day's checkpoint builds one subtree per shard.
LEDGER_SHARDS = 128


class LedgerDayIndex(GlobalSecondaryIndex["EntryItem"]):
    """The entries recorded on a day, per shard, in entry_id order (GSI1, all attributes: the checkpoint
    hashes what it reads). Its keys never change: an entry is written once."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class EntryItem(Item):
    class Meta(TableMeta):
        pass

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_day = LedgerDayIndex()

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
    # A household member's earn whose lots went on to the household's pool (domain.households.contribute):
    # the household, the points the pool received and the pool's balance after them.
    pooled_to = UnicodeAttribute(null=True)
    pooled_points = NumberAttribute(null=True)
    pooled_balance_after = NumberAttribute(null=True)
    ssp = UnicodeAttribute(null=True)


class HoldItem(Item):
    """A hold at a checkout, as its GET reads it. `closed_id` is the ULID of the moment its points came
    back or were spent (the capture's redeem entry): reconciliation places it in the ledger's order."""

    class Meta(TableMeta):
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


class OrderItem(Item):
    class Meta(TableMeta):
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
    # The household whose pool received the order's points (its return takes them back from the pool).
    household_id = UnicodeAttribute(null=True)
    points_returned = NumberAttribute(default=0)
    qualifying_returned = NumberAttribute(default=0)
    channel = UnicodeAttribute()
    rev = VersionAttribute()


_ORDER_FIELDS = tuple(field.name for field in dataclasses.fields(Order) if field.name not in ("key", "stored"))


def order_of(item: OrderItem) -> Order:
    """An order read (`stored`: its item, whose version an update of the order is conditioned on)."""
    return record_of(Order, item, key=(str(item.pk), str(item.sk)), stored=item)


def order_item(order: Order) -> OrderItem:
    """A new order's item, under its key."""
    return OrderItem(*(order.key or order_key(order.order_id)),
                     **{name: getattr(order, name) for name in _ORDER_FIELDS})


def updated_order_item(order: Order) -> tuple[OrderItem, list[Action]]:
    """The item of an order read, and the update of what a return changes on it."""
    item = order.stored if isinstance(order.stored, OrderItem) else order_item(order)
    return item, [OrderItem.refunded.set(order.refunded), OrderItem.points_returned.set(order.points_returned),
                  OrderItem.qualifying_returned.set(order.qualifying_returned), OrderItem.pending.set(order.pending)]


def member_partition(member_id: str) -> str:
    """The partition a member's items share: the member, its wallet, its entries and holds."""
    return f"MEMBER#{member_id}"


def hold_key(member_id: str, hold_id: str) -> tuple[str, str]:
    return member_partition(member_id), f"HOLD#{hold_id}"


def entry_key(member_id: str, entry_id: str) -> tuple[str, str]:
    return member_partition(member_id), f"ENTRY#{entry_id}"


def order_key(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "ORDER"


def ledger_shard(member_id: str) -> int:
    return zlib.crc32(member_id.encode()) % LEDGER_SHARDS


def ledger_day_key(day: str, shard: int) -> str:
    return f"LEDGERDAY#{day}#{shard:03d}"




def entry_of(item: EntryItem) -> Entry:
    """A ledger entry as the use cases see it (the item's index keys and member version stay here)."""
    return record_of(Entry, item)


def entry_item(entry: Entry) -> EntryItem:
    """The item a ledger entry is stored as, indexed under the day it was recorded on."""
    item = EntryItem(*entry_key(entry.member_id, entry.entry_id), **dataclasses.asdict(entry))
    if entry.recorded_day:
        item.gsi1pk, item.gsi1sk = ledger_day_key(entry.recorded_day, ledger_shard(entry.member_id)), entry.entry_id
    return item


def day_entries(day: str, shard: int, after: str | None, limit: int, *, through: str | None = None) -> Iterator[
        dict[str, Any]]:
    """Up to `limit` entries recorded on `day` in one shard, in entry_id order, after the entry `after` (and
    up to the entry `through`), as their fields."""
    condition: Condition | None
    if through is not None:
        condition = (EntryItem.gsi1sk.between(after + "\u0000", through) if after
                     else EntryItem.gsi1sk <= through)
    else:
        condition = EntryItem.gsi1sk > after if after else None
    try:
        for item in EntryItem.by_day.query(ledger_day_key(day, shard), condition, limit=limit,
                                           page_size=min(limit, 1000)):
            yield dict(item.attribute_values)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def entry_fields(member_id: str, entry_id: str) -> dict[str, Any] | None:
    """A member's entry as its fields, read consistently (None: the member has no such entry)."""
    key = entry_key(member_id, entry_id)
    item = load(EntryItem, batch_get([key]).get(key))
    return None if item is None else dict(item.attribute_values)


def closed_hold_actions(hold: ClosedHold) -> list[Action]:
    """What closing a hold writes on its item."""
    return [HoldItem.status.set(hold.status), HoldItem.captured_points.set(hold.captured_points),
            HoldItem.closed_id.set(hold.closed_id), HoldItem.closed_at.set(hold.closed_at),
            HoldItem.balance_after.set(hold.balance_after),
            HoldItem.redemption_id.set(hold.redemption_id) if hold.redemption_id else HoldItem.redemption_id.remove()]


def list_entries(member_id: str, *, limit: int, cursor: str | None, types: set[str] | None) -> tuple[
    list[Entry], str | None
]:
    """A page of the member's ledger, newest first, optionally filtered by entry type."""
    pk = member_partition(member_id)
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != pk:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    try:
        query = EntryItem.query(
            pk, EntryItem.sk.startswith("ENTRY#"), scan_index_forward=False,
            filter_condition=EntryItem.type.is_in(*types) if types else None,
            last_evaluated_key=typed_key(start) if start else None,
            # pynamodb stops at `limit` matching items; with a filter it reads bigger pages.
            limit=limit, page_size=100 if types else limit,
        )
        items = list(query)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    more = len(items) >= limit and query.last_evaluated_key
    return [entry_of(item) for item in items], encode_cursor(query.last_evaluated_key) if more else None


def list_pool_entries(pool_id: str, household_id: str, contributors: list[tuple[str, str, str | None]], *,
                      limit: int, cursor: str | None, types: set[str] | None) -> tuple[list[Entry], str | None]:
    """A page of a household pool's ledger, newest first: the pool's own entries and its contributors'
    earns pooled to it (kept on their own ledgers), merged in the ledger's order. One Query per partition
    (the pool, and each member it ever seated between the entry ids of its tenure: a long history before
    joining is not read), each stopping at `limit` + 1 matching entries."""
    start = decode_cursor(cursor, ("household", "before"))
    if start is not None and start["household"] != household_id:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    upper = f"ENTRY#{start['before']}" if start is not None else "ENTRY#~"
    wanted = EntryItem.type.is_in(*types) if types else None
    found: list[EntryItem] = []
    sources = [(pool_id, "", None, False),
               *((member_id, since, until, True) for member_id, since, until in contributors)]
    for partition, since, until, pooled in sources:
        condition: Condition | None = EntryItem.pooled_to == household_id if pooled else None
        if wanted is not None:
            condition = wanted if condition is None else condition & wanted
        highest = min(upper, f"ENTRY#{until}") if until else upper
        if highest < f"ENTRY#{since}":
            continue  # the page's cursor is before this member's tenure
        try:
            found.extend(EntryItem.query(
                member_partition(partition), EntryItem.sk.between(f"ENTRY#{since}", highest), scan_index_forward=False,
                filter_condition=condition, limit=limit + 1, page_size=100 if condition is not None else limit + 1))
        except PynamoDBException as exc:
            raise_if_transient(exc)
            raise
    page = sorted((item for item in found if f"ENTRY#{item.entry_id}" < upper),
                  key=lambda item: str(item.entry_id), reverse=True)
    more = len(page) > limit
    page = page[:limit]
    next_cursor = encode_cursor({"household": household_id, "before": str(page[-1].entry_id)}) if more else None
    return [entry_of(item) for item in page], next_cursor


def all_entries(member_id: str, types: set[str] | None = None, limit: int = 10_000) -> list[Entry]:
    """The member's whole ledger, oldest first (exports, erasure; not a request-path read)."""
    pk = member_partition(member_id)
    try:
        return [entry_of(item) for item in EntryItem.query(
            pk, EntryItem.sk.startswith("ENTRY#"), limit=limit,
            filter_condition=EntryItem.type.is_in(*types) if types else None)]
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def scrub_feedback(feedback: list[Entry]) -> None:
    """Feedback comments are free text (they may name someone): removed from the entries, one by one."""
    for entry in feedback:
        details = {name: value for name, value in (entry.details or {}).items() if name != "comment"}
        txn = Txn()
        txn.update("entry", EntryItem(*entry_key(entry.member_id, entry.entry_id)), [EntryItem.details.set(details)],
                   EntryItem.pk.exists(), versioned=False)
        db.commit(txn)




def hold_of(item: HoldItem) -> Hold:
    return record_of(Hold, item)


def hold_item(hold: Hold) -> HoldItem:
    return HoldItem(*hold_key(hold.member_id, hold.hold_id), **dataclasses.asdict(hold))


def list_holds(member_id: str, *, limit: int, cursor: str | None) -> tuple[list[Hold], str | None]:
    """A page of the member's holds, newest first (open and closed)."""
    pk = member_partition(member_id)
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != pk:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    items, next_cursor = query_page(HoldItem, pk, HoldItem.sk.startswith("HOLD#"), limit, start, forward=False)
    return [hold_of(item) for item in items], next_cursor
