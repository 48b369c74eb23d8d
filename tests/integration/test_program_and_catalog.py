"""Program config (validated, versioned, no stale cache) and the rewards catalog."""

from __future__ import annotations

import copy

from loyalty_local.demo import DEMO_PROGRAM
from tests.events import Api


def test_program_config_is_versioned_and_applies_at_once(api: Api) -> None:
    assert api.get("/program", sub="alice").status == 409  # nothing configured yet
    first = api.put("/admin/program", DEMO_PROGRAM, sub="ops", admin=True)
    assert first.status == 200 and first.body["version"] == 1
    api.enroll("alice")
    assert api.purchase("alice", "o-1", "10.00").body["points"] == 100
    changed = copy.deepcopy(DEMO_PROGRAM)
    changed["earn_rates"]["online"] = 20
    second = api.put("/admin/program", changed, sub="ops", admin=True)
    assert second.body["version"] == 2
    # The very next request earns at the new rate
    assert api.purchase("alice", "o-2", "10.00").body["points"] == 200
    shown = api.get("/program", sub="alice").body
    assert shown["version"] == 2 and shown["earn_rates"]["online"] == 20
    assert shown["tiers"][1]["multiplier"] == "1.25"  # same field types as PUT


def test_a_bad_config_is_rejected_whole(api: Api) -> None:
    api.put("/admin/program", DEMO_PROGRAM, sub="ops", admin=True)
    bad = copy.deepcopy(DEMO_PROGRAM)
    bad["timezone"] = "Mars/Olympus"
    bad["tiers"][0]["threshold"] = 10
    bad["rounding"] = "sideways"
    response = api.put("/admin/program", bad, sub="ops", admin=True)
    assert response.status == 422
    fields = {error["field"] for error in response.body["errors"]}
    assert {"timezone", "rounding"} <= fields
    assert api.get("/program", sub="ops").body["version"] == 1
    assert api.put("/admin/program", DEMO_PROGRAM, sub="alice").status == 403


def test_rewards_catalog_create_replace_list(api: Api, program: dict) -> None:
    created = api.post("/admin/rewards", {"reward_id": "tea", "name": "Tea", "points": 30, "tags": ["tea"]},
                       sub="ops", admin=True)
    duplicate = api.post("/admin/rewards", {"reward_id": "tea", "name": "Tea", "points": 30}, sub="ops",
                         admin=True)
    replaced = api.put("/admin/rewards/tea", {"name": "Green tea", "points": 35}, sub="ops", admin=True)
    by_member = api.post("/admin/rewards", {"name": "X", "points": 1}, sub="alice")
    unknown_tier = api.post("/admin/rewards", {"name": "X", "points": 1, "min_tier": "Diamond"}, sub="ops",
                            admin=True)
    assert created.status == 201 and created.body["tags"] == ["tea"]
    assert duplicate.status == 409
    assert replaced.status == 200 and replaced.body["name"] == "Green tea" and replaced.body["points"] == 35
    assert by_member.status == 403
    assert unknown_tier.status == 422
    page = api.get("/rewards", sub="alice", query={"limit": "1"}).body
    assert len(page["items"]) == 1
    assert api.get("/rewards/tea", sub="alice").body["name"] == "Green tea"
    assert api.get("/rewards/nope", sub="alice").status == 404
