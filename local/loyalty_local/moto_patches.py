"""Keeps moto's DynamoDB fast without changing what it answers.

- Transactions: moto backs up every table a transaction touches with a deep copy, so a transaction costs
  time in proportion to the whole table and its stream (hundreds of ms after a few thousand writes).
  Here the backup is of the touched items and of the stream's length only; on failure those are
  restored, which is the same all-or-nothing outcome (including no stream records from a cancelled
  transaction).
- Responses: moto's generic serializer walks the botocore shape of every attribute of every item (a
  GetRecords of 100 records took ~200 ms). DynamoDB and DynamoDB Streams results are already in wire
  form (attribute values as `{"S": ...}`), so they are written with `json.dumps`; the only typed values
  in them become what the JSON protocol sends: timestamps as epoch seconds, blobs as base64. A test compares both
  serializers on real traffic (tests/unit/test_moto_patches.py).
- EventBridge: moto builds a JSONPath parser (PLY tables included) for every input path of every target
  of every event (~60 ms a PutEvents); the parsed paths are cached.
"""

from __future__ import annotations

import base64
import calendar
import copy
import functools
import json
import os
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
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


_generic_serialized = BaseResponse.serialized
_WIRE_FORM_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
# Tests set this: every response is also serialized by moto's own serializer and the two must agree.
verify = os.environ.get("LOYALTY_LOCAL_VERIFY_SERIALIZER") == "1"


def _wire_value(value: Any) -> Any:
    if isinstance(value, bytes):  # a blob: base64, as the JSON protocol sends it
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):  # the JSON protocol's timestamps: epoch seconds, milliseconds kept
        seconds = calendar.timegm(value.utctimetuple())
        return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds
    raise TypeError(f"not in wire form: {type(value).__name__}")


def _serialized(self: BaseResponse, action_result: ActionResult) -> Any:
    result = action_result.result
    if self.service_name not in _WIRE_FORM_SERVICES or not isinstance(result, dict):
        return _generic_serialized(self, action_result)
    try:
        body = json.dumps(result, default=_wire_value, separators=(",", ":"))
    except TypeError:
        return _generic_serialized(self, action_result)
    headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
    if verify:
        expected_status, _, expected_body = _generic_serialized(self, action_result)
        if (expected_status, json.loads(expected_body)) != (200, json.loads(body)):
            raise AssertionError(f"{self.service_name} {self._get_action()}: {body} != {expected_body!r}")
    return 200, headers, body


def apply() -> None:
    global _applied
    if _applied:
        return
    dynamodb_models.copy = _NoTableCopies()  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    BaseResponse.serialized = _serialized  # type: ignore[method-assign]
    import jsonpath_ng.ext

    # moto imports `parse` from jsonpath_ng.ext inside the function, at every call: this is what it gets.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
    _applied = True
