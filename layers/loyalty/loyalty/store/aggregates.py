"""MetricsTable: daily aggregates, the liability totals, snapshots and poison records.

Exactly-once under at-least-once delivery: every aggregate item keeps, per stream shard, the highest
sequence number already folded into it. A batch reads the items it touches (one BatchGetItem), adds
only the records above each item's watermark, and writes each item once, conditioned on the version
it read. A replayed batch (whole, or from the middle after a partial failure) finds its records at
or below the watermark and adds nothing; a concurrent writer (another shard) makes the condition
fail and the item is re-read and re-merged.

Keys (pk / sk):
  DAYS      / <YYYY-MM-DD>   counters of one program-timezone day
  GLOBAL    / LIABILITY      outstanding points, points per lot expiry day, lifetime totals
  SNAPSHOTS / <YYYY-MM-DD>   cumulative totals at the end of a day (members, tiers), by the daily job
  POISON    / <sequence>     stream records the processor could not read
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import ServiceUnavailable
from loyalty.domain.metrics import DAYS_PK, ItemKey
from loyalty.store.db import ConditionFailed, Txn, batch_get, load, raise_if_transient

# A closed shard's records are all delivered within the stream's 24 h retention: older marks can go.
WATERMARK_RETENTION_SECONDS = 2 * 24 * 3600
TRANSACTION_ITEMS = 25
SNAPSHOTS_PK = "SNAPSHOTS"


def metrics_table_name() -> str:
    return os.environ.get("METRICS_TABLE_NAME", "MetricsTable")


class _MetricsMeta:
    table_name = metrics_table_name()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    host = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None


class AggregateItem(Model):
    class Meta(_MetricsMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    counters = JSONAttribute(default=dict)
    # {shard id: [highest sequence number folded in, when (epoch seconds)]}
    watermarks = JSONAttribute(default=dict)
    updated_at = UnicodeAttribute(null=True)
    v = VersionAttribute()


class SnapshotItem(Model):
    class Meta(_MetricsMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    counters = JSONAttribute(default=dict)
    updated_at = UnicodeAttribute(null=True)


class PoisonItem(Model):
    class Meta(_MetricsMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    reason = UnicodeAttribute()
    record = JSONAttribute()
    seen_at = UnicodeAttribute()
    expires = NumberAttribute(null=True)


def _label(key: ItemKey) -> str:
    return f"{key[0]}|{key[1]}"


def apply_contributions(shard: str, pending: dict[ItemKey, list[tuple[int, Counter[str]]]],
                        max_attempts: int = 10) -> int:
    """Fold each item's contributions above its watermark for `shard`; returns the item writes made."""
    remaining = {key: value for key, value in pending.items() if value}
    writes = 0
    for _attempt in range(max_attempts):
        if not remaining:
            return writes
        raw = batch_get(remaining, table=metrics_table_name())
        now = time.time()
        planned: list[tuple[ItemKey, AggregateItem]] = []
        for key, contributions in remaining.items():
            item = load(AggregateItem, raw.get(key)) or AggregateItem(key[0], key[1])
            marks = dict(item.watermarks or {})
            mark = int(marks.get(shard, ["0"])[0])
            fresh = [(sequence, counters) for sequence, counters in contributions if sequence > mark]
            if not fresh:
                continue
            merged: Counter[str] = Counter(item.counters or {})
            for _, counters in fresh:
                merged.update(counters)
            item.counters = {name: int(value) for name, value in sorted(merged.items()) if value}
            marks = {name: kept for name, kept in marks.items() if now - float(kept[1]) < WATERMARK_RETENTION_SECONDS}
            marks[shard] = [str(max(sequence for sequence, _ in fresh)), int(now)]
            item.watermarks = marks
            item.updated_at = iso_utc(utc_now())
            planned.append((key, item))
        conflicted: set[ItemKey] = set()
        for start in range(0, len(planned), TRANSACTION_ITEMS):
            chunk = planned[start:start + TRANSACTION_ITEMS]
            txn = Txn()
            for key, item in chunk:
                txn.put(_label(key), item)
            try:
                txn.commit()
                writes += len(chunk)
            except ConditionFailed as failed:
                labels = set(failed.labels)
                retry_all = "conflict" in labels
                conflicted |= {key for key, _ in chunk if retry_all or _label(key) in labels}
            except PynamoDBException as exc:
                raise_if_transient(exc)
                raise
        remaining = {key: remaining[key] for key in conflicted}
    if remaining:
        raise ServiceUnavailable("metrics items kept changing under the stream processor; the batch will retry")
    return writes


def record_poison(sequence: str, reason: str, record: dict[str, Any]) -> None:
    PoisonItem("POISON", sequence.zfill(40), reason=reason[:1000], record=record, seen_at=iso_utc(utc_now()),
               expires=int(time.time()) + 30 * 24 * 3600).save()


def read_days(first: str, last: str) -> dict[str, dict[str, int]]:
    """Counters of every day in [first, last] that has any (one paginated Query)."""
    try:
        return {
            item.sk: {name: int(value) for name, value in (item.counters or {}).items()}
            for item in AggregateItem.query(DAYS_PK, AggregateItem.sk.between(first, last))
        }
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def first_day() -> str | None:
    for item in AggregateItem.query(DAYS_PK, limit=1):
        return str(item.sk)
    return None


def read_item(key: ItemKey) -> dict[str, int]:
    raw = batch_get([key], table=metrics_table_name())
    item = load(AggregateItem, raw.get(key))
    return {} if item is None else {name: int(value) for name, value in (item.counters or {}).items()}


def latest_snapshot(on_or_before: str) -> tuple[str, dict[str, int]] | None:
    for item in SnapshotItem.query(SNAPSHOTS_PK, SnapshotItem.sk <= on_or_before, scan_index_forward=False,
                                   limit=1):
        return str(item.sk), {name: int(value) for name, value in (item.counters or {}).items()}
    return None


def save_snapshots(snapshots: list[tuple[str, dict[str, int]]]) -> None:
    """Snapshots are pure functions of the days before them: writing one twice changes nothing."""
    for start in range(0, len(snapshots), TRANSACTION_ITEMS):
        with SnapshotItem.batch_write() as batch:
            for day, counters in snapshots[start:start + TRANSACTION_ITEMS]:
                item = SnapshotItem(SNAPSHOTS_PK, day, counters=counters, updated_at=iso_utc(utc_now()))
                batch.save(item)
