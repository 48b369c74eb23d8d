"""The back office: member search, blocks, the audit log, program versions and rollback."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from loyalty.store import members
from tests.events import Api, Result
from tests.stream_helpers import assert_reconciled, ledger_items

TRUSTED = {"sub": "pos", "scopes": ["loyalty/transactions"]}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def admin_post(api: Api, path: str, body: dict[str, Any], sub: str = "ops") -> Result:
    return api.post(path, body, sub=sub, admin=True, headers=key())


@pytest.fixture
def alice(api: Api, program: dict) -> str:
    api.enroll("alice", email="Alice.Smith@Example.com", phone="+1 (555) 010-2030")
    assert api.purchase("alice", "seed", "100.00").status == 201
    return "alice"


# --- search ----------------------------------------------------------------------------------------


def test_an_admin_finds_a_member_by_email_phone_or_referral_code(api: Api, alice: str) -> None:
    code = api.get("/members/me", sub=alice).body["referral_code"]
    for query in ({"email": "alice.smith@example.COM"}, {"phone": "15550102030"}, {"phone": "+1 555 010 2030"},
                  {"referral_code": code}):
        found = api.get("/admin/members", admin=True, query=query)
        assert found.status == 200, (query, found.body)
        assert [member["member_id"] for member in found.body["items"]] == ["alice"], query
    assert api.get("/admin/members", admin=True, query={"email": "nobody@example.com"}).body["items"] == []


def test_search_needs_exactly_one_criterion_and_an_admin(api: Api, alice: str) -> None:
    assert api.get("/admin/members", admin=True).status == 422
    assert api.get("/admin/members", admin=True, query={"email": "a@b.co", "phone": "+15550102030"}).status == 422
    assert api.get("/admin/members", admin=True, query={"email": "a@b.co", "tier": "Gold"}).status == 422
    assert api.get("/admin/members", sub=alice, query={"email": "alice.smith@example.com"}).status == 403


def test_a_changed_phone_is_found_by_its_new_number_only(api: Api, alice: str) -> None:
    assert api.patch("/members/alice", {"phone": "+44 20 7946 0000"}, sub=alice).status == 200
    assert api.get("/admin/members", admin=True, query={"phone": "+15550102030"}).body["items"] == []
    found = api.get("/admin/members", admin=True, query={"phone": "+442079460000"}).body["items"]
    assert [member["member_id"] for member in found] == ["alice"]


def test_an_erased_member_is_not_found_and_its_phone_is_forgotten(api: Api, alice: str) -> None:
    assert api.request("DELETE", "/members/alice", sub=alice).status == 200
    assert api.get("/admin/members", admin=True, query={"phone": "+15550102030"}).body["items"] == []
    assert not [item for item in ledger_items() if str(item["pk"]).startswith("PHONE#")]


def walk_members(api: Api, query: dict[str, str]) -> list[str]:
    """The member ids of a list, every page of it (a page may be short, even empty, and have a cursor)."""
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get("/admin/members", admin=True, query={**query, **({"cursor": cursor} if cursor else {})}).body
        assert len(page["items"]) <= int(query.get("limit", 25))
        seen.extend(member["member_id"] for member in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_members_are_listed_by_tier_and_by_status_page_by_page(api: Api, program: dict) -> None:
    # Given 30 Bronze members and 5 Silver ones, two of the Bronze blocked
    for number in range(30):
        api.enroll(f"b{number:02d}")
    for number in range(5):
        api.enroll(f"s{number}")
        api.purchase(f"s{number}", f"s-order-{number}", "100.00")
    for name in ("b03", "b17"):
        admin_post(api, f"/admin/members/{name}/block", {"reason": "test"})

    def walk(query: dict[str, str]) -> list[str]:
        return walk_members(api, {**query, "limit": "7"})

    # Then each list holds exactly its members, once, across pages
    silver = walk({"tier": "Silver"})
    assert sorted(silver) == [f"s{number}" for number in range(5)]
    bronze = walk({"tier": "Bronze"})
    assert sorted(bronze) == sorted(f"b{number:02d}" for number in range(30))
    assert sorted(walk({"status": "blocked"})) == ["b03", "b17"]
    assert sorted(walk({"tier": "Bronze", "status": "active"})) == sorted(
        f"b{number:02d}" for number in range(30) if number not in (3, 17))
    assert walk({"tier": "Gold"}) == []
    bad_tier = api.get("/admin/members", admin=True, query={"tier": "Platinum-ish"})
    assert (bad_tier.status, bad_tier.body["errors"][0]["field"]) == (422, "tier")


def test_a_page_of_members_makes_a_bounded_number_of_queries(api: Api, program: dict) -> None:
    # Given a program with no Gold member: its list is 2 statuses x 64 roster keys, all empty
    keys = 2 * members.ROSTER_SHARDS
    # When the list is walked page by page
    pages, cursor = 0, None
    while True:
        page = api.get("/admin/members", admin=True, query={"tier": "Gold", **({"cursor": cursor} if cursor else {})})
        assert page.status == 200 and page.body["items"] == []
        pages += 1
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    # Then no page queried more than its share of the keys: one call never walks them all
    assert pages == keys // members.ROSTER_QUERIES_PER_PAGE
    bad = api.get("/admin/members", admin=True, query={"tier": "Silver", "cursor": "bm9wZQ"})
    assert (bad.status, bad.body["code"]) == (400, "invalid_cursor")


# --- blocks ----------------------------------------------------------------------------------------


def test_a_blocked_member_earns_spends_and_claims_nothing_but_reads_work(api: Api, alice: str) -> None:
    blocked = admin_post(api, "/admin/members/alice/block", {"reason": "chargeback fraud"})
    assert blocked.status == 200 and blocked.body["status"] == "blocked"
    before = len([item for item in ledger_items() if str(item["sk"]).startswith("ENTRY#")])
    refused = [
        api.purchase("alice", "o-2", "10.00"),
        api.redeem(alice, {"points": 10, "description": "x"}),
        api.post("/members/alice/actions", {"action": "social_share"}, sub=alice),
        api.post("/members/alice/holds", {"points": 10}, sub=alice, headers=key()),
    ]
    assert [(result.status, result.body["code"]) for result in refused] == [(409, "member_blocked")] * 4
    assert len([item for item in ledger_items() if str(item["sk"]).startswith("ENTRY#")]) == before
    # Reads work; a return and an adjustment still go through (they undo or correct)
    assert api.get("/members/me", sub=alice).body["status"] == "blocked"
    assert api.get("/members/me/activity", sub=alice).status == 200
    returned = api.post("/members/alice/returns", {"order_id": "seed", "refund": {"amount": "10.00",
                                                                                   "currency": "USD"}},
                        headers=key(), **TRUSTED)
    assert returned.status == 201
    assert admin_post(api, "/admin/members/alice/adjustments", {"points": 5, "reason": "goodwill"}).status == 201
    # When unblocked, the member earns again
    assert admin_post(api, "/admin/members/alice/unblock", {}).body["status"] == "active"
    assert api.purchase("alice", "o-3", "10.00").status == 201
    assert_reconciled()


def test_a_blocked_member_neither_sends_nor_receives_transfers(api: Api, alice: str, program: dict) -> None:
    api.put("/admin/program", {**program, "transfers": {"enabled": True}}, admin=True)
    api.enroll("bob")
    api.purchase("bob", "bob-1", "50.00")
    admin_post(api, "/admin/members/alice/block", {"reason": "fraud"})
    sent = api.post("/members/alice/transfers", {"to_member_id": "bob", "points": 100}, sub=alice, headers=key())
    assert (sent.status, sent.body["code"]) == (409, "member_blocked")
    received = api.post("/members/bob/transfers", {"to_member_id": "alice", "points": 100}, sub="bob", headers=key())
    assert (received.status, received.body["code"]) == (409, "transfer_not_allowed")


def test_only_an_admin_blocks_and_a_block_needs_a_reason(api: Api, alice: str) -> None:
    assert api.post("/admin/members/alice/block", {"reason": "x"}, sub=alice, headers=key()).status == 403
    assert admin_post(api, "/admin/members/alice/block", {}).status == 422
    assert admin_post(api, "/admin/members/nobody/block", {"reason": "x"}).status == 404


# --- audit -----------------------------------------------------------------------------------------


def test_every_admin_write_is_in_the_audit_log_with_its_actor(api: Api, alice: str, program: dict) -> None:
    # When staff change the program, a reward, a balance, a partner, and block and unblock a member
    api.put("/admin/program", {**program, "name": "Renamed"}, sub="carol", admin=True)
    admin_post(api, "/admin/rewards", {"reward_id": "mug", "name": "Mug", "points": 100}, sub="dave")
    admin_post(api, "/admin/members/alice/adjustments", {"points": 50, "reason": "late delivery"}, sub="erin")
    partner = admin_post(api, "/admin/partners", {"name": "Beans", "contact_email": "b@example.com"}).body
    api.request("DELETE", f"/admin/partners/{partner['partner_id']}/keys/{partner['key_id']}", sub="ops", admin=True)
    admin_post(api, "/admin/members/alice/block", {"reason": "fraud"}, sub="frank")
    admin_post(api, "/admin/members/alice/unblock", {}, sub="frank")
    redeemed = api.redeem(alice, {"points": 10, "description": "x"}).body
    admin_post(api, f"/members/alice/redemptions/{redeemed['redemption_id']}/cancel", {"reason": "dispute"})
    # Then the log lists them oldest first, with who did what to what (the demo program's own PUT first)
    log = api.get("/admin/audit", admin=True, query={"limit": "100"}).body["items"]
    assert [(entry["actor"], entry["action"], entry["target"]) for entry in log][1:] == [
        ("carol", "program.updated", "program"),
        ("dave", "reward.created", "reward:mug"),
        ("erin", "points.adjusted", "member:alice"),
        ("ops", "partner.onboarded", f"partner:{partner['partner_id']}"),
        ("ops", "partner.key_revoked", f"partner:{partner['partner_id']}"),
        ("frank", "member.blocked", "member:alice"),
        ("frank", "member.unblocked", "member:alice"),
        ("ops", "redemption.cancelled", "member:alice"),
    ]
    assert log[3]["details"] == {"points": 50, "reason": "late delivery"}
    # Pages follow with `after`
    first = api.get("/admin/audit", admin=True, query={"limit": "4"}).body
    second = api.get("/admin/audit", admin=True, query={"limit": "4", "after": first["next_cursor"]}).body
    assert [entry["audit_id"] for entry in first["items"] + second["items"]] == [entry["audit_id"]
                                                                                for entry in log[:8]]
    assert api.get("/admin/audit", sub=alice).status == 403


def test_a_refused_admin_write_leaves_no_audit_record(api: Api, alice: str) -> None:
    count = len(api.get("/admin/audit", admin=True, query={"limit": "100"}).body["items"])
    refused = admin_post(api, "/admin/members/alice/adjustments", {"points": -100000, "reason": "too much"})
    assert refused.status == 409
    assert len(api.get("/admin/audit", admin=True, query={"limit": "100"}).body["items"]) == count


def test_a_replayed_admin_write_is_audited_once(api: Api, alice: str) -> None:
    same = key()
    for _ in range(3):
        api.post("/admin/members/alice/adjustments", {"points": 5, "reason": "x"}, sub="ops", admin=True,
                 headers=same)
    actions = [entry["action"] for entry in api.get("/admin/audit", admin=True).body["items"]]
    assert actions.count("points.adjusted") == 1


# --- program versions ------------------------------------------------------------------------------


def test_versions_are_listed_read_and_rolled_back_as_a_new_version(api: Api, program: dict) -> None:
    api.put("/admin/program", {**program, "name": "Second"}, sub="carol", admin=True)
    api.put("/admin/program", {**program, "name": "Third"}, sub="dave", admin=True)
    versions = api.get("/admin/program/versions", admin=True).body["items"]
    assert [(item["version"], item["actor"]) for item in versions] == [(3, "dave"), (2, "carol"), (1, "admin")]
    second = api.get("/admin/program/versions/2", admin=True).body
    assert second["version"] == 2 and second["config"]["name"] == "Second"
    # When version 2 is rolled back to, a fourth version equal to it is in force at once
    rolled = admin_post(api, "/admin/program/rollback", {"version": 2})
    assert rolled.status == 200 and rolled.body["version"] == 4 and rolled.body["name"] == "Second"
    assert api.get("/program", sub="anyone").body["name"] == "Second"
    assert api.get("/admin/audit", admin=True).body["items"][-1]["details"] == {"to_version": 2, "version": 4}
    assert api.get("/admin/program/versions/9", admin=True).status == 404
    assert api.get("/admin/program/versions/x", admin=True).status == 404
    assert admin_post(api, "/admin/program/rollback", {"version": 9}).status == 404
    assert api.get("/admin/program/versions", sub="anyone").status == 403


def test_staff_enrolling_or_erasing_someone_else_is_audited_a_member_doing_it_is_not(api: Api, program: dict) -> None:
    api.enroll("self-service")
    assert api.post("/members", {"email": "walk-in@example.com", "name": "Walk In", "member_id": "walk-in"},
                    sub="ops", admin=True).status == 201
    assert api.request("DELETE", "/members/walk-in", sub="ops", admin=True).status == 200
    assert api.request("DELETE", "/members/self-service", sub="self-service").status == 200
    log = [(entry["actor"], entry["action"], entry["target"])
           for entry in api.get("/admin/audit", admin=True).body["items"]]
    assert log[1:] == [("ops", "member.enrolled", "member:walk-in"), ("ops", "member.erased", "member:walk-in")]


def test_a_key_rotation_and_a_code_batch_are_audited(api: Api, program: dict) -> None:
    partner = admin_post(api, "/admin/partners", {"name": "Beans", "contact_email": "b@example.com"}).body
    rotated = admin_post(api, f"/admin/partners/{partner['partner_id']}/keys", {"revoke_others": True}, sub="gina")
    assert rotated.status == 201
    batch = admin_post(api, "/admin/code-batches", {"name": "In the box", "points": 50, "count": 3}, sub="hal")
    assert batch.status == 201
    log = [(entry["actor"], entry["action"]) for entry in api.get("/admin/audit", admin=True).body["items"]]
    assert ("gina", "partner.key_added") in log and ("hal", "code_batch.issued") in log
    added = next(entry for entry in api.get("/admin/audit", admin=True).body["items"]
                 if entry["action"] == "partner.key_added")
    assert added["details"]["revoked"] == [partner["key_id"]]


def test_members_from_before_the_search_keys_are_backfilled_once(api: Api, program: dict) -> None:
    # Given two members written as they were before the back office (no roster key, no phone item)
    from loyalty.services import jobs
    from loyalty.store.guards import UniqueItem, phone_key
    from loyalty.store.members import MemberItem, member_key

    for member_id, phone in (("old-1", "+1 555 0101"), ("old-2", None)):
        assert api.enroll(member_id, **({"phone": phone} if phone else {})).status == 201
        MemberItem(*member_key(member_id)).update(actions=[MemberItem.gsi3pk.remove(), MemberItem.gsi3sk.remove()],
                                                  add_version_condition=False)
    UniqueItem(*phone_key("+1 555 0101", "old-1")).delete()
    assert walk_members(api, {"tier": "Bronze"}) == []
    # When the backfill job runs, twice
    first, second = jobs.run("backfill_search_keys"), jobs.run("backfill_search_keys")
    # Then both are listed and found by phone again, and the second run had nothing to do
    assert (first["backfilled"], second["backfilled"]) == (2, 0)
    assert sorted(walk_members(api, {"tier": "Bronze"})) == ["old-1", "old-2"]
    found = api.get("/admin/members", query={"phone": "+15550101"}, admin=True).body["items"]
    assert [member["member_id"] for member in found] == ["old-1"]
