"""Creating calls and their side effects outside the table: a replay or a retry after a failure
creates nothing twice (usage plans and API keys, webhooks, code batches), and bodies hash as sent."""

from __future__ import annotations

import base64
import importlib
import json
from typing import Any

import boto3
import pytest

from loyalty.domain.errors import ServiceUnavailable
from tests.events import Api, LambdaContext, claims_for, http_event
from tests.stream_helpers import ledger_items


@pytest.fixture
def gateway(api: Api, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The partner REST API exists (on moto), so onboarding makes a usage plan and a metering key."""
    client = boto3.client("apigateway")
    monkeypatch.setenv("PARTNER_API_ID", client.create_rest_api(name="PartnerApi")["id"])
    return client


def _plans(client: Any) -> list[str]:
    return [plan["name"] for plan in client.get_usage_plans()["items"]]


def _keys(client: Any) -> list[str]:
    return [key["name"] for key in client.get_api_keys()["items"]]


def _onboard(api: Api, key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.post("/admin/partners", {"name": "Brew", "contact_email": "ops@brew.example"}, sub="ops",
                    admin=True, headers=headers)


def test_a_replayed_onboarding_creates_one_usage_plan_and_key(api: Api, program: dict, gateway: Any) -> None:
    # Given a partner onboarded with a key
    first = _onboard(api, "onboard-1")
    assert first.status == 201 and first.body["api_key"]

    # When the same request is replayed twice
    replays = [_onboard(api, "onboard-1") for _ in range(2)]

    # Then the replays answer the first partner (without its key) and nothing was created again
    assert all(r.headers.get("idempotent-replayed") == "true" for r in replays)
    assert {r.body["partner_id"] for r in replays} == {first.body["partner_id"]}
    assert all(r.body["api_key"] is None for r in replays)
    assert len(_plans(gateway)) == 1 and len(_keys(gateway)) == 1


def test_an_onboarding_that_failed_midway_is_retried_into_the_same_usage_plan(
        api: Api, program: dict, gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an onboarding whose write fails after its usage plan was made
    from loyalty.store import partners as store

    real = store.create_partner
    calls: list[int] = []

    def busy_once(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ServiceUnavailable("the database is busy; retry")
        real(*args)

    monkeypatch.setattr(store, "create_partner", busy_once)
    assert _onboard(api, "onboard-2").status == 503

    # When the client retries with the same key
    retried = _onboard(api, "onboard-2")

    # Then it succeeds with the plan and key the first attempt made: one of each
    assert retried.status == 201, retried.body
    assert len(_plans(gateway)) == 1 and len(_keys(gateway)) == 1
    assert retried.body["usage_plan_id"] == gateway.get_usage_plans()["items"][0]["id"]


def test_a_failed_onboarding_without_a_key_leaves_no_usage_plan(
        api: Api, program: dict, gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the write fails, and the request had no Idempotency-Key (nobody can retry into its plan)
    from loyalty.store import partners as store

    def busy(*_: Any) -> None:
        raise ServiceUnavailable("the database is busy; retry")

    monkeypatch.setattr(store, "create_partner", busy)

    # When it is onboarded, then it fails and its usage plan and key are removed
    assert _onboard(api, None).status == 503
    assert _plans(gateway) == [] and _keys(gateway) == []


def _partner(api: Api) -> str:
    return str(_onboard(api, None).body["partner_id"])


def test_a_replayed_webhook_registration_registers_one_webhook(
        api: Api, program: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a partner registering a webhook with a key
    partner = _partner(api)
    body = {"url": "https://hooks.example.com/loyalty"}
    first = api.post("/partner/webhooks", body, partner=partner, headers={"Idempotency-Key": "hook-1"})

    # When it retries the same request
    again = api.post("/partner/webhooks", body, partner=partner, headers={"Idempotency-Key": "hook-1"})

    # Then one webhook exists, and the replay does not show its secret again
    assert first.status == again.status == 201 and first.body["secret"].startswith("whsec_")
    assert again.body["webhook_id"] == first.body["webhook_id"] and again.body["secret"] is None
    assert len(api.get("/partner/webhooks", partner=partner).body["items"]) == 1


def test_an_interrupted_code_batch_is_finished_by_its_retry_without_issuing_twice(
        api: Api, program: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a batch of 250 codes (three transactions) that fails at its third transaction
    partner = _partner(api)
    promo = api.post("/partner/promotions", {
        "name": "Box", "kind": "bonus_points", "points": 10, "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2100-01-01T00:00:00Z", "budget_points": 100_000}, partner=partner).body
    from loyalty.store import partners as store

    real = store.issue_code_chunk
    chunks: list[int] = []

    def busy_at_the_third(*args: Any) -> bool:
        chunks.append(1)
        if len(chunks) == 3:
            raise ServiceUnavailable("the database is busy; retry")
        return real(*args)

    monkeypatch.setattr(store, "issue_code_chunk", busy_at_the_third)
    path = f"/partner/promotions/{promo['promotion_id']}/codes"
    headers = {"Idempotency-Key": "box-codes"}
    assert api.post(path, {"count": 250}, partner=partner, headers=headers).status == 503

    # When the partner retries with the same key, and once more
    retried = api.post(path, {"count": 250}, partner=partner, headers=headers)
    replayed = api.post(path, {"count": 250}, partner=partner, headers=headers)

    # Then the retry completes the same batch: 250 codes, the first attempt's among them, none issued twice
    assert retried.status == 201 and retried.body["count"] == 250 and len(set(retried.body["codes"])) == 250
    stored = [item["code"] for item in ledger_items() if str(item["pk"]).startswith("CODE#")]
    assert sorted(stored) == sorted(retried.body["codes"])
    assert replayed.body == retried.body and replayed.headers.get("idempotent-replayed") == "true"
    report = api.get(f"/partner/promotions/{promo['promotion_id']}/report", partner=partner).body
    assert report["codes_issued"] == 250


def test_a_code_batch_out_of_time_answers_503_and_its_retries_finish_it(
        api: Api, program: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an admin's batch of 250 codes (three transactions) in invocations with no time left to spare
    from tests.events import LambdaContext

    monkeypatch.setattr(LambdaContext, "get_remaining_time_in_millis", staticmethod(lambda: 1_000))
    headers = {"Idempotency-Key": "slow-batch"}
    body = {"name": "In the box", "points": 5, "count": 250}

    # When it is sent, and retried with its key while it answers 503
    answers = [api.post("/admin/code-batches", body, sub="ops", admin=True, headers=headers) for _ in range(3)]

    # Then each call issues one transaction's codes and says so; the third finishes the batch, none twice
    assert [answer.status for answer in answers] == [503, 503, 201]
    assert answers[0].body["code"] == "service_unavailable" and answers[0].headers.get("retry-after") == "1"
    assert "98 of 250 codes issued" in answers[0].body["detail"] and "196 of 250" in answers[1].body["detail"]
    codes = answers[2].body["codes"]
    assert len(set(codes)) == 250
    stored = [item["code"] for item in ledger_items() if str(item["pk"]).startswith("CODE#")]
    assert sorted(stored) == sorted(codes)
    from loyalty.store import partners as store

    _, usage = store.get_promotion(answers[2].body["promotion_id"])
    assert usage is not None and usage.codes_issued == 250


def test_a_retry_hashes_the_body_as_sent_however_the_gateway_encoded_it(api: Api, program: dict) -> None:
    # Given a purchase recorded with a key, its body sent as plain JSON
    assert api.enroll("alice").status == 201
    body = {"order_id": "o-1", "total": {"amount": "10.00", "currency": "USD"}, "channel": "online"}
    first = api.purchase("alice", "o-1", "10.00", key="k-1")
    assert first.status == 201

    # When the retry's body arrives base64-encoded (API Gateway encodes some bodies by content type)
    event = http_event("POST", "/members/alice/purchases", "/members/{member_id}/purchases", None,
                       claims=claims_for("pos", scopes=["loyalty/transactions"]),
                       headers={"Idempotency-Key": "k-1"})
    event["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    event["isBase64Encoded"] = True
    handler = importlib.import_module("functions.purchases.handler")
    response = handler.lambda_handler(event, LambdaContext())

    # Then it is the same request: replayed, not refused as a reused key
    assert response["statusCode"] == 201, response.get("body")
    assert json.loads(response["body"]) == first.body
