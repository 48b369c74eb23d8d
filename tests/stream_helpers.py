"""Reads LoyaltyTable's stream from moto and delivers it to the stream processor as Lambda would."""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

from loyalty_local import timetravel
from loyalty_local.filtering import passes
from loyalty_local.streams import lambda_record
from tests.events import LambdaContext

CONFIG = Config(account_id_endpoint_mode="disabled")


def _client(service: str) -> Any:
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name="us-east-1",
                        config=CONFIG)


@functools.cache
def _filters(function: str) -> list[dict[str, Any]]:
    from loyalty_local.template import read_stack

    return [pattern for source in read_stack().streams if source.function == function for pattern in source.filters]


def stream_records(table: str = "LoyaltyTable") -> list[dict[str, Any]]:
    dynamodb, streams = _client("dynamodb"), _client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(lambda_record(dict(record), arn) for record in response["Records"])
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return records


def deliver(records: list[dict[str, Any]], shard: str = "shardId-000001",
            function: str = "stream_processor") -> dict[str, Any]:
    """The records to the function as its event source mapping would send them: through the template's
    FilterCriteria for it (what it drops, the function never sees)."""
    from loyalty_local.iam import as_function
    from tests.events import FUNCTION_OF_MODULE

    handler = importlib.import_module(f"functions.{function}.handler")
    records = [record for record in records if passes(_filters(FUNCTION_OF_MODULE[function]), record)]
    event = {"Records": records, "shardId": shard, "window": {"start": "x", "end": "y"}, "state": {}}
    with as_function(FUNCTION_OF_MODULE[function]):  # its DynamoDB requests are checked against its role
        result: dict[str, Any] = handler.lambda_handler(event, LambdaContext())
    return result


def reset_metrics_table() -> None:
    dynamodb = _client("dynamodb")
    from loyalty_local.stack import create_tables
    from loyalty_local.template import read_stack

    dynamodb.delete_table(TableName="MetricsTable")
    create_tables(read_stack(), os.environ["AWS_ENDPOINT_URL_DYNAMODB"])


def metrics_contents() -> dict[tuple[str, str], dict[str, int]]:
    """Every logical aggregate's counters, its partials (buckets, parts) added up, and the daily
    snapshots; watermarks left out: they differ by delivery."""
    from loyalty.store.aggregates import combine

    paginator = _client("dynamodb").get_paginator("scan")
    items = [item for page in paginator.paginate(TableName="MetricsTable") for item in page["Items"]]
    snapshots = {(item["pk"]["S"], item["sk"]["S"]): json.loads(item["counters"]["S"])
                 for item in items if item["pk"]["S"] == "SNAPSHOTS"}
    return {**combine(items), **snapshots}


def _plain(value: dict[str, Any]) -> Any:
    from boto3.dynamodb.types import Binary, TypeDeserializer

    found = TypeDeserializer().deserialize(value)
    return found.value if isinstance(found, Binary) else found  # bytes, as the code reads them


def ledger_items() -> list[dict[str, Any]]:
    paginator = _client("dynamodb").get_paginator("scan")
    return [{name: _plain(value) for name, value in item.items()}
            for page in paginator.paginate(TableName="LoyaltyTable") for item in page["Items"]]


def stored_item(pk: str, sk: str) -> dict[str, Any] | None:
    """One item as stored (a read by key: a test that looks every day does not scan a growing table)."""
    found = _client("dynamodb").get_item(TableName="LoyaltyTable", Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                         ConsistentRead=True).get("Item")
    return None if found is None else {name: _plain(value) for name, value in found.items()}


@contextlib.contextmanager
def at(moment: datetime) -> Iterator[None]:
    timetravel.travel(moment)
    try:
        yield
    finally:
        timetravel.travel(None)


# The records (sequence numbers) assert_reconciled has delivered whole: the next call sends only the others,
# as the event source mapping does. (Each call used to send the stream from its start, so a test that
# checked every few weeks of a member's life paid for every earlier week again; replays are tested on their
# own, tests/integration/test_stream_metrics.py.)
_delivered: set[str] = set()


def forget_deliveries() -> None:
    """New tables: nothing of theirs was delivered."""
    _delivered.clear()


def assert_reconciled() -> dict[str, Any]:
    """Let the stream processor see every record it has not seen whole from here (records a test delivered
    itself are sent again: replays are harmless), then check every invariant."""
    from loyalty.services import jobs

    fresh = [record for record in stream_records() if record["dynamodb"]["SequenceNumber"] not in _delivered]
    if not deliver(fresh).get("batchItemFailures"):
        _delivered.update(str(record["dynamodb"]["SequenceNumber"]) for record in fresh)
    # Everything is folded now: no record may lag, every aggregate must match exactly.
    previous = os.environ.get("RECONCILE_STREAM_LAG_MINUTES")
    os.environ["RECONCILE_STREAM_LAG_MINUTES"] = "0"
    try:
        result = jobs.run("reconcile")
    finally:
        if previous is None:
            os.environ.pop("RECONCILE_STREAM_LAG_MINUTES", None)
        else:
            os.environ["RECONCILE_STREAM_LAG_MINUTES"] = previous
    assert result["clean"], json.dumps(result["discrepancies"][:10], indent=1, default=str)
    return result
