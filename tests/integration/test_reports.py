"""GET /admin/metrics and GET /admin/liability give what a hand calculation gives."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.events import Api
from tests.stream_helpers import at, deliver, stream_records

FEB2 = datetime(2026, 2, 2, 17, tzinfo=UTC)
FEB3 = datetime(2026, 2, 3, 17, tzinfo=UTC)


def scenario(api: Api) -> None:
    with at(FEB2):
        api.enroll("alice")
        api.enroll("bob")
        assert api.purchase("alice", "a-1", "50.00").body["points"] == 500
        assert api.purchase("bob", "b-1", "10.00", currency="EUR", channel="store").body["points"] == 54
    with at(FEB3):
        assert api.redeem("alice", {"points": 100, "description": "mug"}).status == 201
        assert api.post("/members/bob/actions", {"action": "social_share"}, sub="bob").status == 201
        feedback = api.post("/members/bob/feedback", {"score": 9, "comment": "great"}, sub="bob")
        assert feedback.status == 201 and feedback.body["points_awarded"] == 100
    deliver(stream_records())


def test_metrics_for_a_scripted_month(api: Api, program: dict) -> None:
    scenario(api)
    with at(datetime(2026, 3, 1, 12, tzinfo=UTC)):
        response = api.get("/admin/metrics", sub="ops", admin=True, query={"from": "2026-02-01", "to": "2026-02-28"})
    assert response.status == 200, response.body
    body = response.body
    assert body["members"] == {"start": 0, "end": 2, "new": 2, "retained": 0, "total": 2}
    assert body["retention_rate"] is None  # nobody was active on 1 February
    assert body["points"]["issued"] == 500 + 54 + 50 + 100
    assert body["points"]["redeemed"] == 100
    assert body["redemption_rate"] == "0.142"  # 100 / 704
    assert body["purchases"] == {"count": 2, "purchasers": 2, "repeat_purchasers": 0,
                                 "revenue": {"amount": "60.80", "currency": "USD"}}
    assert body["average_order_value"] == {"amount": "30.40", "currency": "USD"}
    assert body["repeat_purchase_rate"] == "0.0"
    assert body["engagement"]["social_share"] == 1 and body["engagement"]["survey"] == 1
    assert body["nps"] == {"responses": 1, "promoters": 1, "passives": 0, "detractors": 0, "score": 100.0}
    assert body["tiers"] == {"Bronze": 2, "Silver": 0, "Gold": 0, "Platinum": 0}
    daily = {day["date"]: day for day in body["daily"]}
    assert daily["2026-02-02"]["points_issued"] == 554 and daily["2026-02-02"]["new_members"] == 2
    assert daily["2026-02-03"]["points_redeemed"] == 100
    assert daily["2026-02-01"]["active_members"] == 0 and daily["2026-02-28"]["active_members"] == 2


def test_liability(api: Api, program: dict) -> None:
    scenario(api)
    with at(FEB3):
        response = api.get("/admin/liability", sub="ops", admin=True)
    assert response.body["outstanding_points"] == 604
    assert response.body["outstanding_value"] == {"amount": "6.04", "currency": "USD"}
    assert response.body["expiring_next_30_days"] == 0
    with at(datetime(2027, 1, 20, 12, tzinfo=UTC)):  # the February lots end on 2027-02-02 and -03
        assert api.get("/admin/liability", sub="ops", admin=True).body["expiring_next_30_days"] == 604


def test_reports_are_for_admins_and_check_the_period(api: Api, program: dict) -> None:
    assert api.get("/admin/metrics", sub="alice").status == 403
    assert api.get("/admin/liability", sub="alice").status == 403
    backwards = api.get("/admin/metrics", sub="ops", admin=True, query={"from": "2026-03-01", "to": "2026-02-01"})
    too_long = api.get("/admin/metrics", sub="ops", admin=True, query={"from": "2024-01-01", "to": "2026-02-01"})
    not_a_date = api.get("/admin/metrics", sub="ops", admin=True, query={"from": "yesterday"})
    assert (backwards.status, too_long.status, not_a_date.status) == (422, 422, 422)


def test_metrics_for_a_period_far_from_the_programs_days(api: Api, program: dict) -> None:
    # Given the scripted month's two members
    scenario(api)
    with at(datetime(2026, 3, 1, 12, tzinfo=UTC)):
        # When a period long before the program and one centuries after it are asked for
        before = api.get("/admin/metrics", sub="ops", admin=True, query={"to": "2000-01-01"})
        after = api.get("/admin/metrics", sub="ops", admin=True, query={"from": "2999-01-01", "to": "2999-12-31"})
    # Then both answer, counting the members enrolled by then (only the days that have counters are read)
    assert (before.status, before.body["members"]["total"]) == (200, 0)
    assert (after.status, after.body["members"]["total"]) == (200, 2)
