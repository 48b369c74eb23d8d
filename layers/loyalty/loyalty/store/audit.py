"""The audit log of admin writes: AUDIT / <ulid>, oldest first, written in the transaction of the
change it records (staff writes only: one partition's 1,000 writes/s is far above what staff do). The use
cases hold a plain `AuditRecord`; the item is this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.models import Model

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import BadRequest
from loyalty.domain.ids import new_ulid
from loyalty.store import db
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import Txn, decode_cursor, query_page
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency


class AuditItem(Item):
    """One admin write, recorded in the transaction of the write itself."""

    class Meta(TableMeta):
        pass

    audit_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    details = JSONAttribute(default=dict)


AUDIT_PK = "AUDIT"


def audit_key(audit_id: str) -> tuple[str, str]:
    return AUDIT_PK, audit_id


@dataclass
class AuditRecord:
    """One admin write: who, what, on what, when."""

    audit_id: str
    at: str
    actor: str
    action: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)


def new_audit(actor: str, action: str, target: str, details: dict[str, Any] | None = None) -> AuditRecord:
    """An audit record of an admin write, for the transaction of that write (who, what, on what)."""
    return AuditRecord(new_ulid(), iso_utc(utc_now()), actor, action, target, details or {})


def add_audit(txn: Txn, audit: AuditRecord | None) -> None:
    if audit is not None:
        txn.put("audit", AuditItem(*audit_key(audit.audit_id), audit_id=audit.audit_id, at=audit.at,
                                   actor=audit.actor, action=audit.action, target=audit.target,
                                   details=audit.details), AuditItem.pk.does_not_exist())


def create_audited(label: str, item: Model, audit: AuditRecord | None, idempotency: IdempotencyRecord | None) -> None:
    """A new item of an admin write (an import, a what-if job, a segment...), its audit record and the
    idempotency record of its request, in one transaction. Raises ConditionFailed: `label` (the id is
    taken), idempotency."""
    txn = Txn()
    txn.put(label, item, type(item).pk.does_not_exist())  # type: ignore[attr-defined]
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


def list_audit(*, limit: int, cursor: str | None) -> tuple[list[AuditRecord], str | None]:
    """A page of the audit log, oldest first."""
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != AUDIT_PK:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    items, next_cursor = query_page(AuditItem, AUDIT_PK, None, limit, start, forward=True)
    return [AuditRecord(str(item.audit_id), str(item.at), str(item.actor), str(item.action), str(item.target),
                        dict(item.details or {})) for item in items], next_cursor
