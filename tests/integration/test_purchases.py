"""Purchases: earning, idempotency, order uniqueness, authorization, bad input."""

from __future__ import annotations

import json

import pytest

from loyalty.store.idempotency import IdempotencyItem, idempotency_key
from tests.events import Api

TRUSTED = {"sub": "pos", "scopes": ["loyalty/transactions"]}


@pytest.fixture
def alice(api: Api, program: dict) -> str:
    assert api.enroll("alice").status == 201
    return "alice"


def test_a_purchase_earns_by_channel_rate_and_explains_every_point(api: Api, alice: str) -> None:
    online = api.purchase(alice, "o-1", "12.34", channel="online")
    store = api.purchase(alice, "o-2", "12.34", channel="store")
    assert online.status == 201
    assert online.body["type"] == "earn" and online.body["points"] == 123  # floor(12.34 * 10)
    assert store.body["points"] == 61  # floor(12.34 * 5)
    assert sum(row["points"] for row in online.body["breakdown"]) == online.body["points"]
    assert online.body["source"]["order_id"] == "o-1"
    assert store.body["balance_after"] == 184
    assert api.get("/members/me", sub=alice).body["points"]["available"] == 184


def test_foreign_currency_is_converted_with_the_program_rate(api: Api, alice: str) -> None:
    response = api.purchase(alice, "o-eur", "10.00", currency="EUR")
    assert response.body["points"] == 108  # 10 EUR * 1.08 * 10
    unknown = api.purchase(alice, "o-gbp", "10.00", currency="GBP")
    assert unknown.status == 422
    assert unknown.body["errors"][0]["field"] == "total.currency"


def test_crossing_a_threshold_upgrades_and_the_next_purchase_gets_the_multiplier(api: Api, alice: str) -> None:
    first = api.purchase(alice, "big", "100.00")  # 1000 points: Silver
    member = api.get("/members/me", sub=alice).body
    assert member["tier"]["name"] == "Silver"
    assert member["next_tier"] == {"name": "Gold", "points_needed": 4000}
    second = api.purchase(alice, "next", "10.00")
    assert first.body["points"] == 1000
    assert second.body["points"] == 125
    assert [row["rule"] for row in second.body["breakdown"]] == ["base_rate", "tier_multiplier"]
    changes = api.get("/members/me/activity", sub=alice, query={"type": "tier_change"}).body["items"]
    assert [(c["details"]["from"], c["details"]["to"]) for c in changes] == [("Bronze", "Silver")]


def test_the_same_idempotency_key_replays_the_original_response(api: Api, alice: str) -> None:
    first = api.purchase(alice, "o-1", "10.00", key="key-1")
    again = api.purchase(alice, "o-1", "10.00", key="key-1")
    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    entries = api.get("/members/me/activity", sub=alice).body["items"]
    assert len(entries) == 1


def test_a_big_baskets_answer_is_stored_deflated_and_replays_whole(api: Api, alice: str) -> None:
    # Given a purchase of 50 SKUs, whose answer lists them all
    items = [{"sku": f"basket-{number}", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "USD"}}
             for number in range(50)]
    first = api.purchase(alice, "o-big", "50.00", key="big-1", items=items)
    # When the till retries it with the same key
    again = api.purchase(alice, "o-big", "50.00", key="big-1", items=items)
    # Then the replay is the whole first answer
    assert first.status == again.status == 201 and again.body == first.body
    assert len(first.body["details"]["skus"]) == 50
    # And such an answer is kept deflated in its record (one write unit instead of two or three)
    record = IdempotencyItem.get(*idempotency_key("pos", "big-1"))
    assert record.body is None and record.body_deflated is not None and len(record.body_deflated) < 1000
    assert json.loads(record.answer()) == first.body


def test_the_same_key_with_another_body_is_refused(api: Api, alice: str) -> None:
    api.purchase(alice, "o-1", "10.00", key="key-1")
    reused = api.purchase(alice, "o-2", "20.00", key="key-1")
    assert (reused.status, reused.body["code"]) == (409, "idempotency_key_reused")


def test_an_order_earns_once_even_with_a_new_key(api: Api, alice: str) -> None:
    api.purchase(alice, "o-1", "10.00", key="key-1")
    again = api.purchase(alice, "o-1", "10.00", key="key-2")
    assert (again.status, again.body["code"]) == (409, "order_already_recorded")
    assert api.get("/members/me", sub=alice).body["points"]["available"] == 100


def test_purchases_need_an_idempotency_key(api: Api, alice: str) -> None:
    body = {"order_id": "o-1", "total": {"amount": "1.00", "currency": "USD"}, "channel": "app"}
    missing = api.post(f"/members/{alice}/purchases", body, **TRUSTED)
    assert (missing.status, missing.body["code"]) == (400, "idempotency_key_required")
    too_long = api.post(f"/members/{alice}/purchases", body, headers={"Idempotency-Key": "k" * 129}, **TRUSTED)
    assert too_long.status == 400


def test_a_member_is_refused_before_being_asked_for_a_key(api: Api, alice: str) -> None:
    # Given a member (not a trusted back end) that sends a purchase without an Idempotency-Key
    body = {"order_id": "o-1", "total": {"amount": "1.00", "currency": "USD"}, "channel": "app"}
    # When it posts it
    refused = api.post(f"/members/{alice}/purchases", body, sub=alice)
    # Then it learns that it may not record purchases, not that a key is missing
    assert (refused.status, refused.body["code"]) == (403, "forbidden")


def test_only_trusted_back_ends_and_admins_record_purchases(api: Api, alice: str) -> None:
    body = {"order_id": "o-1", "total": {"amount": "1.00", "currency": "USD"}, "channel": "app"}
    by_member = api.post(f"/members/{alice}/purchases", body, sub=alice, headers={"Idempotency-Key": "k"})
    by_admin = api.post(f"/members/{alice}/purchases", body, sub="ops", admin=True,
                        headers={"Idempotency-Key": "k"})
    assert by_member.status == 403
    assert by_admin.status == 201


@pytest.mark.parametrize(("amount", "why"), [
    ("0", "zero"), ("0.00", "zero"), ("-1.00", "negative"), ("1.234", "three decimals for USD"),
    ("1e3", "exponent"), ("NaN", "not a number"), ("1" * 40, "40 digits"), (" 1.00", "spaces"),
    (12.5, "a float"), ("", "empty"),
])
def test_bad_amounts_are_422_and_write_nothing(api: Api, alice: str, amount: object, why: str) -> None:
    body = {"order_id": "o-bad", "total": {"amount": amount, "currency": "USD"}, "channel": "online"}
    response = api.post(f"/members/{alice}/purchases", body, headers={"Idempotency-Key": "k"}, **TRUSTED)
    assert response.status == 422, why
    assert response.body["code"] == "validation_error"
    assert api.get("/members/me/activity", sub=alice).body["items"] == []


def test_unknown_member_is_404(api: Api, program: dict) -> None:
    response = api.purchase("ghost", "o-1", "1.00")
    assert (response.status, response.body["code"]) == (404, "member_not_found")


def test_future_purchases_are_refused_and_backdated_ones_accepted(api: Api, alice: str) -> None:
    future = api.purchase(alice, "o-f", "1.00", occurred_at="2999-01-01T00:00:00Z")
    past = api.purchase(alice, "o-p", "1.00", occurred_at="2026-01-02T10:00:00Z")
    assert future.status == 422
    assert past.status == 201 and past.body["occurred_at"] == "2026-01-02T10:00:00.000Z"


def test_a_bonus_event_multiplies_purchases_on_its_channels_in_its_window(api: Api, alice: str,
                                                                         program: dict) -> None:
    # Given a double-points weekend on the online channel
    program["bonus_events"] = [{"name": "Weekend", "starts_at": "2026-10-03T04:00:00Z",
                                "ends_at": "2026-10-05T04:00:00Z", "multiplier": "2.0", "channels": ["online"]}]
    assert api.put("/admin/program", program, sub="ops", admin=True).status == 200
    # When purchases happen inside it, on another channel, and outside it
    inside = api.purchase(alice, "o-b1", "10.00", channel="online", occurred_at="2026-10-04T12:00:00Z")
    other_channel = api.purchase(alice, "o-b2", "10.00", channel="store", occurred_at="2026-10-04T12:00:00Z")
    outside = api.purchase(alice, "o-b3", "10.00", channel="online", occurred_at="2026-10-06T12:00:00Z")
    # Then only the first is doubled
    assert inside.body["points"] == 200
    assert inside.body["breakdown"][-1]["rule"] == "bonus_event"
    assert other_channel.body["points"] == 50
    assert outside.body["points"] == 100


def test_malformed_json_wrong_content_type_and_oversized_bodies(api: Api, alice: str) -> None:
    path = f"/members/{alice}/purchases"
    headers = {"Idempotency-Key": "k"}
    malformed = api.post(path, raw_body='{"order_id": ', headers=headers, **TRUSTED)
    wrong_type = api.post(path, raw_body="order_id=1", headers={**headers, "content-type": "text/plain"}, **TRUSTED)
    huge = api.post(path, raw_body='{"order_id": "' + "x" * 70_000 + '"}', headers=headers, **TRUSTED)
    assert malformed.status == 422
    assert wrong_type.status == 415
    assert huge.status == 413
    for response in (malformed, wrong_type, huge):
        assert response.headers["content-type"] == "application/problem+json"
