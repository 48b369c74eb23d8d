"""Capacity model (counts, not wall time): which partition key limits the program, and at what rate.

A realistic mix of calls runs in-process on moto; every DynamoDB request it sends is captured, and the
read and write units it costs are attributed to the partition key they land on (table keys, and the
GSI keys that a written item carries). The ledger stream produced by the mix is then folded by the
stream processor in full batches over 16 shards, and its writes are attributed the same way. For each
key shared between members (the program, rewards, promotions, index keys, metrics partials), units per
points-changing call give the calls per second at which that key reaches DynamoDB's per-partition
limits (3,000 RCU/s, 1,000 WCU/s). Keys that belong to one member, order or idempotency record are
reported apart: their rate is one member's rate, not the program's.

Also: a stream contention run (concurrent shard consumers folding batches of the same day) and the
write units of a purchase by a member after a year of daily use and of a 50-SKU basket.
"""

from __future__ import annotations

import functools
import math
import random
import re
import statistics
import threading
import time
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import dynamo

READ_LIMIT = 3000
WRITE_LIMIT = 1000
TARGET_CALLS_PER_SECOND = 25_000
STREAM_SHARDS = 16
BATCH_SIZE = 100
# Partition keys that belong to one entity: their load is that entity's own rate.
PER_ENTITY = ("MEMBER#", "ORDER#", "IDEM#", "EMAIL#", "REFCODE#", "PARTNERORDER#", "CODE#", "VOUCHER#",
              "CLAIMFAIL#", "PARTNERKEY#", "PROMOCLAIMS#")
POINTS_CALLS = {"purchase", "redemption", "reward_redemption", "action", "return", "partner_earn"}
_HASH_CONDITION = re.compile(r"(#\w+|\w+)\s*=\s*(:\w+)")


def _units(size: int, per: int) -> int:
    return max(1, math.ceil(size / per))


def _gsi_writes(item: dict[str, Any] | None, load: Counter[tuple[str, str]], names: set[str] | None = None) -> None:
    """A written item that carries index keys writes the index too (GSI1 projects all, GSI2 and GSI3 keys
    only). GSI1 and GSI2 are counted on every write of such an item, even when the index entry did not
    change: an upper bound. GSI3 (the roster) only when the write sets its key (`names`: the attributes an
    update names; None for a put), which is when DynamoDB writes a keys-only index."""
    if not item:
        return
    if "gsi1pk" in item:
        load[("GSI1", item["gsi1pk"]["S"])] += _units(dynamo.item_size(item), 1024)
    if "gsi2pk" in item:
        load[("GSI2", item["gsi2pk"]["S"])] += 1
    if "gsi3pk" in item and (names is None or "gsi3pk" in names):
        load[("GSI3", item["gsi3pk"]["S"])] += 1


def units_by_key(requests: list[dynamo.Request]) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(read units, write units) per (table or index, partition key) of the captured requests."""
    client = dynamo.raw_client()
    reads: Counter[tuple[str, str]] = Counter()
    writes: Counter[tuple[str, str]] = Counter()

    def current(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return dynamo._current(client, table, dynamo._key_of(key))

    for request in requests:
        params = request.params
        if request.operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                (kind, body), = action.items()
                table = body["TableName"]
                item = body["Item"] if kind == "Put" else current(table, body["Key"])
                pk = (item or body.get("Key") or body["Item"])["pk"]["S"]
                size = 1024 if kind == "Delete" else dynamo.item_size(item)
                writes[(table, pk)] += 2 * _units(size, 1024)
                if kind != "ConditionCheck":
                    named = None if kind == "Put" else set(body.get("ExpressionAttributeNames", {}).values())
                    _gsi_writes(item, writes, named)
        elif request.operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            item = params["Item"] if request.operation == "PutItem" else current(table, params["Key"])
            pk = (item or params.get("Key") or {})["pk"]["S"]
            writes[(table, pk)] += _units(dynamo.item_size(item), 1024)
            named = None if request.operation == "PutItem" else set(params.get("ExpressionAttributeNames", {}).values())
            _gsi_writes(item, writes, named)
        elif request.operation == "BatchWriteItem":
            for table, entries in params["RequestItems"].items():
                for entry in entries:
                    item = entry.get("PutRequest", {}).get("Item") or entry.get("DeleteRequest", {}).get("Key")
                    writes[(table, item["pk"]["S"])] += _units(dynamo.item_size(item), 1024)
        elif request.operation == "BatchGetItem":
            for table, spec in params["RequestItems"].items():
                factor = 1.0 if spec.get("ConsistentRead") else 0.5
                for key in spec["Keys"]:
                    reads[(table, key["pk"]["S"])] += _units(dynamo.item_size(current(table, key)), 4096) * factor
        elif request.operation == "Query":
            values = params.get("ExpressionAttributeValues", {})
            names = params.get("ExpressionAttributeNames", {})
            for name, value in _HASH_CONDITION.findall(params.get("KeyConditionExpression", "")):
                attribute = names.get(name, name)
                if attribute in ("pk", "gsi1pk", "gsi2pk", "gsi3pk"):
                    space = {"pk": params["TableName"], "gsi1pk": "GSI1", "gsi2pk": "GSI2", "gsi3pk": "GSI3"}[attribute]
                    reads[(space, values[value]["S"])] += 1 if params.get("ConsistentRead") else 0.5
                    break
    return reads, writes


def _shared(key: tuple[str, str]) -> bool:
    return not key[1].startswith(PER_ENTITY)


def _family(pk: str) -> str:
    """A key's family name for the report (digits and ids folded: DAYS#nn, PROGRAM#nn, REWARD#<id>)."""
    return re.sub(r"#\d{2,3}$", "#nn", pk)


def running_campaign(number: int) -> dict[str, Any]:
    """A campaign as marketers write them: conditions on the member and the basket, a multiplier or a bonus,
    a budget, a per-member maximum and a holdout. Every fifth one applies to every purchase."""
    everyone = number % 5 == 0
    conditions = [{"fact": "basket.quantity", "op": "gte", "value": 1}] if everyone else [
        {"fact": "member.purchases", "op": "gte", "value": 3},
        {"fact": "basket.total", "op": "gte", "value": {"amount": f"{80 + number}.00", "currency": "USD"}},
        {"fact": "basket.categories", "op": "contains", "value": f"category-{number}"}]
    effects = [{"type": "bonus_points", "points": 5}] if everyone else [
        {"type": "multiply", "multiplier": "2", "categories": [f"category-{number}", "shoes"]}]
    return {"campaign_id": f"campaign-{number:02d}", "name": f"Weekend push {number}: double points on shoes",
            "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z", "trigger": "purchase",
            "conditions": conditions, "effects": effects, "budget_points": 10_000_000, "max_per_member": 5_000,
            "audience": {"holdout_percent": 10}, "active": True}


def run_mix(world: Any, operations: int = 1200, members: int = 150, seed: int = 13,
            campaigns: int = 0) -> dict[str, Any]:
    """The mix's units per shared key. `campaigns`: that many running (they ride on the program read)."""
    from tests.stream_helpers import deliver, stream_records

    world.reset()
    api = world.api
    rng = random.Random(seed)
    for number in range(members):
        assert api.enroll(f"c{number}").status == 201
        assert api.purchase(f"c{number}", f"seed-{number}", "60.00").status == 201
    # A reward with a stock: every redemption of it takes one unit from one of its 32 stock shares.
    assert api.post("/admin/rewards", {"reward_id": "stocked", "name": "Stocked", "description": "Limited",
                                       "points": 40, "stock": 100_000}, admin=True).status == 201
    onboarded = api.post("/admin/partners", {"name": "Cap", "contact_email": "cap@example.com"}, admin=True)
    partner = onboarded.body["partner_id"]
    for number in range(campaigns):
        written = api.post("/admin/campaigns", running_campaign(number), admin=True)
        assert written.status == 201, written.body
    records_before = len(stream_records())
    mix = [("purchase", 52), ("redemption", 5), ("reward_redemption", 5), ("action", 12), ("return", 3),
           ("partner_earn", 3), ("enrollment", 2), ("member_read", 8), ("activity_read", 6), ("catalog_read", 4)]
    kinds = [kind for kind, weight in mix for _ in range(weight)]
    orders: list[tuple[str, str]] = []
    captured: list[dynamo.Request] = []
    done: Counter[str] = Counter()
    for number in range(operations):
        kind = rng.choice(kinds)
        member = f"c{rng.randrange(members)}"
        if kind == "return" and not orders:
            kind = "purchase"
        call = functools.partial(_mix_call, api, rng, kind, member, number, orders, partner)
        result, requests = world.measure(call)
        if result.status >= 500:
            raise AssertionError((kind, result.status, result.body))
        if result.status in (200, 201):
            done[kind] += 1
            captured.extend(requests)
            if kind == "purchase":
                orders.append((member, f"m{number}"))
    points_calls = sum(count for kind, count in done.items() if kind in POINTS_CALLS)
    reads, writes = units_by_key(captured)

    # The stream: the mix's records, by partition key to one of 16 shards (one per metrics bucket), in
    # full batches as a loaded stream delivers them.
    from loyalty.store.aggregates import BUCKETS, bucket_of

    shard_ids: dict[int, str] = {}
    candidate = 0
    while len(shard_ids) < min(STREAM_SHARDS, BUCKETS):
        shard = f"shardId-{candidate:020d}"
        shard_ids.setdefault(bucket_of(shard), shard)
        candidate += 1
    shards = list(shard_ids.values())
    # What the stream processor's FilterCriteria let through: batches are made of those only (as on AWS).
    from loyalty_local.filtering import passes
    from loyalty_local.template import read_stack

    filters = [pattern for source in read_stack().streams if source.function == "StreamProcessorFunction"
               for pattern in source.filters]
    records = [record for record in stream_records()[records_before:] if passes(filters, record)]
    by_shard: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        key = record["dynamodb"]["Keys"]["pk"]["S"]
        by_shard[shards[zlib.crc32(key.encode()) % len(shards)]].append(record)
    stream_requests: list[dynamo.Request] = []
    batches = 0
    for shard, shard_records in by_shard.items():
        for start in range(0, len(shard_records), BATCH_SIZE):
            batch = shard_records[start:start + BATCH_SIZE]
            _, requests = world.measure(functools.partial(deliver, batch, shard=shard))
            stream_requests.extend(requests)
            batches += 1
    stream_reads, stream_writes = units_by_key(stream_requests)
    # A loaded stream delivers full batches: what a batch costs is spread over 100 records, not over
    # the fewer this sample's batches held.
    fill = len(records) / (batches * BATCH_SIZE) if batches else 1.0
    for key, units in stream_reads.items():
        reads[key] += units * fill
    for key, units in stream_writes.items():
        writes[key] += units * fill
    report = _report(reads, writes, points_calls, done, len(records), batches, fill)
    if campaigns:
        from loyalty.store.models import ProgramItem, program_replica_key

        replica = ProgramItem.get(*program_replica_key(0))
        report["running_campaigns"] = campaigns
        report["running_list_bytes"] = len(replica.campaigns_deflated or b"")
        families, _ = _grouped(reads, writes)
        report["program_replica"] = next((row for row in _rows(families, points_calls, per_family=True)
                                          if row["key"].startswith("LoyaltyTable:PROGRAM#")), None)
    return report


def _mix_call(api: Any, rng: random.Random, kind: str, member: str, number: int, orders: list[tuple[str, str]],
              partner: str) -> Any:
    if kind == "purchase":
        skus = [{"sku": f"sku-{rng.randrange(40)}", "quantity": 1, "unit_price": {"amount": "5.00", "currency": "USD"}}
                for _ in range(rng.randrange(1, 5))]
        return api.purchase(member, f"m{number}", f"{rng.randrange(5, 90)}.00", items=skus)
    if kind == "redemption":
        return api.redeem(member, {"points": 20, "description": "part payment"})
    if kind == "reward_redemption":
        return api.redeem(member, {"reward_id": rng.choice(["free-coffee", "free-tea", "stocked"])})
    if kind == "action":
        return api.post(f"/members/{member}/actions", {"action": "review"}, sub=member)
    if kind == "return":
        buyer, order = orders[-1]
        refund = {"order_id": order, "refund": {"amount": "1.00", "currency": "USD"}}
        return api.post(f"/members/{buyer}/returns", refund, sub="pos", scopes=["loyalty/transactions"],
                        headers={"Idempotency-Key": f"r{number}"})
    if kind == "partner_earn":
        return api.post("/partner/earn", {
            "member_id": member, "order_id": f"p{number}", "total": {"amount": "20.00", "currency": "USD"}},
            partner=partner, headers={"Idempotency-Key": f"p{number}"})
    if kind == "enrollment":
        return api.enroll(f"new{number}")
    if kind == "member_read":
        return api.get("/members/me", sub=member)
    if kind == "activity_read":
        return api.get(f"/members/{member}/activity", sub=member)
    return api.get("/rewards", sub=member)


def _keys_in_family(family: str) -> int:
    """How many partition keys a sharded family spreads over (1 for a key that is not sharded)."""
    from loyalty.domain.allowance import SHARES
    from loyalty.store.aggregates import BUCKETS
    from loyalty.store.models import PROGRAM_REPLICAS
    from loyalty.store.repository import DUE_SHARDS

    if not family.endswith("#nn"):
        return 1
    if family.startswith("SHARE#CAMPAIGN#"):
        # A campaign's budget has as many shares as its size gave it (store.campaigns.budget_shares).
        from loyalty.store.campaigns import FIRST_BUDGET_SHARES, get_campaign

        campaign = get_campaign(family.removeprefix("SHARE#CAMPAIGN#").removesuffix("#nn"))
        return int(campaign.budget_shares or FIRST_BUDGET_SHARES) if campaign else FIRST_BUDGET_SHARES
    if family.startswith("SHARE#"):
        return SHARES
    return {"DUE#nn": DUE_SHARDS, "PROGRAM#nn": PROGRAM_REPLICAS}.get(family, BUCKETS)


def _report(reads: Counter[tuple[str, str]], writes: Counter[tuple[str, str]], points_calls: int,
            done: Counter[str], records: int, batches: int, fill: float) -> dict[str, Any]:
    """Per shared key family: units per points call on one of its keys, with a large population's
    uniform hashing (the family's total over its key count), and the rate that key can take."""
    families, entity = _grouped(reads, writes)
    shared = _rows(families, points_calls, per_family=True)
    limiting = shared[0] if shared else None
    return {
        "mix": dict(sorted(done.items())), "points_calls": points_calls, "stream_records": records,
        "stream_batches": batches, "stream_fill_scaling": round(fill, 3),
        "target_points_calls_per_second": TARGET_CALLS_PER_SECOND,
        "ceiling_points_calls_per_second": limiting["ceiling_points_calls_per_second"] if limiting else None,
        "limiting_key": limiting["key"] if limiting else None,
        "keys_above_half_a_partition_at_target": [row["key"] for row in shared
                                                  if row["share_of_partition_limit_at_target"] > 0.5],
        "keys": shared[:10],
        # Keys of one member, order or idempotency record: units per points call on that entity's own key,
        # so the ceiling here is the rate one member can sustain, not the program's.
        "per_entity_heaviest": _rows(entity, points_calls, per_family=False)[:3],
    }


Groups = dict[tuple[str, str], list[float]]


def _grouped(reads: Counter[tuple[str, str]], writes: Counter[tuple[str, str]]) -> tuple[Groups, Groups]:
    """(shared key families, per-entity key kinds): [read units, write units] each."""
    families: Groups = defaultdict(lambda: [0.0, 0.0])
    entity: Groups = defaultdict(lambda: [0.0, 0.0])
    for key in set(reads) | set(writes):
        target = families if _shared(key) else entity
        name = (key[0], _family(key[1]) if _shared(key) else key[1].split("#")[0] + "#<id>")
        target[name][0] += reads[key]
        target[name][1] += writes[key]
    return families, entity


def _rows(groups: Groups, calls: int, per_family: bool, target: int = TARGET_CALLS_PER_SECOND) -> list[dict[str, Any]]:
    out = []
    for (space, family), (read, write) in groups.items():
        spread = _keys_in_family(family) if per_family else 1
        read_per_call = read / calls / spread
        write_per_call = write / calls / spread
        ceiling = min(READ_LIMIT / read_per_call if read_per_call else math.inf,
                      WRITE_LIMIT / write_per_call if write_per_call else math.inf)
        out.append({
            "key": f"{space}:{family}", "keys_in_family": spread,
            "read_units_per_points_call": round(read_per_call, 5),
            "write_units_per_points_call": round(write_per_call, 5),
            "ceiling_points_calls_per_second": None if math.isinf(ceiling) else round(ceiling),
            "share_of_partition_limit_at_target": round(target / ceiling, 3),
        })
    return sorted(out, key=lambda row: row["share_of_partition_limit_at_target"], reverse=True)


HOT_CLAIMS_TARGET = 5_000


def hot_claims(world: Any, claims: int = 256, members: int = 32) -> dict[str, Any]:
    """Every claim on one reward, then every claim on one promotion: the claims per second each sustains
    before one of its keys reaches a partition's limit (the target is 5,000/s with no key above half)."""
    world.reset()
    api = world.api
    for number in range(members):
        assert api.enroll(f"h{number}").status == 201
        assert api.purchase(f"h{number}", f"hseed-{number}", "900.00").status == 201
    assert api.post("/admin/rewards", {"reward_id": "flash", "name": "Flash sale", "points": 10,
                                       "stock": 1_000_000}, admin=True).status == 201
    partner = api.post("/admin/partners", {"name": "Hot", "contact_email": "hot@example.com"},
                       admin=True).body["partner_id"]
    promotion = api.post("/partner/promotions", {
        "name": "Flash", "kind": "bonus_points", "points": 50, "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2100-01-01T00:00:00Z", "budget_points": 100_000_000}, partner=partner).body
    codes: list[str] = []
    while len(codes) < claims:
        codes += api.post(f"/partner/promotions/{promotion['promotion_id']}/codes",
                          {"count": min(1000, claims - len(codes))}, partner=partner).body["codes"]

    def measured(call: Any) -> dict[str, Any]:
        captured: list[dynamo.Request] = []
        for number in range(claims):
            result, requests = world.measure(functools.partial(call, number))
            assert result.status == 201, result.body
            captured.extend(requests)
        families, _ = _grouped(*units_by_key(captured))
        rows = _rows(families, claims, per_family=True, target=HOT_CLAIMS_TARGET)
        worst = rows[0]
        return {"claims": claims, "ceiling_claims_per_second": worst["ceiling_points_calls_per_second"],
                "limiting_key": worst["key"], "share_of_partition_limit_at_target": worst[
                    "share_of_partition_limit_at_target"], "keys": rows[:4]}

    return {
        "target_claims_per_second": HOT_CLAIMS_TARGET,
        "reward": measured(lambda n: api.redeem(f"h{n % members}", {"reward_id": "flash"})),
        "promotion": measured(lambda n: api.post("/members/me/promo-codes", {"code": codes[n]},
                                                 sub=f"h{n % members}")),
    }


def stream_contention(world: Any, consumers_list: tuple[int, ...] = (1, 16, 64), batches_per_consumer: int = 3,
                      records_per_batch: int = 100) -> dict[str, Any]:
    """Concurrent shard consumers folding batches of the same day: attempts per batch, failed batches.

    Each consumer folds its own synthetic records (purchases of one day with varied history) through
    the stream use case, as the stream processor does, on threads against the serialized moto server.
    """
    results: dict[str, Any] = {}
    day = datetime(2026, 6, 30, tzinfo=UTC).date()
    for consumers in consumers_list:
        world.reset()
        totals = _Totals()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=consumers) as pool:
            list(pool.map(functools.partial(_consume, totals, consumers, day, batches_per_consumer,
                                            records_per_batch), range(consumers)))
        elapsed = time.perf_counter() - started
        # Attempts per batch: update requests sent per update needed (1.0 = nothing ever retried).
        attempts = (totals.updates + totals.refused) / totals.updates if totals.updates else None
        results[str(consumers)] = {"batches": totals.batches, "failed_batches": totals.failed,
                                   "attempts_per_batch": round(attempts, 3) if attempts else None,
                                   "seconds": round(elapsed, 1)}
    return results


@dataclass
class _Totals:
    batches: int = 0
    failed: int = 0
    updates: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _consume(totals: _Totals, consumers: int, day: Any, batches: int, records_per_batch: int, number: int) -> None:
    """One shard's consumer: its batches of one day's purchases, folded as the stream processor does."""
    from loyalty.domain.metrics import DAYS_PK, LIABILITY_KEY
    from loyalty.store import aggregates

    rng = random.Random(number)
    shard = f"shardId-{number:020d}-{consumers}"
    sequence = 10**20
    for _ in range(batches):
        pending: dict[tuple[str, str], list[tuple[int, Counter[str]]]] = {}
        for _ in range(records_per_batch):
            sequence += 1
            previous = (day - timedelta(days=rng.randrange(1, 368))).isoformat()
            pending.setdefault((DAYS_PK, day.isoformat()), []).append((sequence, Counter({
                "purchases": 1, "points_issued": 50, f"p1:{previous}": 1, f"act:{previous}": 1})))
            pending.setdefault(LIABILITY_KEY, []).append((sequence, Counter({"outstanding": 50,
                                                                             "lot:2027-06-30": 50})))
        try:
            stats = aggregates.apply_contributions(shard, pending)
        except Exception:  # a batch that gives up is what this run counts
            with totals.lock:
                totals.batches += 1
                totals.failed += 1
            continue
        with totals.lock:
            totals.batches += 1
            totals.updates += stats.writes
            totals.refused += stats.replays


def year_member_purchase(world: Any) -> dict[str, Any]:
    """Write units of a purchase by a member after 365 days of daily purchases of 1-4 SKUs (totals from
    $3 to $120) and a daily action, and of a 50-SKU purchase by a fresh member."""
    from tests.stream_helpers import at

    world.reset()
    api = world.api
    rng = random.Random(5)
    year: list[float] = []  # the write units of each of the year's purchases
    start = datetime(2026, 1, 1, 15, tzinfo=UTC)
    with at(start):
        assert api.enroll("yearly").status == 201
    for offset in range(365):
        with at(start + timedelta(days=offset)):
            items = [{"sku": f"sku-{rng.randrange(200)}", "quantity": 1,
                      "unit_price": {"amount": "4.00", "currency": "USD"}} for _ in range(rng.randrange(1, 5))]
            # Varied totals, as real baskets are (equal daily amounts would compress unrealistically well).
            total = f"{rng.randrange(3, 120)}.{rng.randrange(100):02d}"
            buy = functools.partial(api.purchase, "yearly", f"y{offset}", total, items=items)
            result, requests = world.measure(buy)
            assert result.status == 201
            year.append(dynamo.capacity(requests)["write_units"])
            assert api.post("/members/yearly/actions", {"action": "social_share"}, sub="yearly").status == 201
    with at(start + timedelta(days=365)):
        items = [{"sku": "sku-1", "quantity": 1, "unit_price": {"amount": "4.00", "currency": "USD"}}]
        result, requests = world.measure(lambda: api.purchase("yearly", "y-final", "4.00", items=items))
        assert result.status == 201, result.body
        day_365 = dynamo.capacity(requests)
    with at(start):
        assert api.enroll("basket").status == 201
        items = [{"sku": f"basket-{number}", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "USD"}}
                 for number in range(50)]
        result, requests = world.measure(lambda: api.purchase("basket", "b-1", "50.00", items=items))
        assert result.status == 201, result.body
        basket = dynamo.capacity(requests)
    # Over the year: the average, and the purchases that also moved the member's older days to its WALLET item.
    ordinary = statistics.median(year)
    average = {"write_units": round(statistics.fmean(year), 2), "read_units": day_365["read_units"]}
    compacting = {"write_units": max(year), "read_units": day_365["read_units"],
                  "count": sum(1 for units in year if units > ordinary)}
    return {"purchase_day_365": day_365, "purchase_50_skus": basket, "purchase_year_average": average,
            "purchase_year_compacting": compacting}
