"""Keeps moto's DynamoDB transactions fast without changing what they do.

moto backs up every table a transaction touches with a deep copy, so a transaction costs time in
proportion to the whole table and its stream (hundreds of ms after a few thousand writes). Here the
backup is of the touched items and of the stream's length only; on failure those are restored, which
is the same all-or-nothing outcome (including no stream records from a cancelled transaction).
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_original = DynamoDBBackend.transact_write_items
_applied = False


class _NoTableCopies:
    """Stands in for the `copy` module inside moto.dynamodb.models: tables are not deep-copied."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved: list[tuple[Table, Any, Any, Any]] = []
    stream_lengths: dict[int, tuple[Any, int]] = {}
    for operation in transact_items[:100]:
        _, request = next(iter(operation.items()))
        table = self.tables.get(request.get("TableName", ""))
        if table is None:
            continue
        key = request.get("Key")
        if key is None and "Item" in request:
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            key = {name: request["Item"][name] for name in names if name in request["Item"]}
        try:
            hash_key, range_key = self.get_keys_value(table, key or {})
            current = table.get_item(hash_key, range_key)
        except Exception:  # noqa: S112 - moto reports the malformed request itself
            continue
        saved.append((table, hash_key, range_key, copy.deepcopy(current)))
        shard = table.stream_shard
        if shard is not None and id(shard) not in stream_lengths:
            stream_lengths[id(shard)] = (shard, len(shard.items))
    try:
        _original(self, transact_items)
    except Exception:
        for table, hash_key, range_key, previous in reversed(saved):
            if previous is None:
                if range_key is not None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items.pop(hash_key, None)
            elif range_key is not None:
                table.items[hash_key][range_key] = previous
            else:
                table.items[hash_key] = previous
        for shard, length in stream_lengths.values():
            del shard.items[length:]
        raise


def apply() -> None:
    global _applied
    if _applied:
        return
    dynamodb_models.copy = _NoTableCopies()  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _applied = True
