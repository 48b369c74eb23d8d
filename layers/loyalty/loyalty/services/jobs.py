"""Scheduled jobs (EventBridge schedules; the local stack runs them too). Each is idempotent: running
it twice for the same day changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from loyalty.domain.clock import local_day, utc_now
from loyalty.services.awards import MemberChange
from loyalty.services.program import config_of
from loyalty.services.reconcile import reconcile
from loyalty.services.writes import Plan, execute
from loyalty.store import aggregates, repository
from loyalty.store.models import IdempotencyItem
from loyalty.store.repository import PointsChange, Snapshot


def daily_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """Cumulative member and tier counts for every finished day that has no snapshot yet."""
    now = now or utc_now()
    config = config_of(repository.read_snapshot().program)
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
        return repository.read_snapshot(member_id=member_id)

    def plan(snapshot: Snapshot) -> Plan:
        member = snapshot.member

        def nothing(_: IdempotencyItem | None) -> None:
            return None

        if member is None:
            return Plan(200, {}, nothing)
        config = config_of(snapshot.program)
        change = MemberChange(member, config, now)
        due = (member.gsi2sk or "").split("#", 1)[0]
        if not due or due > change.today.isoformat():
            return Plan(200, {}, nothing)  # visited meanwhile, or not due yet
        closed_holds = change.fold_expired_holds()
        change.release_due()
        change.expire_due()
        change.notify_expiring()
        change.expire_membership()
        change.birthday()
        change.review_tier()
        entries = change.finish()

        def commit(_: IdempotencyItem | None) -> None:
            repository.commit_points_change(PointsChange(member, entries, closed_holds=closed_holds))
            written[:] = [str(entry.type) for entry in entries]

        return Plan(200, {}, commit)

    execute(None, read, plan)
    return written


def member_maintenance(now: datetime | None = None) -> dict[str, Any]:
    now = now or utc_now()
    config = config_of(repository.read_snapshot().program)
    today = local_day(now, config.zone)
    due = repository.members_due(today.isoformat())
    counts: dict[str, int] = {"visited": len(due)}
    for member_id in due:
        for kind in maintain_member(member_id, now):
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def backfill_search_keys(now: datetime | None = None) -> dict[str, Any]:
    """Once, after an upgrade: members enrolled before the back office's search (roster keys, phone items)
    get them, so that lists by tier or status and search by phone find them. Idempotent; not scheduled
    (run it by hand: the scheduler function with {"job": "backfill_search_keys"})."""
    counts = {"members": 0, "backfilled": 0}
    for member in repository.members_without_search_keys():
        counts["members"] += 1
        counts["backfilled"] += int(repository.add_search_keys(member))
    return counts


def backfill_catalog(now: datetime | None = None) -> dict[str, Any]:
    """Once, after an upgrade: rewards saved before the catalog had its own partitions get their catalog
    entries (pages read those only). Idempotent; not scheduled (the scheduler function with
    {"job": "backfill_catalog"})."""
    return {"rewards": repository.backfill_catalog(repository.rewards_on_the_old_index())}


JOBS = {"daily_snapshot": daily_snapshot, "member_maintenance": member_maintenance, "reconcile": reconcile,
        "backfill_search_keys": backfill_search_keys, "backfill_catalog": backfill_catalog}


def run(name: str, now: datetime | None = None) -> dict[str, Any]:
    return JOBS[name](now)
