"""The local stack's moto patches change how fast moto answers, never what it answers."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.connection.base import Connection

from loyalty_local import moto_patches
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
    assert {"available", "lots", "rev"} <= named
    assert not named & {"email", "name", "preferences", "consents", "referral_code", "enrolled_at"}
    # And the member reads back whole
    profile = api.get("/members/bea", sub="bea").body
    assert profile["email"] == "bea@example.com" and profile["points"]["available"] == 100
