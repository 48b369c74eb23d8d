"""What-if (contract: "Campaigns, segments and what-if"): what a proposed program config would have
issued on the program's own history, as a job.

`POST /admin/what-if` validates the proposed config whole (422 naming `config.<field>`), records the job
(audited) and sends its first step to the work queue. Each step scans up to MEMBERS_PER_STEP members'
ledgers from where the last stopped (one member's items at a time: bounded memory), replays them
(loyalty.domain.whatif), and moves the job on in one conditional write (a redelivered step finds the job
moved on and does nothing), then sends the next step. The last step writes the report.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from loyalty.domain import whatif as replay
from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import NotFound, ValidationFailed
from loyalty.domain.ids import new_ulid
from loyalty.domain.money import format_amount
from loyalty.inputs.program import WhatIfRequest
from loyalty.services import work_queue
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.program import config_of, parse_config
from loyalty.services.writes import Plan, execute
from loyalty.store import audit as audit_store
from loyalty.store import snapshot as snapshot_store
from loyalty.store import whatif as store
from loyalty.store.db import plain_item
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.snapshot import Snapshot
from loyalty.store.whatif import WhatIfJob

MEMBERS_PER_STEP = 500


def start(caller: Caller, request: WhatIfRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()
    try:
        parse_config(request.config)
    except ValidationFailed as exc:
        raise ValidationFailed("the proposed config is invalid", errors=[
            {**error, "field": f"config.{error['field']}"} for error in exc.errors]) from exc
    job_id = new_ulid()

    def plan(snapshot: Snapshot) -> Plan:
        config_of(snapshot.program)  # a program to compare with
        job = WhatIfJob(job_id=job_id, status="running", config=json.dumps(request.config),
                        from_day=request.from_day.isoformat(), to_day=request.to_day.isoformat(),
                        created_at=iso_utc(utc_now()), actor=caller.sub, step=0, totals={}, expires=store.JOB_TTL)
        audit = audit_store.new_audit(caller.sub, "what_if.started", f"what_if:{job_id}",
                                     {"from": job.from_day, "to": job.to_day})

        def commit(record: IdempotencyRecord | None) -> None:
            store.create_job(job, audit, record)
            work_queue.send([{"step": "what_if", "job_id": job_id, "n": 0}])

        return Plan(202, {"job_id": job_id, "status": "running"}, commit)

    return execute(idempotency, lambda: snapshot_store.read_snapshot(idempotency=idempotency), plan)


def get(caller: Caller, job_id: str) -> Outcome:
    caller.authorize_admin()
    job = store.get_job(checked_id(job_id, "job"))
    if job is None:
        raise NotFound(f"no what-if job has the id {job_id[:64]!r}", code="job_not_found")
    body: dict[str, Any] = {"job_id": job.job_id, "status": job.status, "from": job.from_day, "to": job.to_day}
    if job.status == "completed":
        body["report"] = job.report
    elif job.status == "failed":
        body["error"] = (job.report or {}).get("error")
    return Outcome(200, body)


def run_step(job_id: str, step: int) -> None:
    job = store.get_job(job_id)
    if job is None or job.status != "running" or int(job.step) != step:
        return  # gone, done, or this step was done already (a redelivery)
    proposed = parse_config(json.loads(job.config))
    first, last = date.fromisoformat(job.from_day), date.fromisoformat(job.to_day)
    totals = replay.Totals.from_dict(job.totals or {})
    members = 0
    resume_at: dict[str, Any] | None = None
    current_pk: str | None = None
    items: list[dict[str, Any]] = []
    finished = True
    for raw, key in store.member_items(job.cursor):
        pk = str(raw["pk"]["S"])
        if pk != current_pk:
            if current_pk is not None:
                totals.add(_member_totals(items, proposed, first, last))
                members += 1
                if members >= MEMBERS_PER_STEP:
                    finished = False
                    break
            current_pk, items = pk, []
        items.append(plain_item(raw))
        resume_at = key
    else:
        if current_pk is not None:
            totals.add(_member_totals(items, proposed, first, last))
    report = _report(totals, proposed, config_of(snapshot_store.read_snapshot().program)) if finished else None
    # Unfinished: the next step starts after the last item of the last member done here.
    cursor = None if finished else resume_at
    if store.advance(job, step=step, cursor=cursor, totals=totals.as_dict(), report=report) and not finished:
        work_queue.send([{"step": "what_if", "job_id": job_id, "n": step + 1}])


def give_up(job_id: str, step: int, attempts: int, reason: str) -> None:
    """A step whose last try failed: the job fails, saying why (a what-if writes nothing but its job: run
    it again), rather than staying `running`."""
    job = store.get_job(job_id)
    if job is not None and job.status == "running" and int(job.step) == step:
        store.fail(job, f"step {step} failed {attempts} times ({reason}); start the what-if again")


def _member_totals(items: list[dict[str, Any]], proposed: Any, first: Any, last: Any) -> replay.Totals:
    member = next((item for item in items if item.get("sk") == "PROFILE"), None)
    if member is None:
        return replay.Totals()
    entries = sorted((item for item in items if str(item.get("sk", "")).startswith("ENTRY#")),
                     key=lambda entry: str(entry["sk"]))
    return replay.replay_member(member, entries, proposed, first, last)


def _report(totals: replay.Totals, proposed: Any, current: Any) -> dict[str, Any]:
    delta_value = (Decimal(totals.proposed) * proposed.point_value.value
                   - Decimal(totals.current) * current.point_value.value)
    return {"purchases_replayed": totals.purchases_replayed,
            "points": {"current": totals.current, "proposed": totals.proposed,
                       "delta": totals.proposed - totals.current},
            "liability_value_delta": {"amount": format_amount(delta_value, proposed.currency),
                                      "currency": proposed.currency},
            "tier_changes": dict(totals.tier_changes), "members_affected": totals.members_affected}


