"""Referral safeguards (issue 33): a referee that is its referrer under another name, or past the referrer's
weekly cap, earns the referrer nothing and is flagged with its reasons; admins list, approve (the reward given
once) or reject; device ids and payment fingerprints are stored hashed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty.services import jobs
from loyalty.store import changes
from tests.events import Api
from tests.stream_helpers import assert_reconciled, at, ledger_items, metrics_contents

DAY0 = datetime(2026, 12, 1, 15, tzinfo=UTC)  # a Tuesday
REFERRAL_ACTIONS = {"referral_signup": {"points": 500}, "referral_conversion": {"points": 300}}


def configure(api: Api, program: dict[str, Any], **referrals: Any) -> None:
    body = {**program, "actions": {**program["actions"], **REFERRAL_ACTIONS}}
    if referrals:
        body["referrals"] = referrals
    assert api.put("/admin/program", body, admin=True).status == 200


def referrer(api: Api, member_id: str = "alice", **fields: Any) -> str:
    answer = api.enroll(member_id, fields.pop("email", "alice.smith@gmail.com"), **fields)
    assert answer.status == 201, answer.body
    return str(answer.body["referral_code"])


def referral_entries(member_id: str, action: str) -> list[dict[str, Any]]:
    return [item for item in ledger_items() if str(item["sk"]).startswith("ENTRY#")
            and item["member_id"] == member_id and item["type"] == "action"
            and action in str(item.get("source", ""))]


def actions_of(member_id: str) -> list[str]:
    """The referral actions the member earned (their `action` in the entries' source)."""
    import json

    found = []
    for item in ledger_items():
        if str(item["sk"]).startswith("ENTRY#") and item["member_id"] == member_id and item["type"] == "action":
            found.append(json.loads(item["source"])["action"])
    return sorted(found)


def listed(api: Api, status: str) -> list[dict[str, Any]]:
    answer = api.get("/admin/referrals", admin=True, query={"status": status})
    assert answer.status == 200, answer.body
    return list(answer.body["items"])


def test_a_referee_sharing_a_mailbox_phone_or_device_with_its_referrer_is_flagged_and_earns_nothing(
        api: Api, program: dict) -> None:
    # Given Alice, with a gmail address, a phone and the app on her device
    configure(api, program)
    with at(DAY0):
        code = referrer(api, phone="+1 415 555 0100", device_id="device-alice-0001")
        # When four people sign up with her code: her mailbox spelled otherwise, her phone written otherwise,
        # her device, and a stranger
        assert api.enroll("b1", "Alice.Smith+promo@GoogleMail.com", referral_code=code).status == 201
        assert api.enroll("b2", "b2@example.com", referral_code=code, phone="+14155550100").status == 201
        assert api.enroll("b3", "b3@example.com", referral_code=code, device_id="device-alice-0001").status == 201
        assert api.enroll("b4", "b4@example.com", referral_code=code, device_id="device-b4-0001").status == 201
    # Then the first three are flagged with their reasons and earned her nothing; the stranger earned her 500
    flagged = {item["referee_id"]: item for item in listed(api, "flagged")}
    assert {referee: item["reasons"] for referee, item in flagged.items()} == {
        "b1": ["email"], "b2": ["phone"], "b3": ["device_id"]}
    assert all(item["referrer_id"] == "alice" and item["withheld"] == ["referral_signup"]
               for item in flagged.values())
    assert [item["referee_id"] for item in listed(api, "rewarded")] == ["b4"]
    assert actions_of("alice") == ["referral_signup"]
    # And no stored item holds a device id as it was sent
    assert not any("device-alice-0001" in str(item) or "device-b4-0001" in str(item) for item in ledger_items())


def test_the_weekly_cap_flags_sign_ups_past_it_and_a_new_week_starts_again(api: Api, program: dict) -> None:
    # Given at most two referred sign-ups a week, and only the email checked
    configure(api, program, max_per_week=2, block_same=["email"])
    with at(DAY0):
        code = referrer(api)
        for number in range(3):
            assert api.enroll(f"w{number}", f"w{number}@example.com", referral_code=code).status == 201
    with at(DAY0 + timedelta(days=7)):
        assert api.enroll("w3", "w3@example.com", referral_code=code).status == 201
    # Then the third of the week is flagged, the first of the next week is not
    assert [(item["referee_id"], item["reasons"]) for item in listed(api, "flagged")] == [("w2", ["max_per_week"])]
    assert sorted(item["referee_id"] for item in listed(api, "rewarded")) == ["w0", "w1", "w3"]
    assert actions_of("alice") == ["referral_signup"] * 3


def test_a_first_purchase_paid_with_the_referrers_card_flags_the_referral_and_converts_nothing(
        api: Api, program: dict) -> None:
    # Given Alice paid with her card once, and Bo signed up with her code (rewarded)
    configure(api, program)
    with at(DAY0):
        code = referrer(api)
        assert api.purchase("alice", "a-1", "10.00", payment_fingerprint="card-fp-alice-42").status == 201
        assert api.enroll("bo", "bo@example.com", referral_code=code).status == 201
        # When Bo's first purchase is paid with the same card
        assert api.purchase("bo", "b-1", "20.00", payment_fingerprint="card-fp-alice-42").status == 201
    # Then the referral is flagged for it, Alice got no conversion reward, and it is withheld for a decision
    (item,) = listed(api, "flagged")
    assert (item["referee_id"], item["reasons"], item["withheld"]) == ("bo", ["payment_fingerprint"],
                                                                       ["referral_conversion"])
    assert actions_of("alice") == ["referral_signup"]
    # And a clean referee's first purchase converts as before
    with at(DAY0):
        assert api.enroll("cy", "cy@example.com", referral_code=code).status == 201
        assert api.purchase("cy", "c-1", "20.00", payment_fingerprint="card-fp-cy-777").status == 201
    assert actions_of("alice") == ["referral_conversion", "referral_signup", "referral_signup"]


def test_approving_gives_what_was_withheld_once_even_when_approved_twice_at_once(api: Api, program: dict) -> None:
    # Given a referral flagged for the email
    configure(api, program)
    with at(DAY0):
        code = referrer(api)
        assert api.enroll("twin", "alicesmith@gmail.com", referral_code=code).status == 201

    # When two admins approve it at the same moment
    def approve(number: int) -> Any:
        return api.post("/admin/referrals/twin/approve", {"reason": "checked: her sister"}, admin=True,
                        headers={"Idempotency-Key": f"approve-{number}"})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(approve, range(2)))
    # Then one approval went through, the other found it decided; Alice earned the withheld reward once
    assert sorted(answer.status for answer in answers) == [200, 409]
    done = next(answer for answer in answers if answer.status == 200).body
    assert (done["status"], done["withheld"], done["decision_reason"]) == ("rewarded", [], "checked: her sister")
    assert next(answer for answer in answers if answer.status == 409).body["code"] == "referral_not_flagged"
    assert actions_of("alice") == ["referral_signup"]
    assert listed(api, "flagged") == [] and [item["referee_id"] for item in listed(api, "rewarded")] == ["twin"]
    # And the approval is in the audit log
    audit = api.get("/admin/audit", admin=True).body["items"]
    assert [(entry["action"], entry["target"]) for entry in audit if entry["action"].startswith("referral.")] == [
        ("referral.approved", "referral:twin")]


def test_a_rejected_referral_earns_nothing_now_or_at_its_first_purchase(api: Api, program: dict) -> None:
    configure(api, program)
    with at(DAY0):
        code = referrer(api, phone="+14155550100")
        assert api.enroll("ph", "ph@example.com", referral_code=code, phone="+1-415-555-0100").status == 201
    rejected = api.post("/admin/referrals/ph/reject", {"reason": "same person"}, admin=True)
    assert rejected.status == 200 and rejected.body["status"] == "rejected"
    with at(DAY0 + timedelta(days=1)):
        assert api.purchase("ph", "p-1", "30.00").status == 201
    assert actions_of("alice") == []
    assert [item["referee_id"] for item in listed(api, "rejected")] == ["ph"]
    assert api.post("/admin/referrals/ph/approve", {"reason": "changed my mind"}, admin=True).body["code"] == (
        "referral_not_flagged")


def test_bad_referral_requests_are_refused_and_write_nothing(api: Api, program: dict) -> None:
    configure(api, program)
    with at(DAY0):
        code = referrer(api)
        assert api.enroll("tw", "alice.smith+1@gmail.com", referral_code=code).status == 201
    before = ledger_items()
    answers = {
        "unknown": api.post("/admin/referrals/nobody/approve", {"reason": "x"}, admin=True),
        "no reason": api.post("/admin/referrals/tw/approve", {}, admin=True),
        "member": api.post("/admin/referrals/tw/approve", {"reason": "x"}, sub="tw"),
        "bad status": api.get("/admin/referrals", admin=True, query={"status": "lost"}),
        "member list": api.get("/admin/referrals", sub="alice"),
        "hold": api.put("/admin/program", {**program, "referrals": {"hold_days": 366}}, admin=True),
        "check": api.put("/admin/program", {**program, "referrals": {"block_same": ["iris"]}}, admin=True),
        "twice": api.put("/admin/program", {**program, "referrals": {"block_same": ["email", "email"]}}, admin=True),
        "short device": api.post("/members", {"email": "z@example.com", "name": "Z", "device_id": "x"}, sub="z"),
    }
    assert {name: answer.status for name, answer in answers.items()} == {
        "unknown": 404, "no reason": 422, "member": 403, "bad status": 422, "member list": 403, "hold": 422,
        "check": 422, "twice": 422, "short device": 422}
    assert all(answer.headers["content-type"] == "application/problem+json" for answer in answers.values())
    assert ledger_items() == before


# --- held referral rewards (referrals.hold_days) -------------------------------------------------------------


def points_of(api: Api, member_id: str) -> tuple[int, int]:
    """(available, pending) of a member."""
    points = api.get(f"/members/{member_id}", sub=member_id).body["points"]
    return int(points["available"]), int(points["pending"])


def status_of(api: Api, referee_id: str) -> str:
    for status in ("pending", "rewarded", "rejected", "flagged"):
        if any(item["referee_id"] == referee_id for item in listed(api, status)):
            return status
    raise AssertionError(f"no referral of {referee_id}")


def give_back(api: Api, member_id: str, order_id: str, amount: str, key: str) -> int:
    answer = api.post(f"/members/{member_id}/returns", {"order_id": order_id,
                                                        "refund": {"amount": amount, "currency": "USD"}},
                      sub="pos", scopes=["loyalty/transactions"], headers={"Idempotency-Key": key})
    assert answer.status == 201, answer.body
    return int(answer.body["points"])


def held_referral(api: Api, program: dict, hold_days: int = 14) -> None:
    """Given referral rewards held `hold_days` days; Bo signs up with Alice's code on DAY0 and makes his
    first purchase (40.00) a day later."""
    configure(api, program, hold_days=hold_days)
    with at(DAY0):
        code = referrer(api)
        assert api.enroll("bo", "bo@example.com", referral_code=code).status == 201
    with at(DAY0 + timedelta(days=1)):
        assert api.purchase("bo", "b-1", "40.00").status == 201


def test_held_referral_rewards_are_pending_until_their_day_then_released_once(api: Api, program: dict) -> None:
    # Given Bo's sign-up (500) and first purchase (300) earned Alice rewards held 14 days
    held_referral(api, program)
    # Then both are pending, and so is the referral
    assert points_of(api, "alice") == (0, 800)
    assert status_of(api, "bo") == "pending"
    # When the daily job runs on the sign-up reward's day: that one is released, the other still held
    day14, day15 = DAY0 + timedelta(days=14, hours=1), DAY0 + timedelta(days=15, hours=1)
    with at(day14):
        jobs.run("member_maintenance", day14)
    assert points_of(api, "alice") == (500, 300)
    assert status_of(api, "bo") == "pending"
    # When it runs the next day, twice (a schedule may deliver twice)
    with at(day15):
        jobs.run("member_maintenance", day15)
        assert jobs.run("member_maintenance", day15) == {"visited": 0}
    # Then everything is released once and the referral is rewarded
    assert points_of(api, "alice") == (800, 0)
    assert status_of(api, "bo") == "rewarded"
    with at(day15):
        assert_reconciled()


def test_a_fully_returned_first_order_cancels_the_held_rewards_and_rejects_the_referral(
        api: Api, program: dict) -> None:
    # Given Alice's 800 referral points held for Bo, whose first order was 40.00
    held_referral(api, program)
    with at(DAY0 + timedelta(days=3)):
        # When half of the order is returned, nothing of Alice's changes
        give_back(api, "bo", "b-1", "20.00", "ret-1")
        assert points_of(api, "alice") == (0, 800) and status_of(api, "bo") == "pending"
        # When the rest is returned
        give_back(api, "bo", "b-1", "20.00", "ret-2")
    # Then Alice's held rewards are cancelled by one pending referral_reversal entry, and the referral rejected
    assert points_of(api, "alice") == (0, 0)
    reversal = [item for item in ledger_items() if str(item["sk"]).startswith("ENTRY#")
                and item["member_id"] == "alice" and item["type"] == "referral_reversal"]
    assert [(item["points"], item["status"]) for item in reversal] == [(-800, "pending")]
    (rejected,) = listed(api, "rejected")
    assert (rejected["referee_id"], rejected["reasons"]) == ("bo", ["first_order_returned"])
    # And the hold's end releases nothing; the program's numbers count Bo's two returns, not Alice's reversal
    day15 = DAY0 + timedelta(days=15, hours=1)
    with at(day15):
        jobs.run("member_maintenance", day15)
        assert points_of(api, "alice") == (0, 0)
        assert_reconciled()
    days = [counters for (pk, _), counters in metrics_contents().items() if pk.startswith("DAYS")]
    assert sum(counters.get("returns", 0) for counters in days) == 2


def test_a_return_after_the_hold_leaves_the_released_rewards(api: Api, program: dict) -> None:
    # Given the rewards were released after a 7-day hold
    held_referral(api, program, hold_days=7)
    day8 = DAY0 + timedelta(days=8, hours=1)
    with at(day8):
        jobs.run("member_maintenance", day8)
        # When Bo returns his whole first order afterwards
        give_back(api, "bo", "b-1", "40.00", "ret-late")
    # Then Alice keeps them and the referral stays rewarded
    assert points_of(api, "alice") == (800, 0)
    assert status_of(api, "bo") == "rewarded"


def test_a_release_racing_a_full_return_gives_or_cancels_the_rewards_never_both(
        api: Api, program: dict, monkeypatch: Any) -> None:
    # Given Alice's signup reward (7-day hold) is due while Bo returns his whole first order
    held_referral(api, program, hold_days=7)
    real_commit = changes.commit_points_change
    raced: list[int] = []

    def return_first(change: changes.PointsChange) -> None:
        # When the return commits between the job's read of Alice and the job's commit
        if change.member.member_id == "alice" and not raced:
            monkeypatch.setattr(changes, "commit_points_change", real_commit)
            raced.append(give_back(api, "bo", "b-1", "40.00", "ret-race"))
        real_commit(change)

    monkeypatch.setattr(changes, "commit_points_change", return_first)
    day7 = DAY0 + timedelta(days=7, hours=1)
    with at(day7):
        jobs.run("member_maintenance", day7)
        # Then the job's visit re-read Alice after the cancellation: nothing released, nothing pending
        assert raced and points_of(api, "alice") == (0, 0)
        assert status_of(api, "bo") == "rejected"
        assert_reconciled()


def test_a_full_return_racing_the_release_finds_the_rewards_released(
        api: Api, program: dict, monkeypatch: Any) -> None:
    # Given the signup reward is due and the conversion reward (a day later) still held
    held_referral(api, program, hold_days=7)
    real_commit = changes.commit_points_change
    raced: list[dict[str, Any]] = []
    day7 = DAY0 + timedelta(days=7, hours=1)

    def release_first(change: changes.PointsChange) -> None:
        # When the job's visit of Alice commits between the return's reads and its commit
        if change.member.member_id == "bo" and not raced:
            monkeypatch.setattr(changes, "commit_points_change", real_commit)
            raced.append(jobs.run("member_maintenance", day7))
        real_commit(change)

    monkeypatch.setattr(changes, "commit_points_change", release_first)
    with at(day7):
        give_back(api, "bo", "b-1", "40.00", "ret-race")
        # Then the return re-read: the released 500 stay Alice's, the still-held 300 are cancelled
        assert raced and points_of(api, "alice") == (500, 0)
        assert status_of(api, "bo") == "rejected"
        assert_reconciled()


def test_an_approved_referral_is_held_too(api: Api, program: dict) -> None:
    # Given a flagged referral (the same mailbox) and a 7-day hold
    configure(api, program, hold_days=7)
    with at(DAY0):
        code = referrer(api)
        assert api.enroll("twin", "alicesmith@gmail.com", referral_code=code).status == 201
        # When an admin approves it
        approved = api.post("/admin/referrals/twin/approve", {"reason": "her sister"}, admin=True)
    # Then the withheld reward is pending, and so is the referral, until the job releases it
    assert approved.status == 200 and approved.body["status"] == "pending"
    assert points_of(api, "alice") == (0, 500)
    day7 = DAY0 + timedelta(days=7, hours=1)
    with at(day7):
        jobs.run("member_maintenance", day7)
    assert points_of(api, "alice") == (500, 0) and status_of(api, "twin") == "rewarded"
