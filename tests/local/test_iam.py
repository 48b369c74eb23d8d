"""The local IAM check: a request a function's role does not allow is refused, as on AWS."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from loyalty_local.iam import Enforcer, Grant, as_function

TABLE = "table/LoyaltyTable"


def _enforcer() -> Enforcer:
    return Enforcer({
        "Reader": [Grant(frozenset({"dynamodb:BatchGetItem"}), (TABLE,))],
        "Webhooks": [Grant(frozenset({"dynamodb:PutItem", "dynamodb:Query"}), (TABLE,), ("WEBHOOK#*",))],
    })


def test_an_action_the_role_lacks_is_refused_as_iam_would() -> None:
    # Given a function whose role may only read
    enforcer = _enforcer()

    # When it writes, then the request is refused with AccessDeniedException
    with as_function("Reader"), pytest.raises(ClientError) as refused:
        enforcer.check("TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": "LoyaltyTable", "Item": {"pk": {"S": "MEMBER#a"}, "sk": {"S": "PROFILE"}}}}]})
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    # And reading is allowed
    with as_function("Reader"):
        enforcer.check("BatchGetItem", {"RequestItems": {"LoyaltyTable": {"Keys": [
            {"pk": {"S": "MEMBER#a"}, "sk": {"S": "PROFILE"}}]}}})


def test_leading_keys_confine_a_role_to_its_partition_keys() -> None:
    enforcer = _enforcer()
    # Given a role confined to WEBHOOK# keys: its own keys pass
    with as_function("Webhooks"):
        enforcer.check("PutItem", {"TableName": "LoyaltyTable", "Item": {"pk": {"S": "WEBHOOK#p"}}})
        enforcer.check("Query", {"TableName": "LoyaltyTable", "KeyConditionExpression": "#0 = :0",
                                 "ExpressionAttributeNames": {"#0": "pk"},
                                 "ExpressionAttributeValues": {":0": {"S": "WEBHOOK#p"}}})
    # When it writes a member's balance, then it is refused
    with as_function("Webhooks"), pytest.raises(ClientError):
        enforcer.check("PutItem", {"TableName": "LoyaltyTable", "Item": {"pk": {"S": "MEMBER#a"}}})


def test_requests_outside_any_function_are_not_checked() -> None:
    # Test set-up and the local stack's own requests run as no function
    _enforcer().check("Scan", {"TableName": "LoyaltyTable"})
