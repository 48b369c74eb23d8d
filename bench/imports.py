"""Bulk import in `make bench`: rows per second in-process, side by side with the API calls an import
replaces, and a launch-sized import (members with lots, then their order history) with reconciliation,
a re-import and a crashed worker.

Everything runs on the in-process moto of `bench/__main__.py`: the import queues are drained one message
at a time by invoking the import functions (tests.import_helpers.Importer), so the rates compare one
worker with one API client; on AWS the workers run in parallel (WorkFunction's concurrency).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Any

from loyalty_local import queues
from tests.import_helpers import Importer

# The stream processor's batch size in infra/template.yaml.
STREAM_BATCH = 1000


def _importer(world: Any) -> Importer:
    refs, arns = queues.create(world.stack, world.moto.url)
    os.environ["IMPORT_BUCKET"] = refs["ImportBucket"]
    os.environ["WORK_QUEUE_URL"] = refs["WorkQueue"]
    importer = Importer(world.api, refs, arns, world.moto.url)
    importer.drain()  # S3's test notification
    return importer


def member_rows(count: int, prefix: str) -> list[dict[str, Any]]:
    return [{"member_id": f"{prefix}{number}", "email": f"{prefix}{number}@example.com", "name": "Imported",
             "enrolled_at": "2025-03-01T10:00:00Z", "tier": "Silver" if number % 5 == 0 else "Bronze",
             "lots": [{"points": 100 + number % 400, "expires_at": "2027-09-30T00:00:00Z"}, {"points": 50}],
             "lifetime_earned": 5000 + number} for number in range(count)]


def transaction_rows(count: int, members: int, prefix: str) -> list[dict[str, Any]]:
    # Spread over the last 300 days, out of order in the file (a member's rows land in different chunks).
    return [{"member_id": f"{prefix}{number % members}", "order_id": f"{prefix}o{number}",
             "occurred_at": f"2026-{1 + (number * 7) % 10:02d}-{1 + (number * 13) % 28:02d}T12:00:00Z",
             "total": {"amount": f"{10 + number % 90}.50", "currency": "USD"},
             "channel": ("online", "store", "app")[number % 3]} for number in range(count)]


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def throughput(world: Any, *, members: int = 300, purchases: int = 900, rounds: int = 3) -> dict[str, Any]:
    """Rows/s of a members import and of a transactions import vs enrollments/s and purchases/s through
    the API handlers, in alternating rounds on fresh tables (medians)."""
    os.environ["IMPORT_CHUNK_ROWS"] = "100"
    rates: dict[str, list[float]] = {"enroll_calls": [], "purchase_calls": [], "member_rows": [],
                                      "transaction_rows": []}
    for _ in range(rounds):
        world.reset()
        started = time.perf_counter()
        for number in range(members):
            assert world.api.enroll(f"a{number}").status == 201
        rates["enroll_calls"].append(members / (time.perf_counter() - started))
        started = time.perf_counter()
        for number in range(purchases):
            row = transaction_rows(purchases, members, "a")[number]
            assert world.api.purchase(row["member_id"], row["order_id"], row["total"]["amount"]).status == 201
        rates["purchase_calls"].append(purchases / (time.perf_counter() - started))

        world.reset()
        importer = _importer(world)
        started = time.perf_counter()
        import_id = importer.start("members", jsonl(member_rows(members, "a")))
        importer.drain()
        assert importer.status(import_id)["imported"] == members
        rates["member_rows"].append(members / (time.perf_counter() - started))
        started = time.perf_counter()
        import_id = importer.start("transactions", jsonl(transaction_rows(purchases, members, "a")))
        importer.drain()
        assert importer.status(import_id)["imported"] == purchases
        rates["transaction_rows"].append(purchases / (time.perf_counter() - started))
    median = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "members_rows_per_second": round(median["member_rows"], 1),
        "transactions_rows_per_second": round(median["transaction_rows"], 1),
        "enroll_calls_per_second": round(median["enroll_calls"], 1),
        "purchase_calls_per_second": round(median["purchase_calls"], 1),
        # The measure: an import is never slower than calling the API row by row (target >= 1).
        "members_ratio_to_purchase_calls": round(median["member_rows"] / median["purchase_calls"], 3),
        "transactions_ratio_to_purchase_calls": round(median["transaction_rows"] / median["purchase_calls"], 3),
        "members_ratio_to_enroll_calls": round(median["member_rows"] / median["enroll_calls"], 3),
        "rounds": rounds, "members": members, "purchases": purchases,
    }


def launch(world: Any, *, members: int = 20_000, transactions: int = 50_000) -> dict[str, Any]:
    """A launch: `members` with lots, then `transactions` of their history, with one worker crash in each
    import; then reconciliation; then both files again (nothing may change)."""
    from loyalty.services import jobs
    from tests.stream_helpers import deliver, stream_records

    os.environ["IMPORT_CHUNK_ROWS"] = "500"
    world.reset()
    importer = _importer(world)
    crashed: set[str] = set()

    def crash_once(message: dict[str, Any]) -> bool:
        """The worker dies once on the 3rd chunk and once on shard 5's first page."""
        unit = f"{message.get('step')}:{message.get('chunk', message.get('shard'))}"
        if unit in ("chunk:3", "apply:5") and unit not in crashed:
            crashed.add(unit)
            return True
        return False

    member_file = jsonl(member_rows(members, "L"))
    transaction_file = jsonl(transaction_rows(transactions, members, "L"))
    result: dict[str, Any] = {}
    for kind, content in (("members", member_file), ("transactions", transaction_file)):
        started = time.perf_counter()
        import_id = importer.start(kind, content)
        importer.drain(fail=crash_once)
        status = importer.status(import_id)
        assert status["status"] == "completed" and status["imported"] == status["rows"], status
        result[kind] = {"seconds": round(time.perf_counter() - started, 1), "rows": status["rows"],
                        "imported": status["imported"], "failed": status["failed"]}
    result["crashes_recovered"] = sorted(crashed)
    started = time.perf_counter()
    records = stream_records()
    for start in range(0, len(records), STREAM_BATCH):  # batches as the event source mapping sends them
        deliver(records[start:start + STREAM_BATCH])
    result["stream_seconds"] = round(time.perf_counter() - started, 1)
    result["stream_records"] = len(records)
    os.environ["RECONCILE_STREAM_LAG_MINUTES"] = "0"
    started = time.perf_counter()
    reconciled = jobs.run("reconcile")
    result["reconciliation"] = {"clean": reconciled["clean"], "members": reconciled["members"],
                                "entries": reconciled["entries"], "discrepancy_count": reconciled["discrepancy_count"],
                                "seconds": round(time.perf_counter() - started, 1)}
    again: dict[str, Any] = {}
    for kind, content in (("members", member_file), ("transactions", transaction_file)):
        started = time.perf_counter()
        import_id = importer.start(kind, content)
        importer.drain()
        status = importer.status(import_id)
        again[kind] = {"imported": status["imported"], "skipped": status["skipped"], "failed": status["failed"],
                       "seconds": round(time.perf_counter() - started, 1)}
    # The re-imports wrote no ledger record (only their own import items): the aggregates stand as folded.
    after = jobs.run("reconcile")
    result["reimport"] = {**again, "entries_before": reconciled["entries"], "entries_after": after["entries"],
                          "clean": after["clean"]}
    return result
