"""The core guarantees over HTTP on the local stack: concurrency, idempotency, authorization, tokens."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from loyalty_local import tokens
from tests.e2e.conftest import Http


def test_thirty_concurrent_redemptions_of_a_balance_that_covers_one(local_stack: Http) -> None:
    # Given a member with 500 points
    member = local_stack.enroll()
    assert local_stack.purchase(member, "50.00").status_code == 201

    # When 30 redemptions of 400 points arrive at once, each with its own key
    def redeem(number: int) -> int:
        return local_stack.call("POST", f"/members/{member}/redemptions", {"points": 400, "description": "x"},
                                sub=member, key=f"r-{number}").status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(redeem, range(30)))
    # Then exactly one succeeds, the rest are 409, and the balance never went negative
    assert statuses.count(201) == 1
    assert statuses.count(409) == 29
    view = local_stack.call("GET", "/members/me", sub=member).json()
    assert view["points"]["available"] == 100
    redeems = local_stack.call("GET", "/members/me/activity", sub=member, params={"type": "redeem"}).json()
    assert len(redeems["items"]) == 1


def test_the_same_idempotency_key_twenty_times_at_once_makes_one_entry(local_stack: Http) -> None:
    member = local_stack.enroll()
    order = uuid.uuid4().hex
    body = {"order_id": order, "total": {"amount": "10.00", "currency": "USD"}, "channel": "store"}

    def send(_: int) -> tuple[int, str, str | None]:
        response = local_stack.call("POST", f"/members/{member}/purchases", body, sub="pos", trusted=True,
                                    key=f"same-{order}")
        return response.status_code, response.json()["entry_id"], response.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, range(20)))
    assert {status for status, _, _ in results} == {201}
    assert len({entry for _, entry, _ in results}) == 1
    assert sum(1 for *_, replayed in results if replayed == "true") == 19
    entries = local_stack.call("GET", "/members/me/activity", sub=member).json()["items"]
    assert [entry["type"] for entry in entries] == ["earn"]
    assert local_stack.call("GET", "/members/me", sub=member).json()["points"]["available"] == 50


def test_a_member_cannot_read_or_redeem_for_another(local_stack: Http) -> None:
    alice, bob = local_stack.enroll(), local_stack.enroll()
    local_stack.purchase(alice, "10.00")
    assert local_stack.call("GET", f"/members/{alice}", sub=bob).status_code == 403
    assert local_stack.call("GET", f"/members/{alice}/activity", sub=bob).status_code == 403
    stolen = local_stack.call("POST", f"/members/{alice}/redemptions", {"points": 10, "description": "x"},
                              sub=bob, key="steal")
    assert stolen.status_code == 403
    assert stolen.headers["Content-Type"] == "application/problem+json"
    assert local_stack.call("GET", "/members/me", sub=alice).json()["points"]["available"] == 100


def test_forged_expired_and_missing_tokens_are_401(local_stack: Http) -> None:
    member = local_stack.enroll()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = tokens.issue(member, key=other_key)
    expired = tokens.issue(member, ttl_seconds=-60)
    unsigned = jwt.encode({"sub": member, "iss": tokens.ISSUER, "exp": 9999999999}, key=None, algorithm="none")
    tampered = tokens.issue(member)[:-4] + "AAAA"
    for token in (forged, expired, unsigned, tampered, "not-a-jwt"):
        response = local_stack.call("GET", "/members/me", token=token)
        assert response.status_code == 401, token
        # The gateway answers, as API Gateway's JWT authorizer does (not a function's problem+json)
        assert response.json() == {"message": "Unauthorized"}, token
    assert local_stack.call("GET", "/members/me").status_code == 401
    assert local_stack.call("GET", "/members/me", sub=member).status_code == 200


def test_purchases_need_the_trusted_scope(local_stack: Http) -> None:
    member = local_stack.enroll()
    body = {"order_id": uuid.uuid4().hex, "total": {"amount": "10.00", "currency": "USD"}, "channel": "app"}
    as_member = local_stack.call("POST", f"/members/{member}/purchases", body, sub=member, key="k1")
    as_backend = local_stack.call("POST", f"/members/{member}/purchases", body, sub="pos", trusted=True, key="k1")
    assert as_member.status_code == 403
    assert as_backend.status_code == 201


def test_cors_preflight_and_unknown_routes(local_stack: Http) -> None:
    preflight = local_stack.call("OPTIONS", "/members/me", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"]
    missing = local_stack.call("GET", "/nowhere", sub="x")
    assert missing.status_code == 404


def test_ten_parallel_shares_against_a_one_per_day_cap_award_once(local_stack: Http) -> None:
    member = local_stack.enroll()

    def share(_: int) -> int:
        return local_stack.call("POST", f"/members/{member}/actions", {"action": "social_share"},
                                sub=member).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(share, range(10)))
    assert statuses.count(201) == 1 and statuses.count(429) == 9
    assert local_stack.call("GET", "/members/me", sub=member).json()["points"]["available"] == 50


def test_ten_parallel_claims_of_the_last_unit_redeem_once(local_stack: Http) -> None:
    reward_id = f"last-{uuid.uuid4().hex[:8]}"
    created = local_stack.call("POST", "/admin/rewards", {"reward_id": reward_id, "name": "Last one", "points": 10,
                                                          "stock": 1}, sub="ops", admin=True)
    assert created.status_code == 201
    members = [local_stack.enroll() for _ in range(10)]
    for member in members:
        local_stack.purchase(member, "5.00")

    def claim(member: str) -> int:
        return local_stack.call("POST", f"/members/{member}/redemptions", {"reward_id": reward_id},
                                sub=member, key=f"claim-{member}").status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(claim, members))
    assert statuses.count(201) == 1 and statuses.count(409) == 9
    reward = local_stack.call("GET", f"/rewards/{reward_id}", sub="ops").json()
    assert reward["stock"] == 0


def test_twenty_members_enrolling_and_reading_at_once_each_get_their_own_record(local_stack: Http) -> None:
    # Given twenty new members (concurrent invocations share one process in the local stack)
    members = [f"c-{uuid.uuid4().hex[:10]}" for _ in range(20)]

    def enroll_and_read(member: str) -> tuple[int, str, str, int]:
        enrolled = local_stack.call("POST", "/members", {"email": f"{member}@example.com", "name": member},
                                    sub=member)
        read = local_stack.call("GET", "/members/me", sub=member)
        return enrolled.status_code, enrolled.json().get("member_id"), read.json().get("email"), read.status_code

    # When they all enroll and read themselves at the same time
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(enroll_and_read, members))

    # Then each enrolled under its own id with its own email, and reads only that
    assert answers == [(201, member, f"{member}@example.com", 200) for member in members]


def test_the_local_stack_can_be_as_unkind_as_aws(local_stack: Http) -> None:
    # Given a member, and the emulator told to cancel every transaction on it three times, then throttle
    member = local_stack.enroll()
    faults = local_stack.session.post(f"{local_stack.url}/local/faults", json=[
        {"error": "conflict", "operations": ["TransactWriteItems"], "keys": [f"MEMBER#{member}"], "times": 3}],
        timeout=10)
    assert faults.status_code == 200
    try:
        # When a purchase meets the conflicts, then it re-reads and goes through (one entry)
        assert local_stack.purchase(member, "10.00").status_code == 201
        # When every write is throttled, then the answer is a 503 with Retry-After, not a 500
        local_stack.session.post(f"{local_stack.url}/local/faults", json=[
            {"error": "throttle", "operations": ["TransactWriteItems"], "keys": [f"MEMBER#{member}"]}], timeout=10)
        throttled = local_stack.purchase(member, "10.00")
        assert throttled.status_code == 503 and throttled.headers["Retry-After"]
    finally:
        local_stack.session.post(f"{local_stack.url}/local/faults", json=[], timeout=10)
    entries = local_stack.call("GET", "/members/me/activity", sub=member).json()["items"]
    assert [entry["type"] for entry in entries] == ["earn"]
