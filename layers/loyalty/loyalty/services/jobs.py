"""Scheduled jobs (EventBridge schedules; the local stack runs them too). Each is idempotent: running
it twice for the same day changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from loyalty.domain import tiers
from loyalty.domain.clock import local_day, utc_now
from loyalty.services.awards import MemberChange
from loyalty.services.program import config_of
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


def review_tier(member_id: str, now: datetime) -> str | None:
    """Downgrade one member whose retention has passed and whose window no longer qualifies; otherwise
    move its review to the next day that matters. Returns the new tier, if any."""
    outcome: dict[str, str | None] = {"tier": None}

    def read() -> Snapshot:
        return repository.read_snapshot(member_id=member_id)

    def plan(snapshot: Snapshot) -> Plan:
        member = snapshot.member
        config = config_of(snapshot.program)

        def nothing(_: IdempotencyItem | None) -> None:
            return None

        if member is None:
            return Plan(200, {}, nothing)
        today = local_day(now, config.zone)
        due = (member.gsi2sk or "").split("#", 1)[0]
        if not due or due > today.isoformat():
            return Plan(200, {}, nothing)  # reviewed meanwhile, or not due
        change = MemberChange(member, config, now)
        since = local_day(datetime.fromisoformat(member.tier_since.replace("Z", "+00:00")), config.zone)
        buckets = member.qualifying_days or {}
        qualifying = tiers.qualifying_points(buckets, today, config.tier_window_days)
        lower = tiers.downgrade(config, member.tier, since, today, qualifying)
        if lower is not None:
            change.change_tier(lower, qualifying, "retention_ended")
            outcome["tier"] = lower
        else:
            review = tiers.review_day(config, member.tier, since, today, buckets)
            repository.schedule_tier_review(member, review.isoformat() if review else None)
        entries = change.finish()

        def commit(_: IdempotencyItem | None) -> None:
            repository.commit_points_change(PointsChange(member, entries))

        return Plan(200, {}, commit)

    execute(None, read, plan)
    return outcome["tier"]


def tier_review(now: datetime | None = None) -> dict[str, Any]:
    now = now or utc_now()
    config = config_of(repository.read_snapshot().program)
    today = local_day(now, config.zone)
    due = repository.members_due_for_tier_review(today.isoformat())
    downgraded = sum(1 for member_id in due if review_tier(member_id, now) is not None)
    return {"reviewed": len(due), "downgraded": downgraded}


JOBS = {"daily_snapshot": daily_snapshot, "tier_review": tier_review}


def run(name: str, now: datetime | None = None) -> dict[str, Any]:
    return JOBS[name](now)

