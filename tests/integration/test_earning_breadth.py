"""Returns, pending points, expiry, birthdays, referrals, offers and action caps, through the handlers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.services import jobs
from loyalty_local.demo import DEMO_PROGRAM
from tests.events import Api
from tests.stream_helpers import assert_reconciled, at

T0 = datetime(2026, 3, 2, 16, tzinfo=UTC)  # a Monday, 11:00 in New York


def configure(api: Api, **changes: object) -> dict:
    config = copy.deepcopy(DEMO_PROGRAM)
    config["bonus_events"] = []
    config.update(changes)
    response = api.put("/admin/program", config, sub="ops", admin=True)
    assert response.status == 200, response.body
    return config


def returned(api: Api, member: str, order_id: str, amount: str, key: str) -> object:
    body = {"order_id": order_id, "refund": {"amount": amount, "currency": "USD"}}
    return api.post(f"/members/{member}/returns", body, sub="pos", scopes=["loyalty/transactions"],
                    headers={"Idempotency-Key": key})


def points(api: Api, member: str) -> dict:
    return dict(api.get("/members/me", sub=member).body["points"])


# --- returns ---------------------------------------------------------------------------------------


def test_returns_claw_back_in_proportion_and_the_last_takes_the_remainder(api: Api) -> None:
    configure(api)
    with at(T0):
        api.enroll("alice")
        assert api.purchase("alice", "o-1", "40.00").body["points"] == 400
        api.purchase("alice", "o-2", "100.00")  # more points, Silver
        first = returned(api, "alice", "o-1", "15.00", "r1")
        second = returned(api, "alice", "o-1", "15.00", "r2")
        last = returned(api, "alice", "o-1", "10.00", "r3")
        too_much = returned(api, "alice", "o-1", "0.01", "r4")
    assert (first.status, first.body["type"], first.body["points"]) == (201, "return", -150)  # floor(400*15/40)
    assert second.body["points"] == -150
    assert last.body["points"] == -100  # the exact remainder
    assert (too_much.status, too_much.body["code"]) == (422, "refund_exceeds_order")
    assert first.body["qualifying_points"] == -150
    with at(T0):
        assert points(api, "alice")["available"] == 1000
        assert points(api, "alice")["qualifying"] == 1000


def test_a_return_for_an_unknown_or_someone_elses_order_is_404(api: Api) -> None:
    configure(api)
    with at(T0):
        api.enroll("alice")
        api.enroll("bob")
        api.purchase("bob", "bobs", "10.00")
        assert returned(api, "alice", "nope", "1.00", "x1").status == 404
        assert returned(api, "alice", "bobs", "1.00", "x2").status == 404
        wrong_currency = api.post("/members/bob/returns", {"order_id": "bobs", "refund": {"amount": "1.00",
                                  "currency": "EUR"}}, sub="pos", scopes=["loyalty/transactions"],
                                  headers={"Idempotency-Key": "x3"})
        assert wrong_currency.status == 422
        by_member = api.post("/members/bob/returns", {"order_id": "bobs", "refund": {"amount": "1.00",
                             "currency": "USD"}}, sub="bob", headers={"Idempotency-Key": "x4"})
        assert by_member.status == 403


@pytest.mark.parametrize(("policy", "available", "uncollected"), [("allow_negative", -400, 0),
                                                                  ("within_balance", 0, 400)])
def test_return_policy_decides_whether_the_balance_may_go_negative(api: Api, policy: str, available: int,
                                                                   uncollected: int) -> None:
    configure(api, return_policy=policy)
    with at(T0):
        api.enroll("alice")
        api.purchase("alice", "o-1", "50.00")  # 500
        api.redeem("alice", {"points": 400, "description": "spent most"})
        entry = returned(api, "alice", "o-1", "50.00", "r1").body
        assert points(api, "alice")["available"] == available
    assert entry["details"]["uncollected_points"] == uncollected
    with at(T0 + timedelta(hours=1)):
        api.purchase("alice", "o-2", "20.00")  # 200: a debt is paid back first
        assert points(api, "alice")["available"] == available + 200
        assert_reconciled()


# --- pending points ----------------------------------------------------------------------------------


def test_pending_points_are_visible_not_spendable_and_released_by_the_scheduler(api: Api) -> None:
    configure(api, pending_days=14)
    with at(T0):
        api.enroll("alice")
        earned = api.purchase("alice", "o-1", "30.00").body
        assert (earned["status"], earned["points"]) == ("pending", 300)
        assert points(api, "alice")["pending"] == 300 and points(api, "alice")["available"] == 0
        assert api.redeem("alice", {"points": 10, "description": "x"}).status == 409
    day13 = T0 + timedelta(days=13)
    with at(day13):
        assert jobs.run("member_maintenance", day13) == {"visited": 0}
    day14 = T0 + timedelta(days=14)
    with at(day14):
        assert jobs.run("member_maintenance", day14) == {"visited": 1, "release": 1}
        assert points(api, "alice") | {"expiring_next_30_days": 0} == {
            "available": 300, "pending": 0, "held": 0, "lifetime_earned": 300, "qualifying": 300,
            "expiring_next_30_days": 0}
        assert jobs.run("member_maintenance", day14) == {"visited": 0}


def test_a_return_inside_the_pending_window_cancels_the_pending_points(api: Api) -> None:
    configure(api, pending_days=14)
    with at(T0):
        api.enroll("alice")
        api.purchase("alice", "o-1", "30.00")
        cancel = returned(api, "alice", "o-1", "10.00", "r1").body
        assert (cancel["status"], cancel["points"]) == ("pending", -100)
        assert points(api, "alice")["pending"] == 200
    day14 = T0 + timedelta(days=14)
    with at(day14):
        jobs.run("member_maintenance", day14)
        assert points(api, "alice")["available"] == 200
        assert_reconciled()


# --- expiry ------------------------------------------------------------------------------------------


def test_rolling_lots_expire_on_schedule_with_an_expire_entry(api: Api) -> None:
    configure(api, expiry={"policy": "rolling", "days": 30})
    with at(T0):
        api.enroll("alice")
        api.purchase("alice", "o-1", "10.00")
    with at(T0 + timedelta(days=10)):
        api.purchase("alice", "o-2", "5.00")
        assert points(api, "alice")["expiring_next_30_days"] == 150
    expiry_day = T0 + timedelta(days=31)
    with at(expiry_day):
        assert jobs.run("member_maintenance", expiry_day)["expire"] == 1
        assert points(api, "alice")["available"] == 50
        expired = api.get("/members/me/activity", sub="alice", query={"type": "expire"}).body["items"]
    assert [entry["points"] for entry in expired] == [-100]
    assert_reconciled()


def test_inactivity_expires_everything_after_a_quiet_spell(api: Api) -> None:
    configure(api, expiry={"policy": "inactivity", "days": 60})
    with at(T0):
        api.enroll("alice")
        api.purchase("alice", "o-1", "10.00")
    with at(T0 + timedelta(days=40)):
        api.purchase("alice", "o-2", "10.00")  # activity pushes the lapse out to day 101
        assert points(api, "alice")["expiring_next_30_days"] == 0
    with at(T0 + timedelta(days=75)):
        assert points(api, "alice")["expiring_next_30_days"] == 200
    day70 = T0 + timedelta(days=70)
    with at(day70):
        assert "expire" not in jobs.run("member_maintenance", day70)
    day101 = T0 + timedelta(days=101)
    with at(day101):
        assert jobs.run("member_maintenance", day101)["expire"] == 1
        assert points(api, "alice")["available"] == 0


# --- birthdays ---------------------------------------------------------------------------------------


def test_birthday_reward_once_a_year_in_the_program_time_zone(api: Api) -> None:
    configure(api)
    with at(T0):
        api.enroll("alice", birthday="1990-03-05")
    # 04:30 UTC on 5 March is still 4 March in New York: not yet
    early = datetime(2026, 3, 5, 4, 30, tzinfo=UTC)
    with at(early):
        assert "birthday" not in jobs.run("member_maintenance", early)
    on_the_day = datetime(2026, 3, 5, 14, tzinfo=UTC)
    with at(on_the_day):
        assert jobs.run("member_maintenance", on_the_day)["birthday"] == 1
        assert jobs.run("member_maintenance", on_the_day) == {"visited": 0}
        assert points(api, "alice")["available"] == 500
        gifts = api.get("/members/me/activity", sub="alice", query={"type": "birthday"}).body["items"]
    assert len(gifts) == 1
    next_year = datetime(2027, 3, 5, 14, tzinfo=UTC)
    with at(next_year):
        assert jobs.run("member_maintenance", next_year)["birthday"] == 1


# --- referrals ---------------------------------------------------------------------------------------


def test_referral_signup_conversion_and_funnel(api: Api) -> None:
    config = configure(api)
    config["actions"]["referral_conversion"] = {"points": 300, "limit": {"count": 10, "per": "year"}}
    api.put("/admin/program", config, sub="ops", admin=True)
    with at(T0):
        code = api.enroll("alice").body["referral_code"]
        assert api.post("/members/me/referral/invites", {"channel": "whatsapp", "count": 3}, sub="alice").status == 201
        assert api.enroll("bob", referral_code=code).body["referred_by"] == "alice"
        assert points(api, "alice")["available"] == 500  # referral_signup
        api.purchase("bob", "b-1", "10.00")
        api.purchase("bob", "b-2", "10.00")  # only the first purchase converts
        funnel = api.get("/members/me/referral", sub="alice").body
        assert funnel == {"referral_code": code, "invited": 3, "signed_up": 1, "converted": 1, "points_earned": 800}
        assert points(api, "alice")["available"] == 800
        assert api.get("/members/alice/referral", sub="bob").status == 403
        assert_reconciled()


def test_unknown_referral_codes_are_refused(api: Api) -> None:
    configure(api)
    with at(T0):
        response = api.enroll("carol", referral_code="NOSUCHCODE")
    assert response.status == 422
    assert response.body["errors"][0]["field"] == "referral_code"


# --- offers and actions --------------------------------------------------------------------------------


def test_offers_follow_tier_preferences_and_affordability(api: Api) -> None:
    configure(api)
    rewards = [{"reward_id": "coffee", "name": "Coffee", "points": 40, "tags": ["coffee"]},
               {"reward_id": "tea", "name": "Tea", "points": 40, "tags": ["tea"]},
               {"reward_id": "mug", "name": "Mug", "points": 300},
               {"reward_id": "lounge", "name": "Lounge", "points": 100, "min_tier": "Gold"},
               {"reward_id": "gone", "name": "Gone", "points": 10, "stock": 0},
               {"reward_id": "later", "name": "Later", "points": 10, "starts_at": "2099-01-01T00:00:00Z"}]
    for reward in rewards:
        assert api.post("/admin/rewards", reward, sub="ops", admin=True).status == 201
    with at(T0):
        api.enroll("alice", preferences={"drink": "tea"})
        api.purchase("alice", "o-1", "10.00")  # 100 points
        offers = api.get("/members/me/offers", sub="alice").body["items"]
    assert [offer["reward_id"] for offer in offers] == ["tea", "mug"]
    assert offers[0]["affordable"] is True and offers[1]["points_needed"] == 200


def test_action_caps_per_period_and_nothing_written_over_the_cap(api: Api) -> None:
    configure(api)
    with at(T0):
        api.enroll("alice")
        assert api.post("/members/me/actions", {"action": "social_share"}, sub="alice").status == 201
        capped = api.post("/members/me/actions", {"action": "social_share"}, sub="alice")
        unknown = api.post("/members/me/actions", {"action": "dance"}, sub="alice")
        system = api.post("/members/me/actions", {"action": "birthday"}, sub="alice")
        assert (capped.status, capped.body["code"]) == (429, "action_limit_reached")
        assert unknown.status == 422 and system.status == 422
        assert points(api, "alice")["available"] == 50
    # The next local day (New York) the cap has room again
    with at(T0 + timedelta(hours=14)):
        assert api.post("/members/me/actions", {"action": "social_share"}, sub="alice").status == 201
