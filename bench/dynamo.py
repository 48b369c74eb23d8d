"""DynamoDB requests and capacity units per operation, counted with a botocore event hook.

Write units come from the sizes of the items actually written: a Put's item as sent, an Update's
item as it is after the call (DynamoDB bills the larger of before and after; after is what we can
see, and our updates grow items). 1 WCU per started KB, doubled inside a transaction. Read units:
1 per started 4 KB of each item a consistent read returns (missing items count 1), doubled inside
a transaction.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config


def attribute_size(value: dict[str, Any]) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = len(str(Decimal(str(inner)).normalize()).replace("-", "").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: item}) for item in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(item) for item in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + attribute_size(item) for name, item in inner.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


@dataclass
class Request:
    operation: str
    params: dict[str, Any]


@dataclass
class Counter:
    requests: list[Request] = field(default_factory=list)
    enabled: bool = False

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.enabled:
            self.requests.append(Request(model.name, params))

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self.hook)

    def start(self) -> None:
        self.requests.clear()
        self.enabled = True

    def stop(self) -> list[Request]:
        self.enabled = False
        return list(self.requests)


def raw_client() -> Any:
    return boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name="us-east-1",
                        config=Config(account_id_endpoint_mode="disabled"))


def _current(client: Any, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    return client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def _key_of(table_key: dict[str, Any]) -> dict[str, Any]:
    return {name: table_key[name] for name in ("pk", "sk")}


def capacity(requests: list[Request]) -> dict[str, Any]:
    """Requests by kind, write units and read units of one operation's requests (sizes read back)."""
    client = raw_client()
    writes = reads = 0
    write_units = read_units = 0.0
    largest = 0
    for request in requests:
        params = request.params
        if request.operation == "TransactWriteItems":
            writes += 1
            for action in params["TransactItems"]:
                (kind, body), = action.items()
                if kind == "Put":
                    size = item_size(body["Item"])
                elif kind == "Update":
                    size = item_size(_current(client, body["TableName"], _key_of(body["Key"])))
                elif kind == "Delete":
                    size = 1024
                else:  # ConditionCheck
                    size = item_size(_current(client, body["TableName"], _key_of(body["Key"])))
                largest = max(largest, size)
                write_units += 2 * max(1, math.ceil(size / 1024))
        elif request.operation in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"):
            writes += 1
            if request.operation == "PutItem":
                write_units += max(1, math.ceil(item_size(params["Item"]) / 1024))
            elif request.operation == "BatchWriteItem":
                for table_requests in params["RequestItems"].values():
                    for entry in table_requests:
                        item = entry.get("PutRequest", {}).get("Item")
                        write_units += max(1, math.ceil(item_size(item) / 1024)) if item else 1
            else:
                write_units += max(1, math.ceil(item_size(_current(client, params["TableName"],
                                                                   _key_of(params["Key"]))) / 1024))
        elif request.operation in ("BatchGetItem", "GetItem", "TransactGetItems", "Query"):
            reads += 1
            if request.operation == "BatchGetItem":
                for table, spec in params["RequestItems"].items():
                    for key in spec["Keys"]:
                        size = item_size(_current(client, table, key))
                        read_units += max(1, math.ceil(size / 4096)) * (1 if spec.get("ConsistentRead") else 0.5)
            elif request.operation == "GetItem":
                read_units += 1
            else:
                read_units += 1  # queries: at least one unit; the API paths measured here do not query
    return {"requests": len(requests), "write_requests": writes, "read_requests": reads,
            "write_units": write_units, "read_units": read_units, "largest_item_bytes": largest,
            "operations": [request.operation for request in requests]}
