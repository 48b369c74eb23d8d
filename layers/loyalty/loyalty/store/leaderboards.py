"""Leaderboards: their definitions, the list every program replica carries, the stream's top lists.

  LEADERBOARDS / <id>                            a leaderboard (LoyaltyTable; staff writes only)
  BOARDTOP#<metric>#<period>#<key>#<bb> / TOP    one stream bucket's top list (MetricsTable)
  BOARD#<metric>#<period>#<key>#<bb> / HIST#core the ranked members' values, by histogram bucket (MetricsTable,
                                                 counters kept by store.aggregates, exactly once)

The program replicas carry the definitions (`leaderboards`, JSON), so a points change knows which values to
keep on its member without a request of its own. A top list is written by the stream processor only when a
batch changes it, conditioned on the version it read (shards of one bucket re-read and merge again).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from loyalty.domain.errors import ServiceUnavailable
from loyalty.store import aggregates, db
from loyalty.store.audit import AuditRecord, add_audit
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import Txn, batch_get, connection, error_code, load, raise_if_transient
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency
from loyalty.store.program import Program, ProgramItem, update_riders

LEADERBOARDS_PK = "LEADERBOARDS"
MAX_MERGE_ATTEMPTS = 10


class LeaderboardItem(Item):
    class Meta(TableMeta):
        pass

    definition = UnicodeAttribute()
    created_at = UnicodeAttribute()


def leaderboard_key(leaderboard_id: str) -> tuple[str, str]:
    return LEADERBOARDS_PK, leaderboard_id


def board_name(code: str, period: str, key: str) -> str:
    return f"{code}#{period}#{key}"


def top_key(board: str, bucket: int) -> tuple[str, str]:
    return f"BOARDTOP#{board}#{bucket:02d}", "TOP"


def histogram_key(board: str) -> aggregates.ItemKey:
    return f"BOARD#{board}", "HIST"


# --- definitions ---------------------------------------------------------------------------------------


def running_json(program: Program | None) -> str:
    return (program.leaderboards if program is not None else None) or "[]"


def get_leaderboard(leaderboard_id: str) -> str | None:
    key = leaderboard_key(leaderboard_id)
    item = load(LeaderboardItem, batch_get([key]).get(key))
    return None if item is None else item.definition


def save_leaderboard(leaderboard_id: str, definition: str, at: str, *, program: Program, every: str,
                     audit: AuditRecord, idempotency: IdempotencyRecord | None) -> None:
    """A new leaderboard, every program replica's list (`every`: all the definitions), the audit and
    idempotency records. Raises ConditionFailed: leaderboard (the id is taken), program (written meanwhile),
    idempotency."""
    txn = Txn()
    txn.put("leaderboard", LeaderboardItem(*leaderboard_key(leaderboard_id), definition=definition, created_at=at),
            LeaderboardItem.pk.does_not_exist())
    update_riders(txn, program, [ProgramItem.leaderboards.set(every)])
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


# --- the stream's top lists ------------------------------------------------------------------------------


def read_tops(board: str) -> list[list[dict[str, Any]]]:
    """Every bucket's top list of a board (one BatchGetItem)."""
    found = batch_get([top_key(board, bucket) for bucket in range(aggregates.BUCKETS)],
                      table=aggregates.metrics_table_name())
    return [json.loads(raw["entries"]["S"]) for raw in found.values() if "entries" in raw]


def read_histogram(board: str) -> dict[str, int]:
    return aggregates.read_cores([histogram_key(board)])[histogram_key(board)]


def merge_into_tops(merges: dict[tuple[str, int], Any]) -> int:
    """Apply each merge (the list read -> the list to keep) to its (board, bucket) top list: every list read
    in one BatchGetItem, and written only when it changes, conditioned on the version read (a list another
    shard wrote meanwhile is read again and merged again). Returns the writes made."""
    keys = {top_key(board, bucket): merge for (board, bucket), merge in merges.items()}
    # Eventually consistent: a stale list fails its version condition and is read again, consistently.
    read = batch_get(list(keys), consistent=False, table=aggregates.metrics_table_name()) if keys else {}
    writes = 0
    for key, merge in sorted(keys.items()):
        raw = read.get(key) or {}
        for _attempt in range(MAX_MERGE_ATTEMPTS):
            written = _merged(key, raw, merge)
            if written is not None:
                writes += written
                break
            raw = batch_get([key], table=aggregates.metrics_table_name()).get(key) or {}
        else:
            raise ServiceUnavailable("a leaderboard's top list kept changing; the batch is retried", retry_after=1)
    return writes


def _merged(key: tuple[str, str], raw: dict[str, Any], merge: Any) -> int | None:
    """1 when the merged list was written, 0 when nothing changed, None when the version moved."""
    current = json.loads(raw["entries"]["S"]) if "entries" in raw else []
    rev = int(raw["rev"]["N"]) if "rev" in raw else 0
    kept = merge(current)
    if kept == current:
        return 0
    request = {
        "TableName": aggregates.metrics_table_name(), "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        "UpdateExpression": "SET entries = :entries, rev = :next",
        "ConditionExpression": "attribute_not_exists(rev) OR rev = :rev",
        "ExpressionAttributeValues": {":entries": {"S": json.dumps(kept, separators=(",", ":"))},
                                      ":next": {"N": str(rev + 1)}, ":rev": {"N": str(rev)}},
    }
    try:
        connection().dispatch("UpdateItem", request)
        return 1
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise_if_transient(exc)
            raise
    return None
