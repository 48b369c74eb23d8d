"""An emulator as unkind as AWS, when asked: DynamoDB answers that moto never gives.

moto serializes every request, so two transactions never overlap on an item and nothing is ever
throttled: a local run can only show what the code does when everything goes well. Here rules make the
emulator answer as DynamoDB does under contention and load, on chosen operations and keys, at a rate:

- `conflict`: a transaction that touches a matching item is cancelled (TransactionCanceledException, the
  reason TransactionConflict on that item, None on the others); a plain write on such an item is refused
  with TransactionConflictException, as DynamoDB refuses a write to an item a transaction holds;
- `throttle`: ProvisionedThroughputExceededException (or ThrottlingException), which botocore retries
  and the code must turn into a 503 with Retry-After once botocore gives up;
- `slow`: the answer comes `delay` seconds late (a hot partition, a long GC).

Opt-in: tests install rules on the in-process server (`MotoServer.app.chaos`); the local stack takes them
at `POST /local/faults` (a JSON list of rules; `[]` clears them). Nothing in the production code knows.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

PREFIX = "com.amazonaws.dynamodb.v20120810#"
Kind = Literal["conflict", "throttle", "slow"]


@dataclass
class Rule:
    error: Kind
    # DynamoDB operations it applies to (empty: every one).
    operations: tuple[str, ...] = ()
    # Partition key prefixes: the request must touch an item whose pk starts with one (empty: any request).
    keys: tuple[str, ...] = ()
    rate: float = 1.0  # the chance that a matching request is hit
    delay: float = 0.0  # slow: seconds
    times: int | None = None  # at most this many hits (None: no limit)
    code: str = "ProvisionedThroughputExceededException"  # throttle: or ThrottlingException
    hits: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rule:
        return cls(error=raw["error"], operations=tuple(raw.get("operations") or ()), keys=tuple(raw.get("keys") or ()),
                   rate=float(raw.get("rate", 1.0)), delay=float(raw.get("delay", 0.0)), times=raw.get("times"),
                   code=str(raw.get("code", "ProvisionedThroughputExceededException")))


def _pk(item: dict[str, Any] | None) -> str | None:
    value = (item or {}).get("pk")
    return str(value["S"]) if isinstance(value, dict) and "S" in value else None


def touched(operation: str, body: dict[str, Any]) -> list[str | None]:
    """The partition keys a request touches, in its own order (a transaction's: one per action)."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for action in body.get("TransactItems", []):
            (_kind, inner), = action.items()
            found.append(_pk(inner.get("Item") or inner.get("Key")))
        return found
    if operation in ("BatchGetItem", "BatchWriteItem"):
        keys: list[str | None] = []
        for spec in body.get("RequestItems", {}).values():
            if isinstance(spec, dict):
                keys.extend(_pk(key) for key in spec.get("Keys", []))
            else:
                keys.extend(_pk(entry.get("PutRequest", {}).get("Item") or entry.get("DeleteRequest", {}).get("Key"))
                            for entry in spec)
        return keys
    if operation == "Query":
        named: list[str | None] = [str(value["S"]) for value in (body.get("ExpressionAttributeValues") or {}).values()
                                   if isinstance(value, dict) and "S" in value]
        return named[:1]
    return [_pk(body.get("Item") or body.get("Key"))]


class Chaos:
    """The rules in force, checked on every DynamoDB request the emulator is sent."""

    def __init__(self, rules: list[Rule] | None = None, seed: int | None = None) -> None:
        self.rules = list(rules or [])
        self.random = random.Random(seed)  # noqa: S311 - which requests fail, not security
        self.lock = threading.Lock()

    def set(self, rules: list[Rule]) -> None:
        with self.lock:
            self.rules = list(rules)

    def hits(self) -> int:
        with self.lock:
            return sum(rule.hits for rule in self.rules)

    def answer(self, operation: str, body: dict[str, Any]) -> tuple[int, str] | None:
        """None to let the request through (after any delay), else the error to answer with."""
        keys = touched(operation, body)
        delay = 0.0
        found: tuple[int, str] | None = None
        with self.lock:
            for rule in self.rules:
                if rule.operations and operation not in rule.operations:
                    continue
                matching = [index for index, key in enumerate(keys)
                            if not rule.keys or (key is not None and key.startswith(rule.keys))]
                if not matching or (rule.times is not None and rule.hits >= rule.times):
                    continue
                if self.random.random() >= rule.rate:
                    continue
                rule.hits += 1
                if rule.error == "slow":
                    delay = max(delay, rule.delay)
                    continue
                found = self._error(rule, operation, len(keys), matching)
                break
        if delay:
            time.sleep(delay)
        return found

    @staticmethod
    def _error(rule: Rule, operation: str, actions: int, matching: list[int]) -> tuple[int, str]:
        if rule.error == "throttle":
            message = "The level of configured provisioned throughput for the table was exceeded"
            return 400, json.dumps({"__type": f"{PREFIX}{rule.code}", "message": message})
        if operation == "TransactWriteItems":
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                       if index in matching else {"Code": "None"} for index in range(actions)]
            codes = ", ".join(reason["Code"] for reason in reasons)
            return 400, json.dumps({"__type": f"{PREFIX}TransactionCanceledException",
                                    "Message": f"Transaction cancelled, please refer cancellation reasons for "
                                               f"specific reasons [{codes}]", "CancellationReasons": reasons})
        return 400, json.dumps({"__type": f"{PREFIX}TransactionConflictException",
                                "message": "Transaction is ongoing for the item"})


def dynamodb_request(environ: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(operation, body) of a DynamoDB request (the body is put back for moto to read), else None."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if not target.startswith("DynamoDB_"):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    return target.rsplit(".", 1)[-1], body
