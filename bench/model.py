"""A request model that cannot miss: every request any AWS client sends, counted where botocore makes them,
priced by AWS's rules, and checked against what the emulator served.

- **Every request.** A hook on botocore's `Session.create_client` registers `before-parameter-build` and
  `after-call` on every client any session creates (boto3's default session, pynamodb's per-connection
  sessions, any other), for every service. Nothing has to be attached to a particular model or client.
- **Coverage.** The in-process moto server counts what it served; requests the model makes itself to read
  item sizes carry a header the server does not count. `coverage.ratio` is counted / served, and the bench
  fails below 1.0.
- **Units by AWS's rules.** Writes: each item `max(size before, size after)` in 1 KB units (1 at least),
  doubled inside a transaction (a ConditionCheck too), the images read around the request. Index writes:
  per global secondary index, from the item's index keys before and after: none when neither has them; a
  put when the keys appear, a delete when they go, a delete and a put when they change; when they stay, a
  write of the projected item for an ALL projection if anything changed, nothing for KEYS_ONLY. Reads:
  GetItem/BatchGetItem/TransactGetItems per item returned, 4 KB units (a missing item costs the minimum),
  halved when eventually consistent, doubled in a transaction; Query/Scan per request, the bytes of the
  items it read (the index's projection for an index) in 4 KB units, at least one.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.dynamo import item_size, raw_client

MEASUREMENT_HEADER = "x-bench-measurement"
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
# Index name -> (hash attribute, range attribute, projection) of LoyaltyTable (read from the template).
Indexes = dict[str, tuple[str, str, str]]


@dataclass
class Call:
    """One request as the model saw it."""

    service: str
    operation: str
    params: dict[str, Any]
    parsed: dict[str, Any] | None = None
    # DynamoDB writes: (table, key) -> the item before and after the request.
    before: dict[tuple[str, str, str], dict[str, Any] | None] = field(default_factory=dict)
    after: dict[tuple[str, str, str], dict[str, Any] | None] = field(default_factory=dict)
    failed: bool = False


class Recorder:
    """Records every request of every AWS client while `active`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.active = False
        self._local = threading.local()
        self._client: Any = None

    # --- installing --------------------------------------------------------------------------------

    def install(self) -> Recorder:
        """From now on, every client any botocore session creates reports its requests to this recorder."""
        import botocore.session

        _RECORDERS.append(self)
        original = botocore.session.Session.create_client
        if getattr(original, "_bench_model", False):
            return self

        @functools.wraps(original)
        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build", _dispatch_before, unique_id="bench-model-before")
            client.meta.events.register("after-call", _dispatch_after, unique_id="bench-model-after")
            return client

        create_client._bench_model = True  # type: ignore[attr-defined]
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        return self

    # --- the model's own reads ----------------------------------------------------------------------

    @property
    def measuring(self) -> bool:
        return bool(getattr(self._local, "measuring", False))

    def _read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """An item as it is now, read without being counted (marked for the server, ignored by the hooks)."""
        if self._client is None:
            self._local.measuring = True
            try:
                self._client = raw_client()
                self._client.meta.events.register("before-send", _mark_measurement)
            finally:
                self._local.measuring = False
        self._local.measuring = True
        try:
            item: dict[str, Any] | None = self._client.get_item(
                TableName=table, Key={"pk": key["pk"], "sk": key["sk"]}, ConsistentRead=True).get("Item")
            return item
        finally:
            self._local.measuring = False

    # --- the hooks ----------------------------------------------------------------------------------

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any] | None) -> None:
        if not self.active or self.measuring:
            return
        call = Call(model.service_model.service_name, model.name, params)
        if call.service == "dynamodb" and call.operation in WRITE_OPERATIONS:
            for table, key in _written_keys(call.operation, params):
                call.before[(table, key["pk"]["S"], key["sk"]["S"])] = self._read(table, key)
        self.calls.append(call)
        if context is not None:
            context["bench_call"] = call

    def after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any] | None) -> None:
        if not self.active or self.measuring or context is None:
            return
        call = context.get("bench_call")
        if call is None:
            return
        call.parsed = parsed
        call.failed = bool(parsed.get("Error")) or int(getattr(http_response, "status_code", 200)) >= 400
        if call.service == "dynamodb" and call.operation in WRITE_OPERATIONS:
            for table, pk, sk in call.before:
                call.after[(table, pk, sk)] = self._read(table, {"pk": {"S": pk}, "sk": {"S": sk}})

    # --- measuring ------------------------------------------------------------------------------------

    def start(self) -> None:
        self.calls = []
        self.active = True

    def stop(self) -> list[Call]:
        self.active = False
        return list(self.calls)


_RECORDERS: list[Recorder] = []


def _dispatch_before(params: dict[str, Any], model: Any, context: dict[str, Any] | None = None, **_: Any) -> None:
    for recorder in _RECORDERS:
        recorder.before(params, model, context)


def _dispatch_after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any] | None = None,
                    **_: Any) -> None:
    for recorder in _RECORDERS:
        recorder.after(http_response, parsed, model, context)


def _mark_measurement(request: Any, **_: Any) -> None:
    request.headers[MEASUREMENT_HEADER] = "1"


def _written_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if operation == "TransactWriteItems":
        found = []
        for action in params["TransactItems"]:
            (_kind, body), = action.items()
            found.append((body["TableName"], _key(body.get("Item") or body["Key"])))
        return found
    if operation == "BatchWriteItem":
        return [(table, _key(entry.get("PutRequest", {}).get("Item") or entry.get("DeleteRequest", {}).get("Key")))
                for table, entries in params["RequestItems"].items() for entry in entries]
    return [(params["TableName"], _key(params.get("Item") or params["Key"]))]


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


# --- the emulator's side -----------------------------------------------------------------------------


class Served:
    """What the in-process moto server answered, by service, while counting (the model's own reads left out)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.active = False
        self.lock = threading.Lock()

    def tap(self, environ: dict[str, Any]) -> None:
        if not self.active or environ.get("HTTP_" + MEASUREMENT_HEADER.upper().replace("-", "_")):
            return
        target = str(environ.get("HTTP_X_AMZ_TARGET", "")).split(".")[0].lower()
        # The JSON protocols name their service in X-Amz-Target; the REST ones (S3, API Gateway) do not.
        service = {"dynamodb_20120810": "dynamodb", "dynamodbstreams_20120810": "dynamodbstreams",
                   "awsevents": "events", "amazonsqs": "sqs"}.get(target, target or "rest")
        with self.lock:
            self.counts[service] += 1

    def start(self) -> None:
        with self.lock:
            self.counts.clear()
        self.active = True

    def stop(self) -> Counter[str]:
        self.active = False
        with self.lock:
            return Counter(self.counts)


# --- pricing ------------------------------------------------------------------------------------------


def _units(size: int, per: int) -> int:
    return max(1, math.ceil(size / per))


def _index_key(item: dict[str, Any] | None, hash_name: str, range_name: str) -> tuple[str, str] | None:
    if not item or hash_name not in item or range_name not in item:
        return None
    return str(item[hash_name].get("S")), str(item[range_name].get("S"))


def _projected(item: dict[str, Any], index: tuple[str, str, str]) -> dict[str, Any]:
    hash_name, range_name, projection = index
    if projection == "ALL":
        return item
    return {name: item[name] for name in ("pk", "sk", hash_name, range_name) if name in item}


def index_writes(before: dict[str, Any] | None, after: dict[str, Any] | None,
                 indexes: Indexes) -> list[tuple[str, str, int]]:
    """(index, index partition key, write units) of one item's write, by AWS's rules."""
    found = []
    for name, index in indexes.items():
        old, new = _index_key(before, index[0], index[1]), _index_key(after, index[0], index[1])
        if old is None and new is None:
            continue
        if old == new:
            assert before is not None and after is not None and new is not None
            if index[2] == "ALL" and _projected(before, index) != _projected(after, index):
                found.append((name, new[0], _units(item_size(_projected(after, index)), 1024)))
            continue
        if old is not None:
            assert before is not None
            found.append((name, old[0], _units(item_size(_projected(before, index)), 1024)))
        if new is not None:
            assert after is not None
            found.append((name, new[0], _units(item_size(_projected(after, index)), 1024)))
    return found


@dataclass
class Priced:
    """Read and write units by (table or index, partition key), and the items each transaction wrote."""

    reads: Counter[tuple[str, str]] = field(default_factory=Counter)
    writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    # One entry per transaction: the (table, pk, sk) of each item it wrote.
    transactions: list[list[tuple[str, str, str]]] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)  # by service
    write_units: float = 0.0
    read_units: float = 0.0


def price(calls: list[Call], indexes: Indexes) -> Priced:
    priced = Priced()
    for call in calls:
        priced.requests[call.service] += 1
        if call.service != "dynamodb" or call.failed:
            continue
        _price_dynamodb(call, indexes, priced)
    priced.write_units = float(sum(priced.writes.values()))
    priced.read_units = float(sum(priced.reads.values()))
    return priced


def _price_dynamodb(call: Call, indexes: Indexes, priced: Priced) -> None:
    params, parsed = call.params, call.parsed or {}
    operation = call.operation
    if operation in WRITE_OPERATIONS:
        factor = 2 if operation == "TransactWriteItems" else 1
        touched = []
        for (table, pk, sk), before in call.before.items():
            after = call.after.get((table, pk, sk))
            size = max(item_size(before), item_size(after))
            priced.writes[(table, pk)] += factor * _units(size, 1024)
            touched.append((table, pk, sk))
            if table == "LoyaltyTable":
                for index, key, units in index_writes(before, after, indexes):
                    priced.writes[(index, key)] += units
        if operation == "TransactWriteItems":
            priced.transactions.append(touched)
        return
    if operation in ("GetItem", "BatchGetItem", "TransactGetItems"):
        requested = _read_keys(operation, params)
        returned = _returned_items(operation, parsed)
        for table, key, consistent in requested:
            item = returned.get((table, key))
            units = _units(item_size(item), 4096) if item else 1
            factor = 2.0 if operation == "TransactGetItems" else 1.0 if consistent else 0.5
            priced.reads[(table, key[0])] += units * factor
        return
    if operation in ("Query", "Scan"):
        space, key = _queried(params)
        items = parsed.get("Items") or []
        size = sum(item_size(item) for item in items)
        scanned, count = int(parsed.get("ScannedCount", len(items)) or 0), len(items)
        if scanned > count and count:
            size = size * scanned // count  # items read but filtered out: as large as those kept
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        priced.reads[(space, key)] += _units(size, 4096) * factor


def _read_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, tuple[str, str], bool]]:
    if operation == "GetItem":
        key = params["Key"]
        return [(params["TableName"], (key["pk"]["S"], key["sk"]["S"]), bool(params.get("ConsistentRead")))]
    if operation == "TransactGetItems":
        return [(item["Get"]["TableName"], (item["Get"]["Key"]["pk"]["S"], item["Get"]["Key"]["sk"]["S"]), True)
                for item in params["TransactItems"]]
    return [(table, (key["pk"]["S"], key["sk"]["S"]), bool(spec.get("ConsistentRead")))
            for table, spec in params["RequestItems"].items() for key in spec["Keys"]]


def _returned_items(operation: str, parsed: dict[str, Any]) -> dict[tuple[str, tuple[str, str]], dict[str, Any]]:
    found: dict[tuple[str, tuple[str, str]], dict[str, Any]] = {}
    if operation == "GetItem":
        item = parsed.get("Item")
        if item:
            found[("", (item["pk"]["S"], item["sk"]["S"]))] = item
    elif operation == "BatchGetItem":
        for table, items in (parsed.get("Responses") or {}).items():
            for item in items:
                found[(table, (item["pk"]["S"], item["sk"]["S"]))] = item
    else:
        for response in parsed.get("Responses") or []:
            item = response.get("Item")
            if item:
                found[("", (item["pk"]["S"], item["sk"]["S"]))] = item
    if operation != "BatchGetItem":
        return {(table, key): item for (table, key), item in found.items()} | {
            (name, key): item for (_, key), item in found.items() for name in ("LoyaltyTable", "MetricsTable")}
    return found


def _queried(params: dict[str, Any]) -> tuple[str, str]:
    """(table or index, partition key value) a Query names (a Scan: the table, '*')."""
    import re

    space = params.get("IndexName") or params["TableName"]
    values = params.get("ExpressionAttributeValues", {})
    names = params.get("ExpressionAttributeNames", {})
    for name, value in re.findall(r"(#?\w+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")):
        if names.get(name, name) in ("pk", "gsi1pk", "gsi2pk", "gsi3pk"):
            return space, str(values[value].get("S"))
    return space, "*"


def summary(calls: list[Call], indexes: Indexes) -> dict[str, Any]:
    """One operation's requests and units (what `write_units_per_op` and friends report)."""
    priced = price(calls, indexes)
    dynamo_calls = [call for call in calls if call.service == "dynamodb"]
    largest = max((item_size(image) for call in dynamo_calls for image in (*call.before.values(),
                                                                           *call.after.values())), default=0)
    return {"requests": len(dynamo_calls), "requests_all_services": len(calls),
            "write_requests": sum(1 for call in dynamo_calls if call.operation in WRITE_OPERATIONS),
            "read_requests": sum(1 for call in dynamo_calls if call.operation not in WRITE_OPERATIONS),
            "write_units": priced.write_units, "read_units": priced.read_units, "largest_item_bytes": largest,
            "operations": [call.operation for call in dynamo_calls]}


def indexes_of(template_table: dict[str, Any]) -> Indexes:
    """LoyaltyTable's global secondary indexes as the template declares them."""
    found: Indexes = {}
    for index in template_table.get("GlobalSecondaryIndexes", []):
        schema = {key["KeyType"]: key["AttributeName"] for key in index["KeySchema"]}
        found[index["IndexName"]] = (schema["HASH"], schema["RANGE"], index["Projection"]["ProjectionType"])
    return found
