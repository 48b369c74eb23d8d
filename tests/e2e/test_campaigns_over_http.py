"""Campaigns, segments and what-if over HTTP on the local stack (the what-if job runs on the work queue)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.e2e.conftest import Http


def admin(http: Http, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    return http.call(method, path, body, sub="ops", admin=True, **kwargs)


def test_a_segment_campaign_and_a_what_if_over_http(local_stack: Http) -> None:
    run = uuid.uuid4().hex[:8]
    # Given two members who like tea, one who likes coffee, and a segment of tea drinkers
    members = {f"tea-{run}-{n}": "tea" for n in range(2)} | {f"coffee-{run}": "coffee"}
    for member, drink in members.items():
        enrolled = local_stack.call("POST", "/members", {"email": f"{member}@example.com", "name": "T",
                                                         "preferences": {"drink": drink}}, sub=member)
        assert enrolled.status_code == 201, enrolled.text
    segment = admin(local_stack, "POST", "/admin/segments", {
        "segment_id": f"tea-{run}", "name": "Tea drinkers",
        "conditions": [{"fact": "member.preferences.drink", "op": "eq", "value": "tea"}]})
    assert segment.status_code == 201, segment.text
    # When its members are listed page by page
    found, cursor = [], None
    while True:
        page = admin(local_stack, "GET", f"/admin/segments/tea-{run}/members",
                     params={"limit": 50, **({"cursor": cursor} if cursor else {})}).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # Then the tea drinkers of this run are in it, the coffee drinker is not
    assert {m for m in found if run in m} == {m for m, drink in members.items() if drink == "tea"}
    # When a campaign of +50 a purchase for the segment runs, and each member buys
    created = admin(local_stack, "POST", "/admin/campaigns", {
        "campaign_id": f"tea-bonus-{run}", "name": "Tea bonus", "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2099-01-01T00:00:00Z", "trigger": "purchase", "effects": [{"type": "bonus_points", "points": 50}],
        "audience": {"segment": f"tea-{run}"}})
    assert created.status_code == 201, created.text
    earned = {member: local_stack.purchase(member, "10.00").json() for member in members}
    # Then the tea drinkers got the bonus as a breakdown row, the coffee drinker did not
    for member, entry in earned.items():
        rows = {row["rule"]: row["points"] for row in entry["breakdown"]}
        assert rows.get(f"campaign:tea-bonus-{run}") == (50 if members[member] == "tea" else None)
    # And its report counts them once the stream has caught up
    assert local_stack.call("POST", "/local/stream/drain").status_code == 200
    report = admin(local_stack, "GET", f"/admin/campaigns/tea-bonus-{run}/report").json()
    assert (report["points_awarded"], report["members_reached"], report["treated"]["purchases"]) == (100, 2, 2)
    # When the campaign ends (PUT inactive), what it costs is over
    ended = admin(local_stack, "PUT", f"/admin/campaigns/tea-bonus-{run}", {**created.json(), "active": False})
    assert ended.status_code == 200 and ended.json()["active"] is False
    # When a what-if replays today under a config that pays 20 points a dollar online
    program = admin(local_stack, "GET", "/program").json()
    proposed = {key: value for key, value in program.items() if key not in ("version", "spin_odds")}
    proposed["earn_rates"] = {**proposed["earn_rates"], "online": 20}
    today = earned[next(iter(members))]["occurred_at"][:10]
    started = admin(local_stack, "POST", "/admin/what-if", {"config": proposed, "from": "2025-01-01", "to": today})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 120
    while True:
        job = admin(local_stack, "GET", f"/admin/what-if/{started.json()['job_id']}").json()
        if job["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # Then it completed, replaying at least this run's purchases, with more points proposed than issued
    assert job["status"] == "completed", job
    assert job["report"]["purchases_replayed"] >= 3
    assert job["report"]["points"]["delta"] == job["report"]["points"]["proposed"] - job["report"]["points"]["current"]
    assert job["report"]["liability_value_delta"]["currency"] == "USD"
