"""Quotes (POST /members/{id}/quotes): what recording a purchase now would earn, computed on the purchase's own
path, and nothing written."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.store.db import connection
from tests.events import Api, Result
from tests.stream_helpers import ledger_items

WINDOW = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
TRUSTED = {"sub": "pos", "scopes": ["loyalty/transactions"]}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def campaign(campaign_id: str, **fields: Any) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "name": campaign_id.replace("-", " ").title(), **WINDOW,
            "trigger": "purchase", "effects": [{"type": "bonus_points", "points": 100}], **fields}


# Campaigns of every kind a quote must see as the purchase does: line effects, basket conditions, a channel,
# a budget that runs out, a holdout, a tier audience, a cap per member.
CAMPAIGNS = [
    campaign("shoes-x2", effects=[{"type": "multiply", "multiplier": "2", "categories": ["shoes"]}]),
    campaign("big-basket", conditions=[{"fact": "basket.total", "op": "gte",
                                        "value": {"amount": "80.00", "currency": "USD"}}],
             effects=[{"type": "bonus_points", "points": 200}]),
    campaign("in-store", conditions=[{"fact": "channel", "op": "eq", "value": "store"}],
             effects=[{"type": "bonus_points", "points": 70}], budget_points=200),
    campaign("held-out", audience={"holdout_percent": 50}, effects=[{"type": "bonus_points", "points": 30}]),
    campaign("gold-club", audience={"min_tier": "Gold"}, effects=[{"type": "multiply", "multiplier": "1.5"}]),
    campaign("first-one", max_per_member=1, effects=[{"type": "bonus_points", "points": 10}]),
    campaign("per-item", effects=[{"type": "points_per_item", "points": 3}]),
]


def body(order_id: str, amount: str, *, channel: str = "online", **fields: Any) -> dict[str, Any]:
    return {"order_id": order_id, "total": {"amount": amount, "currency": "USD"}, "channel": channel, **fields}


def quote(api: Api, member_id: str, purchase: dict[str, Any], **caller: Any) -> Result:
    return api.post(f"/members/{member_id}/quotes", purchase, **(caller or TRUSTED))


def record(api: Api, member_id: str, purchase: dict[str, Any]) -> Result:
    return api.post(f"/members/{member_id}/purchases", purchase, headers={"Idempotency-Key": purchase["order_id"]},
                    **TRUSTED)


def tier_of(api: Api, member_id: str) -> str:
    return str(api.get(f"/members/{member_id}", admin=True).body["tier"]["name"])


LINES = st.lists(st.fixed_dictionaries({
    "sku": st.sampled_from(["run-1", "sock-1", "hat-1", "bag-1"]),
    "category": st.sampled_from(["shoes", "socks", "hats"]),
    "quantity": st.integers(1, 5),
    "unit_price": st.builds(lambda cents: {"amount": str(Decimal(cents) / 100), "currency": "USD"},
                            st.integers(1, 15_000)),
}), max_size=4)


def test_a_quote_earns_what_recording_the_purchase_then_earns(api: Api, program: dict) -> None:
    # Given campaigns of every kind running
    for definition in CAMPAIGNS:
        assert api.post("/admin/campaigns", definition, admin=True).status == 201, definition
    numbers = itertools.count()
    store_awards: list[int] = []

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(earlier=st.sampled_from(["0", "150.00", "600.00", "1600.00"]), lines=LINES,
           cents=st.integers(1, 40_000), channel=st.sampled_from(["online", "store", "app"]),
           as_member=st.booleans())
    def check(earlier: str, lines: list[dict[str, Any]], cents: int, channel: str, as_member: bool) -> None:
        # Given a member of any tier (what it bought before)
        member_id = f"q{next(numbers)}"
        assert api.enroll(member_id).status == 201
        if earlier != "0":
            assert record(api, member_id, body(f"{member_id}-before", earlier, channel="store")).status == 201
        purchase = body(f"{member_id}-now", str(Decimal(cents) / 100), channel=channel, items=lines or None)
        tier_before = tier_of(api, member_id)

        # When the purchase is quoted (by the member or its till), then recorded
        quoted = quote(api, member_id, purchase, **({"sub": member_id} if as_member else TRUSTED))
        recorded = record(api, member_id, purchase)

        # Then the quote said exactly what the purchase earned: points, rows, status, campaigns, tier
        assert quoted.status == 200, quoted.body
        assert recorded.status == 201, recorded.body
        assert quoted.body["points"] == recorded.body["points"]
        assert quoted.body["breakdown"] == recorded.body["breakdown"]
        assert quoted.body["status"] == recorded.body["status"]
        assert quoted.body["campaigns"] == [row["rule"].removeprefix("campaign:")
                                            for row in recorded.body["breakdown"]
                                            if row["rule"].startswith("campaign:")]
        assert quoted.body["tier"] == {"current": tier_before, "after": tier_of(api, member_id)}
        assert quoted.body["challenges"] == []
        if channel == "store":
            store_awards.append(sum(row["points"] for row in recorded.body["breakdown"]
                                    if row["rule"] == "campaign:in-store"))

    check()
    # And the store campaign's budget ran out on the way (quotes saw it given, then not given)
    assert sum(store_awards) <= 200 and 70 in store_awards and 0 in store_awards, store_awards


def test_a_quote_sends_no_write_and_changes_nothing(api: Api, program: dict) -> None:
    # Given a member and campaigns with a budget
    for definition in CAMPAIGNS:
        assert api.post("/admin/campaigns", definition, admin=True).status == 201
    api.enroll("qa")
    assert record(api, "qa", body("qa-1", "20.00")).status == 201
    before = ledger_items()
    sent: list[str] = []

    def hook(model: Any, **_: Any) -> None:
        sent.append(model.name)

    # When a purchase that would earn from several campaigns (the budgeted one too) is quoted
    events = connection().client.meta.events
    events.register("before-parameter-build.dynamodb", hook)
    try:
        quoted = quote(api, "qa", body("qa-2", "120.00", channel="store", items=[
            {"sku": "run-1", "category": "shoes", "quantity": 1, "unit_price": {"amount": "120.00",
                                                                               "currency": "USD"}}]))
    finally:
        events.unregister("before-parameter-build.dynamodb", hook)

    # Then it answers with the campaigns, having sent reads only, and every item is as it was
    assert quoted.status == 200, quoted.body
    assert {"shoes-x2", "big-basket", "in-store"} <= set(quoted.body["campaigns"])
    assert sent and not WRITES & set(sent), sent
    assert ledger_items() == before
    # And recording it afterwards is not refused as a replay or a recorded order, and earns what was quoted
    recorded = record(api, "qa", body("qa-2", "120.00", channel="store", items=[
        {"sku": "run-1", "category": "shoes", "quantity": 1, "unit_price": {"amount": "120.00", "currency": "USD"}}]))
    assert recorded.status == 201 and recorded.body["points"] == quoted.body["points"]


def test_a_quote_leaves_out_a_campaign_whose_budget_is_spent(api: Api, program: dict) -> None:
    # Given a campaign of 100 points with a budget of 100, given once already
    assert api.post("/admin/campaigns", campaign("tiny", budget_points=100), admin=True).status == 201
    api.enroll("qb")
    assert record(api, "qb", body("qb-1", "10.00")).body["points"] == 200
    # When the next purchase is quoted, then the campaign gives nothing, as the purchase would
    quoted = quote(api, "qb", body("qb-2", "10.00"))
    assert quoted.body["points"] == 100 and quoted.body["campaigns"] == []
    assert record(api, "qb", body("qb-2", "10.00")).body["points"] == 100


def test_a_quote_answers_the_purchases_refusals_and_only_to_whom_may_ask(api: Api, program: dict) -> None:
    # Given two members, one with a recorded order
    api.enroll("qc")
    api.enroll("qd")
    assert record(api, "qc", body("qc-1", "10.00")).status == 201
    before = ledger_items()
    # When quotes are asked: another member's, an order already recorded, bad bodies, an unknown member
    other = quote(api, "qc", body("qc-2", "10.00"), sub="qd")
    again = quote(api, "qc", body("qc-1", "10.00"))
    no_total = quote(api, "qc", {"order_id": "qc-3", "channel": "online"})
    negative = quote(api, "qc", body("qc-3", "-5.00"))
    unknown = quote(api, "nobody", body("n-1", "10.00"))
    future = quote(api, "qc", body("qc-4", "10.00", occurred_at="2999-01-01T00:00:00Z"))
    # Then each is the problem the purchase would answer, and nothing was written
    assert other.status == 403
    assert again.status == 409 and again.body["code"] == "order_already_recorded"
    assert no_total.status == 422 and negative.status == 422 and future.status == 422
    assert unknown.status == 404
    for answer in (other, again, no_total, negative, unknown, future):
        assert answer.headers["content-type"] == "application/problem+json"
    assert ledger_items() == before
    # And the member itself and an admin may ask without an Idempotency-Key
    assert quote(api, "qc", body("qc-5", "10.00"), sub="qc").status == 200
    assert quote(api, "me", body("qc-5", "10.00"), sub="qc").body["points"] == 100
    assert quote(api, "qc", body("qc-5", "10.00"), admin=True).status == 200
    # And a basket not paid yet may be quoted without an order id
    unpaid = quote(api, "qc", {"total": {"amount": "10.00", "currency": "USD"}, "channel": "online"}, sub="qc")
    assert unpaid.status == 200 and unpaid.body["points"] == 100, unpaid.body
    assert ledger_items() == before
