"""Bulk imports: the import item, the results of its units of work, and the staged transaction rows.

Sizes and keys (see BENCHMARKS.md "Scale"): the import item is written once per chunk at most (the
staged set: a number per chunk, 2,000 chunks of a million-row file are under 10 KB); each unit of work
writes its own result item; staged rows live under one key per member and are listed through
IMPORT_SHARDS keys per import, so a million-row file spreads its writes over as many partitions as it
has members.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import size

from loyalty.store.audit import AuditRecord, create_audited
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import batch_get, error_code, load, raise_if_transient
from loyalty.store.idempotency import IdempotencyRecord
from loyalty.store.ledger import OrderItem, order_key
from loyalty.store.members import MemberItem, member_key


class ImportItem(Item):
    """IMPORT#<id> / IMPORT: one bulk import."""

    class Meta(TableMeta):
        pass

    import_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    format = UnicodeAttribute()
    status = UnicodeAttribute()  # awaiting_upload, processing, failed (completed is read from the results)
    created_at = UnicodeAttribute()
    actor = UnicodeAttribute()
    rows = NumberAttribute(null=True)
    chunks = NumberAttribute(null=True)
    # Transactions: the chunks whose rows are staged (a set: a chunk processed twice counts once).
    staged = NumberSetAttribute(null=True)
    # Why a file could not be read at all (status failed), or why its split gave up (status unchanged)
    error = JSONAttribute(null=True)
    # The one upload this import takes (its S3 version, or its ETag where the bucket keeps no versions).
    upload = UnicodeAttribute(null=True)
    # Later uploads to the same URL, by version: imported not at all, listed as upload_ignored errors.
    ignored_uploads = UnicodeSetAttribute(null=True)


class ImportResultItem(Item):
    """IMPORT#<id> / CHUNK#<n> or APPLY#<shard>#<page>: what one unit of work did, written whole when it
    ends (a unit done again writes the same counts: rows it recorded before count as its own)."""

    class Meta(TableMeta):
        pass

    imported = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    errors = JSONAttribute(default=list)  # [{line, code, detail}], at most MAX_ERRORS
    last = NumberAttribute(null=True)  # APPLY: 1 on a shard's last page
    # 1: the unit failed on its last try and went to the dead-letter queue (not done; its error says so).
    # Done again after a redrive, it writes its result over this one.
    gave_up = NumberAttribute(null=True)


class StagedRowItem(Item):
    """IMPORTROWS#<import>#<member> / <occurred_at>#<order_id>: a transaction row waiting for its turn."""

    class Meta(TableMeta):
        pass

    line = NumberAttribute()
    row = JSONAttribute()
    expires = TTLAttribute(null=True)


class ImportShardItem(Item):
    """IMPORTSHARD#<import>#<ss> / <member>: a member with staged rows."""

    class Meta(TableMeta):
        pass

    expires = TTLAttribute(null=True)


@dataclass
class ImportJob:
    """One bulk import as the use cases see it (the item is this module's)."""

    import_id: str
    kind: str
    format: str
    status: str  # awaiting_upload, processing, failed (completed is read from the results)
    created_at: str
    actor: str
    rows: int | None = None
    chunks: int | None = None
    staged: set[int] | None = None
    error: dict[str, Any] | None = None
    upload: str | None = None
    ignored_uploads: set[str] | None = None


@dataclass(frozen=True)
class ImportResult:
    """What one unit of work did (`sort_key`: CHUNK#<n>, APPLY#<shard>#<page> or SPLIT)."""

    sort_key: str
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    last: int | None = None
    gave_up: int | None = None


@dataclass(frozen=True)
class StagedRow:
    line: int
    row: dict[str, Any]




def _job_of(item: ImportItem | None) -> ImportJob | None:
    return None if item is None else record_of(ImportJob, item)


def import_key(import_id: str) -> tuple[str, str]:
    return f"IMPORT#{import_id}", "IMPORT"



# Members with staged rows are listed under this many keys per import: the apply phase runs one worker
# per key at a time, so this is also how many members are applied in parallel.
IMPORT_SHARDS = 16
STAGED_TTL = timedelta(days=14)


def import_shard(member_id: str) -> int:
    return zlib.crc32(member_id.encode()) % IMPORT_SHARDS


# The result of the split itself: the lines it found too long to read.
SPLIT_RESULT = "SPLIT"


def chunk_result_key(chunk: int) -> str:
    return f"CHUNK#{chunk:06d}"


def apply_result_key(shard: int, page: int) -> str:
    return f"APPLY#{shard:02d}#{page:06d}"


def new_import(import_id: str, **attributes: Any) -> ImportJob:
    return ImportJob(import_id=import_id, **attributes)


def _item_key_only(import_id: str) -> ImportItem:
    return ImportItem(*import_key(import_id), import_id=import_id, kind="", format="", status="", created_at="",
                      actor="")


def create_import(job: ImportJob, audit: AuditRecord, idempotency: IdempotencyRecord | None) -> None:
    """The import, its audit record and the idempotency record of its request, in one transaction."""
    create_audited("import", ImportItem(*import_key(job.import_id), **dataclasses.asdict(job)), audit, idempotency)


def get_import(import_id: str) -> ImportJob | None:
    key = import_key(import_id)
    return _job_of(load(ImportItem, batch_get([key]).get(key)))


# Later uploads to an import's URL listed on it (more are ignored without a word: the URL lasts an hour).
MAX_IGNORED_UPLOADS = 20


def accept_upload(job: ImportJob, upload: str) -> bool:
    """Records `upload` (a version of the file) as the one this import takes: True if it is (now, or
    already, as a redelivered notification finds it), False if another upload was taken first."""
    try:
        _item_key_only(job.import_id).update(
            actions=[ImportItem.upload.set(upload)],
            condition=ImportItem.upload.does_not_exist() | (ImportItem.upload == upload))
        job.upload = upload
        return True
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise_if_transient(exc)
        raise


def note_ignored_upload(import_id: str, upload: str) -> None:
    """A later upload to the import's URL: listed on the import (once however often S3 tells of it)."""
    item = _item_key_only(import_id)
    try:
        item.update(actions=[ImportItem.ignored_uploads.add({upload})],
                    condition=ImportItem.pk.exists() & (ImportItem.ignored_uploads.does_not_exist()
                                                        | (size(ImportItem.ignored_uploads) < MAX_IGNORED_UPLOADS)))
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return
        raise_if_transient(exc)
        raise


def start_processing(job: ImportJob, *, rows: int, chunks: int) -> None:
    """The file is split: its counts are known before any chunk is sent (a chunk that ends first finds them).
    A file uploaded again to the same import is split again: chunks already done do nothing new."""
    try:
        _item_key_only(job.import_id).update(
            actions=[ImportItem.status.set("processing"), ImportItem.rows.set(rows), ImportItem.chunks.set(chunks),
                     ImportItem.error.remove()],
            condition=ImportItem.status.is_in("awaiting_upload", "processing"))
        job.status, job.rows, job.chunks, job.error = "processing", rows, chunks, None
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def note_split_failed(import_id: str, error: dict[str, Any]) -> None:
    """The split's last try failed: the error shows on the open import, whose status stays (a redrive of the
    notification splits it again, and the split that succeeds removes the error)."""
    item = _item_key_only(import_id)
    try:
        item.update(actions=[ImportItem.error.set(error)],
                    condition=ImportItem.status.is_in("awaiting_upload", "processing"))
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return  # no such import, or it ended meanwhile: nothing waits for this split
        raise_if_transient(exc)
        raise


def fail_import(job: ImportJob, error: dict[str, Any]) -> None:
    try:
        _item_key_only(job.import_id).update(actions=[ImportItem.status.set("failed"), ImportItem.error.set(error)])
        job.status, job.error = "failed", error
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def mark_staged(import_id: str, chunk: int) -> int:
    """Adds the chunk to the staged set; returns how many chunks are staged (the same chunk counts once)."""
    item = _item_key_only(import_id)
    try:
        item.update(actions=[ImportItem.staged.add({chunk})], condition=ImportItem.pk.exists())
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return len(item.staged or ())


def save_result(import_id: str, sort_key: str, *, imported: int, skipped: int, failed: int,
                errors: list[dict[str, Any]], last: bool | None = None, gave_up: bool = False) -> None:
    try:
        ImportResultItem(f"IMPORT#{import_id}", sort_key, imported=imported, skipped=skipped, failed=failed,
                         errors=errors, last=None if last is None else int(last),
                         gave_up=1 if gave_up else None).save()
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def save_gave_up(import_id: str, sort_key: str, error: dict[str, Any]) -> None:
    """A unit's last try failed: its result says so, unless the unit is already done (a duplicate delivery
    of a unit that succeeded once must not hide its counts)."""
    try:
        ImportResultItem(f"IMPORT#{import_id}", sort_key, errors=[error], gave_up=1).save(
            ImportResultItem.pk.does_not_exist() | ImportResultItem.gave_up.exists())
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return
        raise_if_transient(exc)
        raise


def results(import_id: str) -> Iterator[ImportResult]:
    """Every unit's result, page by page (the import item itself is left out)."""
    try:
        for prefix in ("APPLY#", "CHUNK#", SPLIT_RESULT):
            for item in ImportResultItem.query(f"IMPORT#{import_id}", ImportResultItem.sk.startswith(prefix)):
                yield ImportResult(str(item.sk), int(item.imported or 0), int(item.skipped or 0),
                                   int(item.failed or 0), list(item.errors or []),
                                   None if item.last is None else int(item.last),
                                   None if item.gave_up is None else int(item.gave_up))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def stage_rows(import_id: str, rows: list[tuple[str, str, str, int, dict[str, Any]]]) -> None:
    """Stage transaction rows (member_id, occurred_at, order_id, line, row) with BatchWriteItem: a put of
    the same row again writes the same item."""
    members = {member_id for member_id, *_ in rows}
    try:
        with StagedRowItem.batch_write() as batch:
            for member_id, occurred_at, order_id, line, row in rows:
                batch.save(StagedRowItem(f"IMPORTROWS#{import_id}#{member_id}", f"{occurred_at}#{order_id}",
                                         line=line, row=row, expires=STAGED_TTL))
        with ImportShardItem.batch_write() as shard_batch:
            for member_id in sorted(members):
                shard_batch.save(ImportShardItem(f"IMPORTSHARD#{import_id}#{import_shard(member_id):02d}",
                                                 member_id, expires=STAGED_TTL))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def shard_members(import_id: str, shard: int, *, after: str | None, limit: int) -> tuple[list[str], bool]:
    """A page of the members with staged rows in one shard, in member id order; True when it is the last."""
    pk = f"IMPORTSHARD#{import_id}#{shard:02d}"
    try:
        condition = ImportShardItem.sk > after if after is not None else None
        found = [item.sk for item in ImportShardItem.query(pk, condition, limit=limit + 1, page_size=limit + 1)]
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return found[:limit], len(found) <= limit


def staged_rows(import_id: str, member_id: str) -> Iterator[StagedRow]:
    """One member's staged rows in occurred_at order (then order id), page by page."""
    try:
        for item in StagedRowItem.query(f"IMPORTROWS#{import_id}#{member_id}", page_size=100):
            yield StagedRow(int(item.line), dict(item.row))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def recorded_orders(order_ids: list[str]) -> dict[str, str | None]:
    """The orders among these already recorded: order id -> the import (and line) that recorded it, if any."""
    found = batch_get([order_key(order_id) for order_id in order_ids])
    orders = [load(OrderItem, raw) for raw in found.values()]
    return {order.order_id: order.import_id for order in orders if order is not None}


def order_import(order_id: str) -> str | None:
    """The import (and line) that recorded the order, if an import did."""
    key = order_key(order_id)
    order = load(OrderItem, batch_get([key]).get(key))
    return order.import_id if order is not None else None


def existing_members(member_ids: list[str]) -> dict[str, str | None]:
    """The member ids among these already taken: member id -> the import (and line) that created it, if any."""
    found = batch_get([member_key(member_id) for member_id in member_ids])
    members = [load(MemberItem, raw) for raw in found.values()]
    return {member.member_id: member.imported_by for member in members if member is not None}


def member_import(member_id: str) -> str | None:
    """The import (and line) that created the member, if an import did."""
    key = member_key(member_id)
    member = load(MemberItem, batch_get([key]).get(key))
    return member.imported_by if member is not None else None

