"""Campaigns and segments through the handlers on moto: validation, what a purchase earns, budgets under
concurrency, holdouts, the report, segments."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from loyalty.domain.campaigns import in_holdout
from tests.events import Api
from tests.stream_helpers import assert_reconciled, deliver, stream_records

WINDOW = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
SHOES = [{"sku": "run-1", "category": "shoes", "quantity": 1, "unit_price": {"amount": "80.00", "currency": "USD"}},
         {"sku": "sock-1", "category": "socks", "quantity": 2, "unit_price": {"amount": "10.00", "currency": "USD"}}]


def campaign(campaign_id: str, **fields: Any) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "name": campaign_id.replace("-", " ").title(), **WINDOW,
            "trigger": "purchase", "effects": [{"type": "bonus_points", "points": 100}], **fields}


def create(api: Api, body: dict[str, Any]) -> Any:
    return api.post("/admin/campaigns", body, admin=True)


def test_a_campaign_is_validated_whole_and_errors_name_the_field(api: Api, program: dict) -> None:
    # When campaigns with an unknown fact, an op the fact does not take, a bad effect, an unknown tier are written
    unknown = create(api, campaign("c1", conditions=[{"fact": "basket.colour", "op": "eq", "value": "red"}]))
    wrong_op = create(api, campaign("c2", conditions=[{"fact": "basket.skus", "op": "gte", "value": "x"}]))
    bad_effect = create(api, campaign("c3", effects=[{"type": "multiply", "multiplier": "0.5"}]))
    bad_value = create(api, campaign("c4", conditions=[{"fact": "basket.quantity", "op": "gte", "value": "two"}]))
    no_tier = create(api, campaign("c5", audience={"min_tier": "Diamond"}))
    # Then each is a 422 naming the field, and nothing was written
    fields = [sorted(error["field"] for error in answer.body["errors"])
              for answer in (unknown, wrong_op, bad_effect, bad_value, no_tier)]
    assert [answer.status for answer in (unknown, wrong_op, bad_effect, bad_value, no_tier)] == [422] * 5
    assert fields[0] == ["conditions.0.fact"] and fields[1] == ["conditions.0.op"]
    assert fields[2][0].startswith("effects.0") and fields[3] == ["conditions.0.value"]
    assert fields[4] == ["audience.min_tier"]
    assert api.get("/admin/campaigns", admin=True).body["items"] == []


def test_double_points_on_shoes_shows_in_the_breakdown_and_the_rows_sum_exactly(api: Api, program: dict) -> None:
    # Given "double points on shoes" and "+200 on a basket over $80", both running
    assert create(api, campaign("shoes-x2", effects=[{"type": "multiply", "multiplier": "2",
                                                      "categories": ["shoes"]}])).status == 201
    assert create(api, campaign("big-basket", conditions=[
        {"fact": "basket.total", "op": "gte", "value": {"amount": "80.00", "currency": "USD"}}],
        effects=[{"type": "bonus_points", "points": 200}])).status == 201
    api.enroll("ann")
    # When Ann buys shoes ($80) and socks ($20) online (10 points per dollar)
    bought = api.purchase("ann", "o-1", "100.00", items=SHOES)
    # Then she earns 1,000 + 800 (shoes doubled) + 200, each campaign a row of the breakdown
    assert bought.status == 201, bought.body
    rows = {row["rule"]: row["points"] for row in bought.body["breakdown"]}
    assert rows["campaign:shoes-x2"] == 800 and rows["campaign:big-basket"] == 200
    assert bought.body["points"] == 2000 == sum(row["points"] for row in bought.body["breakdown"])
    # And a small basket earns neither (Ann is Silver now: x1.25)
    small = api.purchase("ann", "o-2", "10.00", items=[SHOES[1]])
    assert small.body["points"] == 125 and not any(r["rule"].startswith("campaign:") for r in small.body["breakdown"])
    assert_reconciled()


def test_a_campaign_written_applies_to_the_next_purchase_and_stops_when_deactivated(api: Api, program: dict) -> None:
    # Given a member and a running campaign
    api.enroll("bo")
    assert create(api, campaign("welcome")).status == 201
    assert api.purchase("bo", "b-1", "10.00").body["points"] == 200
    # When it is deactivated (PUT)
    body = campaign("welcome", active=False)
    assert api.put("/admin/campaigns/welcome", body, admin=True).status == 200
    # Then the next purchase earns without it, and the campaign reads back as written
    assert api.purchase("bo", "b-2", "10.00").body["points"] == 100
    assert api.get("/admin/campaigns/welcome", admin=True).body["active"] is False


def test_a_budget_is_never_exceeded_under_concurrent_purchases(api: Api, program: dict) -> None:
    # Given a campaign of 100 points a purchase with a budget of 500, and 12 members
    assert create(api, campaign("launch", budget_points=500)).status == 201
    members = [f"p{n}" for n in range(12)]
    for member in members:
        api.enroll(member)
    # When they all buy at once
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda member: api.purchase(member, f"{member}-o", "10.00"), members))
    # Then exactly five purchases got the campaign's points, and the report says the budget is spent
    assert all(answer.status == 201 for answer in answers), [a.body for a in answers if a.status != 201]
    awarded = [answer.body["points"] - 100 for answer in answers]
    assert sorted(awarded) == [0] * 7 + [100] * 5
    deliver(stream_records())
    report = api.get("/admin/campaigns/launch/report", admin=True).body
    assert (report["points_awarded"], report["budget_left"], report["members_reached"]) == (500, 0, 5)


def test_a_member_is_awarded_at_most_max_per_member_times(api: Api, program: dict) -> None:
    assert create(api, campaign("once", max_per_member=1)).status == 201
    api.enroll("cy")
    assert [api.purchase("cy", f"c-{n}", "10.00").body["points"] for n in range(3)] == [200, 100, 100]


def test_holdout_members_get_nothing_are_counted_and_the_report_gives_the_lift(api: Api, program: dict) -> None:
    # Given a campaign with a 50% holdout, and 20 members who each buy once
    assert create(api, campaign("holdout", audience={"holdout_percent": 50})).status == 201
    members = [f"h{n}" for n in range(20)]
    held_out = {member for member in members if in_holdout("holdout", member, 50)}
    assert 0 < len(held_out) < 20  # the hash splits them
    for number, member in enumerate(members):
        api.enroll(member)
        # Treated members spend 20, held-out ones 10
        amount = "10.00" if member in held_out else "20.00"
        earned = api.purchase(member, f"{member}-o", amount).body["points"]
        # Then a held-out member earns only the base points; membership is the same on every call
        assert earned == (100 if member in held_out else 300), (member, number)
        assert in_holdout("holdout", member, 50) == (member in held_out)
    deliver(stream_records())
    report = api.get("/admin/campaigns/holdout/report", admin=True).body
    treated = 20 - len(held_out)
    assert report["treated"] == {"members": treated, "purchases": treated,
                                 "revenue": {"amount": f"{20 * treated}.00", "currency": "USD"}}
    assert report["holdout"]["members"] == len(held_out) and report["holdout"]["purchases"] == len(held_out)
    assert report["points_awarded"] == 100 * treated and report["members_reached"] == treated
    assert report["lift"] == "1.0000"  # 20 a member against 10
    # And the program metrics show the campaign's points and its holdout results
    metrics = api.get("/admin/metrics", admin=True).body
    assert metrics["points"]["campaigns"] == 100 * treated
    (summary,) = metrics["campaigns"]
    assert (summary["campaign_id"], summary["treated_members"], summary["holdout_members"], summary["lift"]) == (
        "holdout", treated, len(held_out), "1.0000")


def test_a_segment_lists_its_members_and_targets_a_campaign(api: Api, program: dict) -> None:
    # Given tea drinkers and coffee drinkers, and a segment of tea drinkers
    for member, drink in (("t1", "tea"), ("t2", "tea"), ("k1", "coffee")):
        api.enroll(member, preferences={"drink": drink})
    segment = api.post("/admin/segments", {"segment_id": "tea", "name": "Tea drinkers", "conditions": [
        {"fact": "member.preferences.drink", "op": "eq", "value": "tea"}]}, admin=True)
    assert segment.status == 201, segment.body
    # When its members are listed, page by page
    found: list[str] = []
    cursor = None
    while True:
        query = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = api.get("/admin/segments/tea/members", query=query, admin=True).body
        found.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    # Then they are the tea drinkers
    assert sorted(found) == ["t1", "t2"]
    # And a campaign for the segment rewards only them
    assert create(api, campaign("tea-time", audience={"segment": "tea"})).status == 201
    assert api.purchase("t1", "t1-o", "10.00").body["points"] == 200
    assert api.purchase("k1", "k1-o", "10.00").body["points"] == 100
    # And an unknown segment is a 422 naming the field
    unknown = create(api, campaign("nope", audience={"segment": "missing"}))
    assert unknown.status == 422 and unknown.body["errors"][0]["field"] == "audience.segment"


def test_a_program_put_keeps_the_running_campaigns(api: Api, program: dict) -> None:
    assert create(api, campaign("kept")).status == 201
    api.enroll("dee")
    assert api.put("/admin/program", {**program, "name": "Renamed"}, admin=True).status == 200
    assert api.purchase("dee", "d-1", "10.00").body["points"] == 200


def test_action_and_enrollment_campaigns_give_a_bonus_entry(api: Api, program: dict) -> None:
    # Given "+25 on every review" for Bronze members and "+300 to join", with a budget for one member
    assert create(api, campaign("review-bonus", trigger="action:review", effects=[
        {"type": "bonus_points", "points": 25}], conditions=[{"fact": "member.tier", "op": "eq",
                                                              "value": "Bronze"}])).status == 201
    assert create(api, campaign("join", trigger="enrollment", budget_points=300, effects=[
        {"type": "bonus_points", "points": 300}])).status == 201
    # When two members join and the first writes a review
    first, second = api.enroll("en1"), api.enroll("en2")
    review = api.post("/members/en1/actions", {"action": "review"}, sub="en1", headers={"Idempotency-Key": "r1"})
    # Then the first got the joining bonus and the review bonus, the second nothing (the budget was spent)
    assert first.body["points"]["available"] == 300 and second.body["points"]["available"] == 0
    assert review.status == 201, review.body
    activity = api.get("/members/en1/activity", sub="en1").body["items"]
    bonuses = [(entry["points"], entry["breakdown"][0]["rule"]) for entry in activity if entry["type"] == "bonus"]
    assert sorted(bonuses) == [(25, "campaign:review-bonus"), (300, "campaign:join")]
    assert api.get("/members/en1", sub="en1").body["points"]["available"] == 300 + 100 + 25
    deliver(stream_records())
    report = api.get("/admin/campaigns/join/report", admin=True).body
    assert (report["points_awarded"], report["budget_left"], report["members_reached"]) == (300, 0, 1)
    assert report["treated"]["members"] == 2 and report["treated"]["purchases"] == 0
    assert_reconciled()


def test_campaigns_add_no_request_to_a_purchase(api: Api, program: dict) -> None:
    # Given three running campaigns, one with a budget
    from loyalty.store.db import connection

    assert create(api, campaign("a", budget_points=10_000)).status == 201
    assert create(api, campaign("b", effects=[{"type": "multiply", "multiplier": "2"}])).status == 201
    assert create(api, campaign("c", effects=[{"type": "points_per_item", "points": 3}])).status == 201
    api.enroll("req")
    sent: list[str] = []

    def hook(model: Any, **_: Any) -> None:
        sent.append(model.name)

    # When a purchase is recorded
    events = connection().client.meta.events
    events.register("before-parameter-build.dynamodb", hook)
    try:
        bought = api.purchase("req", "req-1", "100.00", items=SHOES)
    finally:
        events.unregister("before-parameter-build.dynamodb", hook)
    # Then it earned from all three, and sent one BatchGetItem and one TransactWriteItems, as without campaigns
    rules = {row["rule"] for row in bought.body["breakdown"]}
    assert {"campaign:a", "campaign:b", "campaign:c"} <= rules
    assert sent == ["BatchGetItem", "TransactWriteItems"]


def test_the_running_campaigns_stay_small_enough_to_ride_on_every_program_read(api: Api, program: dict) -> None:
    # Given a campaign whose conditions list 800 long channel names (about 52 KB; a body may have 64)
    skus = [f"sku-{number:05d}-" + "x" * 50 for number in range(800)]
    conditions = [{"fact": "channel", "op": "in", "value": skus[start:start + 100]} for start in range(0, 800, 100)]
    # When it is written
    answer = create(api, campaign("huge", conditions=conditions))
    # Then it is refused, saying why, and nothing runs
    assert answer.status == 409 and answer.body["code"] == "too_many_campaigns"
    assert "KB of the program item" in answer.body["detail"]
    assert api.get("/admin/campaigns", admin=True).body["items"] == []


def test_the_running_campaigns_travel_deflated_and_replicas_written_before_still_count(
        api: Api, program: dict) -> None:
    # Given ten running campaigns with conditions and effects
    import json

    from loyalty.store.campaigns import running_json
    from loyalty.store.program import PROGRAM_REPLICAS, ProgramItem, program_replica_key

    for number in range(10):
        assert create(api, campaign(f"big-basket-{number}", conditions=[
            {"fact": "basket.total", "op": "gte", "value": {"amount": f"{80 + number}.00", "currency": "USD"}}],
            effects=[{"type": "bonus_points", "points": 10}])).status == 201

    # When the program replicas are read
    replicas = [ProgramItem.get(*program_replica_key(replica)) for replica in range(PROGRAM_REPLICAS)]

    # Then every replica holds the same list, deflated to under a third of its JSON, and no plain copy
    stored = {replica.campaigns_deflated for replica in replicas}
    assert len(stored) == 1 and all(replica.campaigns is None for replica in replicas)
    plain = running_json(stored.pop())
    assert len(json.loads(plain)) == 10 and len(replicas[0].campaigns_deflated) * 3 < len(plain.encode())

    # And given replicas as written before the lists were deflated (plain JSON only)
    for replica in replicas:
        replica.update(actions=[ProgramItem.campaigns.set(plain), ProgramItem.campaigns_deflated.remove()])
    api.enroll("ann")
    # When Ann buys $100, then an eleventh campaign is written
    bought = api.purchase("ann", "o-1", "100.00")
    assert create(api, campaign("one-more")).status == 201

    # Then the ten applied, and the write deflated the whole list again (eleven, no plain copy left)
    assert sum(row["points"] for row in bought.body["breakdown"] if row["rule"].startswith("campaign:")) == 100
    again = ProgramItem.get(*program_replica_key(0))
    assert again.campaigns is None and len(json.loads(running_json(again.campaigns_deflated))) == 11


def test_a_budget_is_spread_over_shares_by_its_size_and_keeps_its_count(api: Api, program: dict) -> None:
    # Given a big budget, a small one, and one without a budget, each applying to every purchase
    from loyalty.store.campaigns import get_campaign

    bonus = {"effects": [{"type": "bonus_points", "points": 50}]}
    assert create(api, campaign("big", budget_points=5_000_000, **bonus)).status == 201
    assert create(api, campaign("small", budget_points=30_000, **bonus)).status == 201
    assert create(api, campaign("open", **bonus)).status == 201
    # When members buy, and the budgets are changed later (the open one gets its first)
    for number in range(6):
        api.enroll(f"m{number}")
        assert api.purchase(f"m{number}", f"o-{number}", "20.00").status == 201
    assert api.put("/admin/campaigns/big", campaign("big", budget_points=100_000, **bonus), admin=True).status == 200
    assert api.put("/admin/campaigns/open", campaign("open", budget_points=2_000_000, **bonus),
                   admin=True).status == 200

    # Then the big budget has 128 shares, the small 3 (at least 10,000 points each), and a count stays
    # once a budget has one; the open campaign's count follows its first budget
    counts = {name: get_campaign(name).budget_shares for name in ("big", "small", "open")}
    assert counts == {"big": 128, "small": 3, "open": 128}
    # And what was taken from the shares is what the reports count
    for name, budget in (("big", 100_000), ("small", 30_000)):
        report = api.get(f"/admin/campaigns/{name}/report", admin=True).body
        assert report["budget_left"] == budget - 6 * 50


def test_a_changed_budget_is_never_exceeded_even_when_its_shares_were_spent_unevenly(
        api: Api, program: dict, monkeypatch: Any) -> None:
    from loyalty.store import shares

    def campaign_points(answer: Any) -> int:
        assert answer.status == 201, answer.body
        return sum(row["points"] for row in answer.body["breakdown"] if row["rule"] == "campaign:flash")

    orders = itertools.count()

    def buy(times: int) -> int:
        return sum(campaign_points(api.purchase("lo", f"o-{next(orders)}", "10.00")) for _ in range(times))

    def set_budget(points: int) -> None:
        body = campaign("flash", budget_points=points, effects=[{"type": "bonus_points", "points": 1_000}])
        assert api.put("/admin/campaigns/flash", body, admin=True).status == 200

    def reported() -> tuple[int, int]:
        deliver(stream_records())
        report = api.get("/admin/campaigns/flash/report", admin=True).body
        return report["points_awarded"], report["budget_left"]

    # Given a campaign of 1,000 points a purchase with a budget of 20,000 (two shares of 10,000)
    assert create(api, campaign("flash", budget_points=20_000,
                                effects=[{"type": "bonus_points", "points": 1_000}])).status == 201
    api.enroll("lo")
    # And ten purchases that all took from the first share
    monkeypatch.setattr(shares, "random_share", lambda count=32: 0)
    assert buy(10) == 10_000

    # When the budget is lowered to 12,000 and purchases go on, all of them taking from the other share
    set_budget(12_000)
    monkeypatch.setattr(shares, "random_share", lambda count=32: 1)
    # Then they get 2,000 more and nothing after: never past the budget (not the other share's new half, 6,000)
    assert buy(6) == 2_000
    assert reported() == (12_000, 0)

    # When it is raised to 15,000 (below what the shares were first split from), then 3,000 more
    set_budget(15_000)
    assert buy(5) == 3_000
    # When it is raised to 30,000 (above it), then exactly 15,000 more, from both shares
    set_budget(30_000)
    monkeypatch.setattr(shares, "random_share", lambda count=32: 0)
    assert buy(20) == 15_000
    assert reported() == (30_000, 0)
    assert_reconciled()
