"""Program config (validated, versioned, no stale cache) and the rewards catalog."""

from __future__ import annotations

import copy

import pytest

from loyalty.store import catalog
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


def test_catalog_pages_come_from_its_partitions_and_show_stock_as_recently_read(
        api: Api, program: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given three rewards, one stocked, listed as deployed functions list them (stock read at most every 5 s)
    monkeypatch.setenv("CATALOG_STOCK_SECONDS", "5")
    for reward_id, stock in (("a", None), ("b", 3), ("c", None)):
        assert api.post("/admin/rewards", {"reward_id": reward_id, "name": reward_id.upper(), "points": 1,
                                           **({"stock": stock} if stock else {})}, admin=True).status == 201
    # When the catalog is read page by page from any of its partitions
    seen = set()
    for replica in range(catalog.CATALOG_REPLICAS):
        monkeypatch.setattr(catalog.random, "randrange", lambda _count, replica=replica: replica)
        first = api.get("/rewards", sub="x", query={"limit": "2"}).body
        second = api.get("/rewards", sub="x", query={"limit": "2", "cursor": first["next_cursor"]}).body
        seen.add(tuple(item["reward_id"] for item in first["items"] + second["items"]))
    # Then every partition lists every reward, once
    assert seen == {("a", "b", "c")}
    # And after a redemption, a page shows the stock this instance read a moment ago; the reward's own page
    # shows it exactly
    api.enroll("buyer")
    api.purchase("buyer", "o-1", "5.00")
    assert api.redeem("buyer", {"reward_id": "b"}).status == 201
    listed = {item["reward_id"]: item for item in api.get("/rewards", sub="x").body["items"]}
    assert listed["b"]["stock"] == 3 and api.get("/rewards/b", sub="x").body["stock"] == 2
    # And once that reading is older than its age, the page reads the shares again
    import time

    now = time.monotonic()
    monkeypatch.setattr(catalog.time, "monotonic", lambda: now + 6)
    listed = {item["reward_id"]: item for item in api.get("/rewards", sub="x").body["items"]}
    assert listed["b"]["stock"] == 2


def test_rewards_saved_before_the_catalog_partitions_are_backfilled(api: Api, program: dict) -> None:
    # Given a reward as an older version saved it (no catalog entries)
    from loyalty.services import jobs
    from loyalty.store.catalog import CatalogItem

    assert api.post("/admin/rewards", {"reward_id": "old", "name": "Old", "points": 5}, admin=True).status == 201
    for replica in range(catalog.CATALOG_REPLICAS):
        CatalogItem(catalog.catalog_key(replica), "REWARD#old").delete()
    assert api.get("/rewards", sub="x").body["items"] == []
    # When the backfill job runs (twice: it is idempotent)
    assert jobs.run("backfill_catalog") == {"rewards": 1}
    assert jobs.run("backfill_catalog") == {"rewards": 1}
    # Then the catalog lists it again
    assert [item["reward_id"] for item in api.get("/rewards", sub="x").body["items"]] == ["old"]
