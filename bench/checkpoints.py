"""The ledger's daily checkpoint at scale (issue 35): what it reads, writes and computes per million entries.

Measured in-process on moto: a day of purchases (every entry on the day index), then the checkpoint job's
pages (one group of one shard each) and its merge, every request counted and priced by the request model
(bench.model), the pages' own CPU time taken apart from moto's. Modelled from that: per million entries, and
for the day of a program at 25,000 points calls/s (about two billion entries).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import model

AWS_REQUEST_SECONDS = 0.008
PRICES = {"write_unit": 0.625 / 1e6, "read_unit": 0.125 / 1e6}
# The job worker's memory (a vCPU), as the template gives it.
WORKER_GB = 1769 / 1024
ENTRIES_PER_DAY_AT_TARGET = 2_000_000_000


def measure(world: Any, members: int = 40, purchases_each: int = 25) -> dict[str, Any]:
    """A day whose entries all fall in one ledger shard (members picked so): that shard's unit is a page of
    full chunks, as at scale, so its CPU and units per entry are the ones that scale; the other 127 units
    find nothing (their requests are each run's fixed cost)."""
    from loyalty.services import checkpoints
    from loyalty.store.ledger import LEDGER_SHARDS, ledger_shard
    from loyalty_local.demo import DEMO_PROGRAM
    from tests.stream_helpers import at

    world.reset()
    api = world.api
    api.put("/admin/program", DEMO_PROGRAM, admin=True)
    day = datetime(2026, 6, 10, 16, tzinfo=UTC)
    chosen = [member_id for member_id in (f"c{number}" for number in range(100_000))
              if ledger_shard(member_id) == 0][:members]
    with at(day):
        for member_id in chosen:
            assert api.enroll(member_id).status == 201
            for purchase in range(purchases_each):
                api.purchase(member_id, f"{member_id}-{purchase}", f"{10 + purchase}.00")
    after = day + timedelta(days=1)
    run_day = checkpoints.next_day(after)
    assert run_day == "2026-06-10", run_day
    cpu = 0.0
    calls_all: list[Any] = []
    busy_calls: list[Any] = []
    busy_cpu = 0.0
    results = []
    entries = 0
    for unit in checkpoints.units(run_day):
        cursor, running = None, None
        while True:
            began = time.thread_time()
            (counts, cursor, result), calls = world.measure(
                lambda u=unit, c=cursor: checkpoints.build_page(u, c, after, time.monotonic() + 60))
            spent = time.thread_time() - began
            cpu += spent
            if counts["entries"]:
                busy_cpu += spent
                busy_calls.extend(calls)
            calls_all.extend(calls)
            entries += counts["entries"]
            running = checkpoints.carry(running, result)
            if cursor is None:
                break
        results.append(running)
    began = time.thread_time()
    report, merge_calls = world.measure(lambda: checkpoints.merge([], results, after))
    merge_cpu = time.thread_time() - began
    priced = model.price(busy_calls, world.indexes)
    merged = model.price(merge_calls, world.indexes)
    # One entry's proof: its chunk, the group and shard rows, the checkpoint, the entry itself.
    member = chosen[0]
    member_entries = api.get(f"/members/{member}/activity", sub=member).body["items"]
    proof, proof_calls = world.measure(lambda: api.get(
        f"/members/{member}/activity/{member_entries[0]['entry_id']}/proof", sub=member))
    assert proof.status == 200, proof.body
    proof_priced = model.price(proof_calls, world.indexes)
    return {"entries": entries, "shards": LEDGER_SHARDS, "root": report["root"],
            "page_requests": len(calls_all), "page_cpu_seconds": round(cpu, 4),
            "busy_unit_requests": len(busy_calls), "busy_unit_cpu_seconds": round(busy_cpu, 4),
            "read_units": round(priced.read_units, 2), "write_units": round(priced.write_units, 2),
            "merge_requests": len(merge_calls), "merge_cpu_seconds": round(merge_cpu, 4),
            "merge_write_units": round(merged.write_units, 2),
            "proof_requests": sum(1 for call in proof_calls if call.service == "dynamodb"),
            "proof_read_units": round(proof_priced.read_units, 2)}


def per_million(measured: dict[str, Any]) -> dict[str, Any]:
    """Per million entries, from the busy shard's page. Read units and CPU scale with the entries (measured
    per entry). Writes and requests are modelled at full groups (the measured page holds a few chunks, its
    writes shown beside): a chunk item holds 256 leaf hashes and ids, a group item 256 chunk roots; the day
    index is read in 1 MB pages, chunks written 25 to a request."""
    from loyalty.store.checkpoints import CHUNKS_PER_GROUP, HASH_BYTES, LEAVES_PER_CHUNK

    entries = max(1, measured["entries"])
    entry_bytes = measured["read_units"] * 2 * 4096 / entries  # eventually consistent: half a unit per 4 KB
    chunk_bytes = LEAVES_PER_CHUNK * (HASH_BYTES + 26 + 3) + 100
    chunks = 1_000_000 / LEAVES_PER_CHUNK
    group_bytes = CHUNKS_PER_GROUP * HASH_BYTES + 100
    write_units = chunks * -(-chunk_bytes // 1024) + chunks / CHUNKS_PER_GROUP * -(-group_bytes // 1024)
    read_units = measured["read_units"] / entries * 1_000_000
    requests = 1_000_000 * entry_bytes / (1024 * 1024) + chunks / 25 + chunks / CHUNKS_PER_GROUP
    cpu = measured["busy_unit_cpu_seconds"] / entries * 1_000_000
    worker_seconds = cpu + requests * AWS_REQUEST_SECONDS
    cost = read_units * PRICES["read_unit"] + write_units * PRICES["write_unit"] + worker_seconds * WORKER_GB * \
        0.0000166667
    return {"entry_bytes": round(entry_bytes), "read_units": round(read_units), "write_units": round(write_units),
            "measured_write_units": round(measured["write_units"] / entries * 1_000_000),
            "requests": round(requests), "cpu_seconds": round(cpu, 1), "worker_seconds": round(worker_seconds, 1),
            "cost_usd": round(cost, 3),
            "day_at_target_cost_usd": round(cost * ENTRIES_PER_DAY_AT_TARGET / 1_000_000),
            "day_at_target_worker_hours": round(worker_seconds * ENTRIES_PER_DAY_AT_TARGET / 1_000_000 / 3600, 1)}
