"""Tiers and metrics on the running local stack: the stream poller feeds the stream processor."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.e2e.conftest import Http


def metrics_today(http: Http) -> dict:
    today = datetime.now(ZoneInfo("America/New_York")).date().isoformat()
    assert http.call("POST", "/local/stream/drain").status_code == 200
    response = http.call("GET", "/admin/metrics", sub="ops", admin=True, params={"from": today, "to": today})
    assert response.status_code == 200, response.text
    return response.json()


def test_crossing_silver_shows_at_once_and_metrics_follow(local_stack: Http) -> None:
    before = metrics_today(local_stack)
    member = local_stack.enroll()
    assert local_stack.purchase(member, "60.00").status_code == 201
    assert local_stack.purchase(member, "45.00").status_code == 201  # 600 + 450 = 1050: Silver
    view = local_stack.call("GET", "/members/me", sub=member).json()
    assert view["tier"]["name"] == "Silver" and view["points"]["qualifying"] == 1050
    redeemed = local_stack.call("POST", f"/members/{member}/redemptions", {"points": 50, "description": "x"},
                                sub=member, key=f"m-{member}")
    assert redeemed.status_code == 201
    after = metrics_today(local_stack)
    assert after["members"]["new"] - before["members"]["new"] == 1
    assert after["points"]["issued"] - before["points"]["issued"] == 1050
    assert after["points"]["redeemed"] - before["points"]["redeemed"] == 50
    assert after["purchases"]["count"] - before["purchases"]["count"] == 2
    assert after["tiers"]["Silver"] - before["tiers"]["Silver"] == 1
    # Replaying nothing new changes nothing
    assert metrics_today(local_stack) == after


def test_local_jobs_and_status(local_stack: Http) -> None:
    status = local_stack.call("GET", "/local/status").json()
    assert {"daily_snapshot", "member_maintenance"} <= set(status["jobs"])
    assert status["streams"][0]["failed_batches"] == 0
    ran = local_stack.call("POST", "/local/jobs/member_maintenance")
    assert ran.status_code == 200 and "visited" in ran.json()
    # A job that fans out went through the job queue's workers: the local route answers with its run, complete
    assert ran.json()["run_id"] and ran.json()["job"] == "member_maintenance"
    assert ran.json()["fan_out"]["units"] == 64 and ran.json()["fan_out"]["pages"] >= 64
    assert local_stack.call("POST", "/local/jobs/nope").status_code == 404
