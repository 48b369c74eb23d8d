"""Partner brands through the handlers: keys, the authorizer, promotions, codes, partner earn, reports."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.domain.secrets import normalize_code
from loyalty_local.iam import as_function
from tests.events import Api, LambdaContext
from tests.stream_helpers import assert_reconciled, at, deliver, stream_records

NOW = datetime(2026, 6, 10, 15, tzinfo=UTC)


def onboard(api: Api, name: str = "Brew Co") -> dict:
    response = api.post("/admin/partners", {"name": name, "contact_email": "ops@brew.example"}, sub="ops",
                        admin=True, headers={"Idempotency-Key": f"onboard-{name}"})
    assert response.status == 201, response.body
    return dict(response.body)


def promotion(api: Api, partner: str, **fields: object) -> dict:
    body = {"name": "Summer", "kind": "bonus_points", "points": 100, "starts_at": "2026-06-01T00:00:00Z",
            "ends_at": "2026-07-01T00:00:00Z", "budget_points": 1000, **fields}
    response = api.post("/partner/promotions", body, partner=partner)
    assert response.status == 201, response.body
    return dict(response.body)


def authorize(key: str | None) -> dict:
    handler = importlib.import_module("functions.partner_authorizer.handler")
    event = {"type": "REQUEST", "methodArn": "arn:aws:execute-api:us-east-1:1:api/v1/GET/partner/promotions",
             "headers": {"x-api-key": key} if key else {}}
    with as_function("PartnerAuthorizerFunction"):
        return dict(handler.lambda_handler(event, LambdaContext()))


def effect(result: dict) -> str:
    return str(result["policyDocument"]["Statement"][0]["Effect"])


def test_onboarding_shows_the_key_once_and_stores_only_a_hash(api: Api, program: dict) -> None:
    created = onboard(api)
    assert created["api_key"].startswith("lk_")
    again = api.post("/admin/partners", {"name": "Brew Co", "contact_email": "ops@brew.example"}, sub="ops",
                     admin=True, headers={"Idempotency-Key": "onboard-Brew Co"})
    assert again.body["api_key"] is None and again.body["partner_id"] == created["partner_id"]
    from tests.stream_helpers import ledger_items

    stored = [item for item in ledger_items() if str(item["pk"]).startswith("PARTNERKEY#")]
    assert len(stored) == 1 and created["api_key"] not in str(stored)
    assert api.post("/admin/partners", {"name": "X", "contact_email": "x@x.example"}, sub="alice").status == 403


def test_the_authorizer_allows_live_keys_and_denies_others(api: Api, program: dict) -> None:
    created = onboard(api)
    allowed = authorize(created["api_key"])
    assert effect(allowed) == "Allow" and allowed["context"]["partner_id"] == created["partner_id"]
    assert effect(authorize(created["api_key"][:-4] + "AAAA")) == "Deny"
    assert effect(authorize("lk_01HZZZZZZZZZZZZZZZZZZZZZZZ_" + "A" * 43)) == "Deny"
    with pytest.raises(Exception, match="Unauthorized"):
        authorize("not-a-key")
    with pytest.raises(Exception, match="Unauthorized"):
        authorize(None)
    # Rotation with revoke_others: the old key is refused, the new one works
    rotated = api.post(f"/admin/partners/{created['partner_id']}/keys", {"revoke_others": True}, sub="ops",
                       admin=True)
    assert rotated.status == 201 and rotated.body["revoked"] == [created["key_id"]]
    assert effect(authorize(created["api_key"])) == "Deny"
    assert effect(authorize(rotated.body["api_key"])) == "Allow"
    revoked = api.request("DELETE", f"/admin/partners/{created['partner_id']}/keys/{rotated.body['key_id']}",
                          sub="ops", admin=True)
    assert revoked.status == 200
    assert effect(authorize(rotated.body["api_key"])) == "Deny"


def test_a_partner_sees_only_its_own_promotions(api: Api, program: dict) -> None:
    x, y = onboard(api, "X")["partner_id"], onboard(api, "Y")["partner_id"]
    mine = promotion(api, x)
    assert api.get(f"/partner/promotions/{mine['promotion_id']}", partner=x).status == 200
    for path in (f"/partner/promotions/{mine['promotion_id']}", f"/partner/promotions/{mine['promotion_id']}/report"):
        assert api.get(path, partner=y).status == 404
    assert api.post(f"/partner/promotions/{mine['promotion_id']}/codes", {"count": 1}, partner=y).status == 404
    assert [p["promotion_id"] for p in api.get("/partner/promotions", partner=x).body["items"]] == [
        mine["promotion_id"]]
    assert api.get("/partner/promotions", partner=y).body["items"] == []


def test_codes_are_single_use_and_promotions_keep_their_budget(api: Api, program: dict) -> None:
    partner = onboard(api)["partner_id"]
    promo = promotion(api, partner, points=400, budget_points=1000, max_per_member=2)
    codes = api.post(f"/partner/promotions/{promo['promotion_id']}/codes", {"count": 5, "prefix": "SUMMER"},
                     partner=partner).body["codes"]
    assert len(set(codes)) == 5 and all(normalize_code(code) == code for code in codes)
    with at(NOW):
        for member in ("alice", "bob"):
            api.enroll(member)
        first = api.post("/members/me/promo-codes", {"code": codes[0].lower()}, sub="alice")
        assert (first.status, first.body["type"], first.body["points"]) == (201, "promo", 400)
        reused = api.post("/members/me/promo-codes", {"code": codes[0]}, sub="bob")
        assert (reused.status, reused.body["code"]) == (409, "code_already_used")
        assert api.post("/members/me/promo-codes", {"code": codes[1]}, sub="alice").status == 201
        over_member = api.post("/members/me/promo-codes", {"code": codes[2]}, sub="alice")
        assert (over_member.status, over_member.body["code"]) == (409, "promotion_exhausted")  # max 2
        over_budget = api.post("/members/me/promo-codes", {"code": codes[3]}, sub="bob")
        assert (over_budget.status, over_budget.body["code"]) == (409, "promotion_exhausted")  # 800 + 400 > 1000
        typo = codes[4][:-1] + ("2" if codes[4][-1] != "2" else "3")
        assert api.post("/members/me/promo-codes", {"code": typo}, sub="bob").status == 404
    report = api.get(f"/partner/promotions/{promo['promotion_id']}/report", partner=partner).body
    assert report == {"promotion_id": promo["promotion_id"], "codes_issued": 5, "codes_claimed": 2,
                      "points_awarded": 800, "partner_earns": 0, "members_reached": 1, "new_members": 1,
                      "budget_left": 200}
    assert_reconciled()


def test_codes_outside_the_window_are_gone(api: Api, program: dict) -> None:
    partner = onboard(api)["partner_id"]
    promo = promotion(api, partner)
    issued = api.post(f"/partner/promotions/{promo['promotion_id']}/codes", {"count": 1}, partner=partner)
    code = issued.body["codes"][0]
    with at(NOW + timedelta(days=30)):
        api.enroll("alice")
        late = api.post("/members/me/promo-codes", {"code": code}, sub="alice")
    assert (late.status, late.body["code"]) == (410, "promotion_not_active")


def test_failed_claims_are_throttled(api: Api, program: dict) -> None:
    with at(NOW):
        api.enroll("mallory")
    for attempt in range(10):
        assert api.post("/members/me/promo-codes", {"code": f"GUESS{attempt}"}, sub="mallory").status == 404
    blocked = api.post("/members/me/promo-codes", {"code": "ANYTHING"}, sub="mallory")
    assert (blocked.status, blocked.body["code"]) == (429, "too_many_attempts")


def test_partner_earn_is_idempotent_boosted_and_settled(api: Api, program: dict) -> None:
    partner = onboard(api)["partner_id"]
    promo = promotion(api, partner, kind="multiplier", multiplier="2", points=None, budget_points=5000)
    body = {"member_id": "alice", "order_id": "p-1", "total": {"amount": "20.00", "currency": "USD"},
            "promotion_id": promo["promotion_id"]}
    with at(NOW):
        api.enroll("alice")
        earned = api.post("/partner/earn", body, partner=partner, headers={"Idempotency-Key": "pe-1"})
        again = api.post("/partner/earn", body, partner=partner, headers={"Idempotency-Key": "pe-1"})
        other_key = api.post("/partner/earn", body, partner=partner, headers={"Idempotency-Key": "pe-2"})
        missing = api.post("/partner/earn", body, partner=partner)
        plain = api.post("/partner/earn", {**body, "order_id": "p-2", "promotion_id": None}, partner=partner,
                         headers={"Idempotency-Key": "pe-3"})
    assert (earned.status, earned.body["type"], earned.body["points"]) == (201, "partner_earn", 200)  # 20 x 5 x 2
    assert earned.body["source"]["partner_id"] == partner
    assert again.body == earned.body and again.headers["idempotent-replayed"] == "true"
    assert other_key.status == 409 and missing.status == 400
    assert plain.body["points"] == 100
    deliver(stream_records())
    settlement = api.get("/partner/settlement", partner=partner, query={"month": "2026-06"}).body
    assert settlement["points_funded"] == 300
    assert settlement["value_owed"] == {"amount": "3.00", "currency": "USD"}
    assert settlement["by_promotion"][0]["points"] == 200
    assert api.get("/partner/settlement", partner=partner, query={"month": "June"}).status == 422
    assert_reconciled()
    # And once the day is checkpointed, the statement carries its signed root (any funded entry proves to it)
    from loyalty.services import jobs

    jobs.run("ledger_checkpoint", now=NOW + timedelta(days=1))
    root = api.get("/admin/ledger/checkpoints/2026-06-10", admin=True).body["root"]
    stated = api.get("/partner/settlement", partner=partner, query={"month": "2026-06"}).body
    assert stated["checkpoints"] == [{"date": "2026-06-10", "root": root}]


def test_running_promotions_show_in_the_offers_of_members_who_may_use_them(api: Api, program: dict) -> None:
    partner = onboard(api)["partner_id"]
    open_to_all = promotion(api, partner, name="For all", points=20)
    promotion(api, partner, name="Gold only", points=90, audience={"min_tier": "Gold"})
    promotion(api, partner, name="Over", starts_at="2026-01-01T00:00:00Z", ends_at="2026-02-01T00:00:00Z")
    with at(NOW):
        api.enroll("alice")
        offers = api.get("/members/me/offers", sub="alice").body["items"]
    promotions = [offer for offer in offers if "promotion_id" in offer]
    assert [offer["promotion_id"] for offer in promotions] == [open_to_all["promotion_id"]]
    assert promotions[0]["partner"] == "Brew Co" and promotions[0]["points"] == 20


def test_a_promotion_the_member_has_used_up_leaves_its_offers(api: Api, program: dict) -> None:
    # Given a once-per-member promotion with codes, and a second partner's promotion with budget left
    once = promotion(api, onboard(api)["partner_id"], name="Once", points=30, max_per_member=1)
    other = promotion(api, onboard(api, "Book Co")["partner_id"], name="Books", points=10)
    codes = api.post(f"/partner/promotions/{once['promotion_id']}/codes", {"count": 2},
                     partner=once["partner_id"]).body["codes"]
    with at(NOW):
        api.enroll("alice")
        before = {offer.get("promotion_id") for offer in api.get("/members/me/offers", sub="alice").body["items"]}
        # When alice claims it
        assert api.post("/members/me/promo-codes", {"code": codes[0]}, sub="alice").status == 201
        after = {offer.get("promotion_id") for offer in api.get("/members/me/offers", sub="alice").body["items"]}
    # Then it leaves her offers, and the other partner's stays
    assert {once["promotion_id"], other["promotion_id"]} <= before
    assert once["promotion_id"] not in after and other["promotion_id"] in after


def test_the_authorizer_reads_the_key_consistently(api: Api, program: dict) -> None:
    # Given a key created a moment ago
    created = onboard(api)
    seen: list[bool] = []

    def hook(params: dict, **_: object) -> None:
        seen.extend(bool(spec.get("ConsistentRead")) for spec in params.get("RequestItems", {}).values())

    from loyalty.store.db import connection

    events = connection().client.meta.events
    events.register("before-parameter-build.dynamodb.BatchGetItem", hook)
    try:
        # When the authorizer resolves it
        allowed = authorize(created["api_key"])
    finally:
        events.unregister("before-parameter-build.dynamodb.BatchGetItem", hook)

    # Then it is allowed, and every read it made was strongly consistent (an eventually consistent read
    # could miss the new key, and API Gateway would cache that Deny for 60 s)
    assert effect(allowed) == "Allow"
    assert seen and all(seen)
