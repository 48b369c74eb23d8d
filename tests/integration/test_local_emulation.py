"""The local emulator keeps DynamoDB's all-or-nothing transactions (moto, with our faster rollback), and its
stream poller batches records as the Lambda event source mapping does."""

from __future__ import annotations

import os
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from loyalty_local.motoserver import MotoServer
from loyalty_local.streams import StreamPoller
from loyalty_local.template import StreamSource, read_stack
from tests.stream_helpers import stream_records


def test_a_cancelled_transaction_leaves_no_item_and_no_stream_record(tables: MotoServer) -> None:
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name="us-east-1",
                          config=Config(account_id_endpoint_mode="disabled"))
    client.put_item(TableName="LoyaltyTable", Item={"pk": {"S": "KEEP"}, "sk": {"S": "X"}, "n": {"N": "1"}})
    client.put_item(TableName="LoyaltyTable", Item={"pk": {"S": "GUARD"}, "sk": {"S": "X"}})
    before = len(stream_records())
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "LoyaltyTable", "Item": {"pk": {"S": "NEW"}, "sk": {"S": "X"}}}},
            {"Update": {"TableName": "LoyaltyTable", "Key": {"pk": {"S": "KEEP"}, "sk": {"S": "X"}},
                        "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": "LoyaltyTable", "Key": {"pk": {"S": "GUARD"}, "sk": {"S": "X"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in client.get_item(TableName="LoyaltyTable", Key={"pk": {"S": "NEW"}, "sk": {"S": "X"}})
    kept = client.get_item(TableName="LoyaltyTable", Key={"pk": {"S": "KEEP"}, "sk": {"S": "X"}})["Item"]
    assert kept["n"] == {"N": "1"}
    assert len(stream_records()) == before


class _RecordingFunctions:
    """Stands in for the local stack's functions: keeps each batch the poller delivers."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def invoke(self, logical_id: str, event: dict) -> dict:
        self.batches.append([record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]])
        return {}


def _stream_source(batching_window: float) -> StreamSource:
    return StreamSource(function="Recorder", table="LoyaltyTable", batch_size=100, max_retries=1, bisect=False,
                        report_item_failures=True, batching_window=batching_window)


def _put(pk: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name="us-east-1",
                          config=Config(account_id_endpoint_mode="disabled"))
    client.put_item(TableName="LoyaltyTable", Item={"pk": {"S": pk}, "sk": {"S": "X"}})


def test_the_stream_poller_gathers_records_for_the_batching_window_as_lambda_does(tables: MotoServer) -> None:
    # Given the template's stream consumers, which wait up to 1 s to fill a batch
    assert {source.batching_window for source in read_stack().streams} == {1.0}
    # and a poller with an 8 s window reading a record written before it started (a window the few writes below
    # fit in even on a loaded 2-CPU machine: with 3 s, the e2e stacks running beside the suite split the batch)
    functions = _RecordingFunctions()
    _put("first")
    poller = StreamPoller(_stream_source(8.0), functions, tables.url, interval=0.05).start()  # type: ignore[arg-type]
    try:
        # When more records follow within the window
        for number in range(4):
            time.sleep(0.1)
            _put(f"next-{number}")
        time.sleep(0.2)
        nothing_yet = list(functions.batches)
        deadline = time.monotonic() + 20
        while not functions.batches and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.stop()

    # Then nothing went before the window ended, and then all five went as one batch
    assert nothing_yet == []
    assert functions.batches == [["first", "next-0", "next-1", "next-2", "next-3"]]


def test_draining_the_stream_delivers_what_waits_for_its_window(tables: MotoServer) -> None:
    # Given a poller with a long batching window and two records waiting in it
    functions = _RecordingFunctions()
    poller = StreamPoller(_stream_source(60.0), functions, tables.url, interval=0.05).start()  # type: ignore[arg-type]
    try:
        _put("a")
        _put("b")
        time.sleep(0.3)
        waiting = list(functions.batches)

        # When a test drains the stream (POST /local/stream/drain)
        drained = poller.wait_idle(timeout=10)
    finally:
        poller.stop()

    # Then the waiting records are delivered at once, and the poller is idle
    assert waiting == [] and drained
    assert [key for batch in functions.batches for key in batch] == ["a", "b"]


def test_the_stream_poller_drops_what_the_filter_criteria_do_not_match(tables: MotoServer) -> None:
    # Given a poller whose source keeps new members' items only (as FilterCriteria would say)
    from loyalty_local.filtering import parse_filters

    criteria = {"Filters": [{"Pattern": '{"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": '
                                        '[{"prefix": "MEMBER#"}]}}}}'}]}
    source = StreamSource(function="Recorder", table="LoyaltyTable", batch_size=100, max_retries=1, bisect=False,
                          report_item_failures=True, filters=tuple(parse_filters(criteria)))
    functions = _RecordingFunctions()
    poller = StreamPoller(source, functions, tables.url, interval=0.05).start()  # type: ignore[arg-type]
    try:
        # When a member, a share and the member again (an update) are written
        _put("MEMBER#ann")
        _put("SHARE#X#00")
        _put("MEMBER#ann")
        drained = poller.wait_idle(timeout=10)
    finally:
        poller.stop()

    # Then only the member's first write reached the function; the other two were dropped, and counted
    assert drained and functions.batches == [["MEMBER#ann"]]
    assert poller.filtered_out == 2
