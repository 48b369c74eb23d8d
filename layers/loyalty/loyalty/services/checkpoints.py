"""The ledger's daily checkpoints (contract: "Finance"; docs/ledger-proofs.md).

Once a day has closed in the program's time zone (and CHECKPOINT_LAG_MINUTES more, for the writes that carry
an earlier moment), the `ledger_checkpoint` job builds the day's tree: a unit per ledger shard, a page per
group of 65,536 entries, read in entry_id order from the day index and hashed into chunk and group items in
bounded memory; the merge folds the shards' roots into the day's root, chains it to the previous day's and
signs it with the ledger's KMS key. Proofs climb the stored levels; reconcile re-hashes recent days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from loyalty.domain import merkle
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.errors import BadRequest, Conflict, NotFound, ValidationFailed
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.program import config_of
from loyalty.settings import settings
from loyalty.store import checkpoints as store
from loyalty.store import ledger as ledger_store
from loyalty.store import signing
from loyalty.store import snapshot as snapshot_store

LEAVES_PER_GROUP = store.LEAVES_PER_CHUNK * store.CHUNKS_PER_GROUP


# --- which day ---------------------------------------------------------------------------------------------


def _closed(day: date, now: datetime, zone: Any) -> bool:
    """Whether a day has closed in the program's zone, with the lag every late write fits in."""
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return now >= end + timedelta(minutes=settings().checkpoint_lag_minutes)


def next_day(now: datetime) -> str | None:
    """The day the next checkpoint is for: the one after the latest checkpoint (the first: yesterday), if
    it has closed; None when there is none to make yet."""
    config = config_of(snapshot_store.read_snapshot().program)
    latest = store.latest_checkpoint()
    day = (date.fromisoformat(latest.date) + timedelta(days=1) if latest is not None
           else local_day(now, config.zone) - timedelta(days=1))
    return day.isoformat() if _closed(day, now, config.zone) else None


def units(day: str) -> list[str]:
    return [f"{day}/{shard}" for shard in range(ledger_store.LEDGER_SHARDS)]


# --- a page: one group of one shard ------------------------------------------------------------------------


def build_page(unit: str, cursor: dict[str, Any] | None, _now: datetime, _until: float) -> tuple[
        dict[str, int], dict[str, Any] | None, dict[str, Any]]:
    """One group (up to 65,536 entries) of a shard's entries hashed into its chunk and group items. Returns
    (counts, the next page's cursor (None: the shard is done), this page's result)."""
    day, shard = unit.split("/")[0], int(unit.split("/")[1])
    after, group = (cursor or {}).get("after"), int((cursor or {}).get("group", 0))
    chunks: list[store.Chunk] = []
    ids: list[str] = []
    leaves: list[bytes] = []
    read = 0
    for entry in ledger_store.day_entries(day, shard, after, LEAVES_PER_GROUP):
        ids.append(str(entry["entry_id"]))
        leaves.append(merkle.leaf_hash(merkle.canonical_entry(entry)))
        read += 1
        if len(ids) == store.LEAVES_PER_CHUNK:
            chunks.append(_chunk(group, len(chunks), ids, leaves))
            ids, leaves = [], []
    if ids:
        chunks.append(_chunk(group, len(chunks), ids, leaves))
    result = {"day": day, "shard": shard, "entries": read, "groups": []}
    if not chunks:
        return {"entries": 0}, None, result
    store.save_group(day, shard, group, chunks)
    result["groups"] = [merkle.root_of([chunk.root for chunk in chunks]).hex()]
    full = read == LEAVES_PER_GROUP
    return {"entries": read}, ({"after": chunks[-1].ids[-1], "group": group + 1} if full else None), result


def _chunk(group: int, position: int, ids: list[str], leaves: list[bytes]) -> store.Chunk:
    return store.Chunk(group * store.CHUNKS_PER_GROUP + position, list(ids), list(leaves), merkle.root_of(leaves))


def carry(before: dict[str, Any] | None, page: dict[str, Any]) -> dict[str, Any]:
    """A shard's running result: its entries and its groups' roots so far."""
    if before is None:
        return page
    return {**page, "entries": int(before["entries"]) + int(page["entries"]),
            "groups": list(before["groups"]) + list(page["groups"])}


def merge(_pages: Any, results: Any, now: datetime) -> dict[str, Any]:
    """The day's checkpoint from its shards' results: their roots, the day's root over the non-empty ones,
    chained to the previous day's root and signed. Done again, it keeps the checkpoint written first."""
    found = sorted(results, key=lambda result: int(result["shard"]))
    if not found:
        return {"checkpointed": None}
    day = str(found[0]["day"])
    shards = [(int(result["shard"]), int(result["entries"]), [bytes.fromhex(root) for root in result["groups"]])
              for result in found if int(result["entries"])]
    rows = [(shard, entries, groups, merkle.root_of(groups)) for shard, entries, groups in shards]
    store.save_shards(day, rows)
    root = merkle.root_of([shard_root for _shard, _entries, _groups, shard_root in rows])
    previous = store.get_checkpoint((date.fromisoformat(day) - timedelta(days=1)).isoformat())
    previous_root = previous.root if previous is not None else merkle.ZERO_ROOT_HEX
    signature, key_id = signing.sign(merkle.checkpoint_message(day, root.hex(), previous_root))
    checkpoint = store.Checkpoint(day, sum(entries for _shard, entries, _groups, _root in rows), root.hex(),
                                  previous_root, signature, key_id,
                                  [(shard, shard_root.hex()) for shard, _entries, _groups, shard_root in rows])
    written = store.save_checkpoint(checkpoint, iso_utc(now))
    kept = checkpoint if written else store.get_checkpoint(day)
    assert kept is not None
    return {"checkpointed": day, "entries": kept.entries, "root": kept.root}


# --- reads --------------------------------------------------------------------------------------------------


def public_key(_caller: Caller) -> Outcome:
    """Any authenticated caller (the gateway has verified it) may check the ledger's signatures."""
    key_id, pem = signing.public_key()
    return Outcome(200, {"key_id": key_id, "algorithm": signing.ALGORITHM, "public_key_pem": pem})


def _day(value: str, field: str) -> str:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise ValidationFailed(f"{field} must be a date, YYYY-MM-DD", errors=[
            {"field": field, "message": "a date, YYYY-MM-DD", "type": "date_from_datetime_parsing"}]) from exc


def _refuse_open_day(day: str) -> None:
    config = config_of(snapshot_store.read_snapshot().program)
    if not _closed(date.fromisoformat(day), utc_now(), config.zone):
        raise Conflict(f"{day} has not closed yet: its checkpoint is made once it has (program time zone, "
                       f"{int(settings().checkpoint_lag_minutes)} minutes after midnight)", code="day_not_closed")


def get_checkpoint(caller: Caller, day: str) -> Outcome:
    caller.authorize_admin()
    day = _day(day, "date")
    found = store.get_checkpoint(day)
    if found is None:
        _refuse_open_day(day)
        raise NotFound(f"no checkpoint for {day} (before the first one, or not made yet)",
                       code="checkpoint_not_found")
    return Outcome(200, found.view())


def list_checkpoints(caller: Caller, first: str | None, last: str | None, limit: int, cursor: str | None) -> Outcome:
    caller.authorize_admin()
    low, high = _day(first or "1970-01-01", "from"), _day(last or "9999-12-31", "to")
    if low > high:
        raise BadRequest("from is after to", code="invalid_range")
    found, next_cursor = store.checkpoints(low, high, limit=limit, cursor=cursor)
    return Outcome(200, {"items": [checkpoint.view() for checkpoint in found], "next_cursor": next_cursor})


def proof(caller: Caller, member_id: str, entry_id: str) -> Outcome:
    """An entry's inclusion proof in its day's checkpoint: its leaf hash as the entry is now, and the path
    from the stored tree. An entry changed since its day closed does not fold to the root."""
    member_id = caller.authorize_self(member_id)
    checked_id(entry_id, "entry")
    entry = ledger_store.entry_fields(member_id, entry_id)
    if entry is None:
        raise NotFound(f"member {member_id} has no entry {entry_id}", code="entry_not_found")
    day = str(entry.get("recorded_day") or "")
    checkpoint = store.get_checkpoint(day) if day else None
    if checkpoint is None:
        if day:
            _refuse_open_day(day)
        raise Conflict(f"entry {entry_id}'s day ({day or 'unknown'}) has no checkpoint yet",
                       code="checkpoint_pending")
    shard = ledger_store.ledger_shard(member_id)
    chunk = store.chunk_of(day, shard, entry_id)
    rows = store.levels_above(day, shard, chunk.index // store.CHUNKS_PER_GROUP) if chunk is not None else None
    shard_roots = [bytes.fromhex(root) for _shard, root in checkpoint.shards]
    shard_position = next((index for index, (number, _root) in enumerate(checkpoint.shards) if number == shard), None)
    if chunk is None or rows is None or entry_id not in chunk.ids or shard_position is None:
        raise Conflict(f"entry {entry_id} is not in {day}'s checkpoint (written after its day closed, or the "
                       "ledger was changed)", code="entry_not_checkpointed")
    chunk_roots, group_roots = rows
    path = (merkle.path_of(chunk.leaves, chunk.ids.index(entry_id))
            + merkle.path_of(chunk_roots, chunk.index % store.CHUNKS_PER_GROUP)
            + merkle.path_of(group_roots, chunk.index // store.CHUNKS_PER_GROUP)
            + merkle.path_of(shard_roots, shard_position))
    canonical = merkle.canonical_entry(entry)
    return Outcome(200, {"entry_id": entry_id, "date": day, "leaf_hash": merkle.leaf_hash(canonical).hex(),
                         "path": [{"side": step.side, "hash": step.hash.hex()} for step in path],
                         "root": checkpoint.root, "entry": canonical.decode()})


# --- reconcile: recent days hashed again -------------------------------------------------------------------------


def verify_units(last: date) -> list[str]:
    """Reconcile's units that re-hash the checkpointed days of the CHECKPOINT_VERIFY_DAYS before `last`, one
    per non-empty shard (`verify:<day>/<shard>`)."""
    days = settings().checkpoint_verify_days
    if not days:
        return []
    found, _ = store.checkpoints((last - timedelta(days=days)).isoformat(), last.isoformat(), limit=days + 2,
                                 cursor=None)
    return [f"verify:{checkpoint.date}/{shard}" for checkpoint in found for shard, _root in checkpoint.shards]


def verify_page(unit: str, cursor: dict[str, Any] | None, until: float) -> tuple[
        list[dict[str, Any]], dict[str, Any] | None, int]:
    """One group of a checkpointed shard hashed again and compared with its chunks: (discrepancies, the next
    page's cursor, entries checked). An entry changed, removed or added since the day closed is reported."""
    day, shard = unit.removeprefix("verify:").split("/")[0], int(unit.split("/")[1])
    after_chunk, after_entry = (cursor or {}).get("chunk"), (cursor or {}).get("after")
    stored = store.chunks(day, shard, after_chunk, store.CHUNKS_PER_GROUP)
    expected = [(entry_id, leaf) for chunk in stored for entry_id, leaf in zip(chunk.ids, chunk.leaves, strict=True)]
    full = len(stored) == store.CHUNKS_PER_GROUP
    # A full group: the entries up to its last one (the next page reads on); the last: every entry left.
    through = expected[-1][0] if full else None
    now_hashed = {str(entry["entry_id"]): merkle.leaf_hash(merkle.canonical_entry(entry))
                  for entry in ledger_store.day_entries(day, shard, after_entry, 2 * LEAVES_PER_GROUP,
                                                        through=through)}
    found: list[dict[str, Any]] = []

    def report(entry_id: str, what: str) -> None:
        found.append({"check": "ledger entry matches its checkpoint", "subject": f"entry:{entry_id}",
                      "expected": f"as checkpointed on {day}", "actual": what})

    for entry_id, leaf in expected:
        current = now_hashed.pop(entry_id, None)
        if current is None:
            report(entry_id, "missing")
        elif current != leaf:
            report(entry_id, "changed")
    if not full:
        for entry_id in sorted(now_hashed):
            report(entry_id, "not in the checkpoint")
        return found, None, len(expected)
    return found, {"chunk": stored[-1].ids[0], "after": expected[-1][0]}, len(expected)
