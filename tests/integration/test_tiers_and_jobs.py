"""Tiers over time (scheduled reviews and downgrades) and the idempotent daily jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loyalty.services import jobs
from tests.events import Api
from tests.stream_helpers import assert_reconciled, at, deliver, metrics_contents, stream_records

DAY0 = datetime(2025, 3, 3, 15, tzinfo=UTC)


def tier(api: Api, member: str) -> str:
    return str(api.get("/members/me", sub=member).body["tier"]["name"])


def silver_member(api: Api) -> str:
    with at(DAY0):
        api.enroll("alice")
        assert api.purchase("alice", "big", "100.00").status == 201  # 1000 points: Silver at once
    with at(DAY0 + timedelta(minutes=1)):
        assert tier(api, "alice") == "Silver"
    return "alice"


def test_no_downgrade_inside_the_retention_period(api: Api, program: dict) -> None:
    member = silver_member(api)
    later = DAY0 + timedelta(days=200)
    with at(later):
        result = jobs.run("member_maintenance", later)
        assert tier(api, member) == "Silver"
    assert "tier_change" not in result


def test_downgrade_after_retention_when_the_window_no_longer_qualifies(api: Api, program: dict) -> None:
    # Given a member who reached Silver and then stopped buying
    member = silver_member(api)
    # When the review runs after the retention period, once the purchase left the 365-day window
    review = DAY0 + timedelta(days=366)
    with at(review):
        assert api.get("/members/me", sub=member).body["points"]["qualifying"] == 0
        result = jobs.run("member_maintenance", review)
        # Then the member is Bronze again, with a tier_change entry saying why (and the old lot expired)
        assert result == {"visited": 1, "tier_change": 1, "expire": 1}
        assert tier(api, member) == "Bronze"
        changes = api.get("/members/me/activity", sub=member, query={"type": "tier_change"}).body["items"]
        assert [(c["details"]["from"], c["details"]["to"], c["details"]["reason"]) for c in changes] == [
            ("Silver", "Bronze", "retention_ended"), ("Bronze", "Silver", "upgrade")]
        # And running the job again changes nothing
        assert jobs.run("member_maintenance", review) == {"visited": 0}
        assert_reconciled()


def test_a_member_who_still_qualifies_keeps_the_tier_and_is_reviewed_later(api: Api, program: dict) -> None:
    member = silver_member(api)
    with at(DAY0 + timedelta(days=300)):
        api.purchase(member, "again", "100.00")  # qualifying points stay above 1000 until day 665
    review = DAY0 + timedelta(days=366)
    with at(review):
        assert "tier_change" not in jobs.run("member_maintenance", review)
        assert tier(api, member) == "Silver"
    much_later = DAY0 + timedelta(days=300 + 366)
    with at(much_later):
        assert jobs.run("member_maintenance", much_later)["tier_change"] == 1
        assert tier(api, member) == "Bronze"


def test_redemptions_never_lower_the_tier(api: Api, program: dict) -> None:
    member = silver_member(api)
    with at(DAY0 + timedelta(hours=1)):
        assert api.redeem(member, {"points": 1000, "description": "all of it"}).status == 201
        view = api.get("/members/me", sub=member).body
    assert view["tier"]["name"] == "Silver" and view["points"]["qualifying"] == 1000
    assert view["points"]["available"] == 0


def test_the_daily_snapshot_is_idempotent_and_counts_tiers(api: Api, program: dict) -> None:
    silver_member(api)
    with at(DAY0 + timedelta(hours=2)):
        api.enroll("bob")
    deliver(stream_records())
    after = DAY0 + timedelta(days=3)
    first = jobs.run("daily_snapshot", after)
    snapshots = {key: value for key, value in metrics_contents().items() if key[0] == "SNAPSHOTS"}
    second = jobs.run("daily_snapshot", after)
    assert first["snapshots"] == 3 and second["snapshots"] == 0
    assert {key: value for key, value in metrics_contents().items() if key[0] == "SNAPSHOTS"} == snapshots
    last = snapshots[("SNAPSHOTS", (DAY0 + timedelta(days=2)).date().isoformat())]
    assert last["new_members"] == 2
    assert last["tier:Silver"] == 1 and last["tier:Bronze"] == 1
