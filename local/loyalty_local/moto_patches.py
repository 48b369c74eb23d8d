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
- Items: moto re-measures the whole item for every attribute it adds (quadratic in attributes); a new
  item is measured once, against the same 400 KB limit.
- Updates: moto deep-copies the update expression's tree it has just parsed before validating it (the
  tree is used once), and each validation pass rebuilds its node-type table at every node; the copy is
  skipped and the tables are built once per pass.
- Conditions: a condition expression with the same names and values parses to the same tree, so
  parsed trees are cached (`attribute_not_exists(pk)` is on most writes).
- Queries: a table Query (no index) walks every item of every partition to find its own; here it walks
  its partition only, so a member's activity does not get slower as other members' entries pile up. An
  index Query walks every item too; here it walks the items holding its hash key, from a map of the
  index's hash values that is rebuilt (one walk) after the table changed: every write to a table
  (put, delete, update, transaction, batch) counts as a change. A list that queries several keys of an
  index in a row (the back office's rosters) walks the table once, not once per key.
- Dispatch: for every request moto lists its own package directory and inspects the handler class for
  its methods; both answers never change while it runs, so they are computed once.
- SQS: to check a received message's retention moto computes every attribute of its queue three times
  (each count walks the queue, asking the clock for every message): a tenth of the local stack's moto
  time under purchase traffic, whose events feed the event log's queue. Here it reads the one attribute.
  moto's SQS also asks the clock through datetime arithmetic (utcnow minus the epoch) for every message
  it looks at; here it reads `time.time()`, the same number.
- S3 notifications: moto leaves out the object's `versionId` (AWS names it in a bucket that keeps versions)
  and the `sequencer`; here they are added as AWS sends them, so an upload is known by its version.
- EventBridge: moto builds a JSONPath parser (PLY tables included) for every input path of every target
  of every event (~60 ms a PutEvents); the parsed paths are cached.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import copy
import functools
import inspect
import json
import os
import time
from datetime import datetime
from typing import Any

from moto import backends
from moto.core import responses as responses_module
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import unix_time
from moto.dynamodb import comparisons
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]
from moto.dynamodb.parsing.validators import Validator
from moto.sqs import models as sqs_models
from moto.sqs.models import Message, SQSBackend

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


_put_item = Table.put_item
_delete_item = Table.delete_item
_update_item = DynamoDBBackend.update_item


# Counted before and after each write: a map rebuilt by a query that ran meanwhile is not kept.
def _counted_put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    _changed(self)
    try:
        return _put_item(self, *args, **kwargs)
    finally:
        _changed(self)


def _counted_delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    _changed(self)
    try:
        return _delete_item(self, *args, **kwargs)
    finally:
        _changed(self)


def _counted_update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
    table = self.tables.get(table_name)
    if table is not None:
        _changed(table)
    try:
        return _update_item(self, table_name, *args, **kwargs)
    finally:
        if table is not None:
            _changed(table)


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    for operation in transact_items[:100]:
        _, request = next(iter(operation.items()))
        changed = self.tables.get(request.get("TableName", ""))
        if changed is not None:
            _changed(changed)  # before and after: a cancelled transaction restores items in place
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
        for table, *_ in saved:
            _changed(table)
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
        for table, *_ in saved:
            _changed(table)
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


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    converted = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in converted.items()) > 405000:  # moto's own limit
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, converted)


_parse_condition = comparisons.get_filter_expression


@functools.lru_cache(maxsize=1024)
def _parsed_condition(expression: str | None, names: str, values: str) -> Any:
    return _parse_condition(expression, json.loads(names), json.loads(values))


def _get_filter_expression(expression: str | None, names: dict[str, str] | None,
                           values: dict[str, Any] | None) -> Any:
    try:
        names_key, values_key = json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True)
    except TypeError:  # binary values: not worth a key
        return _parse_condition(expression, names, values)
    return _parsed_condition(expression, names_key, values_key)


_query = Table.query
_scan = Table.scan
_all_items = Table.all_items


_query_signature = inspect.signature(_query)
_scan_signature = inspect.signature(_scan)


def _changed(table: Table) -> None:
    table.__dict__["_mutations"] = table.__dict__.get("_mutations", 0) + 1


def _index_hash_attribute(table: Table, index_name: str) -> str | None:
    for index in table.all_indexes():
        if index.name == index_name:
            hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
            return hashes[0] if len(hashes) == 1 else None
    return None


def _index_items(table: Table, attribute: str, value: DynamoType) -> list[Item]:
    """The items whose `attribute` is `value`, from a map rebuilt after the table changed."""
    cache = table.__dict__.setdefault("_index_maps", {})
    mutations = table.__dict__.get("_mutations", 0)
    entry = cache.get(attribute)
    if entry is None or entry[0] != mutations:
        by_value: dict[tuple[str, Any], list[Item]] = {}
        for item in _all_items(table):
            found = item.attrs.get(attribute) if isinstance(item, Item) else None
            if found is not None:
                by_value.setdefault((found.type, str(found.value)), []).append(item)
        entry = (mutations, by_value)
        cache[attribute] = entry
    return list(entry[1].get((value.type, str(value.value)), []))


def _table_query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    # moto passes index_name by position: bind the call as moto's own signature reads it.
    index_name = _query_signature.bind(self, hash_key, *args, **kwargs).arguments.get("index_name")
    if index_name and isinstance(hash_key, DynamoType):
        attribute = _index_hash_attribute(self, index_name)
        if attribute is not None:
            self._only_index = (attribute, hash_key)  # type: ignore[attr-defined]
            try:
                return _query(self, hash_key, *args, **kwargs)
            finally:
                self._only_index = None  # type: ignore[attr-defined]
    if index_name or hash_key is None:
        return _query(self, hash_key, *args, **kwargs)
    # moto answers a table query from all_items(), filtered by hash key: give it that partition only.
    self._only_partition = hash_key  # type: ignore[attr-defined]
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        self._only_partition = None  # type: ignore[attr-defined]


def _sorted_items(table: Table) -> tuple[list[Item], list[tuple[Any, Any]]]:
    """The table's items in key order (what moto's all_items sorts at every call) and their keys, kept
    until the table changes."""
    mutations = table.__dict__.get("_mutations", 0)
    cached = table.__dict__.get("_sorted_items")
    if cached is None or cached[0] != mutations:
        items = _all_items(table)
        cached = (mutations, items, [(item.hash_key, item.range_key) for item in items])
        table.__dict__["_sorted_items"] = cached
    return cached[1], cached[2]


def _table_scan(self: Table, *args: Any, **kwargs: Any) -> Any:
    # moto answers each Scan page by sorting the whole table and walking it up to the start key: a job
    # paging through a big table (reconciliation, what-if) took O(n) per page. Start right after it.
    arguments = _scan_signature.bind(self, *args, **kwargs).arguments
    start, index_name = arguments.get("exclusive_start_key"), arguments.get("index_name")
    if start and not index_name and self.range_key_attr and self.range_key_attr in start:
        self._scan_start = (DynamoType(start[self.hash_key_attr]),  # type: ignore[attr-defined]
                            DynamoType(start[self.range_key_attr]))
    try:
        return _scan(self, *args, **kwargs)
    finally:
        self._scan_start = None  # type: ignore[attr-defined]


def _table_all_items(self: Table) -> list[Item]:
    index = getattr(self, "_only_index", None)
    if index is not None:
        return _index_items(self, *index)
    scan_start = getattr(self, "_scan_start", None)
    if scan_start is not None:
        items, keys = _sorted_items(self)
        return items[bisect.bisect_right(keys, scan_start):]
    partition = getattr(self, "_only_partition", None)
    if partition is None:
        return list(_sorted_items(self)[0])
    found = self.items.get(partition)
    if found is None:
        return []
    return list(found.values()) if self.range_key_attr else [found]  # type: ignore[list-item]


def _validator_init(self: Validator, expression: Any, expression_attribute_names: dict[str, str],
                    expression_attribute_values: dict[str, Any], item: Item, table: Table) -> None:
    # As moto's, without the deep copy: update_item parses the expression afresh and uses it only here.
    self.expression_attribute_names = expression_attribute_names
    self.expression_attribute_values = expression_attribute_values
    self.item = item
    self.table = table
    self.processors = self.get_ast_processors()
    self.node_to_validate = expression


def _nodes_to_be_processed(self: DepthFirstTraverser) -> tuple[type, ...]:
    cached: tuple[type, ...] | None = self.__dict__.get("_node_types")
    if cached is None:
        cached = tuple(self._processing_map().keys())
        self.__dict__["_node_types"] = cached
    return cached


def _unix_time(dt: datetime | None = None) -> float:
    return time.time() if dt is None else unix_time(dt)


def _unix_time_millis(dt: datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


def _retained(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention_seconds = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(retention_seconds + message.sent_timestamp / 1000 > time.time())  # type: ignore[operator]


_sequence = [0]


def _s3_event_as_aws_sends_it(original: Any) -> Any:
    @functools.wraps(original)
    def event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        found: dict[str, Any] = original(event_name, bucket, key, notification_id)
        for record in found.get("Records", []):
            described = record["s3"]["object"]
            if getattr(bucket, "is_versioned", False) and key.version_id not in (None, "null"):
                described["versionId"] = key.version_id
            _sequence[0] += 1
            described["sequencer"] = f"{int(time.time() * 1000):012X}{_sequence[0]:04X}"
        return found

    return event


def apply() -> None:
    global _applied
    if _applied:
        return
    Validator.__init__ = _validator_init  # type: ignore[method-assign]
    DepthFirstTraverser.nodes_to_be_processed = _nodes_to_be_processed
    Item.__init__ = _item_init  # type: ignore[method-assign]
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    responses_module.method_names_from_class = functools.lru_cache(maxsize=None)(
        responses_module.method_names_from_class)
    dynamodb_models.get_filter_expression = _get_filter_expression  # type: ignore[assignment]
    table_module.get_filter_expression = _get_filter_expression  # type: ignore[assignment]
    Table.query = _table_query  # type: ignore[method-assign]
    Table.scan = _table_scan  # type: ignore[method-assign]
    Table.all_items = _table_all_items  # type: ignore[method-assign]
    Table.put_item = _counted_put_item  # type: ignore[method-assign]
    Table.delete_item = _counted_delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _counted_update_item  # type: ignore[method-assign]
    dynamodb_models.copy = _NoTableCopies()  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    BaseResponse.serialized = _serialized  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis
    from moto.s3 import notifications as s3_notifications

    s3_notifications._get_s3_event = _s3_event_as_aws_sends_it(s3_notifications._get_s3_event)
    import jsonpath_ng.ext

    # moto imports `parse` from jsonpath_ng.ext inside the function, at every call: this is what it gets.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
    _applied = True
