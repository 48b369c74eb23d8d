"""Jobs that fan out (issue 36) through the job queue, drained in-process as the event source mapping would
with several workers: a worker killed mid-page and its page retried, reconcile's merge equal to one pass,
two overlapping maintenance runs."""

from __future__ import annotations

import importlib.util
import json
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from loyalty.services import jobs
from loyalty.services import reconcile as checks
from loyalty.store.members import DUE_SHARDS
from loyalty_local import queues
from loyalty_local.iam import as_function
from loyalty_local.motoserver import MotoServer
from tests.events import Api, LambdaContext
from tests.stream_helpers import at, deliver, ledger_items, stream_records

WORK_HANDLER = Path(__file__).resolve().parents[2] / "functions" / "work" / "handler.py"
DAY0 = datetime(2025, 3, 3, 15, tzinfo=UTC)


def _worker_instance() -> ModuleType:
    """The job worker function as one Lambda instance has it: its own module globals. AWS gives each concurrent
    invocation an instance of its own; threads sharing one module would share its batch processor, whose
    state each invocation resets, and one thread's failed message could be answered as a success."""
    spec = importlib.util.spec_from_file_location(f"job_worker_{uuid.uuid4().hex}", WORK_HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class JobQueue:
    """The job queue drained by invoking the job worker as its event source would, by `workers` threads (each
    a Lambda instance of its own); a failed invocation's message comes back (its visibility timeout,
    shortened)."""

    def __init__(self, url: str, arn: str, endpoint: str) -> None:
        self.url, self.arn = url, arn
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        self.invocations = 0

    def drain(self, *, workers: int = 4, crash: Callable[[dict[str, Any]], bool] = lambda message: False) -> None:
        def worker() -> None:
            handler = _worker_instance()
            idle = 0
            while idle < 3:
                messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=1,
                                                    AttributeNames=["All"]).get("Messages", [])
                if not messages:
                    # An event source long-polls: a worker gives up only after a while with nothing (in
                    # process, three empty polls take a millisecond, less than another worker's next send).
                    idle += 1
                    time.sleep(0.05)
                    continue
                idle = 0
                (message,) = messages
                body = json.loads(message["Body"])
                record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                          "body": message["Body"], "attributes": message.get("Attributes", {}),
                          "messageAttributes": {}, "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                          "eventSourceARN": self.arn, "awsRegion": "us-east-1"}
                self.invocations += 1
                failed = True
                if not crash(body):
                    with as_function("JobWorkerFunction"):
                        failed = bool(handler.on_job({"Records": [record]}, LambdaContext())
                                      .get("batchItemFailures"))
                if failed:
                    self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"],
                                                       VisibilityTimeout=0)
                else:
                    self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(worker) for _ in range(workers)]:
                future.result()


@pytest.fixture
def job_queue(tables: MotoServer, stack, monkeypatch: pytest.MonkeyPatch) -> JobQueue:  # type: ignore[no-untyped-def]
    refs, arns = queues.create(stack, tables.url)
    monkeypatch.setenv("JOB_QUEUE_URL", refs["JobQueue"])
    return JobQueue(refs["JobQueue"], arns["JobQueue"], tables.url)


def _members_due(api: Api, count: int) -> list[str]:
    """Members whose points expire 60 days after DAY0 (so each has due work that day)."""
    program = api.get("/program", sub="x").body
    program = {key: value for key, value in program.items() if key not in ("version", "spin_odds")}
    assert api.put("/admin/program", {**program, "expiry": {"policy": "rolling", "days": 60}}, admin=True).status == 200
    members = [f"d{number}" for number in range(count)]
    with at(DAY0):
        for member in members:
            assert api.enroll(member).status == 201
            assert api.purchase(member, f"o-{member}", "10.00").status == 201
    return members


def _expiries() -> dict[str, int]:
    found: dict[str, int] = {}
    for item in ledger_items():
        if str(item["sk"]).startswith("ENTRY#") and item["type"] == "expire":
            found[item["member_id"]] = found.get(item["member_id"], 0) + 1
    return found


def test_member_maintenance_fans_out_over_the_due_shards_and_a_killed_workers_page_is_retried(
        api: Api, program: dict, job_queue: JobQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 30 members due on the same day, pages of 3 members, and leases that end at once
    members = _members_due(api, 30)
    monkeypatch.setattr(jobs, "MAINTENANCE_PAGE", 3)
    monkeypatch.setattr(jobs, "LEASE_SECONDS", 0.0)
    due_day = DAY0 + timedelta(days=61)
    # And a worker that dies in the middle of a page: after its second member, the first time only
    real = jobs.maintain_member
    died: list[str] = []

    def dying(member_id: str, now: datetime) -> list[str]:
        done = real(member_id, now)
        if not died and len(_expiries()) >= 2:
            died.append(member_id)
            raise RuntimeError("the worker was killed")
        return done

    monkeypatch.setattr(jobs, "maintain_member", dying)
    with at(due_day):
        # When the hourly schedule starts a run (its first pages go to the job queue) and 4 workers take them
        started = jobs.run("member_maintenance", due_day)
        assert started["status"] == "running" and started["units"] == DUE_SHARDS
        job_queue.drain(workers=4)
    # Then the killed page came back and was finished, and every member's points expired exactly once
    assert died
    assert _expiries() == dict.fromkeys(members, 1)
    run = jobs.job_store.get_run("member_maintenance", started["run_id"])
    assert run is not None and run.status == "complete"
    # (the run's counts are its finished pages': the killed attempt's members are in the ledger, not in them)
    assert 0 < run.report["expire"] <= 30


def test_two_overlapping_maintenance_runs_maintain_each_member_once(api: Api, program: dict,
                                                                     job_queue: JobQueue,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 24 members due, and two runs started before either is worked (a schedule delivered twice, and the
    # next hour's run while the first goes on)
    members = _members_due(api, 24)
    monkeypatch.setattr(jobs, "MAINTENANCE_PAGE", 2)
    due_day = DAY0 + timedelta(days=61)
    with at(due_day):
        first = jobs.run("member_maintenance", due_day)
        again = jobs.run("member_maintenance", due_day)
        later = jobs.run("member_maintenance", due_day + timedelta(hours=1))
        # When 6 workers take their pages in whatever order
        job_queue.drain(workers=6)
    # Then the second delivery joined the first run, the next hour's run is its own, and each member's points
    # expired once
    assert again["run_id"] == first["run_id"] != later["run_id"]
    assert _expiries() == dict.fromkeys(members, 1)


def test_reconcile_fanned_out_equals_one_pass_over_the_same_data(api: Api, program: dict, job_queue: JobQueue,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Given members with purchases, returns and redemptions, some records not folded, and a member's balance
    # changed behind the ledger's back
    from loyalty.store.members import MemberItem, member_key

    monkeypatch.setenv("RECONCILE_STREAM_LAG_MINUTES", "0")
    rng = random.Random(4)
    for number in range(25):
        member = f"r{number}"
        assert api.enroll(member).status == 201
        for order in range(rng.randrange(1, 4)):
            assert api.purchase(member, f"o-{number}-{order}", f"{rng.randrange(5, 90)}.00").status == 201
        if number % 4 == 0:
            assert api.redeem(member, {"points": 10, "description": "x"}).status == 201
    records = stream_records()
    deliver(records[: len(records) * 3 // 4])
    MemberItem(*member_key("r3")).update(actions=[MemberItem.available.add(7)], add_version_condition=False)
    # When reconcile runs in one pass, and fanned out over 6 segments in pages of 20 items by 4 workers
    single = checks.reconcile()
    monkeypatch.setattr(jobs, "MIN_SEGMENTS", 6)
    monkeypatch.setattr(checks, "PAGE_ITEMS", 20)
    started = jobs.run("reconcile")
    job_queue.drain(workers=4)
    run = jobs.job_store.get_run("reconcile", started["run_id"])
    # Then the fanned-out run is complete, over many pages, with the same report as the single pass
    assert run is not None and run.status == "complete"
    assert len(list(jobs.job_store.pages("reconcile", started["run_id"]))) > 12
    merged = run.report
    assert not single["clean"] and merged["discrepancy_count"] == single["discrepancy_count"]
    for name in ("members", "entries", "checked", "flagged"):
        assert merged[name] == single[name], name
    assert sorted(json.dumps(found, sort_keys=True, default=str) for found in merged["discrepancies"]) == sorted(
        json.dumps(found, sort_keys=True, default=str) for found in single["discrepancies"])
