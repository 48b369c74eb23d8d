"""Households: a family pools its points (create, invite, join, leave), earns into the pool in the earn's
transaction, and spends the pool without ever overspending it."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from loyalty.store import changes
from loyalty.store import households as household_store
from loyalty_local import queues
from loyalty_local.motoserver import MotoServer
from tests.events import Api, Result
from tests.stream_helpers import assert_reconciled, deliver, stream_records


@pytest.fixture
def households_on(api: Api, program: dict[str, Any]) -> dict[str, Any]:
    """Given the demo program with households on (two members at most, members may spend)."""
    config = copy.deepcopy(program)
    config["households"] = {"enabled": True, "max_members": 2, "tier_basis": "member", "members_may_spend": True}
    response = api.put("/admin/program", config, admin=True)
    assert response.status == 200, response.body
    return config


def create(api: Api, owner: str, name: str = "The Smiths") -> dict[str, Any]:
    response = api.post("/households", {"name": name}, sub=owner)
    assert response.status == 201, response.body
    return response.body


def invite(api: Api, owner: str, household_id: str) -> str:
    response = api.post(f"/households/{household_id}/invitations", {}, sub=owner)
    assert response.status == 201, response.body
    return str(response.body["code"])


def join(api: Api, member: str, household_id: str, code: str) -> Result:
    return api.post(f"/households/{household_id}/members", {"code": code}, sub=member)


def spend(api: Api, member: str, household_id: str, points: int, key: str | None = None) -> Result:
    return api.post(f"/households/{household_id}/redemptions", {"points": points, "description": "pool spend"},
                    sub=member, headers={"Idempotency-Key": key or str(uuid.uuid4())})


def family(api: Api) -> str:
    """Given Ann (owner, 1,000 points of her own) and Ben (500 of his own) in one household."""
    api.enroll("ann")
    api.enroll("ben")
    api.purchase("ann", "ann-before", "100.00")
    api.purchase("ben", "ben-before", "50.00")
    household_id = str(create(api, "ann")["household_id"])
    assert join(api, "ben", household_id, invite(api, "ann", household_id)).status == 200
    return household_id


def test_a_member_creates_a_household_invites_and_another_joins(api: Api, households_on: dict) -> None:
    # Given Ann's household and an invitation
    household_id = family(api)
    # Then both are in it, Ann as its owner; the pool is empty
    household = api.get(f"/households/{household_id}", sub="ben").body
    assert household["owner_id"] == "ann" and household["name"] == "The Smiths"
    assert [(seat["member_id"], seat["role"], seat["contributed"]) for seat in household["members"]] == [
        ("ann", "owner", 0), ("ben", "member", 0)]
    assert household["points"] == {"available": 0, "held": 0, "qualifying": 0}
    assert api.get("/members/me", sub="ben").body["household"] == {"household_id": household_id, "role": "member"}
    # And the pool's ledger says who joined
    entries = api.get(f"/households/{household_id}/activity", sub="ann").body["items"]
    assert [(entry["type"], entry["details"]["action"], entry["details"]["member_id"]) for entry in entries] == [
        ("household", "joined", "ben"), ("household", "joined", "ann")]


def test_what_a_member_earns_goes_to_the_pool_and_what_it_had_stays_its_own(api: Api, households_on: dict) -> None:
    household_id = family(api)
    # When Ben buys for 20.00 (200 points) and Ann for 10.00 (125 points at Silver)
    earned = api.purchase("ben", "ben-1", "20.00")
    api.purchase("ann", "ann-1", "10.00")
    # Then the earn entry is Ben's, marked with the household; the points are the pool's
    assert earned.status == 201 and earned.body["points"] == 200
    assert earned.body["source"]["household_id"] == household_id
    assert api.get("/members/me", sub="ben").body["points"]["available"] == 500
    assert api.get("/members/me", sub="ann").body["points"]["available"] == 1000
    household = api.get(f"/households/{household_id}", sub="ann").body
    assert household["points"]["available"] == 325 and household["points"]["qualifying"] == 325
    assert {seat["member_id"]: seat["contributed"] for seat in household["members"]} == {"ann": 125, "ben": 200}
    ben = api.get("/members/me/activity", sub="ben").body["items"]
    latest = ben[0]  # Ben's balance after it is his own 500: the 200 are the pool's
    assert (latest["type"], latest["points"], latest["pooled_points"], latest["balance_after"]) == (
        "earn", 200, 200, 500)
    # And the pool's activity, newest first and page by page, shows each earn as the pool received it
    first = api.request("GET", f"/households/{household_id}/activity", sub="ben", query={"limit": "2"}).body
    assert [(entry["member_id"], entry["type"], entry["points"], entry["balance_after"])
            for entry in first["items"]] == [("ann", "earn", 125, 325), ("ben", "earn", 200, 200)]
    assert "pooled_points" not in first["items"][0]
    rest = api.request("GET", f"/households/{household_id}/activity", sub="ben",
                       query={"limit": "2", "cursor": first["next_cursor"]}).body
    assert [(entry["type"], entry["details"]["member_id"]) for entry in rest["items"]] == [
        ("household", "ben"), ("household", "ann")]
    assert rest["next_cursor"] is None
    # And a retried purchase moves nothing twice; the books stay clean (pools included)
    assert api.purchase("ben", "ben-1", "20.00").status == 201
    assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 325
    assert_reconciled()


def test_members_spend_the_pool_and_never_overspend_it(api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")  # 300 points into the pool
    # When Ben spends 200 and then Ann asks for 200 more
    assert spend(api, "ben", household_id, 200).status == 201
    refused = spend(api, "ann", household_id, 200)
    # Then the second is refused and nothing of it is written
    assert (refused.status, refused.body["code"]) == (409, "insufficient_points")
    assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 100
    # And a hold on the pool takes its points out of it
    hold = api.post(f"/households/{household_id}/holds", {"points": 60}, sub="ann",
                    headers={"Idempotency-Key": "hold-1"})
    assert hold.status == 201, hold.body
    assert api.get(f"/households/{household_id}", sub="ben").body["points"] == {
        "available": 40, "held": 60, "qualifying": 300}
    # And the members' own points were never touched
    assert api.get("/members/me", sub="ben").body["points"]["available"] == 500
    assert_reconciled()


def test_concurrent_spends_by_two_members_never_overspend_the_pool(api: Api, households_on: dict,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")  # 300 points into the pool
    real_commit = changes.commit_points_change
    raced: list[Result] = []

    def ann_first(change: changes.PointsChange) -> None:
        # When Ann's spend of 200 commits between Ben's read of the pool and Ben's commit
        if not raced:
            monkeypatch.setattr(changes, "commit_points_change", real_commit)
            raced.append(spend(api, "ann", household_id, 200, key="ann-spend"))
        real_commit(change)

    monkeypatch.setattr(changes, "commit_points_change", ann_first)
    bens = spend(api, "ben", household_id, 200, key="ben-spend")
    # Then exactly one of them spent: the other re-read the pool and found 100 points
    assert raced[0].status == 201
    assert (bens.status, bens.body["code"]) == (409, "insufficient_points")
    assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 100
    assert_reconciled()


def test_only_the_owner_spends_when_members_may_not(api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")
    config = copy.deepcopy(households_on)
    config["households"]["members_may_spend"] = False
    assert api.put("/admin/program", config, admin=True).status == 200
    assert spend(api, "ben", household_id, 10).status == 403
    assert spend(api, "ann", household_id, 10).status == 201


def test_a_member_outside_the_household_gets_403_on_every_household_route(api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.enroll("eve")
    api.purchase("eve", "eve-1", "10.00")
    calls = [
        api.get(f"/households/{household_id}", sub="eve"),
        api.get(f"/households/{household_id}/activity", sub="eve"),
        api.post(f"/households/{household_id}/invitations", {}, sub="eve"),
        api.request("DELETE", f"/households/{household_id}/members/ben", sub="eve"),
        spend(api, "eve", household_id, 1),
        api.post(f"/households/{household_id}/holds", {"points": 1}, sub="eve", headers={"Idempotency-Key": "h"}),
    ]
    assert [call.status for call in calls] == [403] * len(calls)
    # And a member (not the owner) may neither invite nor remove another
    assert api.post(f"/households/{household_id}/invitations", {}, sub="ben").status == 403
    assert api.request("DELETE", f"/households/{household_id}/members/ann", sub="ben").status == 403


def test_bad_codes_a_full_household_and_a_second_household_are_refused_and_change_nothing(
        api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.enroll("cal")
    # An unknown code
    unknown = join(api, "cal", household_id, "NOPE2345")
    assert (unknown.status, unknown.body["code"]) == (404, "invitation_not_found")
    # A used code
    code = invite(api, "ann", household_id)
    full = join(api, "cal", household_id, code)
    assert (full.status, full.body["code"]) == (409, "household_full")
    api.request("DELETE", f"/households/{household_id}/members/ben", sub="ann")
    assert join(api, "cal", household_id, code).status == 200
    api.enroll("dan")
    used = join(api, "dan", household_id, code)
    assert (used.status, used.body["code"]) == (410, "invitation_used")
    # A member of one household creates no other
    second = api.post("/households", {"name": "Mine"}, sub="cal")
    assert (second.status, second.body["code"]) == (409, "already_in_household")
    # A bad body
    assert api.post("/households", {"name": ""}, sub="dan").status == 422
    assert api.post("/households", {"name": "x", "extra": 1}, sub="dan").status == 422
    assert api.get("/members/me", sub="dan").body["household"] is None
    members = [seat["member_id"] for seat in api.get(f"/households/{household_id}", sub="ann").body["members"]]
    assert members == ["ann", "cal"]


def test_an_expired_code_is_gone(api: Api, households_on: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    api.enroll("ann")
    api.enroll("ben")
    household_id = str(create(api, "ann")["household_id"])
    from loyalty.domain import households

    monkeypatch.setattr(households, "INVITATION_DAYS", -1)
    code = invite(api, "ann", household_id)
    expired = join(api, "ben", household_id, code)
    assert (expired.status, expired.body["code"]) == (410, "invitation_expired")


def test_households_disabled_is_409_and_writes_nothing(api: Api, program: dict) -> None:
    api.enroll("ann")
    refused = api.post("/households", {"name": "No"}, sub="ann")
    assert (refused.status, refused.body["code"]) == (409, "households_disabled")
    assert api.get("/members/me", sub="ann").body["household"] is None


def test_a_member_leaves_with_nothing_and_the_owner_leaves_last(api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")
    # The owner cannot leave while Ben is in
    early = api.request("DELETE", f"/households/{household_id}/members/ann", sub="ann")
    assert (early.status, early.body["code"]) == (409, "owner_leaves_last")
    # Ben leaves: the pool keeps its points; Ben's next earn is his own
    left = api.request("DELETE", f"/households/{household_id}/members/me", sub="ben")
    assert left.status == 200 and [seat["member_id"] for seat in left.body["members"]] == ["ann"]
    assert left.body["points"]["available"] == 300
    api.purchase("ben", "ben-2", "10.00")
    assert api.get("/members/me", sub="ben").body["points"]["available"] == 600
    assert api.get(f"/households/{household_id}", sub="ben").status == 403
    # The pool's activity still shows what Ben earned into it, not what he earned after
    pooled = [(entry["member_id"], entry["points"]) for entry in api.request(
        "GET", f"/households/{household_id}/activity", sub="ann", query={"type": "earn"}).body["items"]]
    assert pooled == [("ben", 300)]
    # The owner, alone, leaves: the household closes
    closed = api.request("DELETE", f"/households/{household_id}/members/ann", sub="ann")
    assert closed.status == 200 and closed.body["status"] == "closed"
    assert api.get("/members/me", sub="ann").body["household"] is None
    assert_reconciled()


def test_a_member_removed_just_as_it_joins_leaves_the_household_on_both_sides(
        api: Api, households_on: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Ann's household and Ben's invitation
    api.enroll("ann")
    api.enroll("ben")
    household_id = str(create(api, "ann")["household_id"])
    code = invite(api, "ann", household_id)
    real_read = household_store.read_household
    joined: list[Result] = []
    racing: list[bool] = []

    def ben_joins_meanwhile(*args: Any, **kwargs: Any) -> Any:
        found = real_read(*args, **kwargs)
        if not racing:
            racing.append(True)
            # When Ben joins just after the removal's first read of the household (which did not seat him yet)
            joined.append(join(api, "ben", household_id, code))
        return found

    monkeypatch.setattr(household_store, "read_household", ben_joins_meanwhile)
    removed = api.request("DELETE", f"/households/{household_id}/members/ben", sub="ann")
    monkeypatch.setattr(household_store, "read_household", real_read)
    # Then Ben joined and was removed: the household no longer seats him, and his own record says so
    assert joined[0].status == 200, joined[0].body
    assert removed.status == 200, removed.body
    assert [seat["member_id"] for seat in removed.body["members"]] == ["ann"]
    assert api.get("/members/me", sub="ben").body["household"] is None
    assert [seat["member_id"] for seat in api.get(f"/households/{household_id}", sub="ann").body["members"]] == [
        "ann"]
    assert_reconciled()


@pytest.fixture
def event_log(tables: MotoServer, stack, monkeypatch: pytest.MonkeyPatch) -> queues.EventLog:  # type: ignore[no-untyped-def]
    refs, _ = queues.create(stack, tables.url)
    monkeypatch.setenv("EVENT_BUS_NAME", refs["EventBus"])
    return queues.EventLog(stack, tables.url)


def test_joining_and_leaving_are_published_as_the_members_events(api: Api, households_on: dict,
                                                                 event_log: queues.EventLog) -> None:
    household_id = family(api)
    api.request("DELETE", f"/households/{household_id}/members/ben", sub="ann")
    deliver(stream_records(), function="events_publisher")
    events = [event for event in event_log.page(0, 10_000)["items"] if event["type"].startswith("household.")]
    assert sorted((event["type"], event["member_id"], event["data"]["role"]) for event in events) == [
        ("household.member_joined", "ann", "owner"), ("household.member_joined", "ben", "member"),
        ("household.member_left", "ben", "member")]
    assert all(event["data"]["household_id"] == household_id for event in events)
    # And the pool itself is no member: no member.enrolled for it
    assert not [event for event in event_log.page(0, 10_000)["items"]
                if event["type"] == "member.enrolled" and event["member_id"].startswith("household#")]


def test_a_members_export_shows_its_household_and_its_erasure_leaves_the_pool_whole(
        api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")
    exported = api.get("/members/me/export", sub="ben").body
    assert exported["member"]["household"] == {"household_id": household_id, "role": "member", "contributed": 300}
    assert exported["view"]["household"] == {"household_id": household_id, "role": "member"}
    # When Ben erases his account, the pool keeps what he contributed
    assert api.request("DELETE", "/members/me", sub="ben").status == 200
    assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 300
    assert_reconciled()


def returned(api: Api, member: str, order_id: str, amount: str, key: str) -> Result:
    return api.post(f"/members/{member}/returns", {"order_id": order_id, "refund": {"amount": amount,
                                                                                     "currency": "USD"}},
                    sub="pos", scopes=["loyalty/transactions"], headers={"Idempotency-Key": key})


def test_a_return_takes_the_points_back_from_the_pool_not_from_the_members_own(api: Api,
                                                                              households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")  # 300 points into the pool
    # When a third of the order is refunded
    back = returned(api, "ben", "ben-1", "10.00", "ret-1")
    # Then the pool gives 100 back and Ben returns them: Ben's own 500 are untouched
    assert back.status == 201 and back.body["points"] == -100
    household = api.get(f"/households/{household_id}", sub="ann").body
    assert household["points"]["available"] == 200 and household["points"]["qualifying"] == 200
    assert {seat["member_id"]: seat["contributed"] for seat in household["members"]}["ben"] == 200
    ben = api.get("/members/me", sub="ben").body["points"]
    assert ben["available"] == 500 and ben["qualifying"] == 500 + 200
    # And when the pool has spent what the rest of the order gave, the member covers it (return_policy)
    assert spend(api, "ann", household_id, 200).status == 201
    assert returned(api, "ben", "ben-1", "20.00", "ret-2").status == 201
    assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 0
    assert api.get("/members/me", sub="ben").body["points"]["available"] == 300
    assert_reconciled()


def test_pending_points_released_by_the_daily_job_go_to_the_pool(api: Api, households_on: dict) -> None:
    from datetime import UTC, datetime, timedelta

    from loyalty.services import jobs
    from tests.stream_helpers import at

    config = copy.deepcopy(households_on)
    config["pending_days"] = 14
    start = datetime(2026, 3, 2, 15, tzinfo=UTC)
    with at(start):
        assert api.put("/admin/program", config, admin=True).status == 200
        household_id = family(api)
        api.purchase("ben", "ben-1", "30.00")
        assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 0
    day14 = start + timedelta(days=14)
    with at(day14):
        jobs.run("member_maintenance", day14)
        assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 300
        assert api.get("/members/me", sub="ben").body["points"]["pending"] == 0
        assert_reconciled()


def test_a_pool_hold_is_captured_by_the_till_or_released_by_a_member(api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")  # 300 points into the pool
    holds = [api.post(f"/households/{household_id}/holds", {"points": 100, "order_id": f"basket-{n}"}, sub="ann",
                      headers={"Idempotency-Key": f"hold-{n}"}).body["hold_id"] for n in (1, 2)]
    # When the till captures 80 of the first and Ben releases the second
    captured = api.post(f"/households/{household_id}/holds/{holds[0]}/capture", {"points": 80}, sub="pos",
                        scopes=["loyalty/transactions"], headers={"Idempotency-Key": "cap-1"})
    released = api.post(f"/households/{household_id}/holds/{holds[1]}/release", {}, sub="ben",
                        headers={"Idempotency-Key": "rel-1"})
    # Then the pool paid 80 and has the rest back
    assert captured.status == 200 and captured.body["entry"]["points"] == -80, captured.body
    assert released.status == 200 and released.body["status"] == "released"
    assert api.get(f"/households/{household_id}", sub="ann").body["points"] == {
        "available": 220, "held": 0, "qualifying": 300}
    # And a member cannot capture (a till's call), an outsider cannot release
    api.enroll("eve")
    third = api.post(f"/households/{household_id}/holds", {"points": 10}, sub="ann",
                     headers={"Idempotency-Key": "hold-3"}).body["hold_id"]
    assert api.post(f"/households/{household_id}/holds/{third}/capture", {}, sub="ann",
                    headers={"Idempotency-Key": "cap-2"}).status == 403
    assert api.post(f"/households/{household_id}/holds/{third}/release", {}, sub="eve",
                    headers={"Idempotency-Key": "rel-2"}).status == 403
    assert_reconciled()


def test_with_tier_basis_household_every_members_tier_follows_the_pool(api: Api, households_on: dict) -> None:
    config = copy.deepcopy(households_on)
    config["households"]["tier_basis"] = "household"
    assert api.put("/admin/program", config, admin=True).status == 200
    # Given Ann (Silver on her own 1,000 points) creates a household, and Ben (Bronze) joins it
    household_id = family(api)
    assert api.get("/members/me", sub="ann").body["tier"]["name"] == "Bronze"  # the pool has no points yet
    assert api.get("/members/me", sub="ben").body["tier"]["name"] == "Bronze"
    # When the household earns 1,000 qualifying points between them (at the pool's Bronze multiplier)
    api.purchase("ben", "ben-1", "60.00")
    earned = api.purchase("ann", "ann-1", "40.00")
    assert earned.body["points"] == 400  # Bronze's 1.0, not Ann's own Silver 1.25
    # Then the pool is Silver, and so is every member, the one who did not earn last too
    household = api.get(f"/households/{household_id}", sub="ann").body
    assert household["tier"]["name"] == "Silver" and household["points"]["qualifying"] == 1000
    assert api.get("/members/me", sub="ben").body["tier"]["name"] == "Silver"
    assert api.get("/members/me", sub="ann").body["tier"]["name"] == "Silver"
    # And the next purchase earns at Silver
    assert api.purchase("ben", "ben-2", "10.00").body["points"] == 125
    # When Ben leaves, his tier is his own again (reviewed on the next daily visit)
    api.request("DELETE", f"/households/{household_id}/members/me", sub="ben")
    assert api.get("/members/me", sub="ben").body["tier_review"] is not None
    assert_reconciled()


def test_a_blocked_member_spends_nothing_of_the_pool(api: Api, households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")
    assert api.post("/admin/members/ben/block", {"reason": "fraud review"}, admin=True).status == 200
    refused = spend(api, "ben", household_id, 10)
    assert (refused.status, refused.body["code"]) == (409, "member_blocked")
    assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 300
    assert spend(api, "ann", household_id, 10).status == 201


def test_spending_from_a_household_that_does_not_exist_is_404(api: Api, households_on: dict) -> None:
    api.enroll("ann")
    missing = spend(api, "ann", "01HNOSUCHHOUSEHOLD0000000", 10)
    assert (missing.status, missing.body["code"]) == (404, "household_not_found")
    assert "household#" not in missing.body["detail"]


def test_a_refund_cancels_what_the_pool_paid_and_its_points_come_back_to_the_pool(api: Api,
                                                                                 households_on: dict) -> None:
    household_id = family(api)
    api.purchase("ben", "ben-1", "30.00")
    paid = spend(api, "ben", household_id, 120).body
    cancelled = api.post(f"/households/{household_id}/redemptions/{paid['redemption_id']}/cancel",
                         {"reason": "refund"}, sub="pos", scopes=["loyalty/transactions"],
                         headers={"Idempotency-Key": "cancel-1"})
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled", cancelled.body
    assert api.get(f"/households/{household_id}", sub="ann").body["points"]["available"] == 300
    # A member is no till: 403
    assert api.post(f"/households/{household_id}/redemptions/{paid['redemption_id']}/cancel", {"reason": "x"},
                    sub="ann", headers={"Idempotency-Key": "cancel-2"}).status == 403
    assert_reconciled()
