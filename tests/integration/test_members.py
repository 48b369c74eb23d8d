"""Members: enrollment, reading, profile updates, activity — handlers against moto."""

from __future__ import annotations

from tests.events import Api


def test_a_member_enrolls_itself_in_the_lowest_tier(api: Api, program: dict) -> None:
    # When alice enrolls with her own token
    response = api.enroll("alice", name="Alice")
    # Then she is a Bronze member with no points, and enrolling awarded nothing
    assert response.status == 201
    assert response.body["member_id"] == "alice"
    assert response.body["tier"]["name"] == "Bronze"
    assert response.body["points"] == {"available": 0, "pending": 0, "held": 0, "lifetime_earned": 0, "qualifying": 0,
                                       "expiring_next_30_days": 0}
    assert response.body["next_tier"] == {"name": "Silver", "points_needed": 1000}
    assert len(response.body["referral_code"]) == 8
    assert api.get("/members/alice/activity", sub="alice").body["items"] == []


def test_enrolling_twice_or_with_a_taken_email_is_a_conflict(api: Api, program: dict) -> None:
    api.enroll("alice", email="alice@example.com")
    # When alice enrolls again, or bob enrolls with alice's email (in another case)
    again = api.enroll("alice", email="other@example.com")
    taken = api.enroll("bob", email="ALICE@example.com ")
    # Then both are 409 member_exists as problem+json
    assert (again.status, again.body["code"]) == (409, "member_exists")
    assert (taken.status, taken.body["code"]) == (409, "member_exists")
    assert again.headers["content-type"] == "application/problem+json"


def test_only_an_admin_enrolls_someone_else(api: Api, program: dict) -> None:
    refused = api.post("/members", {"email": "x@example.com", "name": "X", "member_id": "x"}, sub="mallory")
    allowed = api.post("/members", {"email": "x@example.com", "name": "X", "member_id": "x"}, sub="ops",
                       admin=True)
    assert refused.status == 403
    assert allowed.status == 201 and allowed.body["member_id"] == "x"


def test_a_member_reads_only_its_own_data(api: Api, program: dict) -> None:
    api.enroll("alice")
    api.enroll("bob")
    assert api.get("/members/me", sub="alice").body["member_id"] == "alice"
    assert api.get("/members/alice", sub="alice").status == 200
    # When bob asks for alice's member or activity
    # Then he is refused with 403 (not 404)
    assert api.get("/members/alice", sub="bob").status == 403
    assert api.get("/members/alice/activity", sub="bob").status == 403
    assert api.get("/members/alice", sub="ops", admin=True).status == 200


def test_unknown_member_is_404(api: Api, program: dict) -> None:
    assert api.get("/members/me", sub="nobody").status == 404
    assert api.get("/members/nobody", sub="ops", admin=True).body["code"] == "member_not_found"


def test_profile_update_and_one_time_profile_completion_award(api: Api, program: dict) -> None:
    api.enroll("alice")
    # When alice completes her profile in two steps, then edits it again
    first = api.patch("/members/me", {"birthday": "1990-05-01", "phone": "+1 555 0100"}, sub="alice")
    second = api.patch("/members/me", {"preferences": {"drink": "tea"}}, sub="alice")
    third = api.patch("/members/me", {"preferences": {"drink": "coffee"}, "name": "Alice B"}, sub="alice")
    # Then the profile_completed points come once, when the profile first became complete
    assert first.body["points"]["available"] == 0
    assert second.body["points"]["available"] == 200
    assert third.body["points"]["available"] == 200
    assert third.body["name"] == "Alice B"
    actions = api.get("/members/me/activity", sub="alice", query={"type": "action"}).body["items"]
    assert [entry["source"]["action"] for entry in actions] == ["profile_completed"]


def test_profile_update_refuses_bad_fields_and_changes_nothing(api: Api, program: dict) -> None:
    api.enroll("alice")
    bad = api.patch("/members/me", {"name": None, "unknown": 1, "birthday": "not a date"}, sub="alice")
    assert bad.status == 422
    assert bad.body["code"] == "validation_error"
    fields = {error["field"] for error in bad.body["errors"]}
    assert {"unknown", "birthday"} <= fields
    assert api.get("/members/me", sub="alice").body["name"] == "Alice"


def test_email_change_moves_the_uniqueness_guard(api: Api, program: dict) -> None:
    api.enroll("alice", email="alice@example.com")
    api.enroll("bob", email="bob@example.com")
    assert api.patch("/members/me", {"email": "bob@example.com"}, sub="alice").status == 409
    assert api.patch("/members/me", {"email": "alice2@example.com"}, sub="alice").status == 200
    # The old address is free again
    assert api.enroll("carol", email="alice@example.com").status == 201


def test_activity_is_paginated_newest_first_and_filterable(api: Api, program: dict) -> None:
    api.enroll("alice")
    for number in range(5):
        assert api.purchase("alice", f"order-{number}", "10.00").status == 201
    api.redeem("alice", {"points": 30, "description": "coffee"})
    # When alice pages through her activity two at a time
    seen = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/members/me/activity", sub="alice", query=query).body
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then she sees every entry once, newest first
    assert [entry["type"] for entry in seen] == ["redeem"] + ["earn"] * 5
    assert [entry["entry_id"] for entry in seen] == sorted((entry["entry_id"] for entry in seen), reverse=True)
    earns = api.get("/members/me/activity", sub="alice", query={"type": "earn", "limit": "100"}).body
    assert len(earns["items"]) == 5 and earns["next_cursor"] is None
    assert api.get("/members/me/activity", sub="alice", query={"type": "nope"}).status == 422
    assert api.get("/members/me/activity", sub="alice", query={"cursor": "garbage!"}).status == 400
    assert api.get("/members/me/activity", sub="alice", query={"limit": "0"}).status == 422


def test_absurd_path_ids_are_404_never_5xx(api: Api, program: dict) -> None:
    for member_id in ("x" * 2000, "..", ".hidden", "a%00b", "é"):
        response = api.get(f"/members/{member_id}", sub="ops", admin=True)
        assert response.status == 404, member_id
    assert api.get("/rewards/" + "r" * 3000, sub="ops").status == 404
