"""What-if jobs: the job item, and the ledger scanned from where a step stopped. The use cases hold a plain
`WhatIfJob`; the item is this module's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from loyalty.store.audit import AuditRecord, create_audited
from loyalty.store.base import Item, TableMeta, record_of, table_name
from loyalty.store.db import Key, batch_get, connection, load, raise_if_transient
from loyalty.store.idempotency import IdempotencyRecord


class WhatIfItem(Item):
    """WHATIF#<id> / JOB: a what-if replay: the proposed config, the period, and where the job has got to
    (the scan's next key and the totals so far, moved on by one step at a time)."""

    class Meta(TableMeta):
        pass

    job_id = UnicodeAttribute()
    status = UnicodeAttribute()  # running, completed, failed
    config = UnicodeAttribute()
    from_day = UnicodeAttribute()
    to_day = UnicodeAttribute()
    created_at = UnicodeAttribute()
    actor = UnicodeAttribute()
    step = NumberAttribute(default=0)
    cursor = JSONAttribute(null=True)
    totals = JSONAttribute(null=True)
    report = JSONAttribute(null=True)
    expires = TTLAttribute(null=True)



JOB_TTL = timedelta(days=30)
SCAN_PAGE = 200  # items a scan page holds: with one member's ledger, what a step keeps in memory


@dataclass
class WhatIfJob:
    """A what-if replay: the proposed config (JSON), the period, and where the job has got to."""

    job_id: str
    status: str  # running, completed, failed
    config: str
    from_day: str
    to_day: str
    created_at: str
    actor: str
    step: int = 0
    cursor: dict[str, Any] | None = None
    totals: dict[str, Any] | None = field(default_factory=dict)
    report: dict[str, Any] | None = None
    expires: datetime | timedelta | None = None




def job_key(job_id: str) -> Key:
    return f"WHATIF#{job_id}", "JOB"


def create_job(job: WhatIfJob, audit: AuditRecord, idempotency: IdempotencyRecord | None) -> None:
    create_audited("job", WhatIfItem(*job_key(job.job_id), **dataclasses.asdict(job)), audit, idempotency)


def get_job(job_id: str) -> WhatIfJob | None:
    key = job_key(job_id)
    item = load(WhatIfItem, batch_get([key]).get(key))
    return None if item is None else record_of(WhatIfJob, item)


def advance(job: WhatIfJob, *, step: int, cursor: dict[str, Any] | None, totals: dict[str, Any],
            report: dict[str, Any] | None) -> bool:
    """Moves the job from `step` to the next (False when a redelivered step finds it moved on already)."""
    actions: list[Any] = [WhatIfItem.step.set(step + 1), WhatIfItem.totals.set(totals),
               WhatIfItem.cursor.set(cursor) if cursor else WhatIfItem.cursor.remove()]
    if report is not None:
        actions += [WhatIfItem.report.set(report), WhatIfItem.status.set("completed")]
    try:
        WhatIfItem(*job_key(job.job_id)).update(actions=actions, condition=WhatIfItem.step == step)
    except PynamoDBException as exc:
        if "ConditionalCheckFailed" in str(exc):
            return False
        raise_if_transient(exc)
        raise
    return True


def fail(job: WhatIfJob, error: str) -> None:
    WhatIfItem(*job_key(job.job_id)).update(actions=[WhatIfItem.status.set("failed"),
                                                     WhatIfItem.report.set({"error": error})])


def member_items(start: dict[str, Any] | None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Members' items (profile, ledger) from the scan position `start` on: (raw item, its key), page by page."""
    request: dict[str, Any] = {"TableName": table_name(), "Limit": SCAN_PAGE,
                               "FilterExpression": "begins_with(pk, :member)",
                               "ExpressionAttributeValues": {":member": {"S": "MEMBER#"}}}
    while True:
        page = {**request, "ExclusiveStartKey": start} if start else request
        try:
            response = connection().dispatch("Scan", page)
        except PynamoDBException as exc:
            raise_if_transient(exc)
            raise
        for item in response.get("Items", []):
            yield item, {"pk": item["pk"], "sk": item["sk"]}
        start = response.get("LastEvaluatedKey")
        if not start:
            return
