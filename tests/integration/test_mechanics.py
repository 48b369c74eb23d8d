"""Mechanics through the handlers: paid memberships, the prize wheel, donations, visit vouchers,
proof-of-purchase codes, member-only rewards."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.services import jobs
from loyalty_local.demo import DEMO_PROGRAM
from tests.events import Api
from tests.stream_helpers import assert_reconciled, at

T0 = datetime(2026, 3, 2, 16, tzinfo=UTC)
MECHANICS = {
    "memberships": {"prime": {"name": "Prime", "price": {"amount": "9.99", "currency": "USD"}, "period": "month",
                              "benefits": ["free_shipping"], "earn_multiplier": "2"}},
    "spin": {"prizes": [{"prize_id": "p100", "kind": "points", "points": 100, "weight": 1}],
             "limit": {"count": 1, "per": "day"}, "budget_points": 250},
    "causes": {"reforest": {"name": "Plant trees"}},
    "visit_rewards": {"limit": {"count": 1, "per": "day"}, "valid_days": 3, "vouchers": [
        {"voucher_id": "coffee", "name": "Free coffee", "tags": ["coffee"]},
        {"voucher_id": "tea", "name": "Free tea", "tags": ["tea"]},
        {"voucher_id": "cookie", "name": "Free cookie"}]},
}


@pytest.fixture
def mechanics(api: Api) -> dict:
    config = copy.deepcopy(DEMO_PROGRAM)
    config["bonus_events"] = [{"name": "Double", "starts_at": "2026-03-01T00:00:00Z",
                               "ends_at": "2026-03-10T00:00:00Z", "multiplier": "2", "channels": ["online"]}]
    config.update(copy.deepcopy(MECHANICS))
    assert api.put("/admin/program", config, sub="ops", admin=True).status == 200
    return config


def subscribe(api: Api, member: str, action: str = "subscribe", key: str = "m1") -> object:
    return api.post(f"/members/{member}/memberships", {"plan_id": "prime", "payment_reference": f"pay-{key}",
                                                       "action": action},
                    sub="pos", scopes=["loyalty/transactions"], headers={"Idempotency-Key": key})


def test_a_paid_membership_multiplies_earning_and_lapses_without_renewal(api: Api, mechanics: dict) -> None:
    with at(T0):
        api.enroll("alice")
        subscribed = subscribe(api, "alice")
        assert subscribed.status == 201 and subscribed.body["membership"]["current_period_end"] == "2026-04-01"
        assert api.post("/members/alice/memberships", {"plan_id": "prime", "payment_reference": "x"}, sub="alice",
                        headers={"Idempotency-Key": "self"}).status == 403
        earned = api.purchase("alice", "o-1", "10.00")
        view = api.get("/members/me", sub="alice").body
    # base 100 x membership 2 x bonus event 2, in that documented order
    assert earned.body["points"] == 400
    assert [row["rule"] for row in earned.body["breakdown"]] == ["base_rate", "membership_multiplier", "bonus_event"]
    assert view["membership"]["status"] == "active" and view["membership"]["benefits"] == ["free_shipping"]
    with at(T0 + timedelta(days=20)):
        assert subscribe(api, "alice", "cancel", "m2").body["membership"]["cancel_at_period_end"] is True
    lapse = T0 + timedelta(days=31)
    with at(lapse):
        assert jobs.run("member_maintenance", lapse).get("membership") == 1
        view = api.get("/members/me", sub="alice").body
        assert view["membership"]["status"] == "expired" and view["membership"]["benefits"] == []
        assert api.purchase("alice", "o-2", "10.00").body["points"] == 100
        assert subscribe(api, "alice", "renew", "m3").body["membership"]["current_period_end"] == "2026-05-01"
    assert_reconciled()


def test_member_only_rewards_show_only_to_the_plan_and_inside_the_window(api: Api, mechanics: dict) -> None:
    api.post("/admin/rewards", {"reward_id": "early", "name": "Early access", "points": 10,
                                "membership_plans": ["prime"], "starts_at": "2026-03-01T00:00:00Z",
                                "ends_at": "2026-03-15T00:00:00Z"}, sub="ops", admin=True)
    with at(T0):
        api.enroll("alice")
        api.enroll("bob")
        api.purchase("alice", "o-1", "10.00")
        api.purchase("bob", "o-2", "10.00")
        subscribe(api, "alice")
        assert "early" in {o["reward_id"] for o in api.get("/members/me/offers", sub="alice").body["items"]}
        assert "early" not in {o["reward_id"] for o in api.get("/members/me/offers", sub="bob").body["items"]}
        assert api.redeem("bob", {"reward_id": "early"}).status == 409
    with at(T0 + timedelta(days=14)):
        assert "early" not in {o["reward_id"] for o in api.get("/members/me/offers", sub="alice").body["items"]}


def test_the_wheel_keeps_its_limit_and_budget(api: Api, mechanics: dict) -> None:
    odds = api.get("/program", sub="alice").body["spin_odds"]
    assert odds == [{"prize_id": "p100", "kind": "points", "points": 100, "reward_id": None, "probability": "1.0000"}]
    with at(T0):
        for member in ("a", "b", "c"):
            api.enroll(member)
        first = api.post("/members/me/spins", sub="a", headers={"Idempotency-Key": "s1"})
        again = api.post("/members/me/spins", sub="a", headers={"Idempotency-Key": "s2"})
        assert first.body["points"] == 100 and again.status == 429
        assert api.post("/members/me/spins", sub="b", headers={"Idempotency-Key": "s3"}).body["points"] == 100
        # 200 of the 250 budget is gone: the next 100-point prize would exceed it, so the wheel gives nothing
        last = api.post("/members/me/spins", sub="c", headers={"Idempotency-Key": "s4"})
        assert (last.status, last.body["points"], last.body["prize"]["kind"]) == (201, 0, "nothing")
        assert api.post("/members/me/spins", sub="a").status == 400  # an Idempotency-Key is required


def test_a_lowered_wheel_budget_is_never_given_past_however_its_shares_were_spent(
        api: Api, mechanics: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalty.store import shares

    def set_budget(points: int) -> None:
        config = copy.deepcopy(mechanics)
        config["spin"]["budget_points"] = points
        assert api.put("/admin/program", config, sub="ops", admin=True).status == 200

    def spin(member: str) -> int:
        answer = api.post("/members/me/spins", sub=member, headers={"Idempotency-Key": f"spin-{member}"})
        assert answer.status == 201, answer.body
        return int(answer.body["points"])

    # Given a wheel of 100-point prizes with a budget of 3,200 (32 shares of 100), and a spin that took one share
    set_budget(3_200)
    monkeypatch.setattr(shares, "random_share", lambda count=32: 0)
    with at(T0):
        for number in range(7):
            api.enroll(f"w{number}")
        assert spin("w0") == 100
        # When the budget is lowered to 150, then the next 100-point prize would pass it: nothing
        set_budget(150)
        assert spin("w1") == 0
        # When it is raised to 400, then exactly three more prizes
        set_budget(400)
        assert [spin(member) for member in ("w2", "w3", "w4", "w5")] == [100, 100, 100, 0]
    assert_reconciled()


def test_donations_spend_points_and_add_up_per_cause(api: Api, mechanics: dict) -> None:
    with at(T0):
        api.enroll("alice")
        api.purchase("alice", "o-1", "10.00")  # 400 with the bonus event
        given = api.post("/members/me/donations", {"cause_id": "reforest", "points": 150}, sub="alice",
                         headers={"Idempotency-Key": "d1"})
        assert given.status == 201 and given.body["points"] == -150
        assert given.body["details"]["value"] == {"amount": "1.50", "currency": "USD"}
        assert api.post("/members/me/donations", {"cause_id": "unknown", "points": 1}, sub="alice",
                        headers={"Idempotency-Key": "d2"}).status == 422
        assert api.post("/members/me/donations", {"cause_id": "reforest", "points": 10_000}, sub="alice",
                        headers={"Idempotency-Key": "d3"}).status == 409
    assert_reconciled()
    with at(T0):
        metrics = api.get("/admin/metrics", sub="ops", admin=True, query={"from": "2026-03-01", "to": "2026-03-31"})
    assert metrics.body["donations"]["reforest"] == {"points": 150, "value": {"amount": "1.50", "currency": "USD"}}


def test_a_visit_hands_out_a_personal_single_use_voucher(api: Api, mechanics: dict) -> None:
    with at(T0):
        api.enroll("alice", preferences={"drink": "tea"})
        visit = api.post("/members/me/visits", {"store_id": "store-7"}, sub="alice")
        assert visit.status == 201 and visit.body["voucher"]["voucher_id"] == "tea"
        assert api.post("/members/me/visits", {}, sub="alice").status == 429  # one a day
        code = visit.body["voucher"]["code"]
        use = f"/members/alice/vouchers/{code}/use"
        assert api.post(use, sub="pos", scopes=["loyalty/transactions"]).status == 200
        assert api.post(use, sub="pos", scopes=["loyalty/transactions"]).status == 409  # single use
        assert api.post(use, sub="alice").status == 403
    with at(T0 + timedelta(days=1)):
        fresh = api.post("/members/me/visits", {}, sub="alice").body["voucher"]["code"]
    with at(T0 + timedelta(days=5)):
        late = api.post(f"/members/alice/vouchers/{fresh}/use", sub="pos", scopes=["loyalty/transactions"])
        assert late.status == 410


def test_a_till_retrying_a_voucher_use_with_its_key_gets_the_first_answer(api: Api, mechanics: dict) -> None:
    # Given a voucher a till used with an Idempotency-Key, whose answer it did not receive
    with at(T0):
        api.enroll("alice", preferences={"drink": "tea"})
        code = api.post("/members/me/visits", {}, sub="alice").body["voucher"]["code"]
        use = f"/members/alice/vouchers/{code}/use"
        till = {"sub": "pos", "scopes": ["loyalty/transactions"]}
        first = api.post(use, headers={"Idempotency-Key": "till-7"}, **till)
        # When it retries with the same key
        again = api.post(use, headers={"Idempotency-Key": "till-7"}, **till)
        # Then the retry is the first answer, replayed, and another key still finds it used
        assert (first.status, again.status) == (200, 200) and again.body == first.body
        assert again.headers.get("idempotent-replayed") == "true"
        assert api.post(use, headers={"Idempotency-Key": "till-8"}, **till).status == 409


def test_a_code_batch_retried_with_its_key_is_the_same_batch(api: Api, mechanics: dict) -> None:
    # Given a code batch created with an Idempotency-Key
    with at(T0):
        body = {"name": "Movie codes", "points": 75, "count": 3}
        first = api.post("/admin/code-batches", body, sub="ops", admin=True, headers={"Idempotency-Key": "batch-1"})
        # When the admin's client retries it
        again = api.post("/admin/code-batches", body, sub="ops", admin=True, headers={"Idempotency-Key": "batch-1"})
    # Then it is the same batch, not a second one
    assert first.status == again.status == 201
    assert again.body["codes"] == first.body["codes"] and again.body["promotion_id"] == first.body["promotion_id"]


def test_proof_of_purchase_codes_are_worth_points_once(api: Api, mechanics: dict) -> None:
    with at(T0):
        batch = api.post("/admin/code-batches", {"name": "Movie codes", "points": 75, "count": 3, "prefix": "DVD"},
                         sub="ops", admin=True)
        assert batch.status == 201 and len(batch.body["codes"]) == 3
        api.enroll("alice")
        api.enroll("bob")
        claimed = api.post("/members/me/promo-codes", {"code": batch.body["codes"][0]}, sub="alice")
        assert (claimed.status, claimed.body["points"]) == (201, 75)
        assert api.post("/members/me/promo-codes", {"code": batch.body["codes"][0]}, sub="bob").status == 409
        assert api.post("/admin/code-batches", {"name": "x", "points": 1, "count": 1}, sub="alice").status == 403
    assert_reconciled()


def test_a_reward_prize_takes_from_the_rewards_stock_and_a_sold_out_reward_lands_on_nothing(
        api: Api, mechanics: dict) -> None:
    # Given a wheel whose only prize is a reward with one left in stock
    api.post("/admin/rewards", {"reward_id": "mug", "name": "Mug", "points": 500, "stock": 1}, sub="ops", admin=True)
    config = copy.deepcopy(mechanics)
    config["spin"] = {"prizes": [{"prize_id": "mug", "kind": "reward", "reward_id": "mug", "weight": 1}],
                      "limit": {"count": 1, "per": "day"}, "budget_points": 0}
    assert api.put("/admin/program", config, sub="ops", admin=True).status == 200
    with at(T0):
        api.enroll("a")
        api.enroll("b")
        # When two members spin
        won = api.post("/members/me/spins", sub="a", headers={"Idempotency-Key": "r1"})
        missed = api.post("/members/me/spins", sub="b", headers={"Idempotency-Key": "r2"})
        replayed = api.post("/members/me/spins", sub="a", headers={"Idempotency-Key": "r1"})
        rewards = {reward["reward_id"]: reward for reward in api.get("/rewards", sub="a").body["items"]}
    # Then the first wins the mug, the reward is sold out, and the second lands on nothing
    assert won.body["prize"]["kind"] == "reward" and won.body["prize"]["reward_id"] == "mug"
    assert won.body["prize"]["code"]
    assert missed.status == 201 and missed.body["prize"]["kind"] == "nothing"
    assert replayed.body == won.body
    assert rewards["mug"]["stock"] == 0
