"""Partners on the running local stack: onboarding, the key authorizer, codes under concurrency,
reports and settlement."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from tests.e2e.conftest import Http

ZONE = ZoneInfo("America/New_York")  # the demo program's time zone: settlement months are its months


def onboard(http: Http, name: str) -> dict:
    response = http.call("POST", "/admin/partners", {"name": name, "contact_email": "team@partner.example"},
                         sub="ops", admin=True)
    assert response.status_code == 201, response.text
    return dict(response.json())


def partner_call(http: Http, key: str | None, method: str, path: str, body: object = None,
                 **headers: str) -> requests.Response:
    all_headers = {"x-api-key": key} if key else {}
    all_headers.update(headers)
    return requests.request(method, http.url + path, json=body, headers=all_headers, timeout=60)


def window() -> dict:
    now = datetime.now(UTC)
    return {"starts_at": (now - timedelta(days=1)).isoformat(), "ends_at": (now + timedelta(days=30)).isoformat()}


def test_a_partner_runs_a_promotion_end_to_end(local_stack: Http) -> None:
    partner = onboard(local_stack, f"Brew {uuid.uuid4().hex[:6]}")
    key = partner["api_key"]
    created = partner_call(local_stack, key, "POST", "/partner/promotions", {
        "name": "Free beans", "kind": "bonus_points", "points": 50, "budget_points": 500, **window()})
    assert created.status_code == 201, created.text
    promotion_id = created.json()["promotion_id"]
    codes = partner_call(local_stack, key, "POST", f"/partner/promotions/{promotion_id}/codes", {"count": 3}).json()
    members = [local_stack.enroll() for _ in range(3)]
    for member, code in zip(members, codes["codes"], strict=True):
        claim = local_stack.call("POST", f"/members/{member}/promo-codes", {"code": code}, sub=member)
        assert claim.status_code == 201, claim.text
    earn = partner_call(local_stack, key, "POST", "/partner/earn", {
        "member_id": members[0], "order_id": uuid.uuid4().hex, "total": {"amount": "10.00", "currency": "USD"}},
        **{"Idempotency-Key": uuid.uuid4().hex})
    assert earn.status_code == 201 and earn.json()["points"] == 50
    report = partner_call(local_stack, key, "GET", f"/partner/promotions/{promotion_id}/report").json()
    assert (report["codes_issued"], report["codes_claimed"], report["points_awarded"], report["members_reached"]) == (
        3, 3, 150, 3)
    assert local_stack.call("POST", "/local/stream/drain").status_code == 200
    month = datetime.now(ZONE).strftime("%Y-%m")
    settlement = partner_call(local_stack, key, "GET", f"/partner/settlement?month={month}").json()
    assert settlement["points_funded"] == 200  # 3 claims of 50 and a 50-point partner earn
    assert settlement["value_owed"] == {"amount": "2.00", "currency": "USD"}


def test_partner_isolation_and_key_checks(local_stack: Http) -> None:
    x, y = onboard(local_stack, "X"), onboard(local_stack, "Y")
    promotion = partner_call(local_stack, x["api_key"], "POST", "/partner/promotions", {
        "name": "X only", "kind": "bonus_points", "points": 5, "budget_points": 50, **window()}).json()
    path = f"/partner/promotions/{promotion['promotion_id']}"
    assert partner_call(local_stack, x["api_key"], "GET", path).status_code == 200
    assert partner_call(local_stack, y["api_key"], "GET", path).status_code == 404
    assert partner_call(local_stack, y["api_key"], "GET", f"{path}/report").status_code == 404
    assert partner_call(local_stack, y["api_key"], "POST", f"{path}/codes", {"count": 1}).status_code == 404
    listed = partner_call(local_stack, y["api_key"], "GET", "/partner/promotions").json()["items"]
    assert promotion["promotion_id"] not in {item["promotion_id"] for item in listed}
    no_key = partner_call(local_stack, None, "GET", "/partner/promotions")
    assert (no_key.status_code, no_key.json()) == (401, {"message": "Unauthorized"})
    assert partner_call(local_stack, "lk_garbage", "GET", "/partner/promotions").status_code == 401
    revoked = local_stack.call("DELETE", f"/admin/partners/{y['partner_id']}/keys/{y['key_id']}", sub="ops",
                               admin=True)
    assert revoked.status_code == 200
    denied = partner_call(local_stack, y["api_key"], "GET", "/partner/promotions")
    assert denied.status_code == 403
    assert denied.json() == {"message": "User is not authorized to access this resource with an explicit deny"}


def test_twenty_members_racing_for_the_last_budget_never_exceed_it(local_stack: Http) -> None:
    partner = onboard(local_stack, "Race")
    promotion_id = partner_call(local_stack, partner["api_key"], "POST", "/partner/promotions", {
        "name": "Scarce", "kind": "bonus_points", "points": 100, "budget_points": 500, **window()}).json()[
        "promotion_id"]
    codes = partner_call(local_stack, partner["api_key"], "POST", f"/partner/promotions/{promotion_id}/codes",
                         {"count": 20}).json()["codes"]
    members = [local_stack.enroll() for _ in range(20)]

    def claim(pair: tuple[str, str]) -> int:
        member, code = pair
        return local_stack.call("POST", f"/members/{member}/promo-codes", {"code": code}, sub=member).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(claim, zip(members, codes, strict=True)))
    assert statuses.count(201) == 5 and statuses.count(409) == 15
    report = partner_call(local_stack, partner["api_key"], "GET", f"/partner/promotions/{promotion_id}/report").json()
    assert report["points_awarded"] == 500 and report["budget_left"] == 0


def test_the_same_code_claimed_by_five_members_at_once_is_claimed_once(local_stack: Http) -> None:
    partner = onboard(local_stack, "Once")
    promotion_id = partner_call(local_stack, partner["api_key"], "POST", "/partner/promotions", {
        "name": "One code", "kind": "giveaway", "points": 10, "budget_points": 1000, **window()}).json()[
        "promotion_id"]
    code = partner_call(local_stack, partner["api_key"], "POST", f"/partner/promotions/{promotion_id}/codes",
                        {"count": 1}).json()["codes"][0]
    members = [local_stack.enroll() for _ in range(5)]

    def claim(member: str) -> int:
        return local_stack.call("POST", f"/members/{member}/promo-codes", {"code": code}, sub=member).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(claim, members))
    assert statuses.count(201) == 1 and statuses.count(409) == 4

