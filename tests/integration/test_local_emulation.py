"""The local emulator keeps DynamoDB's all-or-nothing transactions (moto, with our faster rollback)."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from loyalty_local.motoserver import MotoServer
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
