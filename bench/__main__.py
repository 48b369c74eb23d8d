"""`make bench`: DynamoDB cost per operation, stream writes, cold imports, throughput, cost per million.

Every figure is a count, or a ratio of two timings taken side by side in this run; absolute times
are reported for information only. Writes bench/results.json and BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.env import ROOT, prepare

PORT = prepare()

# Imported after prepare(): pynamodb reads the endpoint and table names when models load.
from bench import dynamo, model, report  # noqa: E402

# Installed before any client exists: every client made from now on reports every request to the model.
RECORDER = model.Recorder().install()
from loyalty_local.demo import DEMO_PROGRAM, DEMO_REWARDS  # noqa: E402
from loyalty_local.motoserver import MotoServer  # noqa: E402
from loyalty_local.stack import create_tables  # noqa: E402
from loyalty_local.template import read_stack  # noqa: E402
from tests.events import Api  # noqa: E402
from tests.stream_helpers import deliver, stream_records  # noqa: E402

FUNCTIONS = ["members", "purchases", "redemptions", "engagement", "catalog", "admin", "reports", "mechanics",
             "partner", "partner_authorizer", "stream_processor", "events_publisher", "webhook_delivery", "scheduler"]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class World:
    """A fresh set of tables with the demo program, and the handlers, on the in-process moto."""

    def __init__(self, moto: MotoServer) -> None:
        import importlib

        self.moto = moto
        self.stack = read_stack()
        names = ["members", "purchases", "redemptions", "catalog", "admin", "engagement", "reports", "partner"]
        self.handlers = {name: importlib.import_module(f"functions.{name}.handler") for name in names}
        self.api = Api(self.stack, self.handlers)
        self.recorder = RECORDER
        self.served = model.Served()
        # What one household's pool partition takes (household_operations fills it in).
        self.households: dict[str, Any] | None = None
        moto.app.tap = self.served.tap
        self.indexes = model.indexes_of(self.stack.tables["LoyaltyTable"].properties)
        # Every measured request the model counted, and every one the emulator served meanwhile.
        self.counted: Counter[str] = Counter()
        self.served_total: Counter[str] = Counter()

    def reset(self) -> None:
        import requests

        from loyalty.store import escrow

        escrow.forget_all()  # a fresh instance: no budget chunk held from the tables before
        from loyalty_local import queues

        requests.post(f"{self.moto.url}/moto-api/reset", timeout=30)
        create_tables(self.stack, self.moto.url)
        refs, _arns = queues.create(self.stack, self.moto.url)  # the bus the events publisher publishes on
        os.environ["EVENT_BUS_NAME"] = refs["EventBus"]
        os.environ["LEDGER_KEY_ID"] = refs["LedgerSigningKey"]  # the checkpoints' signing key
        assert self.api.put("/admin/program", DEMO_PROGRAM, admin=True).status == 200
        for reward in DEMO_REWARDS:
            self.api.post("/admin/rewards", reward, admin=True)

    def measure(self, call: Any) -> tuple[Any, list[model.Call]]:
        self.served.start()
        self.recorder.start()
        try:
            result = call()
        finally:
            calls = self.recorder.stop()
            served = self.served.stop()
        self.counted.update(call.service for call in calls)
        self.served_total.update(served)
        return result, calls

    def summary(self, calls: list[model.Call]) -> dict[str, Any]:
        return model.summary(calls, self.indexes)

    def coverage(self) -> dict[str, Any]:
        """Requests the model counted against requests the emulator served, over every measurement."""
        counted, served = sum(self.counted.values()), sum(self.served_total.values())
        return {"requests_counted": counted, "requests_served": served,
                "ratio": round(counted / served, 4) if served else None,
                "by_service": {name: {"counted": self.counted[name], "served": self.served_total[name]}
                               for name in sorted(set(self.counted) | set(self.served_total))}}


def dynamodb_per_op(world: World) -> dict[str, Any]:
    world.reset()
    api = world.api
    api.enroll("warm")  # the first call opens the connection; not what we measure
    api.purchase("warm", "warm-order", "10.00")
    operations: dict[str, Any] = {}

    def record(name: str, call: Any, expect: int) -> None:
        result, requests = world.measure(call)
        assert result.status == expect, (name, result.status, result.body)
        operations[name] = world.summary(requests)

    record("enrollment", lambda: api.enroll("alice"), 201)
    # A first purchase that also lifts the member a tier (two ledger entries), then an ordinary one.
    record("purchase", lambda: api.purchase("alice", "order-1", "250.00"), 201)
    record("purchase_same_tier", lambda: api.purchase("alice", "order-2", "25.00"), 201)
    record("redemption", lambda: api.redeem("alice", {"reward_id": "free-coffee"}), 201)
    record("action", lambda: api.post("/members/alice/actions", {"action": "social_share"}, sub="alice"), 201)
    record("feedback", lambda: api.post("/members/alice/feedback", {"score": 10}, sub="alice"), 201)
    record("adjustment", lambda: api.post("/admin/members/alice/adjustments", {"points": 5, "reason": "bench"},
                                          admin=True, headers={"Idempotency-Key": "adj"}), 201)
    record("idempotent_replay", lambda: api.purchase("alice", "order-1", "250.00"), 201)
    routes = {route.path for route in world.stack.routes}
    if "/members/{member_id}/returns" in routes:
        record("return", lambda: api.post("/members/alice/returns", {
            "order_id": "order-1", "refund": {"amount": "50.00", "currency": "USD"}},
            sub="pos", scopes=["loyalty/transactions"], headers={"Idempotency-Key": "ret"}), 201)
    else:
        operations["return"] = None  # not implemented yet
    onboarded = api.post("/admin/partners", {"name": "Bench", "contact_email": "b@example.com"}, admin=True)
    partner = onboarded.body["partner_id"]
    api.post("/partner/earn", {"member_id": "warm", "order_id": "warm", "total": {"amount": "1.00",
             "currency": "USD"}}, partner=partner, headers={"Idempotency-Key": "warm"})
    record("partner_earn", lambda: api.post("/partner/earn", {
        "member_id": "alice", "order_id": "pe-1", "total": {"amount": "20.00", "currency": "USD"}},
        partner=partner, headers={"Idempotency-Key": "pe-1"}), 201)
    checkout_operations(world, record)
    lifecycle_operations(world, record)
    household_operations(world, record, operations)
    gamification_operations(world, record)
    return operations


def gamification_operations(world: World, record: Any) -> None:
    """Purchases with a running challenge: one that advances it, one that completes it (its challenge entry,
    the completion record and the badge), and an action no challenge or streak counts."""
    from loyalty_local.demo import DEMO_PROGRAM

    api = world.api
    api.put("/admin/program", DEMO_PROGRAM, admin=True)
    api.post("/admin/badges", {"badge_id": "bench", "name": "Bench"}, admin=True)
    api.post("/admin/challenges", {"challenge_id": "three", "name": "Three purchases",
                                   "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z",
                                   "goal": {"event": "purchase", "count": 3},
                                   "reward": {"points": 100, "badge_id": "bench"}}, admin=True)
    api.enroll("gina")
    api.purchase("gina", "gina-0", "100.00")  # the first purchase lifts Gina a tier: not the ordinary one
    record("purchase_advancing_challenge", lambda: api.purchase("gina", "gina-1", "25.00"), 201)
    record("purchase_completing_challenge", lambda: api.purchase("gina", "gina-2", "25.00"), 201)
    record("action_with_challenges_running", lambda: api.post(
        "/members/gina/actions", {"action": "social_share"}, sub="gina"), 201)


# A household's members at most (the config's ceiling), and what one member does at its busiest: the pool
# is one item (and one partition) all of them write.
HOUSEHOLD_MAX_MEMBERS = 20
MEMBER_CALLS_PER_SECOND_AT_PEAK = 1.0


def household_operations(world: World, record: Any, operations: dict[str, Any]) -> None:
    """A purchase of a household's member (its points move to the pool in the same transaction) and a spend
    of the pool; what one household's pool partition takes per call, and at its busiest."""
    import uuid

    from loyalty_local.demo import DEMO_PROGRAM

    api = world.api
    api.put("/admin/program", {**DEMO_PROGRAM, "transfers": {"enabled": True},
                               "households": {"enabled": True, "max_members": HOUSEHOLD_MAX_MEMBERS}}, admin=True)
    api.enroll("hana")
    api.enroll("hugo")
    household = api.post("/households", {"name": "Bench"}, sub="hana").body["household_id"]
    code = api.post(f"/households/{household}/invitations", {}, sub="hana").body["code"]
    api.post(f"/households/{household}/members", {"code": code}, sub="hugo")
    api.purchase("hugo", "hugo-0", "100.00")  # the first purchase lifts Hugo a tier: not the ordinary one
    pool_partition = ("LoyaltyTable", f"MEMBER#household#{household}")
    pool_units: dict[str, float] = {}

    def measured(name: str, call: Any, expect: int) -> None:
        result, requests = world.measure(call)
        assert result.status == expect, (name, result.status, result.body)
        operations[name] = world.summary(requests)
        pool_units[name] = model.price(requests, world.indexes).writes.get(pool_partition, 0)

    measured("purchase_in_household", lambda: api.purchase("hugo", "hugo-1", "25.00"), 201)
    measured("household_redemption", lambda: api.post(
        f"/households/{household}/redemptions", {"points": 50, "description": "bench"}, sub="hugo",
        headers={"Idempotency-Key": uuid.uuid4().hex}), 201)
    busiest = HOUSEHOLD_MAX_MEMBERS * MEMBER_CALLS_PER_SECOND_AT_PEAK * max(pool_units.values())
    world.households = {
        "pool_partition_write_units_per_call": pool_units, "members_at_most": HOUSEHOLD_MAX_MEMBERS,
        "member_calls_per_second_at_peak": MEMBER_CALLS_PER_SECOND_AT_PEAK,
        "pool_partition_write_units_per_second_at_peak": busiest,
        "share_of_partition_limit_at_peak": round(busiest / 1000, 3)}


def lifecycle_operations(world: World, record: Any) -> None:
    """A quote (reads only), and a referred member's sign-up and first purchase (the referral's record and the
    referrer are read and written with them)."""
    api = world.api
    record("quote", lambda: api.post("/members/alice/quotes", {
        "total": {"amount": "40.00", "currency": "USD"}, "channel": "online"}, sub="alice"), 200)
    code = api.get("/members/alice", sub="alice").body["referral_code"]
    record("referred_enrollment", lambda: api.enroll("carl", "carl@example.com", referral_code=code), 201)
    record("referred_first_purchase", lambda: api.purchase("carl", "carl-1", "30.00"), 201)


def checkout_operations(world: World, record: Any) -> None:
    """Hold, capture, release, a cancelled redemption and a transfer, each on a member with some history."""
    import uuid

    from loyalty_local.demo import DEMO_PROGRAM

    api = world.api
    trusted = {"sub": "pos", "scopes": ["loyalty/transactions"]}
    api.put("/admin/program", {**DEMO_PROGRAM, "transfers": {"enabled": True}}, admin=True)
    api.enroll("bob")

    def post(path: str, body: dict[str, Any], **caller: Any) -> Any:
        return api.post(path, body, headers={"Idempotency-Key": uuid.uuid4().hex}, **(caller or {"sub": "alice"}))

    holds: list[str] = []

    def hold() -> Any:
        result = post("/members/alice/holds", {"points": 100, "order_id": "basket-1"})
        holds.append(result.body["hold_id"])
        return result

    record("hold", hold, 201)
    captured: list[str] = []

    def capture() -> Any:
        result = post(f"/members/alice/holds/{holds[0]}/capture", {"points": 60}, **trusted)
        captured.append(result.body["redemption_id"])
        return result

    record("hold_capture", capture, 200)
    hold()
    record("hold_release", lambda: post(f"/members/alice/holds/{holds[1]}/release", {}), 200)
    record("redemption_cancel", lambda: post(f"/members/alice/redemptions/{captured[0]}/cancel",
                                             {"reason": "refund"}, **trusted), 200)
    record("transfer", lambda: post("/members/alice/transfers", {"to_member_id": "bob", "points": 100}), 201)


def handler_overhead(world: World, purchases: int = 150, rounds: int = 3) -> dict[str, Any]:
    """Purchases/s through the whole handler vs raw TransactWriteItems/s of the very same items."""
    handler_rates, raw_rates, durations = [], [], []
    client = dynamo.raw_client()
    for _ in range(rounds):
        world.reset()
        members = [f"m{number}" for number in range(10)]
        for member in members:
            world.api.enroll(member)
        world.recorder.start()
        started = time.perf_counter()
        for number in range(purchases):
            begun = time.perf_counter()
            result = world.api.purchase(members[number % 10], f"o{number}", "12.34")
            durations.append(time.perf_counter() - begun)
            assert result.status == 201
        handler_rates.append(purchases / (time.perf_counter() - started))
        captured = [r.params for r in world.recorder.stop() if r.operation == "TransactWriteItems"]
        # Same starting state, then the same transactions, raw.
        world.reset()
        for member in members:
            world.api.enroll(member)
        started = time.perf_counter()
        for params in captured:
            client.transact_write_items(TransactItems=params["TransactItems"])
        raw_rates.append(len(captured) / (time.perf_counter() - started))
    handler_rate, raw_rate = statistics.median(handler_rates), statistics.median(raw_rates)
    return {"ratio": round(handler_rate / raw_rate, 3), "handler_purchases_per_second": round(handler_rate, 1),
            "raw_transact_writes_per_second": round(raw_rate, 1),
            "median_handler_ms": round(statistics.median(durations) * 1000, 2), "rounds": rounds,
            "purchases_per_round": purchases}


def durations(world: World, calls: int = 40) -> dict[str, float]:
    """Median in-process handler duration (on moto) of purchases and redemptions."""
    world.reset()
    world.api.enroll("d")
    world.api.purchase("d", "seed", "9999.00")
    timings: dict[str, list[float]] = {"purchase": [], "redemption": []}
    for number in range(calls):
        begun = time.perf_counter()
        assert world.api.purchase("d", f"d{number}", "5.00").status == 201
        timings["purchase"].append(time.perf_counter() - begun)
        begun = time.perf_counter()
        assert world.api.redeem("d", {"points": 10, "description": "x"}).status == 201
        timings["redemption"].append(time.perf_counter() - begun)
    return {name: round(statistics.median(values) * 1000, 2) for name, values in timings.items()}


def stream_writes(world: World) -> dict[str, Any]:
    """100 ledger records over one day and 50 members, delivered as one batch."""
    world.reset()
    api = world.api
    for number in range(50):
        api.enroll(f"s{number}")
    before = len(stream_records())
    for number in range(100):
        assert api.purchase(f"s{number % 50}", f"so{number}", "3.00").status == 201
    entries = [record for record in stream_records()[before:]
               if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["sk"]["S"].startswith("ENTRY#")]
    assert len(entries) == 100
    _, requests = world.measure(lambda: deliver(entries))
    cost = world.summary(requests)
    # Each partial the batch touches is one UpdateItem (ADD); a shard's first write to an item also reads
    # it once to forget the watermarks of shards long gone.
    items = sum(1 for r in requests if r.operation == "UpdateItem" and "ADD" in r.params.get("UpdateExpression", ""))
    return {"records": len(entries), "members": 50, "days": 1, "write_requests": cost["write_requests"],
            "items_written": items, "read_requests": cost["read_requests"], "write_units": cost["write_units"]}


def _run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def cold_imports(repeats: int = 11) -> dict[str, Any]:
    """Whole fresh-interpreter time to import each handler vs `python -c "import boto3"`, alternated."""
    env = {**os.environ}
    layer = str(ROOT / "layers" / "loyalty")
    baseline: list[float] = []
    per_function: dict[str, list[float]] = {name: [] for name in FUNCTIONS}
    for _ in range(repeats):
        for name in FUNCTIONS:
            baseline.append(_run([sys.executable, "-c", "import boto3"], env))
            code = f"import sys; sys.path[:0] = [{layer!r}, {str(ROOT / 'functions' / name)!r}]; import handler"
            per_function[name].append(_run([sys.executable, "-c", code], env))
    base = statistics.median(baseline)
    return {
        "baseline_import_boto3_ms": round(base * 1000, 1),
        "ratios": {name: round(statistics.median(times) / base, 3) for name, times in per_function.items()},
        "median_ms": {name: round(statistics.median(times) * 1000, 1) for name, times in per_function.items()},
        "repeats": repeats,
    }


def local_http(seconds: float = 8.0, clients: int = 8, warm_seconds: float = 4.0, rounds: int = 5) -> dict[str, Any]:
    """Purchases per second over HTTP against `loyalty-local serve` with 8 concurrent clients, once the
    function instances the clients need have started (the first seconds of traffic, not counted: a cold
    start is measured by `cold_import_ratio`): the median of `rounds` rounds, since one round on this
    shared machine can be a third off."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from bench.soak import local_stack
    from loyalty_local import tokens

    with local_stack() as url:
        backend = tokens.issue("bench-pos", scopes=["loyalty/transactions"])
        members = [f"h{number}" for number in range(40)]
        for member in members:
            requests.post(f"{url}/members", json={"email": f"{member}@example.com", "name": member},
                          headers={"Authorization": f"Bearer {tokens.issue(member)}"}, timeout=10)

        def run(duration: float) -> tuple[float, list[float], int]:
            latencies: list[float] = []
            errors = 0
            stop_at = time.time() + duration

            def client(number: int) -> None:
                nonlocal errors
                session = requests.Session()
                count = 0
                while time.time() < stop_at:
                    order = uuid.uuid4().hex
                    begun = time.perf_counter()
                    response = session.post(
                        f"{url}/members/{members[(number * 5 + count) % len(members)]}/purchases",
                        json={"order_id": order, "total": {"amount": "9.99", "currency": "USD"}, "channel": "app"},
                        headers={"Authorization": f"Bearer {backend}", "Idempotency-Key": order}, timeout=30)
                    latencies.append(time.perf_counter() - begun)
                    errors += response.status_code != 201
                    count += 1

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                list(pool.map(client, range(clients)))
            return time.perf_counter() - started, latencies, errors

        run(warm_seconds)
        measured = [run(seconds) for _ in range(rounds)]
    per_round = [round(len(round_latencies) / elapsed, 1) for elapsed, round_latencies, _ in measured]
    latencies = sorted(latency for _, round_latencies, _ in measured for latency in round_latencies)
    errors = sum(round_errors for _, _, round_errors in measured)
    return {"clients": clients, "seconds": round(seconds, 1), "rounds": per_round, "requests": len(latencies),
            "errors": errors, "purchases_per_second": statistics.median(per_round),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1)}


def local_read_growth(world: World, entries: int = 50_000, reads: int = 40) -> dict[str, Any]:
    """A member's activity page and the reward catalog, read through their handlers on the local stack's
    moto (with its patches), on a table that holds the program and the reader only, then again after
    `entries` ledger entries of 5,000 other members were written into it (straight into the table, as a
    year of traffic would have left them; no stream runs here, so nothing else competes)."""
    import statistics

    world.reset()
    api = world.api
    assert api.enroll("reader").status == 201
    for number in range(20):
        assert api.purchase("reader", f"read-{number}", "5.00").status == 201

    def timed(path: str, query: dict[str, str]) -> float:
        samples = []
        for _ in range(reads):
            begun = time.perf_counter()
            assert api.get(path, sub="reader", query=query).status == 200
            samples.append(time.perf_counter() - begun)
        return statistics.median(samples)

    paths = {"activity": ("/members/reader/activity", {"limit": "20"}), "catalog": ("/rewards", {})}
    empty = {name: timed(*path) for name, path in paths.items()}
    client = dynamo.raw_client()
    sample = client.query(TableName="LoyaltyTable", KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
                          ExpressionAttributeValues={":pk": {"S": "MEMBER#reader"}, ":e": {"S": "ENTRY#"}},
                          Limit=1)["Items"][0]
    batch = []
    for number in range(entries):
        member = f"other-{number % 5000}"
        batch.append({"PutRequest": {"Item": {**sample, "pk": {"S": f"MEMBER#{member}"},
                                              "sk": {"S": f"ENTRY#{number:026d}"}, "member_id": {"S": member}}}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={"LoyaltyTable": batch})
            batch = []
    full = {name: timed(*path) for name, path in paths.items()}
    return {"entries": entries, "reads": reads,
            "empty_ms": {name: round(value * 1000, 2) for name, value in empty.items()},
            "full_ms": {name: round(value * 1000, 2) for name, value in full.items()},
            "activity_ratio": round(full["activity"] / empty["activity"], 2),
            "catalog_ratio": round(full["catalog"] / empty["catalog"], 2)}


def purchases_with_campaigns(world: World, purchases: int = 60) -> dict[str, Any]:
    """Write and read units of a purchase to which 5 campaigns apply (25 running), as deployed functions take
    their budgets (store.escrow: a chunk of the last seconds' awards, then none per purchase): the first
    purchase (every budget's first chunk taken), and the average over `purchases` by the same instance."""
    from bench import capacity

    os.environ["CAMPAIGN_BUDGET_HOLD_SECONDS"] = "10"
    world.reset()
    api = world.api
    for number in range(capacity.RUNNING_CAMPAIGNS):
        assert api.post("/admin/campaigns", capacity.running_campaign(number), admin=True).status == 201
    api.enroll("camp")
    items = [{"sku": "sku-1", "quantity": 1, "unit_price": {"amount": "5.00", "currency": "USD"}}]
    costs = []
    applied = []
    for number in range(purchases):
        result, requests = world.measure(lambda n=number: api.purchase("camp", f"cp{n}", "20.00", items=items))
        assert result.status == 201, result.body
        applied.append(sum(1 for row in result.body["breakdown"] if row["rule"].startswith("campaign:")))
        costs.append(world.summary(requests))
    return {"first": costs[0], "average": {
        "write_units": round(statistics.fmean(cost["write_units"] for cost in costs), 2),
        "read_units": round(statistics.fmean(cost["read_units"] for cost in costs), 2),
        "requests": round(statistics.fmean(cost["requests"] for cost in costs), 2)},
        "campaigns_applying": round(statistics.fmean(applied), 2), "purchases": purchases}


def dynamodb_and_scale(world: World, results: dict[str, Any], *, mix_operations: int,
                       contention_batches: int) -> None:
    """Requests and units per operation (a purchase after a year, a 50-SKU one and one with 5 campaigns
    included), the capacity model (units per key, conflicts, stream headroom, coverage) and the stream
    contention run, into `results`."""
    from bench import capacity
    from loyalty_local.template import load_template

    log("DynamoDB requests and units per operation")
    operations = dynamodb_per_op(world)
    results["dynamodb_requests_per_op"] = {
        name: (None if cost is None else {"requests": cost["requests"], "writes": cost["write_requests"],
                                          "reads": cost["read_requests"], "sequence": cost["operations"]})
        for name, cost in operations.items()}
    results["write_units_per_op"] = {name: None if cost is None else cost["write_units"]
                                     for name, cost in operations.items()}
    results["read_units_per_op"] = {name: None if cost is None else cost["read_units"]
                                    for name, cost in operations.items()}
    results["households"] = world.households
    log("a purchase after a year of daily use, and a 50-SKU purchase")
    for name, cost in capacity.year_member_purchase(world).items():
        results["write_units_per_op"][name] = cost["write_units"]
        results["read_units_per_op"][name] = cost["read_units"]
        if "count" in cost:
            results.setdefault("year_of_purchases", {})[name] = cost
    log("a purchase with 5 campaigns applying (25 running)")
    with_campaigns = purchases_with_campaigns(world)
    results["write_units_per_op"]["purchase_5_campaigns"] = with_campaigns["average"]["write_units"]
    results["read_units_per_op"]["purchase_5_campaigns"] = with_campaigns["average"]["read_units"]
    results["purchase_5_campaigns"] = with_campaigns
    log("capacity model: the realistic mix (25 campaigns running, 5 applying), then a burst of tier changes")
    results["capacity"] = capacity.run_mix(world, operations=mix_operations)
    results["capacity"]["coverage"] = world.coverage()
    results["capacity"]["escrow"] = capacity.escrow_at_target(results["capacity"])
    results["capacity"]["catalog_stock_cache"] = capacity.catalog_stock_cache_at_target(results["capacity"])
    for name in ("escrow", "catalog_stock_cache"):  # keys the single-instance bench cannot load as AWS would
        if results["capacity"][name]["share_of_partition_limit_at_target"] > 0.5:
            results["capacity"]["keys_above_half_a_partition_at_target"].append(f"model:{name}")
    results["stream_headroom"] = capacity.stream_headroom(results["capacity"], load_template())
    results.pop("capacity_with_campaigns", None)
    log("stream contention: 1, 16 and 64 concurrent shard consumers on one day")
    results["stream_contention"] = capacity.stream_contention(world, batches_per_consumer=contention_batches)
    log("hot claims: every claim on one reward, then on one promotion")
    results["hot_claims"] = capacity.hot_claims(world)
    log("scheduled jobs: member maintenance and reconcile pages measured, modelled for 1, 10 and 30 million members")
    from bench import jobs as job_bench

    measured = job_bench.measure(world)
    results["jobs"] = {**measured, **job_bench.model_at_scale(measured["measured"], load_template(),
                                                              results["capacity"], results["stream_headroom"])}
    results["capacity"]["coverage"] = world.coverage()
    coverage = results["capacity"]["coverage"]
    if coverage["ratio"] is None or coverage["ratio"] < 1.0:
        raise SystemExit(f"the request model missed requests the emulator served: {json.dumps(coverage)}")


def _remeasured(results: dict[str, Any], sections: list[str], kept_from: str) -> None:
    """Record which sections a partial run re-measured, and when (earlier partial runs keep theirs)."""
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    partial = results.setdefault("partial_run", {"remeasured": [], "kept_from_full_run": kept_from})
    measured_on = partial.setdefault("measured_on", {})
    measured_on.update(dict.fromkeys(sections, today))
    partial["remeasured"] = sorted(measured_on)
    partial["kept_from_full_run"] = kept_from


def scale_only() -> int:
    """`python -m bench --scale-only`: re-measure the DynamoDB counts and the scale sections only, and
    merge them into the last full run's results (the other sections keep that run's date)."""
    started = time.time()
    moto = MotoServer(port=PORT).start()
    world = World(moto)
    path = ROOT / "bench" / "results.json"
    results: dict[str, Any] = json.loads(path.read_text())
    kept_from = results.get("full_run_date", results["date"])
    dynamodb_and_scale(world, results, mix_operations=int(os.environ.get("CAPACITY_OPERATIONS", "600")),
                       contention_batches=2)
    log("handler durations, stream writes")
    results["handler_duration_ms"] = durations(world)
    results["stream_writes_per_100_records"] = stream_writes(world)
    moto.stop()
    results["cost_per_million"] = report.cost_per_million(results)
    results["full_run_date"] = kept_from
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    _remeasured(results, ["dynamodb_requests_per_op", "write_units_per_op", "read_units_per_op", "capacity",
                          "purchase_5_campaigns", "stream_headroom", "jobs", "stream_contention", "hot_claims",
                          "handler_duration_ms", "stream_writes_per_100_records", "cost_per_million", "households"],
                kept_from)
    path.write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "BENCHMARKS.md").write_text(report.markdown(results))
    log(f"done in {round(time.time() - started, 1)} s (scale sections only)")
    return 0


def _remeasure(what: str, measure: Callable[[], dict[str, Any]]) -> int:
    """A partial run: `measure()` gives the sections it re-measured, which are merged into the last
    results (the other sections keep their dates) and the report is written again."""
    started = time.time()
    path = ROOT / "bench" / "results.json"
    results: dict[str, Any] = json.loads(path.read_text())
    sections = measure()
    results.update(sections)
    _remeasured(results, list(sections), results.get("full_run_date", results["date"]))
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    path.write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "BENCHMARKS.md").write_text(report.markdown(results))
    log(f"done in {round(time.time() - started, 1)} s ({what} only)")
    return 0


def local_only() -> int:
    """`python -m bench --local-only`: re-measure the local stack (purchases over HTTP, reads as the table
    grows)."""

    def measure() -> dict[str, Any]:
        log("purchases over HTTP on the local stack, 8 clients")
        rps = local_http()
        moto = MotoServer(port=PORT).start()
        log("reads on the local stack's moto: empty table vs 50,000 entries")
        growth = local_read_growth(World(moto))
        moto.stop()
        return {"local_http_rps": rps, "local_read_growth": growth}

    return _remeasure("local stack sections", measure)


def import_sections(world: World) -> dict[str, Any]:
    from bench import imports

    log("bulk import: rows per second vs API calls, side by side")
    throughput = imports.throughput(world)
    members, transactions = int(os.environ.get("IMPORT_MEMBERS", "20000")), int(
        os.environ.get("IMPORT_TRANSACTIONS", "50000"))
    log(f"bulk import: a launch of {members} members and {transactions} transactions, reconciled, imported again")
    return {"throughput": throughput, "launch": imports.launch(world, members=members, transactions=transactions)}


def imports_only() -> int:
    """`python -m bench --imports-only`: re-measure the bulk import sections."""

    def measure() -> dict[str, Any]:
        moto = MotoServer(port=PORT).start()
        sections = {"imports": import_sections(World(moto))}
        moto.stop()
        return sections

    return _remeasure("bulk import sections", measure)


def checkpoints_only() -> int:
    """`python -m bench --checkpoints-only`: re-measure the ledger checkpoint's cost."""
    from bench import checkpoints

    def measure() -> dict[str, Any]:
        moto = MotoServer(port=PORT).start()
        log("ledger checkpoint: a day of purchases hashed, signed and proved")
        measured = checkpoints.measure(World(moto))
        moto.stop()
        return {"ledger_checkpoints": {"measured": measured, "per_million_entries": checkpoints.per_million(measured)}}

    return _remeasure("ledger checkpoint", measure)


def cold_only() -> int:
    """`python -m bench --cold-only`: re-measure the handlers' cold import cost."""

    def measure() -> dict[str, Any]:
        log("cold imports (fresh interpreters, alternated with import boto3)")
        return {"cold_import_ratio": cold_imports()}

    return _remeasure("cold imports", measure)


def main() -> int:
    if "--cold-only" in sys.argv:
        return cold_only()
    if "--scale-only" in sys.argv:
        return scale_only()
    if "--local-only" in sys.argv:
        return local_only()
    if "--imports-only" in sys.argv:
        return imports_only()
    if "--checkpoints-only" in sys.argv:
        return checkpoints_only()
    started = time.time()
    moto = MotoServer(port=PORT).start()
    world = World(moto)
    results: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d"),
                               "machine": {"platform": platform.platform(), "python": platform.python_version(),
                                           "cpus": os.cpu_count()}}
    dynamodb_and_scale(world, results, mix_operations=1200, contention_batches=3)
    log("handler durations")
    results["handler_duration_ms"] = durations(world)
    log("stream processor writes for 100 records")
    results["stream_writes_per_100_records"] = stream_writes(world)
    log("handler overhead vs raw transactions")
    results["handler_overhead_ratio"] = handler_overhead(world)
    log("reads on the local stack's moto: empty table vs 50,000 entries")
    results["local_read_growth"] = local_read_growth(world)
    results["imports"] = import_sections(world)
    from bench import checkpoints

    log("ledger checkpoint: a day of purchases hashed, signed and proved")
    measured = checkpoints.measure(world)
    results["ledger_checkpoints"] = {"measured": measured, "per_million_entries": checkpoints.per_million(measured)}
    moto.stop()
    log("cold imports (fresh interpreters, alternated with import boto3)")
    results["cold_import_ratio"] = cold_imports()
    log("purchases over HTTP on the local stack, 8 clients")
    results["local_http_rps"] = local_http()
    log("soak: mixed requests from 16 clients, then reconciliation")
    from bench import soak

    results["soak"] = soak.run(int(os.environ.get("SOAK_REQUESTS", "2000")))
    results["cost_per_million"] = report.cost_per_million(results)
    results["elapsed_seconds"] = round(time.time() - started, 1)
    results["full_run_date"] = results["date"]
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "BENCHMARKS.md").write_text(report.markdown(results))
    log(f"done in {results['elapsed_seconds']} s: bench/results.json, BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
