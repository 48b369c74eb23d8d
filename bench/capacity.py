"""Capacity model (counts, not wall time): which partition key limits the program, at what rate, how often
transactions cancel each other, and whether the stream's consumers keep up.

A realistic mix of calls runs in-process on moto. The request model (bench.model) sees every request any
client sends (coverage against what moto served must be 1.0) and prices it by AWS's rules; the units land
on the partition keys they touch (table keys and index keys). The ledger stream the mix produced is then
folded by the stream processor in full batches over 16 shards, and its writes are attributed the same way.
For each key shared between members (the program, rewards, budgets, index keys, metrics partials), units per
points call, spread over the keys of its family (counts from the code's own constants), give the calls per
second at which that key reaches DynamoDB's per-partition limits (3,000 RCU/s, 1,000 WCU/s). Keys of one
member, order or idempotency record are reported apart: their rate is one member's.

Conflicts: every item a transaction writes is written L times a second at the target (its family's
transactions per points call x the target / the keys of the family; a member's own items at one
overlapping source per PER_ENTITY_OVERLAP_SECONDS); a transaction of duration d overlaps another on it with
chance 1 - exp(-L*2d). A points call is cancelled when any of its items is hit.

Stream headroom: records per points call x the target, against what the consumers fold: shards (one per
table partition the write units need) x parallelization factor, capped by their reserved concurrency,
x batch size / measured in-process seconds per batch.
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

from bench import model

READ_LIMIT = 3000
WRITE_LIMIT = 1000
TARGET_CALLS_PER_SECOND = 25_000
STREAM_SHARDS = 16
BATCH_SIZE = 100
# A transaction's duration on DynamoDB (the window in which another on the same item cancels it).
TRANSACTION_SECONDS = 0.025
# A member's own calls rarely overlap (an app waits for its answer): a second, independent source for the
# same member (a till and the app at once) is assumed at most once per this many seconds of its activity.
PER_ENTITY_OVERLAP_SECONDS = 1000
# Partition keys that belong to one entity: their load is that entity's own rate.
PER_ENTITY = ("MEMBER#", "ORDER#", "IDEM#", "EMAIL#", "REFCODE#", "PARTNERORDER#", "CODE#", "VOUCHER#",
              "CLAIMFAIL#", "PARTNERKEY#", "PROMOCLAIMS#", "PHONE#", "HOLD#", "IMPORTROWS#")
POINTS_CALLS = {"purchase", "redemption", "reward_redemption", "stocked_redemption", "action", "return",
                "partner_earn"}
STOCKED_REWARDS = 10
# What one DynamoDB or EventBridge request takes on AWS, end to end from a function (an estimate: single
# digit milliseconds for DynamoDB in the same region); a stream batch's time is its own CPU time plus this
# for each request it sends.
AWS_REQUEST_SECONDS = 0.008
# Lambda gives CPU in proportion to memory: 1,769 MB is one vCPU (this machine's core is taken as one).
ONE_VCPU_MB = 1769


def cpu_factor(memory_mb: int) -> float:
    """How much longer CPU work takes on a function of `memory_mb` than on one vCPU."""
    return max(1.0, ONE_VCPU_MB / memory_mb)


def _api_cpu_factor() -> float:
    from loyalty_local.template import load_template

    memory = load_template().get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    return cpu_factor(int(memory))


API_CPU_FACTOR = _api_cpu_factor()


def memory_of(template: dict[str, Any], function: str) -> int:
    properties = template["Resources"][function]["Properties"]
    return int(properties.get("MemorySize") or template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
# Families whose writes the single instance of this bench cannot load as AWS would: budget chunks are taken
# per instance (store.escrow), so their load depends on the instance count at the target (see escrow_at_target).
MODELLED_APART = ("SHARE#CAMPAIGN#",)
# The mix, per 100 calls: the soak's kinds, apps browsing the catalog, claims on stocked rewards.
MIX = [("purchase", 45), ("redemption", 4), ("reward_redemption", 2), ("stocked_redemption", 2), ("action", 12),
       ("return", 3), ("partner_earn", 3), ("enrollment", 2), ("member_read", 8), ("activity_read", 6),
       ("catalog_read", 13)]
# Campaigns running: 25, of which APPLYING apply to (almost) every purchase, each with this budget.
RUNNING_CAMPAIGNS = 25
APPLYING_CAMPAIGNS = 5
APPLYING_BUDGET = 100_000


def _family(pk: str) -> str:
    """A key's family name for the report (shard numbers and ids folded: DAYS#nn, PROGRAM#nn, REWARD#<id>)."""
    return re.sub(r"#\d{2,3}$", "#nn", pk)


def _shared(key: tuple[str, str]) -> bool:
    return not key[1].startswith(PER_ENTITY)


def running_campaign(number: int) -> dict[str, Any]:
    """A campaign as marketers write them. The first APPLYING_CAMPAIGNS apply to every purchase with a
    basket (a bonus, or double points), with budgets of APPLYING_BUDGET; the others need a category the
    mix's baskets never have."""
    applying = number < APPLYING_CAMPAIGNS
    conditions = [{"fact": "basket.quantity", "op": "gte", "value": 1}] if applying else [
        {"fact": "member.purchases", "op": "gte", "value": 3},
        {"fact": "basket.total", "op": "gte", "value": {"amount": f"{80 + number}.00", "currency": "USD"}},
        {"fact": "basket.categories", "op": "contains", "value": f"category-{number}"}]
    effects = ([{"type": "bonus_points", "points": 5}] if number % 2 else
               [{"type": "multiply", "multiplier": "1.5"}]) if applying else [
        {"type": "multiply", "multiplier": "2", "categories": [f"category-{number}", "shoes"]}]
    return {"campaign_id": f"campaign-{number:02d}", "name": f"Weekend push {number}: double points on shoes",
            "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z", "trigger": "purchase",
            "conditions": conditions, "effects": effects,
            "budget_points": APPLYING_BUDGET if applying else 10_000_000, "max_per_member": 5_000,
            "audience": {"holdout_percent": 0 if applying else 10}, "active": True}


@dataclass
class MixRun:
    """What one run of the mix measured."""

    done: Counter[str] = field(default_factory=Counter)
    reads: Counter[tuple[str, str]] = field(default_factory=Counter)
    writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Per points call: the items each of its transactions wrote.
    call_transactions: list[list[list[tuple[str, str, str]]]] = field(default_factory=list)
    campaign_rows: list[int] = field(default_factory=list)
    campaign_points: list[int] = field(default_factory=list)  # per campaign row
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def points_calls(self) -> int:
        return sum(count for kind, count in self.done.items() if kind in POINTS_CALLS)


# Gamification in the mix: challenges every purchase or review advances, a weekly purchase streak, and
# leaderboards on points this week and purchases this month.
MIX_CHALLENGES = 3
MIX_LEADERBOARDS = (("weekly-points", "points_earned", "week"), ("monthly-buyers", "purchases", "month"))


def _gamification(world: Any) -> None:
    """Challenges, a streak and leaderboards running while the mix runs. The leaderboards' top lists are
    seeded with TOP_KEPT members above the mix's, as in a program of many members, where an ordinary
    member's purchase changes no top list (a small program whose members all fit on the lists writes its
    lists on every batch: see BENCHMARKS.md)."""
    from zoneinfo import ZoneInfo

    from loyalty.domain import leaderboards as boards
    from loyalty.domain.clock import local_day, utc_now
    from loyalty.store import leaderboards as board_store
    from loyalty.store.aggregates import BUCKETS
    from loyalty_local.demo import DEMO_PROGRAM

    api = world.api
    streak = {"streak_id": "weekly-buyer", "name": "Weekly buyer", "event": "purchase", "period": "week",
              "grace_periods": 1, "rewards": [{"length": 4, "points": 200}]}
    assert api.put("/admin/program", {**DEMO_PROGRAM, "streaks": [streak]}, admin=True).status == 200
    window = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
    goals = [{"event": "purchase", "count": 1000}, {"event": "purchase", "amount": {"amount": "100000.00",
              "currency": "USD"}}, {"event": "action:review", "distinct_days": 30}]
    for number, goal in enumerate(goals[:MIX_CHALLENGES]):
        written = api.post("/admin/challenges", {"challenge_id": f"mix-{number}", "name": f"Mix {number}", **window,
                                                 "goal": goal, "reward": {"points": 500}}, admin=True)
        assert written.status == 201, written.body
    today = local_day(utc_now(), ZoneInfo(DEMO_PROGRAM["timezone"]))
    for leaderboard_id, metric, period in MIX_LEADERBOARDS:
        written = api.post("/admin/leaderboards", {"leaderboard_id": leaderboard_id, "name": leaderboard_id,
                                                   "metric": metric, "period": period, "size": 100}, admin=True)
        assert written.status == 201, written.body
        board = board_store.board_name(boards.METRIC_CODES[metric], period, boards.period_key(today, period))
        seeded = {bucket: [(boards.Standing(f"top-{bucket}-{rank}", "Top", 10**9 - rank), f"top-{bucket}-{rank}")
                           for rank in range(boards.TOP_KEPT)] for bucket in range(BUCKETS)}
        board_store.merge_into_tops({(board, bucket): lambda current, these=these: boards.merge_top(current, these)
                                     for bucket, these in seeded.items()})


def _setup(world: Any, members: int, campaigns: int) -> str:
    api = world.api
    _gamification(world)
    for number in range(members):
        assert api.enroll(f"c{number}").status == 201
        assert api.purchase(f"c{number}", f"seed-{number}", "60.00").status == 201
    # Stocked rewards: every redemption of one takes a unit from one of its 32 stock shares.
    for number in range(STOCKED_REWARDS):
        assert api.post("/admin/rewards", {"reward_id": f"stocked-{number}", "name": f"Limited {number}",
                                           "description": "Limited", "points": 40, "stock": 100_000},
                        admin=True).status == 201
    partner = api.post("/admin/partners", {"name": "Cap", "contact_email": "cap@example.com"}, admin=True)
    for number in range(campaigns):
        written = api.post("/admin/campaigns", running_campaign(number), admin=True)
        assert written.status == 201, written.body
    return str(partner.body["partner_id"])


def _run_calls(world: Any, run: MixRun, kinds: list[str], operations: int, members: int, rng: random.Random,
               partner: str, orders: list[tuple[str, str]], prefix: str) -> None:
    for number in range(operations):
        kind = rng.choice(kinds)
        member = f"c{rng.randrange(members)}"
        if kind == "return" and not orders:
            kind = "purchase"
        call = functools.partial(_mix_call, world.api, rng, kind, member, f"{prefix}{number}", orders, partner)
        began = time.thread_time()
        result, calls = world.measure(call)
        # What the call takes on Lambda: its own CPU (moto serves in another thread) on an API function's share
        # of a vCPU, and AWS's time per request.
        run.seconds[kind].append((time.thread_time() - began) * API_CPU_FACTOR + len(calls) * AWS_REQUEST_SECONDS)
        if result.status >= 500:
            raise AssertionError((kind, result.status, result.body))
        if result.status not in (200, 201):
            continue
        run.done[kind] += 1
        priced = model.price(calls, world.indexes)
        run.reads.update(priced.reads)
        run.writes.update(priced.writes)
        if kind in POINTS_CALLS:
            run.call_transactions.append(priced.transactions)
        if kind == "purchase":
            orders.append((member, f"m{prefix}{number}"))
            rows = [row for row in result.body.get("breakdown", []) if str(row["rule"]).startswith("campaign:")]
            run.campaign_rows.append(len(rows))
            run.campaign_points.extend(int(row["points"]) for row in rows)


def run_mix(world: Any, operations: int = 1200, members: int = 150, seed: int = 13,
            campaigns: int = RUNNING_CAMPAIGNS, burst_operations: int = 200) -> dict[str, Any]:
    """The mix's units per shared key, its conflict rate, its stream headroom; then a burst of tier changes
    (the thresholds lowered: members move up on their next call), whose keys are checked the same way."""
    from tests.stream_helpers import stream_records

    world.reset()
    api = world.api
    rng = random.Random(seed)
    partner = _setup(world, members, campaigns)
    records_before = len(stream_records())
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    orders: list[tuple[str, str]] = []
    run = MixRun()
    _run_calls(world, run, kinds, operations, members, rng, partner, orders, "m")
    run.records = stream_records()[records_before:]
    stream = _fold_stream(world, run)
    report = _report(run.reads, run.writes, run.points_calls, run.done)
    report["campaigns_running"] = campaigns
    report["campaigns_applying"] = round(statistics.fmean(run.campaign_rows), 2) if run.campaign_rows else 0
    report["campaign_points_per_award"] = round(statistics.fmean(run.campaign_points), 1) if (
        run.campaign_points) else 0
    report["stream_records_per_points_call"] = stream["records_per_points_call"]
    report["transaction_conflicts"] = conflicts(run)
    report["transaction_conflict_rate_at_target"] = report["transaction_conflicts"]["rate"]
    report["in_process_ms"] = {kind: round(statistics.median(values) * 1000, 2)
                               for kind, values in sorted(run.seconds.items())}
    # Budget chunks as this one instance took them (at the target, see escrow_at_target).
    report["escrow_single_instance_writes_per_purchase"] = round(sum(
        units for (space, key), units in run.writes.items() if key.startswith(MODELLED_APART)) / max(
        1, run.done.get("purchase", 0)), 4)
    # A burst of tier changes: the thresholds lowered, every member moves up on its next purchase.
    from loyalty_local.demo import DEMO_PROGRAM

    lowered = {**DEMO_PROGRAM, "tiers": [{**tier, "threshold": max(0, tier["threshold"] // 20)}
                                         for tier in DEMO_PROGRAM["tiers"]]}
    assert api.put("/admin/program", lowered, admin=True).status == 200
    burst = MixRun()
    _run_calls(world, burst, ["purchase"], burst_operations, members, rng, partner, orders, "b")
    burst_report = _report(burst.reads, burst.writes, burst.points_calls, burst.done)
    tier_changes = sum(1 for record in stream_records()[records_before:] if record["eventName"] == "INSERT"
                       and '"tier_change"' in str(record["dynamodb"].get("NewImage", {}).get("type", "")))
    report["tier_change_burst"] = {
        "purchases": burst.points_calls, "tier_changes": tier_changes,
        "keys_above_half_a_partition_at_target": burst_report["keys_above_half_a_partition_at_target"],
        "roster": [row for row in burst_report["keys"] if "ROSTER#" in row["key"]][:3]}
    report["keys_above_half_a_partition_at_target"] = sorted(
        set(report["keys_above_half_a_partition_at_target"]) | {
            key for key in burst_report["keys_above_half_a_partition_at_target"] if "ROSTER#" in key})
    report["stream"] = stream
    return report


def _fold_stream(world: Any, run: MixRun) -> dict[str, Any]:
    """The mix's records folded by the stream processor (and published by the events publisher) in full
    batches, as a loaded stream delivers them: their units join the mix's, and their times give the
    consumers' capacity."""
    from loyalty.store.aggregates import BUCKETS, bucket_of
    from loyalty_local.filtering import passes
    from loyalty_local.template import read_stack
    from tests.stream_helpers import deliver

    shard_ids: dict[int, str] = {}
    candidate = 0
    while len(shard_ids) < min(STREAM_SHARDS, BUCKETS):
        shard = f"shardId-{candidate:020d}"
        shard_ids.setdefault(bucket_of(shard), shard)
        candidate += 1
    shards = list(shard_ids.values())
    sources = {source.function: source for source in read_stack().streams}
    found: dict[str, Any] = {}
    for function, module in (("StreamProcessorFunction", "stream_processor"),
                             ("EventsPublisherFunction", "events_publisher")):
        filters = sources[function].filters
        records = [record for record in run.records if passes(filters, record)]
        by_shard: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            key = record["dynamodb"]["Keys"]["pk"]["S"]
            by_shard[shards[zlib.crc32(key.encode()) % len(shards)]].append(record)
        batches = 0
        reads: Counter[tuple[str, str]] = Counter()
        writes: Counter[tuple[str, str]] = Counter()
        for shard, shard_records in by_shard.items():
            for start in range(0, len(shard_records), BATCH_SIZE):
                batch = shard_records[start:start + BATCH_SIZE]
                _, calls = world.measure(functools.partial(deliver, batch, shard=shard, function=module))
                priced = model.price(calls, world.indexes)
                reads.update(priced.reads)
                writes.update(priced.writes)
                batches += 1
        # Time: the same records again in full batches of 100 on one shard of their own (a loaded stream's
        # shard delivers full batches; its first batch also reads old watermarks, so it is left out). Each
        # batch's time on Lambda: the function's own CPU (moto serves in another thread of this process),
        # plus AWS's time for each request it sends.
        cpu, requests, seconds = [], [], []
        for start in range(0, len(records), BATCH_SIZE):
            batch = records[start:start + BATCH_SIZE]
            began = time.thread_time()
            _, calls = world.measure(functools.partial(deliver, batch, shard=f"shardId-timing-{module}",
                                                       function=module))
            used = time.thread_time() - began
            if start == 0 and len(records) > BATCH_SIZE:
                continue
            scale = BATCH_SIZE / len(batch)
            cpu.append(used * scale)
            requests.append(len(calls))
            seconds.append(used * scale + len(calls) * AWS_REQUEST_SECONDS)
        # A loaded stream delivers full batches: what a batch costs is spread over 100 records.
        fill = len(records) / (batches * BATCH_SIZE) if batches else 1.0
        for key, units in reads.items():
            run.reads[key] += units * fill
        for key, units in writes.items():
            run.writes[key] += units * fill
        found[function] = {"records": len(records), "batches": batches, "fill_scaling": round(fill, 3),
                           "cpu_seconds_per_full_batch": round(statistics.median(cpu), 4) if cpu else None,
                           "requests_per_full_batch": round(statistics.median(requests), 1) if requests else None,
                           "aws_seconds_per_request": AWS_REQUEST_SECONDS,
                           "seconds_per_full_batch": round(statistics.median(seconds), 4) if seconds else None}
    points_calls = max(1, run.points_calls)
    found["records_per_points_call"] = {function: round(found[function]["records"] / points_calls, 3)
                                        for function in ("StreamProcessorFunction", "EventsPublisherFunction")}
    return found


def _keys_in_family(family: str) -> int:
    """How many partition keys a sharded family spreads over, from the code's own constants (1 for a key
    that is not sharded); a sharded family this does not know fails the bench."""
    from loyalty.domain.allowance import SHARES
    from loyalty.store.aggregates import BUCKETS
    from loyalty.store.catalog import CATALOG_REPLICAS
    from loyalty.store.members import DUE_SHARDS, ROSTER_SHARDS
    from loyalty.store.program import PROGRAM_REPLICAS

    if not family.endswith("#nn"):
        return 1
    if family.startswith("SHARE#CAMPAIGN#"):
        # A campaign's budget has as many shares as its size gave it (store.campaigns.budget_shares).
        from loyalty.store.campaigns import FIRST_BUDGET_SHARES, get_campaign

        campaign = get_campaign(family.removeprefix("SHARE#CAMPAIGN#").removesuffix("#nn"))
        return int(campaign.budget_shares or FIRST_BUDGET_SHARES) if campaign else FIRST_BUDGET_SHARES
    if family.startswith("SHARE#"):
        return SHARES
    if family.startswith("ROSTER#"):
        return ROSTER_SHARDS
    known = {"DUE#nn": DUE_SHARDS, "PROGRAM#nn": PROGRAM_REPLICAS, "CATALOG#nn": CATALOG_REPLICAS}
    if family in known:
        return known[family]
    if family.startswith("LEDGERDAY#"):
        from loyalty.store.ledger import LEDGER_SHARDS

        return LEDGER_SHARDS  # the day index of the ledger's entries (GSI1)
    if family.startswith(("DAYS#", "GLOBAL#", "CAMPAIGN#", "PARTNER#", "BOARD#", "BOARDTOP#")):
        return BUCKETS  # leaderboards: histogram partials per stream bucket, top lists per member bucket
    raise AssertionError(f"the capacity model does not know how many keys {family} spreads over")


def _report(reads: Counter[tuple[str, str]], writes: Counter[tuple[str, str]], points_calls: int,
            done: Counter[str]) -> dict[str, Any]:
    """Per shared key family: units per points call on one of its keys, with a large population's
    uniform hashing (the family's total over its key count), and the rate that key can take."""
    families, entity = _grouped(reads, writes)
    shared = _rows(families, points_calls, per_family=True)
    limiting = shared[0] if shared else None
    return {
        "mix": dict(sorted(done.items())), "points_calls": points_calls,
        "target_points_calls_per_second": TARGET_CALLS_PER_SECOND,
        "ceiling_points_calls_per_second": limiting["ceiling_points_calls_per_second"] if limiting else None,
        "limiting_key": limiting["key"] if limiting else None,
        "keys_above_half_a_partition_at_target": [row["key"] for row in shared
                                                  if row["share_of_partition_limit_at_target"] > 0.5],
        "keys": shared[:12],
        # Keys of one member, order or idempotency record: units per points call on that entity's own key,
        # so the ceiling here is the rate one member can sustain, not the program's.
        "per_entity_heaviest": _rows(entity, points_calls, per_family=False)[:3],
        "units_per_points_call": {"read": round(sum(reads.values()) / max(1, points_calls), 3),
                                  "write": round(sum(writes.values()) / max(1, points_calls), 3)},
    }


Groups = dict[tuple[str, str], list[float]]


def _grouped(reads: Counter[tuple[str, str]], writes: Counter[tuple[str, str]]) -> tuple[Groups, Groups]:
    """(shared key families, per-entity key kinds): [read units, write units] each."""
    families: Groups = defaultdict(lambda: [0.0, 0.0])
    entity: Groups = defaultdict(lambda: [0.0, 0.0])
    for key in set(reads) | set(writes):
        if key[1].startswith(MODELLED_APART):
            continue
        target = families if _shared(key) else entity
        name = (key[0], _family(key[1]) if _shared(key) else key[1].split("#")[0] + "#<id>")
        target[name][0] += reads[key]
        target[name][1] += writes[key]
    return families, entity


def _rows(groups: Groups, calls: int, per_family: bool, target: int = TARGET_CALLS_PER_SECOND) -> list[dict[str, Any]]:
    out = []
    for (space, family), (read, write) in groups.items():
        spread = _keys_in_family(family) if per_family else 1
        read_per_call = read / max(1, calls) / spread
        write_per_call = write / max(1, calls) / spread
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


def conflicts(run: MixRun, target: int = TARGET_CALLS_PER_SECOND) -> dict[str, Any]:
    """The chance a points call's transaction is cancelled at the target rate (see the module's doc)."""
    calls = max(1, run.points_calls)
    family_tx: Counter[tuple[str, str]] = Counter()
    for transactions in run.call_transactions:
        for items in transactions:
            for table, pk, _sk in set(items):
                if _shared((table, pk)):
                    family_tx[(table, _family(pk))] += 1

    def rate_of(table: str, pk: str) -> float:
        if not _shared((table, pk)):
            return 1 / PER_ENTITY_OVERLAP_SECONDS
        family = _family(pk)
        return family_tx[(table, family)] / calls * target / _keys_in_family(family)

    chances = []
    worst: dict[str, float] = {}
    for transactions in run.call_transactions:
        survive = 1.0
        for items in transactions:
            for table, pk, _sk in set(items):
                rate = rate_of(table, pk)
                hit = 1 - math.exp(-rate * 2 * TRANSACTION_SECONDS)
                survive *= 1 - hit
                name = f"{table}:{_family(pk) if _shared((table, pk)) else pk.split('#')[0] + '#<id>'}"
                worst[name] = max(worst.get(name, 0.0), hit)
        chances.append(1 - survive)
    return {"rate": round(statistics.fmean(chances), 6) if chances else 0.0,
            "transaction_seconds": TRANSACTION_SECONDS, "per_entity_overlap_seconds": PER_ENTITY_OVERLAP_SECONDS,
            "items": [{"item": name, "chance": round(chance, 6)}
                      for name, chance in sorted(worst.items(), key=lambda pair: -pair[1])[:6]]}


def stream_headroom(report: dict[str, Any], template: dict[str, Any],
                    target: int = TARGET_CALLS_PER_SECOND) -> dict[str, Any]:
    """Whether the stream's consumers keep up at the target: records per second needed against what they
    fold (see the module's doc), for each consumer; `ratio` is the lower of the two."""
    resources = template["Resources"]
    parameters = template.get("Parameters", {})
    total_writes = report["units_per_points_call"]["write"] * target
    shards = max(1, math.ceil(total_writes / WRITE_LIMIT))
    found: dict[str, Any] = {"shards": shards}
    ratios = []
    for function, name in (("StreamProcessorFunction", "stream_processor"),
                           ("EventsPublisherFunction", "events_publisher")):
        properties = resources[function]["Properties"]
        reserved = properties.get("ReservedConcurrentExecutions")
        if isinstance(reserved, dict):
            reserved = parameters[reserved["Ref"]]["Default"]
        source = next(event["Properties"] for event in properties["Events"].values() if event["Type"] == "DynamoDB")
        factor = int(source.get("ParallelizationFactor", 1))
        batch = int(source.get("BatchSize", 100))
        measured = report["stream"][function]
        # Its CPU on the function's share of a vCPU, and AWS's time for each request.
        seconds = (measured["cpu_seconds_per_full_batch"] * cpu_factor(memory_of(template, function))
                   + measured["requests_per_full_batch"] * AWS_REQUEST_SECONDS)
        concurrency = min(shards * factor, int(reserved)) if reserved is not None else shards * factor
        need = report["stream"]["records_per_points_call"][function] * target
        capacity = concurrency * batch / seconds
        ratios.append(capacity / need if need else math.inf)
        found[name] = {"need_per_second": round(need), "capacity_per_second": round(capacity),
                       "ratio": round(capacity / need, 2) if need else None, "concurrency": concurrency,
                       "reserved_concurrency": reserved, "parallelization_factor": factor, "batch_size": batch,
                       "memory_mb": memory_of(template, function), "seconds_per_batch": round(seconds, 4)}
    found["need_per_second"] = found["stream_processor"]["need_per_second"] + found["events_publisher"][
        "need_per_second"]
    found["capacity_per_second"] = found["stream_processor"]["capacity_per_second"] + found["events_publisher"][
        "capacity_per_second"]
    found["ratio"] = round(min(ratios), 2)
    return found


def _instances(calls_per_second: float, seconds: float) -> int:
    """Function instances busy at once for a call rate (Little's law): rate x in-process time per call."""
    return max(1, math.ceil(calls_per_second * seconds))


def escrow_at_target(report: dict[str, Any], target: int = TARGET_CALLS_PER_SECOND) -> dict[str, Any]:
    """Campaign budgets at the target (store.escrow), from the design and the mix's measured in-process
    time: each purchase instance holds HOLD_SECONDS of its awards, so a budget's shares are written once
    per chunk, not once per purchase; what that puts on a share, and how long a budget of the mix lasts."""
    from loyalty.domain.allowance import split
    from loyalty.settings import settings
    from loyalty.store.campaigns import budget_shares
    from loyalty.store.escrow import MAX_CHUNK_PART

    hold = settings().campaign_budget_hold_seconds
    purchases = report["mix"].get("purchase", 0) / max(1, report["points_calls"]) * target
    seconds = report["in_process_ms"].get("purchase", 50) / 1000
    instances = _instances(purchases, seconds)
    # A chunk is an instance's awards of the last `hold` seconds, at most a part of a share's cap.
    award = max(1.0, report.get("campaign_points_per_award") or 1.0)
    largest = split(APPLYING_BUDGET, budget_shares(APPLYING_BUDGET))[0] // MAX_CHUNK_PART
    awards_per_chunk = max(1.0, min(purchases / instances * hold, largest / award))
    takes = purchases / awards_per_chunk  # per campaign applying to every purchase
    shares = budget_shares(APPLYING_BUDGET)
    per_share = takes / shares
    return {"hold_seconds": hold, "purchases_per_second": round(purchases), "purchase_instances": instances,
            "points_per_award": award, "largest_chunk_points": largest,
            "awards_per_chunk": round(awards_per_chunk, 1), "chunk_takes_per_second_per_campaign": round(takes, 1),
            "budget_shares": shares, "writes_per_second_per_share": round(per_share, 2),
            "share_of_partition_limit_at_target": round(per_share / WRITE_LIMIT, 4),
            "budget_lasts_seconds_at_target": round(APPLYING_BUDGET / (purchases * award), 2),
            "transactions_writing_a_budget": 0}


def catalog_stock_cache_at_target(report: dict[str, Any], target: int = TARGET_CALLS_PER_SECOND) -> dict[str, Any]:
    """Stock on catalog pages at the target: each catalog instance reads every share of the stocked rewards it
    lists once per CATALOG_STOCK_SECONDS (store.catalog.with_live_stock), whatever the page rate."""
    from loyalty.settings import settings

    age = settings().catalog_stock_seconds
    pages = report["mix"].get("catalog_read", 0) / max(1, report["points_calls"]) * target
    instances = _instances(pages, report["in_process_ms"].get("catalog_read", 20) / 1000)
    reads = instances / age if age else pages
    return {"pages_per_second": round(pages), "catalog_instances": instances, "stock_seconds": age,
            "reads_per_second_per_share": round(reads, 1),
            "share_of_partition_limit_at_target": round(reads / READ_LIMIT, 4)}


def _mix_call(api: Any, rng: random.Random, kind: str, member: str, number: str, orders: list[tuple[str, str]],
              partner: str) -> Any:
    if kind == "purchase":
        skus = [{"sku": f"sku-{rng.randrange(40)}", "quantity": 1, "unit_price": {"amount": "5.00", "currency": "USD"}}
                for _ in range(rng.randrange(1, 5))]
        return api.purchase(member, f"m{number}", f"{rng.randrange(5, 90)}.00", items=skus)
    if kind == "redemption":
        return api.redeem(member, {"points": 20, "description": "part payment"})
    if kind == "reward_redemption":
        return api.redeem(member, {"reward_id": rng.choice(["free-coffee", "free-tea"])})
    if kind == "stocked_redemption":
        return api.redeem(member, {"reward_id": f"stocked-{rng.randrange(STOCKED_REWARDS)}"})
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
        reads: Counter[tuple[str, str]] = Counter()
        writes: Counter[tuple[str, str]] = Counter()
        for number in range(claims):
            result, requests = world.measure(functools.partial(call, number))
            assert result.status == 201, result.body
            priced = model.price(requests, world.indexes)
            reads.update(priced.reads)
            writes.update(priced.writes)
        families, _ = _grouped(reads, writes)
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
            year.append(world.summary(requests)["write_units"])
            assert api.post("/members/yearly/actions", {"action": "social_share"}, sub="yearly").status == 201
    with at(start + timedelta(days=365)):
        items = [{"sku": "sku-1", "quantity": 1, "unit_price": {"amount": "4.00", "currency": "USD"}}]
        result, requests = world.measure(lambda: api.purchase("yearly", "y-final", "4.00", items=items))
        assert result.status == 201, result.body
        day_365 = world.summary(requests)
    with at(start):
        assert api.enroll("basket").status == 201
        items = [{"sku": f"basket-{number}", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "USD"}}
                 for number in range(50)]
        result, requests = world.measure(lambda: api.purchase("basket", "b-1", "50.00", items=items))
        assert result.status == 201, result.body
        basket = world.summary(requests)
    # Over the year: the average, and the purchases that also moved the member's older days to its WALLET item.
    ordinary = statistics.median(year)
    average = {"write_units": round(statistics.fmean(year), 2), "read_units": day_365["read_units"]}
    compacting = {"write_units": max(year), "read_units": day_365["read_units"],
                  "count": sum(1 for units in year if units > ordinary)}
    return {"purchase_day_365": day_365, "purchase_50_skus": basket, "purchase_year_average": average,
            "purchase_year_compacting": compacting}
