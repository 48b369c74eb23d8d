"""Scheduled jobs (EventBridge schedules; the local stack runs them too). Each is idempotent: running
it twice for the same day changes nothing."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from loyalty.domain.clock import iso_utc, local_day, parse_utc, utc_now
from loyalty.domain.member import MemberChange
from loyalty.domain.program import ProgramConfig
from loyalty.logs import make_logger
from loyalty.observability import count
from loyalty.services import checkpoints as ledger_checkpoints
from loyalty.services import reconcile as checks
from loyalty.services import work_queue
from loyalty.services.pointschange import followed_pool, household_share
from loyalty.services.program import config_of
from loyalty.services.writes import Plan, execute
from loyalty.settings import settings
from loyalty.store import aggregates, catalog, members
from loyalty.store import changes as changes_store
from loyalty.store import jobs as job_store
from loyalty.store import referrals as referrals_store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.base import table_name
from loyalty.store.changes import PointsChange
from loyalty.store.db import item_count
from loyalty.store.idempotency import IdempotencyRecord
from loyalty.store.referrals import Referral
from loyalty.store.snapshot import Snapshot

logger = make_logger()


def daily_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """Cumulative member and tier counts for every finished day that has no snapshot yet."""
    now = now or utc_now()
    config = config_of(snapshot_store.read_snapshot().program)
    yesterday = local_day(now, config.zone) - timedelta(days=1)
    latest = aggregates.latest_snapshot(yesterday.isoformat())
    first = date.fromisoformat(latest[0]) + timedelta(days=1) if latest else None
    if first is None:
        earliest = aggregates.first_day()
        if earliest is None:
            return {"snapshots": 0}
        first = date.fromisoformat(earliest)
    if first > yesterday:
        return {"snapshots": 0}
    days = aggregates.read_days(first.isoformat(), yesterday.isoformat())
    running = dict(latest[1]) if latest else {}
    snapshots = []
    day = first
    while day <= yesterday:
        for name, value in days.get(day.isoformat(), {}).items():
            if name == "new_members" or name.startswith("tier:"):
                running[name] = running.get(name, 0) + value
        snapshots.append((day.isoformat(), dict(running)))
        day += timedelta(days=1)
    aggregates.save_snapshots(snapshots)
    return {"snapshots": len(snapshots), "through": yesterday.isoformat()}


def maintain_member(member_id: str, now: datetime) -> list[str]:
    """Everything due for one member, in one transaction: release pending points, expire lots, the
    birthday reward, the tier review. Returns the types of the entries written."""
    written: list[str] = []

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(member_id=member_id)

    def plan(snapshot: Snapshot) -> Plan:
        member = snapshot.member

        def nothing(_: IdempotencyRecord | None) -> None:
            return None

        if member is None:
            return Plan(200, {}, nothing)
        config = config_of(snapshot.program)
        change = MemberChange(member, config, now)
        due = member.due_day
        if not due or due > change.today.isoformat():
            return Plan(200, {}, nothing)  # visited meanwhile, or not due yet
        closed_holds = change.fold_expired_holds()
        pool = followed_pool(member, change, config)
        change.release_due()
        change.expire_due()
        change.notify_expiring()
        change.expire_membership()
        change.birthday()
        change.review_tier()
        change.remind_tier_review()
        # Released pending points and a birthday reward of a household's member go to the pool.
        shared = household_share(member, change, config, now, pool)
        entries = change.finish()
        released = _released_referrals(change.released_referrals, now)
        pool, pool_entries, pool_holds = shared if shared is not None else (None, [], [])

        def commit(_: IdempotencyRecord | None) -> None:
            changes_store.commit_points_change(PointsChange(
                member, entries + pool_entries, closed_holds=closed_holds + pool_holds, referrals=released,
                other_members=[pool] if pool is not None else []))
            written[:] = [str(entry.type) for entry in entries]

        return Plan(200, {}, commit)

    execute(None, read, plan)
    return written


def _released_referrals(referee_ids: list[str], now: datetime) -> list[tuple[Referral, str]]:
    """Referrals whose held rewards are all released: rewarded, under the condition they are still pending
    (a return cancelling them meanwhile makes the visit re-read)."""
    changes = []
    for referral in referrals_store.read_referrals(referee_ids):
        if referral.status == "pending":
            referrals_store.move_to(referral, "rewarded", iso_utc(now))
            changes.append((referral, "pending"))
    return changes


def member_maintenance(now: datetime | None = None) -> dict[str, Any]:
    """Every member due on or before today, visited once: fans out over the due index's shards."""
    return fan_out("member_maintenance", now)


def _maintenance_page(unit: str, cursor: Any, now: datetime, until: float) -> tuple[dict[str, int], Any, None]:
    """One page of one due-index shard: the members due through today after `cursor` (their index key),
    each maintained in its own transaction, until MAINTENANCE_PAGE members or the time `until`."""
    config = config_of(snapshot_store.read_snapshot().program)
    today = local_day(now, config.zone).isoformat()
    after = (cursor or {}).get("after")
    due = members.due_page(unit, through_day=today, after=after, limit=MAINTENANCE_PAGE)
    counts: dict[str, int] = {"visited": 0}
    last = after
    # Members are independent (each its own read and transaction): a few at once, while most of a visit is
    # waiting on DynamoDB. In order, so the page ends after a prefix of its members, never with a gap.
    for start in range(0, len(due), MAINTENANCE_AT_ONCE):
        batch = due[start:start + MAINTENANCE_AT_ONCE]
        for written in _at_once(lambda member_id: maintain_member(member_id, now), [m for _, m in batch]):
            for kind in written:
                counts[kind] = counts.get(kind, 0) + 1
        counts["visited"] += len(batch)
        last = batch[-1][0]
        if time.monotonic() >= until:
            break
    more = len(due) == MAINTENANCE_PAGE or counts["visited"] < len(due)
    return counts, ({"after": last} if more else None), None


def _at_once(call: Callable[[str], list[str]], member_ids: list[str]) -> list[list[str]]:
    """`call` on each member id, on threads of this invocation (each in a copy of this context, so that what
    the caller's context carries, e.g. its identity for a check, carries over)."""
    if len(member_ids) <= 1:
        return [call(member_id) for member_id in member_ids]
    with ThreadPoolExecutor(max_workers=len(member_ids)) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call, member_id) for member_id in member_ids]
        return [future.result() for future in futures]


def backfill_search_keys(now: datetime | None = None) -> dict[str, Any]:
    """Once, after an upgrade: members enrolled before the back office's search (roster keys, phone items)
    get them, so that lists by tier or status and search by phone find them. Idempotent; not scheduled
    (run it by hand: the scheduler function with {"job": "backfill_search_keys"}). Fans out over segments
    of a parallel Scan, like reconcile."""
    return fan_out("backfill_search_keys", now)


def _backfill_page(unit: str, cursor: Any, now: datetime, until: float) -> tuple[dict[str, int], Any, None]:
    segment, total = (int(part) for part in unit.split("/"))
    seen, backfilled, last = members.backfill_search_keys(
        segment, total, cursor, stop=lambda seen: seen >= MAINTENANCE_PAGE or time.monotonic() >= until)
    return {"members": seen, "backfilled": backfilled}, last, None


def backfill_catalog(now: datetime | None = None) -> dict[str, Any]:
    """Once, after an upgrade: rewards saved before the catalog had its own partitions get their catalog
    entries (pages read those only). Idempotent; not scheduled (the scheduler function with
    {"job": "backfill_catalog"})."""
    return {"rewards": catalog.backfill_catalog()}


def reconcile(now: datetime | None = None) -> dict[str, Any]:
    """Every invariant checked from the ledger: fans out over segments of a parallel Scan, each page's totals
    kept as a partial result, merged once every segment is done (services/reconcile.py)."""
    return fan_out("reconcile", now)


def _reconcile_page(unit: str, cursor: Any, now: datetime, until: float) -> tuple[dict[str, int], Any, Any]:
    if unit.startswith("verify:"):
        # A recent day's checkpoint: one shard's entries hashed again, a group at a time.
        found, next_cursor, checked = ledger_checkpoints.verify_page(unit, cursor, until)
        return {"checkpointed_entries": checked}, next_cursor, checks.checkpoint_partial(found, checked, now)
    segment, total = (int(part) for part in unit.split("/"))
    return checks.reconcile_page(segment, total, cursor, now=now, until=until)


def ledger_checkpoint(now: datetime | None = None) -> dict[str, Any]:
    """The next closed day's checkpoint (services/checkpoints.py): fans out over the ledger's shards; hourly,
    so that days missed catch up one an hour. Nothing to do before the next day has closed."""
    now = now or utc_now()
    if ledger_checkpoints.next_day(now) is None:
        return {"checkpointed": None}
    return fan_out("ledger_checkpoint", now)


JOBS = {"daily_snapshot": daily_snapshot, "member_maintenance": member_maintenance, "reconcile": reconcile,
        "backfill_search_keys": backfill_search_keys, "backfill_catalog": backfill_catalog,
        "ledger_checkpoint": ledger_checkpoint}


def run(name: str, now: datetime | None = None) -> dict[str, Any]:
    return JOBS[name](now)


# --- jobs that fan out --------------------------------------------------------------------------------
#
# A coordinator (the scheduled invocation) records a run and sends the first page of each of its units to
# the job queue; workers take pages (store.jobs: a page is claimed with a lease, done once, and records
# where the next page starts, which its worker sends on), each within its own time budget; the last unit
# to finish sends the merge. A killed worker's page comes back with its message and is taken up once its
# lease is over; a schedule delivered twice finds its run and starts nothing new. Without a job queue
# (the tests, `loyalty-local`), the same pages run one after the other in the calling process.

# Members a page of member maintenance visits (tens of milliseconds each on AWS: a page is seconds), and how
# many of them it visits at once.
MAINTENANCE_PAGE = 200
MAINTENANCE_AT_ONCE = 4
# A page stops early past this much of its worker's time (the rest is left for the next page's message).
PAGE_SECONDS = 60.0
LEASE_SECONDS = 180.0
# Items per Scan segment (a segment's pages are read one after the other, carrying its running totals): a
# segment is about 20 minutes of one worker (0.3 ms an item, BENCHMARKS.md, "Jobs"), and segments run side
# by side, so a run takes that long whatever the table's size while the workers suffice; at least
# MIN_SEGMENTS, at most MAX_SEGMENTS (the merge reads one result per segment).
ITEMS_PER_SEGMENT = 4_000_000
MIN_SEGMENTS = 4
MAX_SEGMENTS = 1_000


@dataclass(frozen=True)
class FannedJob:
    """A job that fans out: how a run is named and cut, how a page is done, how the pages' results are merged,
    and by when a run must be complete."""

    name: str
    run_id: Callable[[datetime, ProgramConfig], str]
    # The run's units, from its id (a slot, or `<slot>#<n>` for a later run of it).
    units: Callable[[str], list[str]]
    page: Callable[[str, Any, datetime, float], tuple[dict[str, int], Any, Any]]
    # The run's report from every page's counts and every unit's result.
    merge: Callable[[Iterable[dict[str, Any]], Iterable[Any], datetime], dict[str, Any]]
    deadline: timedelta
    # How a page's partial result joins its unit's running result (None: pages have counts only).
    carry: Callable[[Any, Any], Any] | None = None


def _due_shards(_run_id: str) -> list[str]:
    return [members.due_shard_key(shard) for shard in range(members.DUE_SHARDS)]


def _segments(_run_id: str = "") -> list[str]:
    total = max(MIN_SEGMENTS, min(MAX_SEGMENTS, -(-item_count(table_name()) // ITEMS_PER_SEGMENT)))
    return [f"{segment}/{total}" for segment in range(total)]


def _reconcile_units(run_id: str) -> list[str]:
    """The table's Scan segments, and the recent checkpointed days' shards to hash again."""
    return _segments() + ledger_checkpoints.verify_units(date.fromisoformat(run_id.split("#")[0]))


def _sum_counts(pages: Iterable[dict[str, Any]], _results: Iterable[Any], _now: datetime) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for page in pages:
        for name, value in page.items():
            counts[name] = counts.get(name, 0) + int(value)
    return counts


def _merge_reconcile(_pages: Iterable[dict[str, Any]], results: Iterable[Any], now: datetime) -> dict[str, Any]:
    return checks.merge(results, now)


FANNED: dict[str, FannedJob] = {
    # Hourly: one run per hour (a second delivery of the same hour's schedule finds it); done within the hour.
    "member_maintenance": FannedJob("member_maintenance", lambda now, config: now.strftime("%Y-%m-%dT%H"),
                                    _due_shards, _maintenance_page, _sum_counts, timedelta(minutes=55)),
    # Daily: one run per day of the program; its report by the next morning.
    "reconcile": FannedJob("reconcile", lambda now, config: local_day(now, config.zone).isoformat(), _reconcile_units,
                           _reconcile_page, _merge_reconcile, timedelta(hours=4), checks.combine),
    # Hourly: the next closed day's checkpoint (a run per day: the day is its slot).
    "ledger_checkpoint": FannedJob("ledger_checkpoint", lambda now, config: ledger_checkpoints.next_day(now) or "",
                                   lambda run_id: ledger_checkpoints.units(run_id.split("#")[0]),
                                   ledger_checkpoints.build_page, ledger_checkpoints.merge, timedelta(hours=12),
                                   ledger_checkpoints.carry),
    "backfill_search_keys": FannedJob("backfill_search_keys", lambda now, config: now.strftime("%Y-%m-%dT%H%M%S"),
                                      _segments, _backfill_page, _sum_counts, timedelta(hours=6)),
}


def fan_out(name: str, now: datetime | None = None) -> dict[str, Any]:
    """Start a run of a job that fans out. With a job queue: its units' first pages are sent and the run's
    name is returned at once (its report is on the run once merged). Without: every page runs here, and the
    merged report is returned."""
    job, now = FANNED[name], now or utc_now()
    config = config_of(snapshot_store.read_snapshot().program)
    # A run per slot (the hour, the day): a second delivery of the same schedule while its run goes on joins
    # it (its pages are claimed once); asked again once that run is complete, it is a new run of the slot.
    slot = job.run_id(now, config)
    run_id, existing = slot, job_store.get_run(name, slot)
    for again in range(2, 1000):
        if existing is None or existing.status != "complete":
            break
        run_id = f"{slot}#{again}"
        existing = job_store.get_run(name, run_id)
    run = existing or job_store.start_run(name, run_id, units=job.units(run_id), started_at=iso_utc(now),
                                          deadline=iso_utc(now + job.deadline))
    overdue = [f"{item.job} {item.run_id}" for item in job_store.overdue_runs(iso_utc(now))]
    if overdue:
        count("JobRunsOverdue", value=len(overdue))
        logger.error("job runs past their deadline", extra={"runs": overdue})
    queue = settings().job_queue_url
    if queue:
        work_queue.send([{"step": "job_page", "job": name, "run_id": run_id, "unit": unit, "page": 0,
                          "cursor": None, "now": iso_utc(now)} for unit in run.units], queue)
        return {"run_id": run_id, "status": "running", "units": len(run.units)}
    # No queue: every unit's pages one after the other in this process (nothing runs beside them, so the
    # pages need no claims), then the merge, recorded on the run as a queue's would be.
    pages: list[dict[str, Any]] = []
    results: list[Any] = []
    for unit in run.units:
        cursor, running = None, None
        while True:
            counts, cursor, result = job.page(unit, cursor, now, time.monotonic() + PAGE_SECONDS)
            pages.append(counts)
            running = job.carry(running, result) if job.carry is not None else None
            if cursor is None:
                break
        if running is not None:
            results.append(running)
    report = job.merge(pages, results, now)
    _record(name, run_id, report)
    return report


def work_page(message: dict[str, Any], until: float) -> dict[str, Any] | None:
    """One page of a run (a job queue message). Returns the next page's message (None when its unit is done),
    which a worker sends on; finishing a run's last unit merges the run."""
    name, run_id, unit, page = str(message["job"]), str(message["run_id"]), str(message["unit"]), int(message["page"])
    job = FANNED[name]
    moment = parse_utc(str(message["now"]))
    state, found = job_store.claim_page(name, run_id, unit, page, message.get("cursor"), now=time.time(),
                                        lease_seconds=LEASE_SECONDS)
    if state == "busy":
        return None  # another worker holds it; if it dies, its message comes back after the lease
    if state == "done":
        assert found is not None
        next_cursor = found.next_cursor
        if next_cursor is None:
            # The last page was done, but what followed may not have been (the worker stopped): again.
            finished = job_store.unit_finished(name, run_id, unit)
            run = job_store.get_run(name, run_id)
            if run is not None and run.status == "running" and finished >= len(run.units):
                merge_run(name, run_id, moment)
    else:
        counts, next_cursor, result = job.page(unit, message.get("cursor"), moment, until)
        if job.carry is not None:
            # The unit's running result: the previous page's (done, so it is there) and this page's.
            before = job_store.unit_result(name, run_id, unit, page - 1) if page else None
            result = job.carry(before, result)
        units_finished = job_store.finish_page(name, run_id, unit, page, counts=counts, next_cursor=next_cursor,
                                               result=result)
        run = job_store.get_run(name, run_id)
        if units_finished is not None and run is not None and units_finished >= len(run.units):
            merge_run(name, run_id, moment)
    if next_cursor is None:
        return None
    return {**message, "page": page + 1, "cursor": next_cursor}


def merge_run(name: str, run_id: str, now: datetime) -> dict[str, Any]:
    """The run's pages merged into its report, once (a merge done twice writes the first one's report)."""
    report = FANNED[name].merge((page.counts or {} for page in job_store.pages(name, run_id)),
                                job_store.results(name, run_id), now)
    _record(name, run_id, report)
    return report


def _record(name: str, run_id: str, report: dict[str, Any]) -> None:
    if not job_store.complete_run(name, run_id, report, iso_utc(utc_now())):
        return  # merged before (a retried merge): its metrics were counted then
    if name == "reconcile":
        if report.get("discrepancy_count"):
            logger.error("reconciliation found discrepancies", extra={"discrepancies": report["discrepancies"][:20]})
        # The ReconciliationDiscrepancies alarm watches this; ReconciliationMissing, that it ran at all.
        count("ReconciliationDiscrepancies", value=int(report.get("discrepancy_count", 0)))
        count("ReconciliationRuns", value=1)
    count("JobRunsCompleted", value=1)
