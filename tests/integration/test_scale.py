"""Scale: no item that every request or every stream batch shares (see ARCHITECTURE "Scale rules")."""

from __future__ import annotations

from collections import Counter
from typing import Any

from loyalty.domain.allowance import SHARES
from loyalty.store import changes, shares
from loyalty.store.daycounts import decode_pair, wallet_days_of
from loyalty.store.db import connection
from loyalty.store.program import PROGRAM_REPLICAS
from tests.events import Api
from tests.stream_helpers import ledger_items, stored_item


def _program_keys_read(api: Api, calls: int) -> Counter[str]:
    """Which program items `calls` purchases read (captured from the requests the client sends)."""
    seen: Counter[str] = Counter()

    def hook(params: dict[str, Any], **_: Any) -> None:
        for spec in params.get("RequestItems", {}).values():
            for key in spec.get("Keys", []):
                if key["pk"]["S"].startswith("PROGRAM"):
                    assert spec.get("ConsistentRead") is True
                    seen[key["pk"]["S"]] += 1

    events = connection().client.meta.events
    events.register("before-parameter-build.dynamodb.BatchGetItem", hook)
    try:
        for number in range(calls):
            assert api.purchase("alice", f"order-{number}", "5.00").status == 201
    finally:
        events.unregister("before-parameter-build.dynamodb.BatchGetItem", hook)
    return seen


def test_the_program_is_read_from_many_replicas_and_a_put_moves_them_all(api: Api, program: dict) -> None:
    # Given a member
    assert api.enroll("alice").status == 201

    # When 200 purchases are recorded
    seen = _program_keys_read(api, 200)

    # Then their program reads spread over the replicas: no replica takes more than a fair share
    assert len(seen) > PROGRAM_REPLICAS // 2
    assert max(seen.values()) < 200 * 4 // PROGRAM_REPLICAS

    # And when the program changes, every replica holds the new version once the PUT has answered
    changed = {**program, "name": "Renamed"}
    assert api.put("/admin/program", changed, admin=True).status == 200
    replicas = [item for item in ledger_items() if str(item["pk"]).startswith("PROGRAM#")]
    assert len(replicas) == PROGRAM_REPLICAS
    assert {int(item["version"]) for item in replicas} == {2}
    assert all('"Renamed"' in item["config"] for item in replicas)
    assert api.get("/program", sub="alice").body["name"] == "Renamed"


def test_scheduled_work_is_indexed_under_many_partition_keys(api: Api, program: dict) -> None:
    # Given 40 members who each earned points that will expire (so each has scheduled work)
    for number in range(40):
        assert api.enroll(f"m{number}").status == 201
        assert api.purchase(f"m{number}", f"o{number}", "5.00").status == 201

    # Then their index keys are spread over many partitions rather than one
    members = [item for item in ledger_items() if item.get("sk") == "PROFILE"]
    keys = Counter(item["gsi2pk"] for item in members if item.get("gsi2pk"))
    assert sum(keys.values()) == 40
    assert len(keys) > 20
    assert all(key.startswith("DUE#") for key in keys)


def _share_writes(api: Api, calls: Any) -> Counter[str]:
    """Which share items `calls()` update (in transactions, or alone: a reward's stock is taken outside its
    redemption's transaction)."""
    seen: Counter[str] = Counter()

    def hook(params: dict[str, Any], **_: Any) -> None:
        for action in params.get("TransactItems", [{"Update": params}]):
            key = action.get("Update", {}).get("Key", {})
            if key.get("pk", {}).get("S", "").startswith("SHARE#"):
                seen[key["pk"]["S"]] += 1

    from loyalty.store.shares import ShareItem

    clients = [connection().client, ShareItem._get_connection().connection.client]
    for client in clients:
        for operation in ("TransactWriteItems", "UpdateItem"):
            client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", hook)
    try:
        calls()
    finally:
        for client in clients:
            for operation in ("TransactWriteItems", "UpdateItem"):
                client.meta.events.unregister(f"before-parameter-build.dynamodb.{operation}", hook)
    return seen


def _reward(api: Api, reward_id: str, stock: int | None, points: int = 10) -> None:
    body = {"reward_id": reward_id, "name": reward_id, "points": points, "stock": stock}
    assert api.post("/admin/rewards", body, sub="ops", admin=True).status == 201


def test_claims_of_one_reward_spread_over_its_stock_shares(api: Api, program: dict) -> None:
    # Given a member with points and a reward with 500 units
    assert api.enroll("alice").status == 201
    assert api.purchase("alice", "seed", "200.00").status == 201
    _reward(api, "mug", 500)

    # When the member redeems it 120 times
    def redeem() -> None:
        for _ in range(120):
            assert api.redeem("alice", {"reward_id": "mug"}).status == 201

    seen = _share_writes(api, redeem)

    # Then the stock writes spread over the shares (no item takes every claim)
    assert len(seen) > SHARES // 2 and max(seen.values()) < 120 * 4 // SHARES
    # And the stock shown is exact: the shares summed
    assert api.get("/rewards/mug", sub="alice").body["stock"] == 380


def test_the_last_unit_goes_to_one_claim_when_two_race_for_it(api: Api, program: dict, monkeypatch: Any) -> None:
    # Given one unit left, which both claims find in the share they picked
    for member in ("alice", "bob"):
        assert api.enroll(member).status == 201
        assert api.purchase(member, f"seed-{member}", "20.00").status == 201
    _reward(api, "last", 1)
    monkeypatch.setattr(shares, "random_share", lambda: 0)
    real_commit = changes.commit_points_change
    raced: list[int] = []

    def bob_first(change: changes.PointsChange) -> None:
        # When bob's redemption commits between alice's read and alice's commit
        if change.member.member_id == "alice" and not raced:
            monkeypatch.setattr(changes, "commit_points_change", real_commit)
            raced.append(api.redeem("bob", {"reward_id": "last"}).status)
        real_commit(change)

    monkeypatch.setattr(changes, "commit_points_change", bob_first)
    alice = api.redeem("alice", {"reward_id": "last"})

    # Then bob has it, alice's condition on the share fails, and her re-read finds the reward sold out
    assert raced == [201]
    assert (alice.status, alice.body["code"]) == (409, "reward_unavailable")
    assert api.get("/rewards/last", sub="alice").body["stock"] == 0
    balances = {m: api.get("/members/me", sub=m).body["points"]["available"] for m in ("alice", "bob")}
    assert balances == {"alice": 200, "bob": 190}


def test_a_budget_spread_over_shares_still_covers_claims_bigger_than_a_share(api: Api, program: dict) -> None:
    # Given a promotion whose 1,000-point budget is spread over the shares (31 or 32 points each)
    partner = api.post("/admin/partners", {"name": "Brew", "contact_email": "ops@brew.example"}, sub="ops",
                       admin=True).body["partner_id"]
    promo = api.post("/partner/promotions", {
        "name": "Big", "kind": "bonus_points", "points": 300, "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2100-01-01T00:00:00Z", "budget_points": 1000}, partner=partner).body
    codes = api.post(f"/partner/promotions/{promo['promotion_id']}/codes", {"count": 4},
                     partner=partner).body["codes"]
    for number in range(4):
        assert api.enroll(f"m{number}").status == 201

    # When four members claim 300 points each
    answers = [api.post("/members/me/promo-codes", {"code": code}, sub=f"m{number}")
               for number, code in enumerate(codes)]

    # Then three claims draw on several shares each, the fourth finds 100 points left
    assert [answer.status for answer in answers] == [201, 201, 201, 409]
    assert answers[3].body["code"] == "promotion_exhausted"
    report = api.get(f"/partner/promotions/{promo['promotion_id']}/report", partner=partner).body
    assert (report["points_awarded"], report["budget_left"], report["codes_claimed"]) == (900, 100, 3)


def test_lots_and_qualifying_days_are_stored_as_one_value_and_items_written_apart_still_read(
        api: Api, program: dict) -> None:
    from datetime import UTC, datetime, timedelta

    from loyalty.store.daycounts import encode
    from tests.stream_helpers import at

    def stored() -> dict[str, Any]:
        found = stored_item("MEMBER#alice", "PROFILE")
        assert found is not None
        return found

    # Given Alice buys on three days
    start = datetime(2026, 3, 2, 15, tzinfo=UTC)
    with at(start):
        assert api.enroll("alice").status == 201
    for day in range(3):
        with at(start + timedelta(days=day)):
            assert api.purchase("alice", f"o-{day}", f"{20 + day}.00").status == 201

    # Then her item holds her lots and qualifying days as one value, and neither map apart
    with at(start + timedelta(days=3)):
        item = stored()
        assert "wallet_days" in item and not {"lots", "qualifying_days"} & set(item)
        wallet = wallet_days_of(item)
        assert sorted(wallet.lots.values()) == [200, 210, 220] and sorted(wallet.qualifying.values()) == [200, 210, 220]
        view = api.get("/members/alice", sub="alice").body

        # And given her item as written before the two were one value (the maps apart)
        client = connection().client
        client.update_item(
            TableName=item_table(), Key={"pk": {"S": "MEMBER#alice"}, "sk": {"S": "PROFILE"}},
            UpdateExpression="SET lots = :lots, qualifying_days = :days REMOVE wallet_days",
            ExpressionAttributeValues={":lots": {"B": encode(wallet.lots)}, ":days": {"B": encode(wallet.qualifying)}})

        # When she is read, then she reads as before (points, lots, tier progress)
        assert api.get("/members/alice", sub="alice").body == view

        # When she buys again, then her next write stores one value and drops the maps apart
        assert api.purchase("alice", "o-3", "30.00").status == 201
        item = stored()
        assert "wallet_days" in item and not {"lots", "qualifying_days"} & set(item)
        again = wallet_days_of(item)
        assert sum(again.lots.values()) == 930 and sum(again.qualifying.values()) == 930
        assert api.get("/members/alice", sub="alice").body["points"]["available"] == 930


def item_table() -> str:
    from loyalty.store.members import MemberItem

    return str(MemberItem.Meta.table_name)


def test_a_member_who_earns_every_day_keeps_a_small_item_and_every_point_where_it_was(
        api: Api, program: dict) -> None:
    import uuid
    from datetime import UTC, datetime, timedelta

    from loyalty.services import jobs
    from loyalty.store.members import HOT_DAYS_MAX
    from tests.stream_helpers import assert_reconciled, at

    trusted = {"sub": "pos", "scopes": ["loyalty/transactions"]}

    def key() -> dict[str, str]:
        return {"Idempotency-Key": str(uuid.uuid4())}

    def stored(sort_key: str) -> dict[str, Any] | None:
        return stored_item("MEMBER#dee", sort_key)

    # Given a program whose points expire after 60 days, with tiers over 90 days
    config = {**program, "expiry": {"policy": "rolling", "days": 60}, "tier_window_days": 90,
              "tier_retention_days": 30}
    assert api.put("/admin/program", config, admin=True).status == 200
    start = datetime(2026, 1, 5, 15, tzinfo=UTC)
    with at(start):
        assert api.enroll("dee").status == 201
    redemptions: list[str] = []
    sizes: list[int] = []
    # When Dee buys every day for 130 days, redeems every 9th day, returns an old order, holds and releases
    # points, has a redemption cancelled, and the daily jobs expire her lots and review her tier
    for day in range(130):
        now = start + timedelta(days=day)
        with at(now):
            total = f"{5 + (day * 7) % 37}.{(day * 13) % 100:02d}"
            assert api.purchase("dee", f"d-{day}", total).status == 201
            if day % 9 == 8:
                redeemed = api.redeem("dee", {"points": 400, "description": "voucher"})
                assert redeemed.status == 201, redeemed.body
                redemptions.append(redeemed.body["redemption_id"])
            if day == 75:  # an order from day 20, long moved to the WALLET item
                returned = api.post("/members/dee/returns", {"order_id": "d-20", "refund": {
                    "amount": "3.00", "currency": "USD"}}, headers=key(), **trusted)
                assert returned.status == 201, returned.body
            if day == 100:
                held = api.post("/members/dee/holds", {"points": 500}, sub="dee", headers=key())
                assert held.status == 201, held.body
                assert api.post(f"/members/dee/holds/{held.body['hold_id']}/release", {}, sub="dee",
                                headers=key()).status == 200
            if day == 110:  # the redemption of day 98 drew on lots the WALLET item holds
                cancelled = api.post(f"/members/dee/redemptions/{redemptions[-2]}/cancel", {"reason": "refunded"},
                                     headers=key(), **trusted)
                assert cancelled.status == 200, cancelled.body
            if day % 5 == 0:
                jobs.run("member_maintenance", now)
            profile = stored("PROFILE")
            assert profile is not None
            sizes.append(len(profile["wallet_days"]))
        if day % 26 == 25:
            assert_reconciled()

    # Then her older days moved to her WALLET item, and the hot part on her item stayed small
    assert stored("WALLET") is not None and int(stored("PROFILE")["cold_rev"]) >= 4  # type: ignore[index]
    assert max(sizes[40:]) < 250, max(sizes[40:])
    hot_lots, hot_days = decode_pair(bytes(stored("PROFILE")["wallet_days"]))  # type: ignore[index]
    assert len(hot_lots) + len(hot_days) <= HOT_DAYS_MAX
    # And every point is where the ledger says, her tier and qualifying points included
    assert_reconciled()
    with at(start + timedelta(days=130)):
        view = api.get("/members/me", sub="dee").body
        assert view["points"]["available"] > 0
