"""Integrity under hostile and mistaken input (issue 29): basket lines never count more than was paid, and
no body can cause a 5xx or be taken for another."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.events import Api

WINDOW = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
TRUSTED: dict[str, Any] = {"sub": "pos", "scopes": ["loyalty/transactions"]}


def _shoe(quantity: int, price: str) -> dict[str, Any]:
    return {"sku": "run-1", "category": "shoes", "quantity": quantity,
            "unit_price": {"amount": price, "currency": "USD"}}


def test_lines_at_list_price_count_only_what_was_paid(api: Api, program: dict) -> None:
    # Given "x2 on shoes" running and a member
    assert api.post("/admin/campaigns", {"campaign_id": "shoes-x2", "name": "Shoes x2", **WINDOW,
                                         "trigger": "purchase", "effects": [
                                             {"type": "multiply", "multiplier": "2", "categories": ["shoes"]}]},
                    admin=True).status == 201
    api.enroll("lena")
    # When a $10.00 purchase says its lines were 3 x $500.00 shoes (list prices, discount in the total)
    bought = api.purchase("lena", "o-1", "10.00", items=[_shoe(3, "500.00")])
    # Then the campaign doubles the $10.00 paid: 100 base + 100, not 15,100
    assert bought.status == 201, bought.body
    rows = {row["rule"]: row["points"] for row in bought.body["breakdown"]}
    assert rows == {"base_rate": 100, "campaign:shoes-x2": 100} and bought.body["points"] == 200


@pytest.mark.parametrize(("items", "field"), [
    ([_shoe(100_000, "999999999999999.99")], "items.0.quantity"),
    ([_shoe(10_000, "1.00")], "items.0.quantity"),
    ([_shoe(1, "1.00")] * 501, "items"),
])
def test_a_basket_beyond_the_contracts_bounds_is_refused_whole(api: Api, program: dict, items: list,
                                                               field: str) -> None:
    # Given a member
    api.enroll("max")
    # When a purchase sends a quantity above 9,999 or more than 500 lines
    answer = api.purchase("max", "o-big", "1.00", items=items)
    # Then it is a 422 naming the field, and nothing was recorded
    assert answer.status == 422 and answer.body["code"] == "validation_error"
    assert any(error["field"].startswith(field) for error in answer.body["errors"]), answer.body
    assert api.get("/members/max", sub="max").body["points"]["lifetime_earned"] == 0


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


HOSTILE_BODIES = {
    "nested 500 deep": _nested(500),
    "nested 10,000 deep": "[" * 10_000 + "]" * 10_000,
    "nested 33 deep": _nested(33),
    "an array of objects": json.dumps([{"email": "x@example.com", "name": "X"}, {"name": "Y"}]),
    "an array of nothing": "[]",
    "a string": '"hello"',
    "a number": "12",
    "null": "null",
    "not JSON": "{'single': 'quotes'}",
    "a lone surrogate escaped": '{"name": "\\ud800"}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_a_hostile_body_is_a_4xx_problem_and_changes_nothing(api: Api, program: dict, name: str) -> None:
    # Given a member
    api.enroll("hal")
    before = api.get("/members/hal", sub="hal").body
    # When it sends a body nested too deep, an array where an object is declared, a bare value, or not JSON
    answers = [api.request("PATCH", "/members/hal", sub="hal", raw_body=HOSTILE_BODIES[name]),
               api.post("/members/hal/purchases", raw_body=HOSTILE_BODIES[name], headers={"Idempotency-Key": "k1"},
                        **TRUSTED),
               api.post("/admin/partners", raw_body=HOSTILE_BODIES[name], admin=True)]
    # Then every answer is a 4xx problem+json, and nothing changed
    for answer in answers:
        assert 400 <= answer.status < 500, (name, answer.status, answer.body)
        assert answer.headers["content-type"] == "application/problem+json"
    after = api.get("/members/hal", sub="hal").body
    assert after == before
    assert api.get("/admin/audit", admin=True).body["items"] == [] or all(
        item["action"] != "partner.created" for item in api.get("/admin/audit", admin=True).body["items"])


def test_thirty_two_levels_are_allowed_and_thirty_three_are_not(api: Api, program: dict) -> None:
    # Given a member and a preference value that is a list (two levels inside the body)
    api.enroll("ivy")
    # When the body is well within the bound, then it is read as usual
    assert api.patch("/members/ivy", {"preferences": {"drink": ["tea"]}}, sub="ivy").status == 200
    # And a body nested 33 deep is refused before it is read
    deep = api.request("PATCH", "/members/ivy", sub="ivy", raw_body=_nested(33))
    assert deep.status == 422 and "nested more than 32" in deep.body["errors"][0]["message"]


def test_a_body_in_another_charset_is_refused(api: Api, program: dict) -> None:
    api.enroll("kay")
    answer = api.request("PATCH", "/members/kay", sub="kay", raw_body='{"name": "Kay"}',
                         headers={"content-type": "application/json; charset=utf-16"})
    assert answer.status == 415 and answer.body["code"] == "unsupported_media_type"


def test_a_code_batch_whose_budget_is_too_large_is_a_422_naming_it(api: Api, program: dict) -> None:
    # When an admin asks for 7,985 codes of 180,528 points (1.44 billion points: past a promotion's budget)
    answer = api.post("/admin/code-batches", {"name": "Big", "points": 180_528, "count": 7_985}, admin=True)
    # Then it is a 422 that says why, not a 500, and no promotion was created
    assert answer.status == 422 and answer.body["code"] == "validation_error", answer.body
    assert "budget" in json.dumps(answer.body)


def test_a_validation_error_raised_inside_any_use_case_is_a_422(api: Api) -> None:
    # Given a function whose use case builds a model from the caller's input that does not validate
    from pydantic import BaseModel, Field

    from loyalty.api.http import create_app
    from tests.events import LambdaContext, claims_for, http_event

    class Inner(BaseModel):
        budget_points: int = Field(le=10)

    app = create_app()

    @app.post("/things")
    def make() -> dict:
        Inner(budget_points=11)
        return {}

    # When it is called
    response = app.resolve(http_event("POST", "/things", "/things", {}, claims=claims_for("a")), LambdaContext())
    # Then the answer is a 422 problem naming the field, not a 500
    body = json.loads(response["body"])
    assert response["statusCode"] == 422 and body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "budget_points"


def test_reconcile_and_the_liability_flag_points_that_the_money_could_not_earn(
        api: Api, program: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given "x2 on shoes" and a purchase recorded by code that trusts lines over the total (the old bug:
    # a $10.00 order whose lines say 3 x $500 shoes earns 15,100 points, and the ledger agrees with itself)
    from decimal import Decimal

    from loyalty.services import jobs, ledger
    from tests.stream_helpers import deliver, stream_records

    assert api.post("/admin/campaigns", {"campaign_id": "shoes-x2", "name": "Shoes x2", **WINDOW,
                                         "trigger": "purchase", "effects": [
                                             {"type": "multiply", "multiplier": "2", "categories": ["shoes"]}]},
                    admin=True).status == 201
    api.enroll("otto")
    api.enroll("pia")
    trusting = ledger.basket

    def lines_over_the_total(request: Any, config: Any, total: Decimal) -> dict[str, Any]:
        return trusting(request, config, Decimal(10**9))  # lines never scaled to what was paid

    monkeypatch.setattr(ledger, "basket", lines_over_the_total)
    minted = api.purchase("otto", "o-minted", "10.00", items=[_shoe(3, "500.00")])
    assert minted.body["points"] == 15_100
    monkeypatch.undo()
    honest = api.purchase("pia", "o-honest", "10.00", items=[_shoe(3, "500.00")])
    assert honest.body["points"] == 200
    deliver(stream_records())
    # When the daily reconciliation runs
    report = jobs.run("reconcile")
    # Then it reports that entry (and only it) with the most its $10.00 could have earned
    assert report["flagged"]["count"] == 1
    (flagged,) = report["flagged"]["entries"]
    assert (flagged["member_id"], flagged["order_id"], flagged["points"]) == ("otto", "o-minted", 15_100)
    assert flagged["ceiling"] < 1_000
    assert any(item["check"] == "purchase points within what its money can earn" for item in report["discrepancies"])
    # And the liability shows it to the program team
    liability = api.get("/admin/liability", admin=True).body
    assert liability["flagged_entries"]["count"] == 1
    assert liability["flagged_entries"]["entries"][0]["entry_id"] == minted.body["entry_id"]
