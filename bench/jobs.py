"""The scheduled jobs at the scale of a 30-million-member program (counts and measured in-process unit times,
not the wall time of a run on this machine).

Measured here, in-process on moto: a population whose members bought on many days over the last 400 days
(so lots expire and members are due), then member maintenance's pages (a due-index shard each) and
reconcile's pages (a Scan segment each) run one by one. For each: the function's own CPU time (moto serves in
another thread of this process) and the requests it sends, per member visited or per item scanned; the
units those requests cost (bench.model); the size of a page's result (reconcile's running totals) and what
merging them costs.

Modelled from that, for 1, 10 and 30 million members: members due per day (the share the simulator's program
gives: members buy on a day with chance 0.05 to 0.3, so each lot of a day expires a year later, plus
birthdays), items in the table, units of work, the workers needed to finish within the hour, the wall time
at the template's concurrency, cost per day, and the read and write units the job adds at its peak; then
whether any key goes past half a partition with the jobs running beside 25,000 points calls/s; and what the
whole design asks of an AWS account against its default quotas.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import model
from loyalty.store import members as members_store

MEMBERS = (1_000_000, 10_000_000, 30_000_000)
# The simulator's program (local/loyalty_local/simulate.py): a member around buys on a day with chance
# uniform(0.05, 0.3), so the lots of 17.5% of members expire on a given day a year later; birthdays add 1/365.
DUE_SHARE_PER_DAY = statistics.fmean([0.05, 0.3]) + 1 / 365
# Items per member in the table after a few years (ledger entries, orders, the member, its wallet and
# holds, idempotency records within their week): the program of 50 entries a member, and its orders.
ITEMS_PER_MEMBER = 100
AWS_REQUEST_SECONDS = 0.008
LAMBDA_GB = 0.5
PRICES = {"lambda_gb_second": 0.0000133334, "lambda_request": 0.20 / 1e6, "sqs_request": 0.40 / 1e6,
          "write_unit": 0.625 / 1e6, "read_unit": 0.125 / 1e6}
# AWS's default quotas (us-east-1), for what the design asks of an account.
QUOTAS = {
    "api_gateway_requests_per_second": 10_000,  # account-level throttle, HTTP and REST APIs
    "lambda_concurrent_executions": 1_000,
    "eventbridge_put_events_requests_per_second": 10_000,
    "dynamodb_table_write_units_per_second": 40_000,  # on-demand: maximum throughput per table
    "dynamodb_table_read_units_per_second": 40_000,
    "sqs_standard_messages_per_second": None,  # standard queues: nearly unlimited API calls per second
}


def _population(world: Any, members: int, days: int, seed: int = 7) -> datetime:
    """Members who bought on many days over `days` days; returns the day their maintenance is due."""
    from loyalty_local.demo import DEMO_PROGRAM
    from tests.stream_helpers import at

    rng = random.Random(seed)
    api = world.api
    api.put("/admin/program", {**DEMO_PROGRAM, "expiry": {"policy": "rolling", "days": 365}}, admin=True)
    start = datetime(2025, 1, 1, 15, tzinfo=UTC)
    with at(start):
        for number in range(members):
            assert api.enroll(f"j{number}", birthday=f"1990-{rng.randrange(1, 13):02d}-10").status == 201
    for day in range(0, days, 7):
        with at(start + timedelta(days=day)):
            for number in range(members):
                if rng.random() < 0.5:
                    api.purchase(f"j{number}", f"j{number}-{day}", f"{rng.randrange(5, 60)}.00")
    return start + timedelta(days=days)


def measure(world: Any, members: int = 60, days: int = 400) -> dict[str, Any]:
    """Per member visited and per item scanned: CPU, requests, units; a reconcile page's result size and the
    cost of merging results; then the model for 1, 10 and 30 million members."""
    from loyalty.services import jobs
    from loyalty.services import reconcile as checks
    from loyalty.store.members import DUE_SHARDS, due_shard_key

    world.reset()
    due_day = _population(world, members, days)
    from tests.stream_helpers import at, deliver, stream_records

    deliver(stream_records())
    # Member maintenance: each due member's visit, one at a time (a page visits MAINTENANCE_AT_ONCE at once),
    # and a page's own requests (its query of the due index, its claim and its end).
    cpu = requests = visited = 0.0
    priced = model.Priced()
    with at(due_day):
        today = due_day.date().isoformat()
        due = [member for shard in range(DUE_SHARDS)
               for _, member in members_store.due_page(due_shard_key(shard), through_day=today, after=None, limit=1000)]
        for member_id in due:
            began = time.thread_time()
            _, calls = world.measure(lambda m=member_id: jobs.maintain_member(m, due_day))
            cpu += time.thread_time() - began
            requests += len(calls)
            visited += 1
            found = model.price(calls, world.indexes)
            priced.reads.update(found.reads)
            priced.writes.update(found.writes)
    visits = max(1.0, visited)
    maintenance = {"members": members, "visited": int(visited),
                   "cpu_seconds_per_visit": round(cpu / visits, 5),
                   "requests_per_visit": round(requests / visits, 2),
                   "at_once": jobs.MAINTENANCE_AT_ONCE, "page_members": jobs.MAINTENANCE_PAGE,
                   "page_requests": 4,  # the due index's query, the page's claim, its end, the next page's message
                   "write_units_per_visit": round(sum(priced.writes.values()) / visits, 2),
                   "read_units_per_visit": round(sum(priced.reads.values()) / visits, 2),
                   "due_index_writes_per_visit": round(sum(units for (space, _), units in priced.writes.items()
                                                           if space == "GSI2") / visits, 2)}
    cpu_seconds = maintenance["cpu_seconds_per_visit"]
    io_seconds = maintenance["requests_per_visit"] * AWS_REQUEST_SECONDS
    # A page visits `at_once` members at once on one vCPU: their waits overlap, their CPU does not.
    maintenance["seconds_per_visit"] = round(max(cpu_seconds, (cpu_seconds + io_seconds) / jobs.MAINTENANCE_AT_ONCE)
                                             + 4 * AWS_REQUEST_SECONDS / jobs.MAINTENANCE_PAGE, 5)
    # Reconcile: one segment's pages (a segment of four), then the merge of four segments' results.
    import json
    import zlib

    cpu = requests = items = 0.0
    result_bytes: list[int] = []
    results = []
    reads = 0.0
    segments = 4
    with at(due_day):
        for segment in range(segments):
            cursor, running = None, None
            while True:
                began = time.thread_time()
                (counts, cursor, partial), calls = world.measure(
                    lambda c=cursor, s=segment: checks.reconcile_page(s, segments, c, now=due_day,
                                                                      until=time.monotonic() + 60))
                cpu += time.thread_time() - began
                requests += len(calls)
                items += counts["items"]
                reads += model.price(calls, world.indexes).read_units
                running = checks.combine(running, partial)
                result_bytes.append(len(zlib.compress(json.dumps(running, separators=(",", ":")).encode(), 6)))
                if cursor is None:
                    break
            results.append(running)
        began = time.thread_time()
        _, merge_calls = world.measure(lambda: checks.merge(results, due_day))
        merge_cpu = time.thread_time() - began
    scanned = max(1.0, items)
    reconcile = {"items": int(items), "cpu_seconds_per_item": round(cpu / scanned, 7),
                 "requests_per_item": round(requests / scanned, 4),
                 "seconds_per_item": round((cpu + requests * AWS_REQUEST_SECONDS) / scanned, 7),
                 "read_units_per_item": round(reads / scanned, 4),
                 "result_bytes": max(result_bytes) if result_bytes else 0,
                 "merge_cpu_seconds_per_result": round(merge_cpu / segments, 4),
                 "merge_requests": len(merge_calls)}
    return {"measured": {"member_maintenance": maintenance, "reconcile": reconcile}}


def model_at_scale(measured: dict[str, Any], template: dict[str, Any], capacity: dict[str, Any],
                   headroom: dict[str, Any]) -> dict[str, Any]:
    """The daily jobs for 1, 10 and 30 million members, and what the design asks of an account."""
    from loyalty.services import jobs
    from loyalty.store.members import DUE_SHARDS

    parameters = template.get("Parameters", {})
    concurrency = int(parameters["JobWorkerConcurrency"]["Default"])
    timeout = int(template["Resources"]["JobWorkerFunction"]["Properties"]["Timeout"])
    maintenance, reconcile = measured["member_maintenance"], measured["reconcile"]
    found: dict[str, Any] = {"member_maintenance": {}, "reconcile": {}, "worker_concurrency": concurrency,
                             "due_share_per_day": round(DUE_SHARE_PER_DAY, 4), "items_per_member": ITEMS_PER_MEMBER}
    peak_writes = peak_reads = 0.0
    for count in MEMBERS:
        label = f"members_{count // 1_000_000}m"
        # Member maintenance: the day's due members, all due at the day's first run (lots expire at day end).
        due = count * DUE_SHARE_PER_DAY
        work = due * maintenance["seconds_per_visit"]
        workers = min(concurrency, DUE_SHARDS)  # a unit is a shard: at most one worker each
        # Pages of every unit share the workers; a unit's own pages follow each other.
        wall = max(work / workers, work / DUE_SHARDS)
        rate = due / wall if wall else 0
        cost = (work * LAMBDA_GB * PRICES["lambda_gb_second"] + due * maintenance["write_units_per_visit"]
                * PRICES["write_unit"] + due * maintenance["read_units_per_visit"] * PRICES["read_unit"]
                + (due / jobs.MAINTENANCE_PAGE) * 2 * (PRICES["lambda_request"] + PRICES["sqs_request"]))
        found["member_maintenance"][label] = {
            "units": DUE_SHARDS, "members_due": round(due), "worker_seconds": round(work),
            "workers_needed_for_an_hour": math.ceil(work / 3600), "workers": workers,
            "wall_hours": round(wall / 3600, 2), "cost_usd_per_day": round(cost, 2),
            "peak_write_units_per_second": round(rate * maintenance["write_units_per_visit"]),
            "peak_read_units_per_second": round(rate * maintenance["read_units_per_visit"]),
            "due_index_writes_per_second_per_key": round(rate * maintenance["due_index_writes_per_visit"]
                                                         / DUE_SHARDS, 1)}
        # Reconcile: every item, over segments read in parallel; then the merge of the segments' results.
        items = count * ITEMS_PER_MEMBER
        segments = max(jobs.MIN_SEGMENTS, min(jobs.MAX_SEGMENTS, math.ceil(items / jobs.ITEMS_PER_SEGMENT)))
        scan = items * reconcile["seconds_per_item"]
        # Both jobs take their pages from one queue: reconcile gets the workers maintenance leaves when both
        # run at once (maintenance's first run of the day is the heavy one).
        workers = min(concurrency - found["member_maintenance"][label]["workers"], segments)
        pages = math.ceil(scan / jobs.PAGE_SECONDS)
        merge = segments * reconcile["merge_cpu_seconds_per_result"]
        wall = max(scan / workers, scan / segments) + merge
        result_units = pages * math.ceil(reconcile["result_bytes"] / 1024)
        cost = ((scan + merge) * LAMBDA_GB * PRICES["lambda_gb_second"] + items * reconcile["read_units_per_item"]
                * PRICES["read_unit"] + result_units * (PRICES["write_unit"] + PRICES["read_unit"])
                + pages * 2 * (PRICES["lambda_request"] + PRICES["sqs_request"]))
        found["reconcile"][label] = {
            "units": segments, "items": items, "pages": pages, "worker_seconds": round(scan),
            "workers_needed_for_an_hour": math.ceil(scan / 3600), "workers": workers,
            "merge_seconds": round(merge, 1), "merge_fits_a_worker": merge < timeout,
            "wall_hours": round(wall / 3600, 2), "cost_usd_per_day": round(cost, 2),
            "peak_read_units_per_second": round(items * reconcile["read_units_per_item"] / (wall - merge)),
            "peak_write_units_per_second": round(result_units / (wall - merge))}
        # Job queue messages: each page is sent, received and deleted once (a retried page once more).
        maintenance_row = found["member_maintenance"][label]
        maintenance_pages = maintenance_row["members_due"] / jobs.MAINTENANCE_PAGE
        messages = 3 * (maintenance_pages / max(1.0, maintenance_row["wall_hours"] * 3600)
                        + pages / max(1.0, wall - merge))
        found["job_queue_messages_per_second"] = max(found.get("job_queue_messages_per_second", 0), round(messages))
        peak_writes = max(peak_writes, found["member_maintenance"][label]["peak_write_units_per_second"])
        peak_reads = max(peak_reads, found["reconcile"][label]["peak_read_units_per_second"])
    # Keys with the jobs beside 25,000 points calls/s: the due index's keys take the maintenance's writes on
    # top of the mix's; a parallel Scan spreads its reads over every partition; a run's own items take a few
    # writes a second.
    worst = found["member_maintenance"]["members_30m"]["due_index_writes_per_second_per_key"]
    mix_due = next((row["write_units_per_points_call"] * 25_000 for row in capacity.get("keys", [])
                    if row["key"].endswith("DUE#nn")), 0.0)
    found["keys"] = {"GSI2:DUE#nn": {"write_units_per_second": round(worst + mix_due, 1),
                                     "share_of_partition_limit": round((worst + mix_due) / 1000, 3)},
                     "LoyaltyTable:JOBRUN#<run>": {"write_units_per_second": round(
                         found["reconcile"]["members_30m"]["peak_write_units_per_second"], 1)}}
    found["keys_above_half_a_partition"] = [key for key, row in found["keys"].items()
                                            if row.get("share_of_partition_limit", 0) > 0.5
                                            or row.get("write_units_per_second", 0) > 500]
    found["account_quotas"] = account_quotas(capacity, headroom, peak_reads, peak_writes, concurrency,
                                             found["job_queue_messages_per_second"])
    return found


def account_quotas(capacity: dict[str, Any], headroom: dict[str, Any], job_reads: float, job_writes: float,
                   job_workers: int, job_messages: float, target: int = 25_000) -> dict[str, Any]:
    """What the design asks of one AWS account at 25,000 points calls/s beside the jobs, against AWS's default
    quotas (the ones to raise are listed in docs/operations.md, "Quotas")."""
    mix = capacity["mix"]
    points = max(1, capacity["points_calls"])
    requests_per_second = sum(mix.values()) / points * target
    durations = capacity["in_process_ms"]
    functions = {kind: round(count / points * target * durations.get(kind, 50) / 1000)
                 for kind, count in mix.items()}
    lambda_total = sum(functions.values()) + int(headroom.get("stream_processor", {}).get("concurrency", 0)) + int(
        headroom.get("events_publisher", {}).get("concurrency", 0)) + job_workers
    events_per_second = capacity.get("stream_records_per_points_call", {}).get("EventsPublisherFunction", 0) * target
    writes = capacity["units_per_points_call"]["write"] * target + job_writes
    reads = capacity["units_per_points_call"]["read"] * target + job_reads
    need = {"api_gateway_requests_per_second": round(requests_per_second),
            "lambda_concurrent_executions": lambda_total,
            "eventbridge_put_events_requests_per_second": round(events_per_second / 10),
            "dynamodb_table_write_units_per_second": round(writes),
            "dynamodb_table_read_units_per_second": round(reads),
            # The job queue's messages and the imports' (a file's chunks, a few a minute: not counted).
            "sqs_standard_messages_per_second": round(job_messages)}
    return {name: {"needed": need[name], "default_quota": QUOTAS[name],
                   "raise": need[name] is not None and QUOTAS[name] is not None and need[name] > QUOTAS[name]}
            for name in QUOTAS} | {"lambda_concurrency_by_call": functions}
