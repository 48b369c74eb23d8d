"""Redemptions and adjustments: spending, stock, tiers, idempotency, nothing half-written."""

from __future__ import annotations

import pytest

from tests.events import Api


@pytest.fixture
def alice(api: Api, program: dict) -> str:
    api.enroll("alice")
    api.purchase("alice", "seed", "100.00")  # 1000 points, Silver
    return "alice"


def reward(api: Api, **fields: object) -> dict:
    body = {"name": "Thing", "points": 100, **fields}
    response = api.post("/admin/rewards", body, sub="ops", admin=True)
    assert response.status == 201, response.body
    return response.body


def test_redeeming_a_reward_spends_its_price(api: Api, alice: str) -> None:
    coffee = reward(api, name="Free coffee", points=40, tags=["coffee"])
    response = api.redeem(alice, {"reward_id": coffee["reward_id"]})
    assert response.status == 201
    assert response.body["points"] == 40 and response.body["balance_after"] == 960
    assert response.body["status"] == "issued" and len(response.body["code"]) == 10
    member = api.get("/members/me", sub=alice).body
    assert member["points"]["available"] == 960
    # Redemptions never lower the tier or qualifying points
    assert member["tier"]["name"] == "Silver" and member["points"]["qualifying"] == 1000


def test_redeeming_more_than_available_is_409_and_writes_nothing(api: Api, alice: str) -> None:
    response = api.redeem(alice, {"points": 1001, "description": "too much"})
    assert (response.status, response.body["code"]) == (409, "insufficient_points")
    assert api.get("/members/me", sub=alice).body["points"]["available"] == 1000
    assert [e["type"] for e in api.get("/members/me/activity", sub=alice).body["items"]] == ["tier_change", "earn"]


def test_tier_gated_out_of_window_and_out_of_stock_rewards_are_unavailable(api: Api, alice: str) -> None:
    gold = reward(api, reward_id="gold-only", min_tier="Gold")
    expired = reward(api, reward_id="old", ends_at="2020-01-01T00:00:00Z")
    sold_out = reward(api, reward_id="none-left", stock=0)
    for item in (gold, expired, sold_out):
        response = api.redeem(alice, {"reward_id": item["reward_id"]})
        assert (response.status, response.body["code"]) == (409, "reward_unavailable"), item
    assert api.redeem(alice, {"reward_id": "missing"}).status == 404


def test_stock_and_per_member_limits_are_enforced(api: Api, alice: str) -> None:
    tote = reward(api, reward_id="tote", stock=2, per_member_limit=1)
    assert api.redeem(alice, {"reward_id": "tote"}).status == 201
    again = api.redeem(alice, {"reward_id": "tote"})
    assert (again.status, again.body["code"]) == (409, "reward_unavailable")
    listed = api.get("/rewards", sub=alice).body["items"]
    assert next(item for item in listed if item["reward_id"] == tote["reward_id"])["stock"] == 1


def test_a_redemption_replays_with_the_same_key(api: Api, alice: str) -> None:
    first = api.redeem(alice, {"points": 100, "description": "gift"}, key="r-1")
    again = api.redeem(alice, {"points": 100, "description": "gift"}, key="r-1")
    assert again.body == first.body and again.headers.get("idempotent-replayed") == "true"
    assert api.get("/members/me", sub=alice).body["points"]["available"] == 900


def test_a_member_cannot_redeem_for_another(api: Api, alice: str) -> None:
    api.enroll("bob")
    response = api.redeem(alice, {"points": 10, "description": "x"}, sub="bob")
    assert response.status == 403
    assert api.get("/members/me", sub=alice).body["points"]["available"] == 1000


def test_redemption_body_must_name_a_reward_or_points(api: Api, alice: str) -> None:
    for body in ({}, {"reward_id": "x", "points": 5}, {"points": 5}, {"points": 0, "description": "x"},
                 {"points": -5, "description": "x"}, {"points": 1.5, "description": "x"},
                 {"points": True, "description": "x"}):
        assert api.redeem(alice, body).status == 422, body


def test_admin_adjustments_need_a_reason_and_show_it(api: Api, alice: str) -> None:
    headers = {"Idempotency-Key": "adj-1"}
    by_member = api.post(f"/admin/members/{alice}/adjustments", {"points": 5, "reason": "x"}, sub=alice,
                         headers=headers)
    no_reason = api.post(f"/admin/members/{alice}/adjustments", {"points": 5}, sub="ops", admin=True,
                         headers=headers)
    credit = api.post(f"/admin/members/{alice}/adjustments", {"points": 50, "reason": "goodwill"}, sub="ops",
                      admin=True, headers=headers)
    debit = api.post(f"/admin/members/{alice}/adjustments", {"points": -2000, "reason": "fraud"}, sub="ops",
                     admin=True, headers={"Idempotency-Key": "adj-2"})
    assert by_member.status == 403
    assert no_reason.status == 422
    assert credit.status == 201 and credit.body["reason"] == "goodwill" and credit.body["balance_after"] == 1050
    assert (debit.status, debit.body["code"]) == (409, "insufficient_points")


def test_soonest_expiring_points_are_spent_first(api: Api, alice: str) -> None:
    api.purchase(alice, "later", "10.00")  # today: expires in a year
    old = api.purchase(alice, "older", "5.00", occurred_at="2026-01-15T12:00:00Z")
    spent = api.redeem(alice, {"points": 60, "description": "x"})
    assert spent.status == 201
    entries = api.get("/members/me/activity", sub=alice, query={"type": "redeem"}).body["items"]
    assert entries[0]["points"] == -60
    assert old.body["expires_at"].startswith("2027-01-16")


def test_a_till_redeems_and_captures_for_a_member_and_the_entries_name_it(api: Api, alice: str) -> None:
    # Given a trusted back end (a till) acting for Alice
    till = {"sub": "till-7", "scopes": ["loyalty/transactions"]}
    # When it redeems points for her, and captures a hold it placed
    redeemed = api.post(f"/members/{alice}/redemptions", {"points": 100, "description": "Paid at the till"},
                        headers={"Idempotency-Key": "till-r1"}, **till)
    held = api.post(f"/members/{alice}/holds", {"points": 200}, headers={"Idempotency-Key": "till-h1"}, **till)
    captured = api.post(f"/members/{alice}/holds/{held.body['hold_id']}/capture", {},
                        headers={"Idempotency-Key": "till-c1"}, **till)
    assert (redeemed.status, held.status, captured.status) == (201, 201, 200), (redeemed.body, captured.body)
    # Then both redeem entries record the back end's id
    entries = api.get("/members/me/activity", sub=alice, query={"type": "redeem"}).body["items"]
    assert [entry["source"].get("back_end") for entry in entries] == ["till-7", "till-7"]
    # And Alice redeeming for herself records none
    own = api.redeem(alice, {"points": 10, "description": "Mine"})
    assert own.status == 201
    mine = api.get("/members/me/activity", sub=alice, query={"type": "redeem"}).body["items"][0]
    assert mine["source"].get("back_end") is None
