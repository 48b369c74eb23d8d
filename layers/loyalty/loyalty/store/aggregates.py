"""MetricsTable: the aggregates as per-bucket partial items, daily snapshots and poison records.

No item is written by every shard's every batch. A stream shard writes only the partial items of its
bucket (crc32(shard id) % BUCKETS): pk `<logical pk>#<bucket>`, sk `<logical sk>#<part>`. Counters are
top-level number attributes changed with ADD: no read-modify-write, so shards that share a bucket never
conflict (DynamoDB applies each UpdateItem atomically). Exactly-once under at-least-once delivery: each
partial keeps, per shard, the highest sequence number folded into it (`wm:<shard tag>`), and every update is
conditioned on that watermark being below the update's first record. A replayed batch (whole, or from
the middle after a partial failure) fails that condition, re-reads the watermark and adds only the
records above it.

Parts keep every item small (well under 4 KB at steady state): `core` holds the plain counters; each
day-keyed history family (p1, p2, u1, u0, act, react) and the liability's points per expiry day (lot)
has an item of its own, with days written as base-36 day numbers. Reads add the parts and buckets back
into the logical items the domain knows (see loyalty.domain.metrics):
  DAYS      / <YYYY-MM-DD>   counters of one program-timezone day
  GLOBAL    / LIABILITY      outstanding points, points per lot expiry day, lifetime totals
  PARTNER#<id> / MONTH#<YYYY-MM>  what a partner funds in a month
  CAMPAIGN#<id> / REPORT     a campaign report: points awarded, members reached, its groups' purchases

Other keys (pk / sk):
  SNAPSHOTS / <YYYY-MM-DD>   cumulative totals at the end of a day (members, tiers), by the daily job
  POISON    / <sequence>     stream records the processor could not read
"""
from __future__ import annotations

import hashlib
import re
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import ServiceUnavailable
from loyalty.domain.metrics import DAYS_PK, ItemKey
from loyalty.settings import settings
from loyalty.store.db import batch_get, connection, error_code, load, raise_if_transient

# A closed shard's records are all delivered within the stream's 24 h retention: older marks can go.
WATERMARK_RETENTION_SECONDS = 2 * 24 * 3600
# A poison record is kept a month for an operator to inspect in the table, then TTL removes it.
POISON_RETENTION_SECONDS = 30 * 24 * 3600
TRANSACTION_ITEMS = 25
SNAPSHOTS_PK = "SNAPSHOTS"


def metrics_table_name() -> str:
    return settings().metrics_table_name


class _MetricsMeta:
    table_name = metrics_table_name()
    region = settings().region


class SnapshotItem(Model):
    class Meta(_MetricsMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    counters = JSONAttribute(default=dict)
    updated_at = UnicodeAttribute(null=True)


class FindingsItem(Model):
    """RECONCILE / FLAGGED: what the latest reconciliation found the ledger cannot account for by money."""

    class Meta(_MetricsMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    findings = JSONAttribute(default=dict)


FINDINGS_KEY = ("RECONCILE", "FLAGGED")


def save_flagged_entries(findings: dict[str, Any]) -> None:
    """The purchases the latest reconciliation found over their money (replaced whole by each run)."""
    FindingsItem(*FINDINGS_KEY, findings=findings).save()


def flagged_entries() -> dict[str, Any] | None:
    """What the latest reconciliation flagged (None before the first run)."""
    item = load(FindingsItem, batch_get([FINDINGS_KEY], table=metrics_table_name()).get(FINDINGS_KEY))
    return None if item is None else dict(item.findings)


class PoisonItem(Model):
    class Meta(_MetricsMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    reason = UnicodeAttribute()
    record = JSONAttribute()
    seen_at = UnicodeAttribute()
    expires = NumberAttribute(null=True)


BUCKETS = 16
# Parts whose counters are histograms keyed by a day (`<family>:<YYYY-MM-DD>`): one item each.
DAY_FAMILIES = ("p1", "p2", "u1", "u0", "act", "react", "lot")
CORE = "core"
PARTS = (CORE, *DAY_FAMILIES)
WATERMARK = "wm:"
# An UpdateExpression is at most 4 KB: at most this many counters per update (about 25 bytes each).
MAX_COUNTERS_PER_UPDATE = 120
_EPOCH = date(1970, 1, 1)
_PARTIAL_PK = re.compile(r"^(DAYS|GLOBAL|PARTNER#.+|CAMPAIGN#.+|BOARD#.+)#(\d{2})$")


@dataclass
class ApplyStats:
    """What folding one batch cost: item updates made, and updates refused because of a replay; and the
    day counters it added (each exactly once: a replayed contribution is refused, never counted)."""

    writes: int = 0
    replays: int = 0
    applied: Counter[str] = field(default_factory=Counter)


def bucket_of(shard: str) -> int:
    return zlib.crc32(shard.encode()) % BUCKETS


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if not number:
            return text


def _encode_suffix(suffix: str) -> str:
    try:
        return _base36((date.fromisoformat(suffix) - _EPOCH).days)
    except ValueError:
        return "~" + suffix  # OLD, NONE: not days


def _decode_suffix(attribute: str) -> str:
    if attribute.startswith("~"):
        return attribute[1:]
    return (_EPOCH + timedelta(days=int(attribute, 36))).isoformat()


def split_name(name: str) -> tuple[str, str]:
    """The part a counter is kept in and its attribute name there."""
    family, _, suffix = name.partition(":")
    if suffix and family in DAY_FAMILIES:
        return family, _encode_suffix(suffix)
    return CORE, name


def join_name(part: str, attribute: str) -> str:
    return attribute if part == CORE else f"{part}:{_decode_suffix(attribute)}"


def partial_key(key: ItemKey, bucket: int, part: str) -> ItemKey:
    return f"{key[0]}#{bucket:02d}", f"{key[1]}#{part}"


def logical_key(pk: str, sk: str) -> tuple[ItemKey, str] | None:
    """The logical item and part of a partial's keys; None for other items (snapshots, poison)."""
    matched = _PARTIAL_PK.match(pk)
    if matched is None or "#" not in sk:
        return None
    logical_sk, part = sk.rsplit("#", 1)
    return (matched.group(1), logical_sk), part


def _sequence(number: int) -> str:
    # Compared as strings: zero-padded base 36 (27 digits hold any 40-digit sequence number).
    return _base36(number).zfill(27)


def _shard_tag(shard: str) -> str:
    """The watermark's name: short, so an item stays small with many shards (48 bits of SHA-1)."""
    return WATERMARK + hashlib.sha1(shard.encode(), usedforsecurity=False).hexdigest()[:12]


def apply_contributions(shard: str, pending: dict[ItemKey, list[tuple[int, Counter[str]]]],
                        max_attempts: int = 10) -> ApplyStats:
    """Fold each logical item's contributions into this shard's partials, once."""
    bucket = bucket_of(shard)
    partials: dict[ItemKey, list[tuple[int, dict[str, int]]]] = {}
    for key, contributions in pending.items():
        for sequence, counters in contributions:
            by_part: dict[str, dict[str, int]] = {}
            for name, value in counters.items():
                if value:
                    part, attribute = split_name(name)
                    by_part.setdefault(part, {})[attribute] = by_part.get(part, {}).get(attribute, 0) + int(value)
            for part, values in by_part.items():
                partials.setdefault(partial_key(key, bucket, part), []).append((sequence, values))
    stats = ApplyStats()
    for physical, ordered in sorted(partials.items()):
        _apply_partial(physical, shard, sorted(ordered, key=lambda pair: pair[0]), max_attempts, stats)
    return stats


def _chunk(contributions: list[tuple[int, dict[str, int]]]) -> int:
    """How many of the (ordered) contributions one update can carry."""
    names: set[str] = set()
    for index, (_, values) in enumerate(contributions):
        names |= set(values)
        if len(names) > MAX_COUNTERS_PER_UPDATE and index > 0:
            return index
    return len(contributions)


def _apply_partial(key: ItemKey, shard: str, contributions: list[tuple[int, dict[str, int]]],
                   max_attempts: int, stats: ApplyStats) -> None:
    refusals = 0  # a batch with many counters takes several updates; only refusals count against it
    while contributions:
        if refusals >= max_attempts:
            raise ServiceUnavailable("a metrics partial kept refusing the batch; the batch will retry")
        size = _chunk(contributions)
        chunk = contributions[:size]
        merged: Counter[str] = Counter()
        for _, values in chunk:
            merged.update(values)
        applied, first_write = _add(key, shard, chunk[0][0], chunk[-1][0],
                                    {name: value for name, value in merged.items() if value})
        if applied:
            stats.writes += 1
            contributions = contributions[size:]
            logical = logical_key(*key)
            if logical is not None and logical[0][0] == DAYS_PK and logical[1] == CORE:
                stats.applied.update(merged)
            if first_write:
                _forget_old_watermarks(key)
        else:
            refusals += 1
            stats.replays += 1
            mark = _watermark(key, shard)
            contributions = [(sequence, values) for sequence, values in contributions if sequence > mark]


def _add(key: ItemKey, shard: str, first: int, last: int, counters: dict[str, int]) -> tuple[bool, bool]:
    """One UpdateItem: ADD the counters, move the shard's watermark to `last` unless it is at `first`
    or beyond. Returns (applied, whether this shard had never written this item)."""
    names = {"#w": _shard_tag(shard)}
    values: dict[str, Any] = {":first": {"S": _sequence(first)},
                              ":mark": {"S": f"{_sequence(last)}|{_base36(int(time.time()))}"}}
    adds = []
    for index, (name, value) in enumerate(sorted(counters.items())):
        names[f"#c{index}"] = name
        values[f":c{index}"] = {"N": str(value)}
        adds.append(f"#c{index} :c{index}")
    request = {
        "TableName": metrics_table_name(), "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        "UpdateExpression": "SET #w = :mark" + (" ADD " + ", ".join(adds) if adds else ""),
        "ConditionExpression": "attribute_not_exists(#w) OR #w < :first",
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values, "ReturnValues": "UPDATED_OLD",
    }
    try:
        response = connection().dispatch("UpdateItem", request)
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False, False
        raise_if_transient(exc)
        raise
    return True, _shard_tag(shard) not in response.get("Attributes", {})


def _get(key: ItemKey) -> dict[str, Any]:
    return batch_get([key], table=metrics_table_name()).get(key) or {}


def _watermark(key: ItemKey, shard: str) -> int:
    mark = _get(key).get(_shard_tag(shard), {}).get("S")
    return int(mark.split("|")[0], 36) if mark else 0


def _forget_old_watermarks(key: ItemKey) -> None:
    """A new shard wrote this item: drop the marks of shards silent for longer than the stream keeps
    records (they can never be redelivered), so the marks stay as few as the shards alive."""
    now = time.time()
    stale = {name: value for name, value in _get(key).items() if name.startswith(WATERMARK)
             and now - int(value["S"].split("|")[1], 36) > WATERMARK_RETENTION_SECONDS}
    if not stale:
        return
    names = {f"#m{index}": name for index, name in enumerate(stale)}
    values = {f":m{index}": value for index, value in enumerate(stale.values())}
    request = {
        "TableName": metrics_table_name(), "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        "UpdateExpression": "REMOVE " + ", ".join(names),
        "ConditionExpression": " AND ".join(f"#m{index} = :m{index}" for index in range(len(stale))),
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
    }
    try:
        connection().dispatch("UpdateItem", request)
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        if error_code(exc) != "ConditionalCheckFailedException":  # a shard moved it meanwhile: next time
            raise_if_transient(exc)
            raise


def _counters_of(raw: dict[str, Any], part: str) -> Counter[str]:
    """The counters of one partial (raw DynamoDB JSON or plain values)."""
    counters: Counter[str] = Counter()
    for name, value in raw.items():
        if name in ("pk", "sk") or name.startswith(WATERMARK):
            continue
        number = value["N"] if isinstance(value, dict) else value
        counters[join_name(part, name)] += int(Decimal(str(number)))
    return counters


def _plain_key(raw: dict[str, Any], name: str) -> str:
    value = raw[name]
    return str(value["S"] if isinstance(value, dict) else value)


def combine(items: Iterable[dict[str, Any]]) -> dict[ItemKey, dict[str, int]]:
    """Logical aggregates from partial items (raw or plain); other items are ignored. Zeros left out."""
    totals: dict[ItemKey, Counter[str]] = {}
    for raw in items:
        found = logical_key(_plain_key(raw, "pk"), _plain_key(raw, "sk"))
        if found is None:
            continue
        key, part = found
        totals.setdefault(key, Counter()).update(_counters_of(raw, part))
    return {key: {name: value for name, value in sorted(counters.items()) if value}
            for key, counters in totals.items() if any(counters.values())}


def _query(pk: str, condition: str, values: dict[str, Any], limit: int | None = None) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {
        "TableName": metrics_table_name(), "KeyConditionExpression": "pk = :pk AND " + condition,
        "ExpressionAttributeValues": {":pk": {"S": pk}, **values},
    }
    if limit is not None:
        request["Limit"] = limit
    while True:
        try:
            response = connection().dispatch("Query", request)
        except (PynamoDBException, ClientError, BotoCoreError) as exc:
            raise_if_transient(exc)
            raise
        yield from response.get("Items", [])
        start = response.get("LastEvaluatedKey")
        if not start or limit is not None:
            return
        request["ExclusiveStartKey"] = start


def record_poison(sequence: str, reason: str, record: dict[str, Any]) -> None:
    PoisonItem("POISON", sequence.zfill(40), reason=reason[:1000], record=record, seen_at=iso_utc(utc_now()),
               expires=int(time.time()) + POISON_RETENTION_SECONDS).save()


def read_days(first: str, last: str) -> dict[str, dict[str, int]]:
    """Counters of every day in [first, last] that has any (one paginated Query per bucket)."""
    items: list[dict[str, Any]] = []
    for bucket in range(BUCKETS):
        items.extend(_query(f"{DAYS_PK}#{bucket:02d}", "sk BETWEEN :first AND :last",
                            {":first": {"S": first}, ":last": {"S": f"{last}#~"}}))
    return {key[1]: counters for key, counters in combine(items).items() if key[0] == DAYS_PK}


def first_day() -> str | None:
    firsts = [str(item["sk"]["S"]).rsplit("#", 1)[0]
              for bucket in range(BUCKETS) for item in _query(f"{DAYS_PK}#{bucket:02d}", "sk > :none",
                                                                {":none": {"S": " "}}, limit=1)]
    return min(firsts, default=None)


def read_item(key: ItemKey) -> dict[str, int]:
    """A logical item's counters: every bucket's every part, in one or two BatchGetItem calls."""
    keys = [partial_key(key, bucket, part) for bucket in range(BUCKETS) for part in PARTS]
    found = batch_get(keys, table=metrics_table_name())
    return combine(found.values()).get(key, {})


def read_cores(keys: list[ItemKey]) -> dict[ItemKey, dict[str, int]]:
    """Logical items that keep plain counters only (the core part: a campaign's report), every bucket, all
    read together: one BatchGetItem per 6 items."""
    found = batch_get([partial_key(key, bucket, CORE) for key in keys for bucket in range(BUCKETS)],
                      table=metrics_table_name())
    combined = combine(found.values())
    return {key: combined.get(key, {}) for key in keys}


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
