"""Low-level access shared by the repositories: one consistent BatchGetItem, one TransactWriteItems.

A points-changing request reads everything it needs in one BatchGetItem (member, program, the
idempotency record, and the order or reward it touches) and writes everything in one
TransactWriteItems. Failures come back as typed exceptions naming which item's condition failed.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from loyalty.domain.errors import BadRequest, ServiceUnavailable
from loyalty.store.base import _Connected, table_name


def query_page(model: Any, pk: str, range_condition: Any, limit: int, start: dict[str, str] | None,
               forward: bool) -> tuple[list[Any], str | None]:
    try:
        query = model.query(pk, range_condition, scan_index_forward=forward, limit=limit, page_size=limit,
                            last_evaluated_key=typed_key(start) if start else None)
        items = list(query)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    more = len(items) >= limit and query.last_evaluated_key
    return items, encode_cursor(query.last_evaluated_key) if more else None


def commit(txn: Txn) -> None:
    try:
        txn.commit()
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def typed_key(plain: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in plain.items()}



M = TypeVar("M", bound=Model)
Key = tuple[str, str]

# Error codes DynamoDB (and botocore, after its own retries) raises for load or transient faults.
TRANSIENT_CODES = {
    # A plain write to an item a transaction holds: DynamoDB refuses it; a retry goes through.
    "TransactionConflictException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
}

_connection_lock = threading.Lock()
_connection: Connection | None = None


def connection() -> Connection:
    """The low-level pynamodb connection the models use (one botocore client per process)."""
    global _connection
    if _connection is None:
        with _connection_lock:
            if _connection is None:
                _connection = _Connected._get_connection().connection
    return _connection


def error_code(exc: BaseException) -> str | None:
    cause = getattr(exc, "cause", None) or exc.__cause__
    response = getattr(cause, "response", None) or getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def raise_if_transient(exc: BaseException) -> None:
    """Throttling, server errors and lost connections (after botocore's own retries) become a retriable 503."""
    code = error_code(exc)
    if code in TRANSIENT_CODES:
        raise ServiceUnavailable(f"the database is busy ({code}); retry with the same Idempotency-Key") from exc
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, BotoCoreError):
            raise ServiceUnavailable("the database could not be reached; retry with the same Idempotency-Key") from exc
        cause = cause.__cause__ or getattr(cause, "cause", None)


def batch_get(keys: Iterable[Key], consistent: bool = True, table: str | None = None) -> dict[Key, dict[str, Any]]:
    """Raw items by key, read with BatchGetItem (100 keys a request, plus retries of unprocessed keys)."""
    name = table or table_name()
    wanted = list(dict.fromkeys(keys))
    found: dict[Key, dict[str, Any]] = {}
    for start in range(0, len(wanted), 100):
        found.update(_batch_get(wanted[start:start + 100], consistent, name))
    return found


def _batch_get(wanted: list[Key], consistent: bool, name: str) -> dict[Key, dict[str, Any]]:
    found: dict[Key, dict[str, Any]] = {}
    pending = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted]
    attempts = 0
    while pending:
        attempts += 1
        request = {"RequestItems": {name: {"Keys": pending, "ConsistentRead": consistent}}}
        try:
            response = connection().dispatch("BatchGetItem", request)
        except (PynamoDBException, ClientError, BotoCoreError) as exc:
            raise_if_transient(exc)
            raise
        for item in response.get("Responses", {}).get(name, []):
            found[(item["pk"]["S"], item["sk"]["S"])] = item
        pending = response.get("UnprocessedKeys", {}).get(name, {}).get("Keys", [])
        if pending and attempts >= 5:
            raise ServiceUnavailable("the database did not return every item; retry")
    return found


def load(cls: type[M], raw: dict[str, Any] | None) -> M | None:
    if raw is None:
        return None
    item = cls.from_raw_data(raw)
    remember = getattr(item, "remember_stored", None)
    if remember is not None:
        remember(raw)  # what the table holds, so an update names only what changed
    return item


class ConditionFailed(Exception):
    """A transaction was cancelled: `labels` names the items whose condition failed."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels


@dataclass
class Txn:
    """Builds one TransactWriteItems and remembers which label each item has, in request order."""

    _checks: list[tuple[str, type[Model], Key, Condition | None]] = field(default_factory=list)
    _puts: list[tuple[str, Model, Condition | None]] = field(default_factory=list)
    _updates: list[tuple[str, Model, list[Action], Condition | None, bool]] = field(default_factory=list)
    _deletes: list[tuple[str, Model, Condition | None]] = field(default_factory=list)

    def check(self, label: str, cls: type[Model], key: Key, condition: Condition) -> Txn:
        self._checks.append((label, cls, key, condition))
        return self

    def put(self, label: str, item: Model, condition: Condition | None = None) -> Txn:
        self._puts.append((label, item, condition))
        return self

    def update(
        self, label: str, item: Model, actions: list[Action], condition: Condition | None = None,
        *, versioned: bool = True,
    ) -> Txn:
        self._updates.append((label, item, actions, condition, versioned))
        return self

    def delete(self, label: str, item: Model, condition: Condition | None = None) -> Txn:
        self._deletes.append((label, item, condition))
        return self

    @property
    def labels(self) -> list[str]:
        # pynamodb sends condition checks, then deletes, then puts, then updates.
        return (
            [c[0] for c in self._checks] + [d[0] for d in self._deletes]
            + [p[0] for p in self._puts] + [u[0] for u in self._updates]
        )

    def commit(self) -> None:
        try:
            with TransactWrite(connection=connection()) as transaction:
                for _, cls, key, condition in self._checks:
                    transaction.condition_check(cls, key[0], key[1], condition=condition)
                for _, item, condition in self._deletes:
                    transaction.delete(item, condition=condition)
                for _, item, condition in self._puts:
                    transaction.save(item, condition=condition)
                for _, item, actions, condition, versioned in self._updates:
                    transaction.update(item, actions=actions, condition=condition, add_version_condition=versioned)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            failed = [
                label for label, reason in zip(self.labels, reasons, strict=False)
                if reason is not None and reason.code == "ConditionalCheckFailed"
            ]
            if failed:
                raise ConditionFailed(failed) from exc
            codes = {reason.code for reason in reasons if reason is not None}
            # Another transaction held one of the items: a race, re-read and re-plan. Throttling and
            # server errors (botocore already retried them) go up as a retriable 503 instead.
            if "TransactionConflict" in codes or error_code(exc) == "TransactionConflictException":
                raise ConditionFailed(["conflict"]) from exc
            raise
        for _, item, _actions, _condition, _versioned in self._updates:
            remember = getattr(item, "remember_stored", None)
            if remember is not None:
                remember()  # the table now holds this item as it is


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    plain = {name: value["S"] if isinstance(value, dict) else value for name, value in last_key.items()}
    raw = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, required: Iterable[str]) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the cursor is not one this API returned", code="invalid_cursor") from exc
    if not isinstance(plain, dict) or set(plain) != set(required) or not all(
        isinstance(value, str) for value in plain.values()
    ):
        raise BadRequest("the cursor is not one this API returned", code="invalid_cursor")
    return plain


def _plain(value: dict[str, Any]) -> Any:
    (kind, inner), = value.items()
    if kind == "S":
        return inner
    if kind == "N":
        return Decimal(inner)
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "M":
        return {name: _plain(item) for name, item in inner.items()}
    if kind == "L":
        return [_plain(item) for item in inner]
    if kind in ("SS", "BS"):
        return set(inner)
    if kind == "NS":
        return {Decimal(item) for item in inner}
    return inner


def _pages(operation: str, request: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The items of a paged Scan or Query, as plain Python values (numbers as Decimal)."""
    start: dict[str, Any] | None = request.pop("ExclusiveStartKey", None)
    while True:
        page = {**request, "ExclusiveStartKey": start} if start else request
        try:
            response = connection().dispatch(operation, page)
        except (PynamoDBException, ClientError, BotoCoreError) as exc:
            raise_if_transient(exc)
            raise
        for item in response.get("Items", []):
            yield {name: _plain(value) for name, value in item.items()}
        start = response.get("LastEvaluatedKey")
        if not start:
            return


def plain_item(raw: dict[str, Any]) -> dict[str, Any]:
    """An item as DynamoDB sends it, as plain Python values (numbers as Decimal)."""
    return {name: _plain(value) for name, value in raw.items()}


def scan(table: str, page_size: int | None = None) -> Iterable[dict[str, Any]]:
    """Every item of a table, page by page (at most `page_size` items held at once). For jobs, never requests."""
    return _pages("Scan", {"TableName": table, **({"Limit": page_size} if page_size else {})})


def scan_segment(table: str, segment: int, total_segments: int, start: dict[str, str] | None,
                 page_size: int = 200) -> Iterable[dict[str, Any]]:
    """The items of one segment of a parallel Scan, from just after the item keyed `start` (plain pk and
    sk), page by page. For jobs that fan out over the table."""
    request: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": total_segments,
                               "Limit": page_size}
    if start is not None:
        request["ExclusiveStartKey"] = {"pk": {"S": start["pk"]}, "sk": {"S": start["sk"]}}
    return _pages("Scan", request)


def item_count(table: str) -> int:
    """How many items the table holds, as DynamoDB last counted them (about every six hours)."""
    try:
        response = connection().dispatch("DescribeTable", {"TableName": table})
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        raise_if_transient(exc)
        raise
    return int(response["Table"].get("ItemCount") or 0)


def query_partition(table: str, pk: str, sk_between: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Every item under one partition key (with a sort key between the two given, inclusive), read
    consistently. For jobs."""
    condition, values = "pk = :pk", {":pk": {"S": pk}}
    if sk_between is not None:
        condition += " AND sk BETWEEN :low AND :high"
        values.update({":low": {"S": sk_between[0]}, ":high": {"S": sk_between[1]}})
    return list(_pages("Query", {"TableName": table, "KeyConditionExpression": condition,
                                 "ExpressionAttributeValues": values, "ConsistentRead": True}))
