"""The ledger's daily checkpoints (contract: "Finance"; docs/ledger-proofs.md): the trees a day's entries
were hashed into, and the signed roots.

  CHECKPOINT#<day>#<nnn> / CHUNK#<first entry id>   up to 256 entries of one shard, in entry_id order: their
                                                     ids, leaf hashes and root (a proof's first level)
  CHECKPOINT#<day>#<nnn> / GROUP#<gggggg>            the roots of up to 256 consecutive chunks of the shard
  CHECKPOINT#<day>#<nnn> / SHARD                     the shard's entry count, group roots and root
  CHECKPOINTS / <day>                                the day's checkpoint: entries, root, previous root,
                                                     signature, key id, and the non-empty shards' roots

Chunks and groups are aligned on powers of two, so each is a subtree of the shard's RFC 6962 tree: a proof
reads one item per level. Everything is written once; a page or merge done again writes the same items
(a checkpoint is written only if absent, so a second signature never replaces the first).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, PynamoDBException

from loyalty.domain.errors import BadRequest
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import batch_get, decode_cursor, error_code, load, query_page, raise_if_transient

CHECKPOINTS_PK = "CHECKPOINTS"
LEAVES_PER_CHUNK = 256
CHUNKS_PER_GROUP = 256
HASH_BYTES = 32


class ChunkItem(Item):
    class Meta(TableMeta):
        pass

    index = NumberAttribute()  # the chunk's position in its shard
    ids = UnicodeAttribute()  # JSON list of the entry ids, in order
    leaves = BinaryAttribute(legacy_encoding=False)  # their leaf hashes, 32 bytes each
    root = BinaryAttribute(legacy_encoding=False)


class GroupItem(Item):
    class Meta(TableMeta):
        pass

    roots = BinaryAttribute(legacy_encoding=False)  # the chunks' roots, 32 bytes each


class ShardItem(Item):
    class Meta(TableMeta):
        pass

    entries = NumberAttribute()
    groups = BinaryAttribute(legacy_encoding=False)  # the groups' roots, 32 bytes each
    root = BinaryAttribute(legacy_encoding=False)


class CheckpointItem(Item):
    class Meta(TableMeta):
        pass

    date = UnicodeAttribute()
    entries = NumberAttribute()
    root = UnicodeAttribute()
    previous_root = UnicodeAttribute()
    signature = UnicodeAttribute()
    key_id = UnicodeAttribute()
    shards = UnicodeAttribute()  # JSON [[shard, root hex], ...], the non-empty shards in order
    created_at = UnicodeAttribute()


def shard_partition(day: str, shard: int) -> str:
    return f"CHECKPOINT#{day}#{shard:03d}"


def chunk_key(day: str, shard: int, first_entry_id: str) -> tuple[str, str]:
    return shard_partition(day, shard), f"CHUNK#{first_entry_id}"


def group_key(day: str, shard: int, group: int) -> tuple[str, str]:
    return shard_partition(day, shard), f"GROUP#{group:06d}"


def shard_key(day: str, shard: int) -> tuple[str, str]:
    return shard_partition(day, shard), "SHARD"


def checkpoint_key(day: str) -> tuple[str, str]:
    return CHECKPOINTS_PK, day


def split(hashes: bytes) -> list[bytes]:
    return [hashes[start:start + HASH_BYTES] for start in range(0, len(hashes), HASH_BYTES)]


@dataclass(frozen=True)
class Chunk:
    index: int
    ids: list[str]
    leaves: list[bytes]
    root: bytes


@dataclass(frozen=True)
class Checkpoint:
    date: str
    entries: int
    root: str
    previous_root: str
    signature: str
    key_id: str
    shards: list[tuple[int, str]]

    def view(self) -> dict[str, Any]:
        return {"date": self.date, "entries": self.entries, "root": self.root, "previous_root": self.previous_root,
                "signature": self.signature, "key_id": self.key_id}


def _checkpoint(item: CheckpointItem) -> Checkpoint:
    return Checkpoint(str(item.date), int(item.entries), str(item.root), str(item.previous_root),
                      str(item.signature), str(item.key_id), [(int(shard), str(root))
                                                              for shard, root in json.loads(item.shards)])


# --- written by the job ----------------------------------------------------------------------------------


def save_group(day: str, shard: int, group: int, chunks: list[Chunk]) -> None:
    """A group's chunks and the group's item (the chunks' roots), written together in batches."""
    try:
        with ChunkItem.batch_write() as batch:
            for chunk in chunks:
                batch.save(ChunkItem(*chunk_key(day, shard, chunk.ids[0]), index=chunk.index,
                                     ids=json.dumps(chunk.ids, separators=(",", ":")), leaves=b"".join(chunk.leaves),
                                     root=chunk.root))
            batch.save(GroupItem(*group_key(day, shard, group), roots=b"".join(chunk.root for chunk in chunks)))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def save_shards(day: str, shards: Iterable[tuple[int, int, list[bytes], bytes]]) -> None:
    """Each non-empty shard's (shard, entries, group roots, root)."""
    try:
        with ShardItem.batch_write() as batch:
            for shard, entries, groups, root in shards:
                batch.save(ShardItem(*shard_key(day, shard), entries=entries, groups=b"".join(groups), root=root))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def save_checkpoint(checkpoint: Checkpoint, at: str) -> bool:
    """The day's checkpoint, once: False when it was written before (a merge done again keeps the first)."""
    item = CheckpointItem(*checkpoint_key(checkpoint.date), date=checkpoint.date, entries=checkpoint.entries,
                          root=checkpoint.root, previous_root=checkpoint.previous_root,
                          signature=checkpoint.signature, key_id=checkpoint.key_id,
                          shards=json.dumps([[shard, root] for shard, root in checkpoint.shards],
                                            separators=(",", ":")), created_at=at)
    try:
        item.save(CheckpointItem.pk.does_not_exist())
    except PutError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise_if_transient(exc)
        raise
    return True


# --- read ---------------------------------------------------------------------------------------------


def get_checkpoint(day: str) -> Checkpoint | None:
    key = checkpoint_key(day)
    item = load(CheckpointItem, batch_get([key]).get(key))
    return None if item is None else _checkpoint(item)


def latest_checkpoint() -> Checkpoint | None:
    try:
        found = list(CheckpointItem.query(CHECKPOINTS_PK, scan_index_forward=False, limit=1))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return _checkpoint(found[0]) if found else None


def checkpoints(first: str, last: str, *, limit: int, cursor: str | None) -> tuple[list[Checkpoint], str | None]:
    """Checkpoints of days from `first` to `last`, oldest first, a page at a time."""
    start = decode_cursor(cursor, ("pk", "sk"))
    if start is not None and start["pk"] != CHECKPOINTS_PK:
        raise BadRequest("the cursor belongs to another list", code="invalid_cursor")
    items, next_cursor = query_page(CheckpointItem, CHECKPOINTS_PK, CheckpointItem.sk.between(first, last), limit,
                                    start, forward=True)
    return [_checkpoint(item) for item in items], next_cursor


def chunk_of(day: str, shard: int, entry_id: str) -> Chunk | None:
    """The chunk an entry id would be in: the last one starting at or before it (it may not hold it)."""
    try:
        found = list(ChunkItem.query(shard_partition(day, shard), ChunkItem.sk.between("CHUNK#", f"CHUNK#{entry_id}"),
                                     scan_index_forward=False, limit=1, consistent_read=True))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return _chunk(found[0]) if found else None


def chunks(day: str, shard: int, after_first_id: str | None, limit: int) -> list[Chunk]:
    """Up to `limit` chunks of a shard in order, after the chunk that starts at `after_first_id`."""
    low = f"CHUNK#{after_first_id}\u0000" if after_first_id else "CHUNK#"
    try:
        found = list(ChunkItem.query(shard_partition(day, shard), ChunkItem.sk.between(low, "CHUNK#\uffff"),
                                     limit=limit, consistent_read=True))
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return [_chunk(item) for item in found]


def _chunk(item: ChunkItem) -> Chunk:
    return Chunk(int(item.index), json.loads(item.ids), split(bytes(item.leaves)), bytes(item.root))


def levels_above(day: str, shard: int, group: int) -> tuple[list[bytes], list[bytes]] | None:
    """A group's chunk roots and its shard's group roots (the rows a proof climbs through)."""
    keys = [group_key(day, shard, group), shard_key(day, shard)]
    found = batch_get(keys)
    group_item, shard_item = load(GroupItem, found.get(keys[0])), load(ShardItem, found.get(keys[1]))
    if group_item is None or shard_item is None:
        return None
    return split(bytes(group_item.roots)), split(bytes(shard_item.groups))
