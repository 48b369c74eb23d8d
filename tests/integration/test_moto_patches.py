"""The local stack's moto patches change how fast moto answers, never what it answers."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pynamodb.connection.base import Connection

from loyalty_local import moto_patches
from loyalty_local.motoserver import MotoServer
from tests.events import Api
from tests.stream_helpers import deliver, ledger_items, stream_records


def test_wire_form_responses_equal_what_motos_own_serializer_writes(
        api: Api, program: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every DynamoDB and Streams response also serialized by moto's own serializer and compared
    monkeypatch.setattr(moto_patches, "verify", True)
    # When a member enrolls, buys (compact binary lots), redeems, fails a redemption (a cancelled
    # transaction), reads activity (a query) and the stream is read and folded (timestamps, binary images)
    assert api.enroll("ann").status == 201
    assert api.purchase("ann", "order-1", "120.00", items=[
        {"sku": "sku-1", "quantity": 2, "unit_price": {"amount": "60.00", "currency": "USD"}}]).status == 201
    assert api.redeem("ann", {"points": 100, "description": "a mug"}).status == 201
    assert api.redeem("ann", {"points": 10**9, "description": "too much"}).status == 409
    assert api.get("/members/ann/activity", sub="ann").status == 200
    assert api.get("/members/nobody", sub="nobody").status in (403, 404)
    records = stream_records()
    assert records
    deliver(records)
    # Then every answer agreed (a disagreement is a 500 from moto, which fails the calls above)
    assert ledger_items()


def test_a_points_change_updates_only_the_member_attributes_it_changed(
        api: Api, program: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a member with a profile
    assert api.enroll("bea", preferences={"categories": ["coffee"]}).status == 201
    sent: list[dict[str, Any]] = []
    original = Connection._make_api_call

    def recording(connection: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            sent.append(params)
        return original(connection, operation, params)

    monkeypatch.setattr(Connection, "_make_api_call", recording)
    # When she buys
    assert api.purchase("bea", "order-2", "10.00").status == 201
    # Then the member's update names the balance and the wallet, and none of the profile
    member_updates = [item["Update"] for params in sent for item in params["TransactItems"]
                      if "Update" in item and item["Update"]["Key"]["sk"] == {"S": "PROFILE"}]
    assert len(member_updates) == 1
    named = set(member_updates[0]["ExpressionAttributeNames"].values())
    assert {"available", "wallet_days", "rev"} <= named
    assert not named & {"email", "name", "preferences", "consents", "referral_code", "enrolled_at"}
    # And the member reads back whole
    profile = api.get("/members/bea", sub="bea").body
    assert profile["email"] == "bea@example.com" and profile["points"]["available"] == 100


def test_a_table_query_reads_its_own_partition_and_answers_as_moto_does(
        tables: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two partitions of 30 items each
    from moto.dynamodb.models.table import Table

    client = _dynamodb(tables)
    for member in ("q-ann", "q-bob"):
        for number in range(30):
            client.put_item(TableName="LoyaltyTable", Item={
                "pk": {"S": f"MEMBER#{member}"}, "sk": {"S": f"ENTRY#{number:03d}"}, "n": {"N": str(number)},
                "gsi1pk": {"S": "Q-INDEXED"}, "gsi1sk": {"S": f"{member}#{number:03d}"}})
    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "MEMBER#q-ann"}}},
        {"KeyConditionExpression": "pk = :pk AND begins_with(sk, :e)", "Limit": 7, "ScanIndexForward": False,
         "ExpressionAttributeValues": {":pk": {"S": "MEMBER#q-ann"}, ":e": {"S": "ENTRY#"}}},
        {"KeyConditionExpression": "pk = :pk AND sk > :s", "Limit": 5,
         "ExclusiveStartKey": {"pk": {"S": "MEMBER#q-ann"}, "sk": {"S": "ENTRY#010"}},
         "ExpressionAttributeValues": {":pk": {"S": "MEMBER#q-ann"}, ":s": {"S": "ENTRY#004"}}},
        {"KeyConditionExpression": "pk = :pk", "FilterExpression": "n > :n",
         "ExpressionAttributeValues": {":pk": {"S": "MEMBER#q-bob"}, ":n": {"N": "25"}}},
        {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "MEMBER#nobody"}}},
        {"IndexName": "GSI1", "KeyConditionExpression": "gsi1pk = :g",
         "ExpressionAttributeValues": {":g": {"S": "Q-INDEXED"}}},
    ]
    walked_the_table = []
    all_items = moto_patches._all_items

    def spying(table: Any) -> Any:
        walked_the_table.append(table.name)
        return all_items(table)

    monkeypatch.setattr(moto_patches, "_all_items", spying)
    # When each query runs as patched, then as moto runs it
    patched = [client.query(TableName="LoyaltyTable", **query) for query in queries]
    assert walked_the_table == ["LoyaltyTable"]  # only the index query walks the table
    monkeypatch.setattr(Table, "query", moto_patches._query)
    monkeypatch.setattr(Table, "all_items", moto_patches._all_items)
    unpatched = [client.query(TableName="LoyaltyTable", **query) for query in queries]
    # Then the answers are the same
    def answer(response: dict[str, Any]) -> tuple[Any, ...]:
        return response["Items"], response["Count"], response.get("LastEvaluatedKey")

    assert [answer(response) for response in patched] == [answer(response) for response in unpatched]


def _dynamodb(tables: Any) -> Any:
    return boto3.client("dynamodb", endpoint_url=tables.url, region_name="us-east-1",
                        config=Config(account_id_endpoint_mode="disabled"))


def _counted_walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables moto's items are walked for, one name per walk, from now on."""
    walks: list[str] = []
    all_items = moto_patches._all_items
    monkeypatch.setattr(moto_patches, "_all_items", lambda table: walks.append(table.name) or all_items(table))
    return walks


def test_index_queries_walk_the_table_once_per_change_and_see_every_write(
        tables: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _dynamodb(tables)
    walks = _counted_walks(monkeypatch)

    def keys(value: str) -> list[str]:
        found = client.query(TableName="LoyaltyTable", IndexName="GSI3", KeyConditionExpression="gsi3pk = :k",
                             ExpressionAttributeValues={":k": {"S": value}})["Items"]
        return sorted(item["pk"]["S"] for item in found)

    def member(name: str, roster: str) -> dict[str, Any]:
        return {"pk": {"S": f"MEMBER#{name}"}, "sk": {"S": "PROFILE"}, "gsi3pk": {"S": roster},
                "gsi3sk": {"S": name}}

    # Given members on two rosters
    for name in ("a", "b", "c"):
        client.put_item(TableName="LoyaltyTable", Item=member(name, "R#1"))
    client.put_item(TableName="LoyaltyTable", Item=member("d", "R#2"))
    walks.clear()
    # When several index keys are queried in a row, the table is walked once
    assert keys("R#1") == ["MEMBER#a", "MEMBER#b", "MEMBER#c"] and keys("R#2") == ["MEMBER#d"] and keys("R#3") == []
    assert walks == ["LoyaltyTable"]
    # And every kind of write is seen by the next query: an update in place, a delete, a transaction,
    # and a transaction that is cancelled (nothing changes)
    client.update_item(TableName="LoyaltyTable", Key={"pk": {"S": "MEMBER#a"}, "sk": {"S": "PROFILE"}},
                       UpdateExpression="SET gsi3pk = :k", ExpressionAttributeValues={":k": {"S": "R#2"}})
    assert keys("R#1") == ["MEMBER#b", "MEMBER#c"] and keys("R#2") == ["MEMBER#a", "MEMBER#d"]
    client.delete_item(TableName="LoyaltyTable", Key={"pk": {"S": "MEMBER#b"}, "sk": {"S": "PROFILE"}})
    assert keys("R#1") == ["MEMBER#c"]
    client.transact_write_items(TransactItems=[{"Put": {"TableName": "LoyaltyTable", "Item": member("e", "R#1")}}])
    assert keys("R#1") == ["MEMBER#c", "MEMBER#e"]
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": "LoyaltyTable", "Key": {"pk": {"S": "MEMBER#c"}, "sk": {"S": "PROFILE"}},
                        "UpdateExpression": "SET gsi3pk = :k", "ExpressionAttributeValues": {":k": {"S": "R#9"}}}},
            {"Put": {"TableName": "LoyaltyTable", "Item": member("d", "R#9"),
                     "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert keys("R#1") == ["MEMBER#c", "MEMBER#e"] and keys("R#9") == []


def test_a_paged_scan_starts_after_its_start_key_sorts_once_and_sees_every_write(
        tables: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _dynamodb(tables)
    walks = _counted_walks(monkeypatch)

    def scan(limit: int) -> list[tuple[str, str]]:
        found, start = [], None
        while True:
            page = client.scan(TableName="LoyaltyTable", Limit=limit, **({"ExclusiveStartKey": start} if start else {}))
            found += [(item["pk"]["S"], item["sk"]["S"]) for item in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    # Given 60 items over 12 partitions, written out of order
    for number in reversed(range(60)):
        client.put_item(TableName="LoyaltyTable", Item={"pk": {"S": f"P#{number % 12:02d}"},
                                                        "sk": {"S": f"S#{number:03d}"}})
    walks.clear()
    # When it is scanned 7 items a page
    paged = scan(7)
    # Then every item comes once, in the order of one whole scan, and the table was sorted once
    assert paged == scan(1000) and len(set(paged)) == 60
    assert walks == ["LoyaltyTable"]
    # And a write between two pages is seen by the next page
    first = client.scan(TableName="LoyaltyTable", Limit=3)
    client.put_item(TableName="LoyaltyTable", Item={"pk": {"S": "P#99"}, "sk": {"S": "S#999"}})
    rest = client.scan(TableName="LoyaltyTable", ExclusiveStartKey=first["LastEvaluatedKey"])["Items"]
    assert ("P#99", "S#999") in [(item["pk"]["S"], item["sk"]["S"]) for item in rest]
    assert len(first["Items"]) + len(rest) == 61


def test_sqs_still_drops_messages_past_their_retention_and_delivers_the_rest(
        tables: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a queue that keeps messages for 60 s, and a message in it
    sqs = boto3.client("sqs", endpoint_url=tables.url, region_name="us-east-1")
    url = sqs.create_queue(QueueName="retention", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    now = time.time()

    # When it is received 61 s later, and a fresh message right away
    monkeypatch.setattr(moto_patches.time, "time", lambda: now + 61)
    expired = sqs.receive_message(QueueUrl=url).get("Messages", [])
    monkeypatch.undo()
    sqs.send_message(QueueUrl=url, MessageBody="new")
    kept = [message["Body"] for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                                VisibilityTimeout=0)["Messages"]]

    # Then the expired message is not delivered (as moto and SQS do) and the fresh one is
    assert expired == [] and "new" in kept
