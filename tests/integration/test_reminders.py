"""Reminders (issue 33): points.expiring on each of `reminders.expiry_days`, tier.at_risk on each of
`reminders.tier_review_days` while the tier needs points, once per member and reminder day however often the
daily job runs; the member's `tier_review`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty.domain.events import events_of
from loyalty.services import jobs
from tests.events import Api
from tests.stream_helpers import at, ledger_items

DAY0 = datetime(2025, 3, 3, 15, tzinfo=UTC)
REMINDERS = {"expiry_days": [30, 7], "tier_review_days": [30, 7]}


def configure(api: Api, program: dict[str, Any], **fields: Any) -> None:
    assert api.put("/admin/program", {**program, **fields}, admin=True).status == 200


def notes(kind: str) -> list[dict[str, Any]]:
    """The ledger's 0-point notes of `kind`, oldest first, as events (what the bus and webhooks get)."""
    found = [item for item in ledger_items() if str(item["sk"]).startswith("ENTRY#") and item["type"] == kind]
    found.sort(key=lambda item: str(item["sk"]))
    return [event for item in found for event in events_of("INSERT", {"pk": item["pk"], "sk": item["sk"]}, item)]


def run_job(day: datetime, times: int = 1) -> None:
    with at(day):
        for _ in range(times):
            jobs.run("member_maintenance", day)


def test_expiring_points_are_announced_on_each_reminder_day_once(api: Api, program: dict) -> None:
    # Given points that expire 60 days after they are earned, and reminders 30 and 7 days before
    configure(api, program, expiry={"policy": "rolling", "days": 60}, reminders=REMINDERS)
    with at(DAY0):
        assert api.enroll("eve").status == 201
        assert api.purchase("eve", "e-1", "20.00").status == 201  # 200 points, last valid on day 60
    # When the daily job runs the day before the first reminder, then twice on each reminder day
    run_job(DAY0 + timedelta(days=30))
    assert notes("expiry_notice") == []
    run_job(DAY0 + timedelta(days=31), times=2)
    run_job(DAY0 + timedelta(days=54), times=2)
    # Then two points.expiring went out: 30 and 7 days before, each with the points
    expiring = notes("expiry_notice")
    assert [event["type"] for event in expiring] == ["points.expiring"] * 2
    assert [(event["data"]["days_left"], event["data"]["points"]) for event in expiring] == [(30, 200), (7, 200)]
    assert {event["data"]["lot"] for event in expiring} == {(DAY0 + timedelta(days=60)).date().isoformat()}


def test_a_member_visited_after_two_reminder_days_gets_one_reminder(api: Api, program: dict) -> None:
    # Given the same reminders, and a job that did not run for weeks
    configure(api, program, expiry={"policy": "rolling", "days": 60}, reminders=REMINDERS)
    with at(DAY0):
        api.enroll("fay")
        assert api.purchase("fay", "f-1", "10.00").status == 201
    # When it runs again 5 days before the points expire
    run_job(DAY0 + timedelta(days=56), times=2)
    # Then one reminder, saying how many days are really left
    assert [event["data"]["days_left"] for event in notes("expiry_notice")] == [5]


def test_without_reminders_the_expiry_notice_goes_out_notice_days_before_as_before(api: Api, program: dict) -> None:
    configure(api, program, expiry={"policy": "rolling", "days": 60, "notice_days": 10})
    with at(DAY0):
        api.enroll("gus")
        assert api.purchase("gus", "g-1", "10.00").status == 201
    run_job(DAY0 + timedelta(days=50))
    assert notes("expiry_notice") == []
    run_job(DAY0 + timedelta(days=51), times=2)
    assert [event["data"]["days_left"] for event in notes("expiry_notice")] == [10]


def silver(api: Api, member_id: str) -> None:
    with at(DAY0):
        assert api.enroll(member_id).status == 201
        assert api.purchase(member_id, f"{member_id}-0", "100.00").status == 201  # 1,000 points: Silver


def test_a_tier_at_risk_is_announced_on_each_reminder_day_with_the_points_to_keep_it(api: Api, program: dict) -> None:
    # Given tier reminders 30 and 7 days before a review, and two Silver members (1,000 points on day 0; the
    # review is when the retention of 365 days ends, and the day-0 points are out of the window by then)
    configure(api, program, reminders=REMINDERS)
    silver(api, "hal")
    silver(api, "ivy")
    review = DAY0 + timedelta(days=365)
    with at(DAY0 + timedelta(days=1)):
        # Then each member reads when its tier is reviewed and what it needs by then
        tier_review = api.get("/members/me", sub="hal").body["tier_review"]
        review_at = tier_review["at"]
        assert tier_review["points_to_keep"] == 1000 and review_at.startswith(review.date().isoformat())
    # When the job runs twice 30 days before the review
    run_job(review - timedelta(days=30), times=2)
    # And then Hal buys a little and Ivy buys enough to keep Silver
    with at(review - timedelta(days=20)):
        assert api.purchase("hal", "hal-1", "30.00").status == 201  # 300 points at Silver x1.25: 375
        assert api.purchase("ivy", "ivy-1", "100.00").status == 201
        assert api.get("/members/me", sub="hal").body["tier_review"]["points_to_keep"] == 625
        assert api.get("/members/me", sub="ivy").body["tier_review"]["points_to_keep"] == 0
    # And the job runs twice 7 days before
    run_job(review - timedelta(days=7), times=2)
    # Then Hal heard twice (with what he still needed each time), Ivy once: she no longer needed anything
    at_risk = notes("tier_reminder")
    assert all(event["type"] == "tier.at_risk" for event in at_risk)
    told = [(event["member_id"], event["data"]["days_left"], event["data"]["points_to_keep"]) for event in at_risk]
    assert sorted(told) == [("hal", 7, 625), ("hal", 30, 1000), ("ivy", 30, 1000)]
    assert {event["data"]["tier"] for event in at_risk} == {"Silver"}
    assert {event["data"]["review_at"] for event in at_risk} == {review_at}


def test_two_job_runs_at_once_remind_once(api: Api, program: dict) -> None:
    # Given eight Silver members 30 days before their review, with tier reminders
    configure(api, program, reminders=REMINDERS)
    members = [f"s{number}" for number in range(8)]
    for member in members:
        silver(api, member)
    day = DAY0 + timedelta(days=335)

    # When two runs of the job (a schedule delivered twice) work at the same time
    def run(_: int) -> None:
        run_job(day)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, range(2)))
    # Then every member was reminded once
    reminded = sorted(event["member_id"] for event in notes("tier_reminder"))
    assert reminded == sorted(members)


def test_the_lowest_tier_has_no_review_and_bad_reminders_are_refused(api: Api, program: dict) -> None:
    # Given a member in the lowest tier
    with at(DAY0):
        api.enroll("joe")
        assert api.get("/members/me", sub="joe").body["tier_review"] is None
    # When reminders with a day 0, a day listed twice or 11 days are put
    for reminders in ({"expiry_days": [0]}, {"tier_review_days": [7, 7]}, {"expiry_days": list(range(1, 12))},
                      {"expiry_days": [7], "sms": True}):
        answer = api.put("/admin/program", {**program, "reminders": reminders}, admin=True)
        # Then each is a 422 naming the field, and the program is as it was
        assert answer.status == 422, (reminders, answer.body)
        assert answer.body["errors"][0]["field"].startswith("reminders")
    current = api.get("/program", sub="x").body
    assert current.get("reminders") is None
    # And reminders put read back as written
    configure(api, program, reminders=REMINDERS)
    assert api.get("/program", sub="x").body["reminders"] == REMINDERS
