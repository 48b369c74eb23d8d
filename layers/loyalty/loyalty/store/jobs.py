"""Runs of the jobs that fan out (services/jobs.py): the run, its pages of work, their results. The use case
gets a run and its pages as plain records (JobRun, JobPage).

  JOBRUN#<job>#<run> / RUN                 one run: its units, deadline, status and, once merged, its report
  JOBRUN#<job>#<run> / PAGE#<unit>#<nnnnnn>  one page of a unit: who holds it (a lease) and what it did
  JOBRUN#<job>#<run> / RESULT#<unit>#<nnnnnn>#<p> a unit's running result through that page, deflated and
                                           cut in parts under the item limit (reconcile's totals)

A page is claimed with a conditional write (new, or its holder's lease ran out), so two workers never work
one page at once, a page done is never done again, and a killed worker's page is taken up by the retry of
its message once the lease is over. A unit's pages follow each other (each records where the next starts),
so a unit is resumable from its last page. A run is complete when every unit has finished its last page.
One run's items share a partition key; a run writes a few of them a second (a page is hundreds of members
or thousands of items), far below a partition's limit. Every item of a run lapses `KEPT` (30 days) after it was written
(DynamoDB's TTL): a 30-million-member program's runs write about 40,000 pages a day.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import PynamoDBException

from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import batch_get, error_code, load, raise_if_transient
from loyalty.store.members import MemberItem


def run_key(job: str, run_id: str) -> str:
    return f"JOBRUN#{job}#{run_id}"


def page_key(unit: str, page: int) -> str:
    return f"PAGE#{unit}#{page:06d}"


def result_key(unit: str, page: int) -> str:
    return f"RESULT#{unit}#{page:06d}"


class JobRunItem(Item):
    class Meta(TableMeta):
        pass

    job = UnicodeAttribute()
    run_id = UnicodeAttribute()
    started_at = UnicodeAttribute()
    deadline = UnicodeAttribute()  # RFC 3339: a run not complete by then is overdue (an alarm)
    units = JSONAttribute()  # the units' names, in order
    finished = UnicodeSetAttribute(null=True)  # units whose last page is done
    status = UnicodeAttribute()  # running, complete
    completed_at = UnicodeAttribute(null=True)
    report = JSONAttribute(null=True)  # the merged result
    gsi2pk = UnicodeAttribute(null=True)  # JOBRUNS while running: the watchdog finds runs past their deadline
    gsi2sk = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


class JobPageItem(Item):
    class Meta(TableMeta):
        pass

    status = UnicodeAttribute()  # running, done
    lease_until = NumberAttribute(null=True)  # epoch seconds: past it, another worker may take the page
    cursor = JSONAttribute(null=True)  # where the page starts
    next_cursor = JSONAttribute(null=True)  # where the next page starts (null: the unit's last page)
    counts = JSONAttribute(null=True)
    expires = TTLAttribute(null=True)


class JobResultItem(Item):
    class Meta(TableMeta):
        pass

    data = BinaryAttribute(legacy_encoding=False)
    parts = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)


@dataclass(frozen=True)
class JobRun:
    """A run of a job, as read."""

    job: str
    run_id: str
    started_at: str
    deadline: str
    units: list[str]
    status: str  # running, complete
    completed_at: str | None = None
    report: dict[str, Any] | None = None


@dataclass(frozen=True)
class JobPage:
    """A page of a run's unit, as read: its status and, once done, what it counted and where the next starts."""

    unit: str
    page: int
    status: str  # running, done
    counts: dict[str, Any] | None = None
    next_cursor: Any = None


def _run_of(item: JobRunItem | None) -> JobRun | None:
    return None if item is None else record_of(JobRun, item)


def _page_of(item: JobPageItem) -> JobPage:
    unit, number = str(item.sk).removeprefix("PAGE#").rsplit("#", 1)
    return record_of(JobPage, item, unit=unit, page=int(number))


RUNNING_INDEX_KEY = "JOBRUNS"
# A result item stays well under DynamoDB's 400 KB item limit.
MAX_RESULT_BYTES = 350_000
# How long a run's items are kept (its report is read from its RUN item until then).
KEPT = timedelta(days=30)


def start_run(job: str, run_id: str, *, units: list[str], started_at: str, deadline: str) -> JobRun:
    """The run (created once: a second delivery of the schedule finds it)."""
    item = JobRunItem(run_key(job, run_id), "RUN", job=job, run_id=run_id, started_at=started_at, deadline=deadline,
                      units=units, status="running", gsi2pk=RUNNING_INDEX_KEY, gsi2sk=f"{deadline}#{job}#{run_id}",
                      expires=KEPT)
    try:
        item.save(condition=JobRunItem.pk.does_not_exist())
        return record_of(JobRun, item)
    except PynamoDBException as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise_if_transient(exc)
            raise
    found = get_run(job, run_id)
    assert found is not None
    return found


def get_run(job: str, run_id: str) -> JobRun | None:
    key = (run_key(job, run_id), "RUN")
    return _run_of(load(JobRunItem, batch_get([key]).get(key)))


def claim_page(job: str, run_id: str, unit: str, page: int, cursor: Any, *, now: float,
               lease_seconds: float) -> tuple[str, JobPage | None]:
    """("claimed", page) for this worker; ("done", page) when it was done before; ("busy", None) while another
    worker's lease on it lasts."""
    item = JobPageItem(run_key(job, run_id), page_key(unit, page), status="running", lease_until=now + lease_seconds,
                       cursor=cursor, expires=KEPT)
    try:
        item.save(condition=JobPageItem.pk.does_not_exist() | ((JobPageItem.status == "running")
                                                               & (JobPageItem.lease_until < now)))
        return "claimed", _page_of(item)
    except PynamoDBException as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise_if_transient(exc)
            raise
    key = (run_key(job, run_id), page_key(unit, page))
    found = load(JobPageItem, batch_get([key]).get(key))
    if found is None:
        return "busy", None
    return ("done", _page_of(found)) if found.status == "done" else ("busy", None)


def finish_page(job: str, run_id: str, unit: str, page: int, *, counts: dict[str, Any], next_cursor: Any,
                result: Any = None) -> int | None:
    """The page done (its unit's running result through it first, so that a page marked done always has it;
    the previous page's result is then dropped). When it was its unit's last page: the unit is added to the
    run's finished units; returns how many are."""
    key = run_key(job, run_id)
    if result is not None:
        _save_result(key, unit, page, result)
    _save(JobPageItem(key, page_key(unit, page), status="done", counts=counts, next_cursor=next_cursor,
                      expires=KEPT))
    if result is not None and page > 0:
        _drop_result(key, unit, page - 1)
    if next_cursor is not None:
        return None
    return unit_finished(job, run_id, unit)


def unit_finished(job: str, run_id: str, unit: str) -> int:
    """The unit among the run's finished ones (once, however often); returns how many are."""
    run = JobRunItem(run_key(job, run_id), "RUN", job=job, run_id=run_id, started_at="", deadline="", units=[],
                     status="")
    try:
        run.update(actions=[JobRunItem.finished.add({unit})], condition=JobRunItem.pk.exists())
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return len(run.finished or ())


def _save_result(key: str, unit: str, page: int, result: Any) -> None:
    data = zlib.compress(json.dumps(result, separators=(",", ":")).encode(), 6)
    parts = [data[start:start + MAX_RESULT_BYTES] for start in range(0, len(data), MAX_RESULT_BYTES)] or [b""]
    for index, part in enumerate(parts):
        _save(JobResultItem(key, f"{result_key(unit, page)}#{index:03d}", data=part, parts=len(parts),
                            expires=KEPT))


def _drop_result(key: str, unit: str, page: int) -> None:
    try:
        for item in JobResultItem.query(key, JobResultItem.sk.startswith(f"{result_key(unit, page)}#")):
            item.delete()
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def unit_result(job: str, run_id: str, unit: str, page: int) -> Any:
    """A unit's running result through `page` (None when it has none)."""
    try:
        parts = list(JobResultItem.query(run_key(job, run_id), JobResultItem.sk.startswith(
            f"{result_key(unit, page)}#")))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    if not parts or len(parts) != int(parts[0].parts or 1):
        return None
    return json.loads(zlib.decompress(b"".join(part.data for part in parts)))


def complete_run(job: str, run_id: str, report: dict[str, Any], completed_at: str) -> bool:
    """The merged report on the run, once (False: another merge got there first)."""
    run = JobRunItem(run_key(job, run_id), "RUN", job=job, run_id=run_id, started_at="", deadline="", units=[],
                     status="")
    try:
        run.update(actions=[JobRunItem.status.set("complete"), JobRunItem.report.set(report),
                            JobRunItem.completed_at.set(completed_at), JobRunItem.gsi2pk.remove(),
                            JobRunItem.gsi2sk.remove()], condition=JobRunItem.status == "running")
        return True
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise_if_transient(exc)
        raise


def pages(job: str, run_id: str) -> Iterator[JobPage]:
    try:
        yield from map(_page_of, JobPageItem.query(run_key(job, run_id), JobPageItem.sk.startswith("PAGE#")))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def results(job: str, run_id: str) -> Iterator[Any]:
    """Each unit's result (its last page's running result), one unit at a time."""
    for page in pages(job, run_id):
        if page.status == "done" and page.next_cursor is None:
            found = unit_result(job, run_id, page.unit, page.page)
            if found is not None:
                yield found


def overdue_runs(now: str) -> list[JobRun]:
    """Runs still running past their deadline (a sparse index of running runs, by deadline)."""
    try:
        keys = list(MemberItem.schedule.query(RUNNING_INDEX_KEY, MemberItem.gsi2sk < now))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    found = []
    for key in keys:
        job, run_id = str(key.gsi2sk).split("#", 1)[1].split("#", 1)
        run = get_run(job, run_id)
        if run is not None and run.status == "running":
            found.append(run)
    return found


def _save(item: Any) -> None:
    try:
        item.save()
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
