"""Bulk import: a program's members and their order history, before launch or after (contract: "Launch
and operations").

The flow, as AWS runs it (the local stack runs the same on moto):

1. `POST /admin/imports` records the import (audited) and answers a presigned S3 PUT URL.
2. The upload lands in the import bucket; S3 notifies the uploads queue; `split` streams the object once,
   cuts it into chunks of IMPORT_CHUNK_ROWS rows (byte ranges), records rows and chunks, and sends one
   message per chunk to the work queue.
3. Workers take chunks in parallel. Members: each row is one enrollment transaction (the member, its
   opening lots as one `import` entry, its email, phone and referral code). Transactions: each row is
   staged under its member, in occurred_at order, whatever chunk it came in.
4. When every chunk of a transactions file is staged, one message per member shard starts the apply
   phase: a worker takes a page of the shard's members and records each member's rows in occurred_at order
   as the purchases they were, through the same plan as `POST /purchases` (expiry and qualifying days from
   occurred_at, earning by the program in force now). Each page sends the next.

Exactly once, and resumable: a row is idempotent by its natural key (the member id; the order id), and a
member or order records which import and line created it, so a chunk or page processed again (a crash, a
redelivery) counts what it already did as imported, and a second import of the same file skips every row.
Each unit writes its counts and bad rows (line, code, detail) to its own result item when it ends;
progress is their sum.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from pydantic import ValidationError

from loyalty.domain import imports as rows
from loyalty.domain import tiers
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from loyalty.domain.ids import new_ulid, random_code
from loyalty.domain.lots import NEVER
from loyalty.domain.member import MemberChange
from loyalty.domain.program import ProgramConfig
from loyalty.inputs.imports import ImportMemberRow, ImportRequest, ImportTransactionRow
from loyalty.inputs.purchases import PurchaseRequest
from loyalty.logs import make_logger
from loyalty.services import work_queue
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.ledger import CLOCK_SKEW, purchase
from loyalty.services.members import REFERRAL_CODE_LENGTH, normalize_email
from loyalty.services.pointschange import Decision, Turn, change_points
from loyalty.services.program import config_of
from loyalty.services.writes import Plan, execute
from loyalty.settings import settings
from loyalty.store import audit as audit_store
from loyalty.store import imports as store
from loyalty.store import members as members_store
from loyalty.store import snapshot
from loyalty.store.db import ConditionFailed
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.imports import ImportJob
from loyalty.store.snapshot import Snapshot

logger = make_logger()
# Members a page of the apply phase takes: a page is one worker invocation, well inside its timeout.
APPLY_PAGE_MEMBERS = 50
# A member's purchases recorded in one transaction: an entry and an order each (a tier change entry at
# times), the member once: within DynamoDB's 100 items.
PURCHASES_PER_TRANSACTION = 40
UPLOAD_URL_SECONDS = 3600
# A referral code drawn for an imported member may collide; draws before the row fails.
REFERRAL_CODE_DRAWS = 3

Tally = dict[str, Any]


def object_key(import_id: str, file_format: str) -> str:
    return f"imports/{import_id}.{file_format}"


def import_id_of(object_key_: str) -> str | None:
    name = object_key_.rsplit("/", 1)[-1]
    import_id = name.split(".", 1)[0]
    return import_id if object_key_.startswith("imports/") and import_id else None


# --- the API ------------------------------------------------------------------------------------


def create_import(caller: Caller, request: ImportRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    """A new import awaiting its file (audited). A retry with the same Idempotency-Key answers the same
    import (and its upload URL, valid UPLOAD_URL_SECONDS from the first answer)."""
    caller.authorize_admin()
    import_id = new_ulid()

    def read() -> Snapshot:
        return snapshot.read_snapshot(idempotency=idempotency, with_program=False)

    def plan(_snapshot: Snapshot) -> Plan:
        item = store.new_import(import_id, kind=request.kind, format=request.format, status="awaiting_upload",
                                created_at=iso_utc(utc_now()), actor=caller.sub)
        upload_url = _s3().generate_presigned_url(
            "put_object", Params={"Bucket": _bucket(), "Key": object_key(import_id, request.format)},
            ExpiresIn=UPLOAD_URL_SECONDS)
        audit = audit_store.new_audit(caller.sub, "import.created", f"import:{import_id}",
                                     {"kind": request.kind, "format": request.format})

        def commit(record: IdempotencyRecord | None) -> None:
            store.create_import(item, audit, record)

        return Plan(201, {**progress(item), "upload_url": upload_url}, commit)

    return execute(idempotency, read, plan)


def get_import(caller: Caller, import_id: str) -> Outcome:
    caller.authorize_admin()
    item = store.get_import(checked_id(import_id, "import"))
    if item is None:
        raise NotFound(f"no import has the id {import_id[:64]!r}", code="import_not_found")
    return Outcome(200, progress(item))


def progress(item: ImportJob) -> dict[str, Any]:
    """What the import did so far: the sum of its units' results."""
    view: dict[str, Any] = {"import_id": item.import_id, "kind": item.kind, "format": item.format,
                            "status": item.status, "created_at": item.created_at, "rows": int(item.rows or 0),
                            "imported": 0, "skipped": 0, "failed": 0, "errors": []}
    ignored = [{"line": 0, "code": "upload_ignored",
                "detail": f"a later upload to this import's URL (version {upload}) was not imported: an import "
                          "takes exactly one file, the first PUT"} for upload in sorted(item.ignored_uploads or ())]
    if item.status != "processing":
        # Failed: why. Awaiting the upload: the split's last try failed, if it did (see give_up_split).
        view["errors"] = ([item.error] if item.error else []) + ignored
        return view
    errors: list[dict[str, Any]] = []
    chunks_done = 0
    shards_done: set[str] = set()
    for result in store.results(item.import_id):
        errors.extend(result.errors or [])
        if result.gave_up:
            continue  # not done: its error says which unit stopped and how to resume it
        view["imported"] += int(result.imported)
        view["skipped"] += int(result.skipped)
        view["failed"] += int(result.failed)
        if result.sort_key.startswith("CHUNK#"):
            chunks_done += 1
        elif result.last:
            shards_done.add(result.sort_key.split("#")[1])
    if item.error:  # a split that failed on its last try after it had started (see give_up_split)
        errors.insert(0, item.error)
    errors.extend(ignored)
    view["errors"] = rows.first_errors(errors)
    chunks = int(item.chunks or 0)
    done = chunks_done >= chunks if item.kind == "members" else (
        len(item.staged or ()) >= chunks and (chunks == 0 or len(shards_done) >= store.IMPORT_SHARDS))
    if done:
        view["status"] = "completed"
    return view


# --- step 2: split the uploaded file --------------------------------------------------------------


def split(bucket: str, key: str, version: str | None = None) -> None:
    """An uploaded file: count its rows, cut it into chunks, send one work message per chunk.

    An import takes exactly one file, the first PUT to its URL (which S3 lets a caller use again until it
    expires): the split always reads the key's oldest version, records it as the import's upload, and
    reads only that version from then on. A notification of a later version lists it as ignored."""
    import_id = import_id_of(key)
    item = store.get_import(import_id) if import_id else None
    if item is None:
        logger.warning("an object no import expects", extra={"bucket": bucket, "key": key})
        return
    first = _first_upload(bucket, key)
    if first is None:
        logger.warning("an import file that is gone", extra={"bucket": bucket, "key": key})
        return
    if version is not None and version != first:
        store.note_ignored_upload(item.import_id, version)
        return
    if not store.accept_upload(item, first):
        store.note_ignored_upload(item.import_id, first)
        return
    if item.status not in ("awaiting_upload", "processing"):
        return  # split before, and done with
    source = {"bucket": bucket, "key": key, "version": first}
    body = _s3().get_object(**_object(source))["Body"]
    blocks = body.iter_chunks(chunk_size=1 << 20)
    first_block = next(blocks, b"")
    newline = rows.newline_of(first_block)
    lines = rows.split_lines(_chained(first_block, blocks), newline)
    header: list[str] | None = None
    if item.format == "csv":
        first_line = next(lines, b"")
        try:
            header = rows.csv_header(first_line, item.kind)
        except rows.BadFile as exc:
            store.fail_import(item, {"line": 1, "code": "invalid_file", "detail": str(exc)})
            return
        lines = _chained(first_line, lines)
    chunks: list[rows.Chunk] = []
    bad: list[rows.BadLine] = []
    for part in rows.plan_chunks(lines, settings().import_chunk_rows, has_header=header is not None):
        (chunks if isinstance(part, rows.Chunk) else bad).append(part)  # type: ignore[arg-type]
    # Lines too long to read are the split's own bad rows, in a result of their own.
    store.save_result(item.import_id, store.SPLIT_RESULT, imported=0, skipped=0, failed=len(bad),
                      errors=rows.first_errors({"line": b.line, "code": b.code, "detail": b.detail} for b in bad))
    store.start_processing(item, rows=sum(chunk.rows for chunk in chunks) + len(bad), chunks=len(chunks))
    work_queue.send([{"step": "chunk", "import_id": item.import_id, **source, "newline": newline.decode(),
                      "chunk": chunk.index, "start": chunk.start, "end": chunk.end, "first_line": chunk.first_line,
                      "header": header} for chunk in chunks])


def _first_upload(bucket: str, key: str) -> str | None:
    """The key's oldest version (S3 lists a key's versions newest first): the import's one file."""
    listed = _s3().list_object_versions(Bucket=bucket, Prefix=key, MaxKeys=1000)
    versions = [found for found in listed.get("Versions", []) if found["Key"] == key]
    if not versions:
        return None
    return str(versions[-1].get("VersionId") or "null")


def _object(source: dict[str, Any]) -> dict[str, Any]:
    """get_object's arguments for the accepted upload (a bucket that keeps no versions has only "null")."""
    version = source.get("version")
    return {"Bucket": source["bucket"], "Key": source["key"],
            **({"VersionId": version} if version and version != "null" else {})}


def _chained(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def give_up(message: dict[str, Any], attempts: int, reason: str) -> None:
    """A unit whose last try failed (the queue moves it to the dead-letter queue next): its import says
    which unit stopped and how to resume it, instead of staying short of completed without a word."""
    if message.get("step") == "apply":
        shard, page = int(message["shard"]), int(message["page"])
        where, line, key = (f"page {page} of member shard {shard} (transactions)", 0,
                            store.apply_result_key(shard, page))
    else:
        where, line, key = (f"the chunk from line {message['first_line']}", int(message["first_line"]),
                            store.chunk_result_key(int(message["chunk"])))
    detail = (f"{where} failed {attempts} times ({reason}) and went to the dead-letter queue; its rows may be "
              "partly imported. Redrive the queue to finish the import: no row is imported twice.")
    logger.error("import unit given up", extra={"import_id": message["import_id"], "unit": key, "reason": reason})
    store.save_gave_up(str(message["import_id"]), key, {"line": line, "code": "unit_failed", "detail": detail})


def give_up_split(key: str, attempts: int, reason: str) -> None:
    """The split of an uploaded file failed on its last try (the uploads queue moves the notification to the
    dead-letter queue next): the import says so, instead of waiting for its upload without a word."""
    import_id = import_id_of(key)
    if import_id is None:
        return
    detail = (f"splitting the uploaded file failed {attempts} times ({reason}) and its notification went to the "
              "import dead-letter queue. Redrive that queue to split the file again: no row is imported twice.")
    logger.error("import split given up", extra={"import_id": import_id, "key": key, "reason": reason})
    store.note_split_failed(import_id, {"line": 0, "code": "split_failed", "detail": detail})


# --- step 3: a chunk ------------------------------------------------------------------------------


def work(message: dict[str, Any]) -> None:
    """One work message: a chunk of the file, or a page of a shard's staged transactions."""
    if message.get("step") == "apply":
        apply_page(str(message["import_id"]), int(message["shard"]), int(message["page"]), message.get("after"))
    else:
        process_chunk(message)


def process_chunk(message: dict[str, Any]) -> None:
    import_id = str(message["import_id"])
    item = store.get_import(import_id)
    if item is None or item.status != "processing":
        return
    data = _s3().get_object(**_object(message),
                            Range=f"bytes={message['start']}-{int(message['end']) - 1}")["Body"].read()
    header = message.get("header")
    newline = str(message.get("newline") or "\n").encode()
    tally: Tally = {"imported": 0, "skipped": 0, "failed": 0, "errors": []}
    now = utc_now()
    config = config_of(snapshot.read_snapshot().program)
    staged: list[tuple[str, str, str, int, dict[str, Any]]] = []
    members: list[tuple[int, ImportMemberRow]] = []
    for offset, line in enumerate(data.split(newline)):
        number = int(message["first_line"]) + offset
        if not line.strip():
            continue
        try:
            fields = rows.row_fields(item.kind, line, header)
            if item.kind == "members":
                member_row = _validated(ImportMemberRow, fields)
                _not_after(now, enrolled_at=member_row.enrolled_at, tier_since=member_row.tier_since)
                members.append((number, member_row))
            else:
                row = _validated(ImportTransactionRow, fields)
                _not_after(now, occurred_at=row.occurred_at)
                staged.append((row.member_id, iso_utc(row.occurred_at), row.order_id, number,
                               row.model_dump(mode="json")))
        except rows.BadRow as exc:
            _failed(tally, number, exc.code, exc.detail)
    # Members already there are counted with one read per 100 (a re-import, or this chunk after a crash).
    existing = store.existing_members([row.member_id for _, row in members])
    for number, member_row in members:
        if member_row.member_id in existing:
            tally["imported" if existing[member_row.member_id] == f"{import_id}:{number}" else "skipped"] += 1
            continue
        try:
            tally[import_member(import_id, number, member_row, config, now)] += 1
        except rows.BadRow as exc:
            _failed(tally, number, exc.code, exc.detail)
    if staged:
        store.stage_rows(import_id, staged)
    store.save_result(import_id, store.chunk_result_key(int(message["chunk"])), imported=tally["imported"],
                      skipped=tally["skipped"], failed=tally["failed"], errors=rows.first_errors(tally["errors"]))
    if item.kind == "transactions" and store.mark_staged(import_id, int(message["chunk"])) >= int(item.chunks or 0):
        # Every chunk is staged: each member shard's rows can be applied in order.
        work_queue.send([{"step": "apply", "import_id": import_id, "shard": shard, "page": 0, "after": None}
                         for shard in range(store.IMPORT_SHARDS)])


def _not_after(now: datetime, **moments: datetime | None) -> None:
    """History is in the past: a row dated in the future (beyond the clock skew a purchase is allowed)."""
    for name, moment in moments.items():
        if moment is not None and moment > now + CLOCK_SKEW:
            raise rows.BadRow("invalid_row", f"{name}: must not be in the future")


def _validated(model: Any, fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise rows.BadRow("invalid_row", rows.validation_detail(exc.errors())) from exc


def _failed(tally: Tally, line: int, code: str, detail: str) -> None:
    tally["failed"] += 1
    if len(tally["errors"]) < rows.MAX_ERRORS:
        tally["errors"].append({"line": line, "code": code, "detail": detail})


def import_member(import_id: str, line: int, row: ImportMemberRow, config: ProgramConfig, now: datetime) -> str:
    """One member row: 'imported' (by this row, now or in an earlier run of this import) or 'skipped' (the
    member id was taken). BadRow: an unknown tier, an expired lot, an email another member has."""
    tag = f"{import_id}:{line}"
    tier = row.tier or config.tiers[0].name
    if tier not in {known.name for known in config.tiers}:
        raise rows.BadRow("unknown_tier", f"tier {tier!r} is not one of the program's tiers")
    lots: dict[str, int] = {}
    for index, lot in enumerate(row.lots or []):
        if lot.expires_at is not None and lot.expires_at <= now:
            raise rows.BadRow("lot_expired", f"lots.{index}.expires_at is in the past")
        # A lot is kept by its last valid local day; it expires at the end of that day.
        last_day = NEVER if lot.expires_at is None else local_day(
            lot.expires_at - timedelta(microseconds=1), config.zone).isoformat()
        lots[last_day] = lots.get(last_day, 0) + lot.points
    tier_since = row.tier_since or row.enrolled_at
    for _ in range(REFERRAL_CODE_DRAWS):
        member = members_store.new_member(
            row.member_id, email=normalize_email(row.email), name=row.name,
            birthday=row.birthday.isoformat() if row.birthday else None, phone=row.phone, locale=row.locale,
            preferences=row.preferences or {}, consents=row.consents or {},
            referral_code=random_code(REFERRAL_CODE_LENGTH), status="active", enrolled_at=iso_utc(row.enrolled_at),
            tier=tier, tier_since=iso_utc(tier_since), enrolled_day=local_day(row.enrolled_at, config.zone).isoformat(),
            # The migration is the member's latest activity here: an inactivity policy counts from it.
            last_activity_day=local_day(now, config.zone).isoformat(), imported_by=tag,
        )
        change = MemberChange(member, config, now)
        entry = change.open_balance(lots, lifetime_earned=row.lifetime_earned if row.lifetime_earned is not None
                                    else sum(lots.values()), source={"import_id": import_id, "line": line})
        review = tiers.review_day(config, tier, local_day(tier_since, config.zone), change.today, {})
        member.tier_review_day = review.isoformat() if review else None
        change.finish()
        try:
            members_store.create_member(member, None, [entry])
            return "imported"
        except ConditionFailed as exc:
            if "member" in exc.labels:
                return "imported" if store.member_import(row.member_id) == tag else "skipped"
            if "email" in exc.labels:
                raise rows.BadRow("email_taken", "another member has this email") from exc
            # A referral code or a race: draw again.
    raise rows.BadRow("not_recorded", "the member could not be recorded; import the file again")


# --- step 4: a page of a shard's staged transactions ------------------------------------------------


def apply_page(import_id: str, shard: int, page: int, after: str | None) -> None:
    item = store.get_import(import_id)
    if item is None or item.status != "processing":
        return
    members, last = store.shard_members(import_id, shard, after=after, limit=APPLY_PAGE_MEMBERS)
    tally: Tally = {"imported": 0, "skipped": 0, "failed": 0, "errors": []}
    for member_id in members:
        batch: list[tuple[int, ImportTransactionRow]] = []
        for staged in store.staged_rows(import_id, member_id):
            batch.append((int(staged.line), ImportTransactionRow.model_validate(staged.row)))
            if len(batch) == PURCHASES_PER_TRANSACTION:
                _apply_rows(import_id, member_id, batch, tally)
                batch = []
        if batch:
            _apply_rows(import_id, member_id, batch, tally)
    store.save_result(import_id, store.apply_result_key(shard, page), imported=tally["imported"],
                      skipped=tally["skipped"], failed=tally["failed"], errors=rows.first_errors(tally["errors"]),
                      last=last)
    if not last:
        work_queue.send([{"step": "apply", "import_id": import_id, "shard": shard, "page": page + 1,
                          "after": members[-1]}])


def _apply_rows(import_id: str, member_id: str, batch: list[tuple[int, ImportTransactionRow]], tally: Tally) -> None:
    """A member's next rows (in occurred_at order): together in one transaction when they all go through,
    else one by one (each then imported, skipped or failed on its own). Orders already recorded are
    counted first, with one read (a re-import, or this page again after a crash, writes nothing)."""
    recorded = store.recorded_orders([row.order_id for _, row in batch])
    if recorded:
        for line, row in batch:
            if row.order_id in recorded:
                tally["imported" if recorded[row.order_id] == f"{import_id}:{line}" else "skipped"] += 1
        batch = [(line, row) for line, row in batch if row.order_id not in recorded]
        if not batch:
            return
    try:
        record_together(import_id, member_id, batch)
        tally["imported"] += len(batch)
        return
    except DomainError:
        pass  # an order recorded meanwhile, a member missing or blocked, a bad amount: row by row says which
    for line, row in batch:
        try:
            tally[import_purchase(import_id, line, row)] += 1
        except rows.BadRow as exc:
            _failed(tally, line, exc.code, exc.detail)


def record_together(import_id: str, member_id: str, batch: list[tuple[int, ImportTransactionRow]]) -> None:
    """One member's purchases in one transaction, each planned as `POST /purchases` plans it, one after
    the other (a tier reached by one counts for the next). Raises a DomainError if any would not go
    through alone (Conflict order_already_recorded if an order id was recorded before)."""
    now = utc_now()
    if len({row.order_id for _, row in batch}) < len(batch) or any(row.occurred_at > now for _, row in batch):
        raise ValidationFailed("rows to record one by one")
    plans = [purchase(member_id, _purchase_request(row), row.occurred_at, now, import_tag=f"{import_id}:{line}")
             for line, row in batch]

    def decide(turn: Turn) -> Decision:
        orders = []
        for plan in plans:
            plan(turn)
            assert turn.writes.new_order is not None
            orders.append(turn.writes.new_order)
            turn.writes.new_order = None
            turn.change.finish()  # the tier upgrade (if any) before the next purchase, as one by one
        turn.writes.new_orders = orders
        recorded = Conflict("an order was already recorded", code="order_already_recorded")
        return Decision(201, lambda: None, final_conflicts={f"order{index}": recorded for index in range(len(orders))})

    change_points(None, member_id, now, decide)


def _purchase_request(row: ImportTransactionRow) -> PurchaseRequest:
    return PurchaseRequest.model_validate({"order_id": row.order_id, "total": row.total.model_dump(),
                                           "channel": row.channel})


def import_purchase(import_id: str, line: int, row: ImportTransactionRow) -> str:
    """One historical purchase: 'imported' (by this row, now or before) or 'skipped' (the order id was
    recorded otherwise). BadRow: no such member, a blocked member, a currency the program cannot convert."""
    tag = f"{import_id}:{line}"
    now = utc_now()
    if row.occurred_at > now:
        raise rows.BadRow("invalid_row", "occurred_at: must not be in the future")
    request = _purchase_request(row)
    try:
        change_points(None, row.member_id, now, purchase(row.member_id, request, row.occurred_at, now,
                                                          import_tag=tag), order_id=row.order_id)
    except Conflict as exc:
        if exc.code != "order_already_recorded":
            raise rows.BadRow(exc.code, exc.detail) from exc
        return "imported" if store.order_import(row.order_id) == tag else "skipped"
    except DomainError as exc:  # no such member, erased, a bad amount: the row cannot be recorded
        raise rows.BadRow(exc.code, exc.detail) from exc
    return "imported"


# --- AWS clients --------------------------------------------------------------------------------------


def _bucket() -> str:
    bucket = settings().import_bucket
    if not bucket:
        raise RuntimeError("IMPORT_BUCKET is not set")
    return bucket


@functools.cache
def _s3() -> Any:
    # SigV4: the presigned URL works in every region.
    return boto3.client("s3", config=Config(signature_version="s3v4"))
