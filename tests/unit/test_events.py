"""Domain events: stable ids from the ledger, the right events per entry, signatures, publishing retries."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from loyalty.domain.events import events_of, signature, verify
from loyalty.domain.metrics import PoisonRecord
from loyalty.services.publishing import PublishFailed, publish


def entry(kind: str, points: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "points": Decimal(points), "entry_id": "E1", "member_id": "alice",
            "recorded_at": "2026-11-22T10:00:00.000Z", "balance_after": Decimal(500), **extra}


def kinds(image: dict[str, Any], sk: str = "ENTRY#E1") -> list[str]:
    return [event["type"] for event in events_of("INSERT", {"pk": "MEMBER#alice", "sk": sk}, image)]


def test_each_ledger_fact_announces_its_events_with_ids_from_the_entry() -> None:
    found = events_of("INSERT", {"pk": "MEMBER#alice", "sk": "ENTRY#E1"}, entry("earn", 120,
                      source=json.dumps({"order_id": "o1"})))
    assert [(event["type"], event["id"]) for event in found] == [("points.earned", "points.earned:E1")]
    assert kinds(entry("redeem", -40, redemption=json.dumps({"reward_id": "tea", "code": "X"}))) == [
        "points.redeemed", "reward.redeemed"]
    assert kinds(entry("return", -10)) == ["points.returned"]
    assert kinds(entry("tier_change", 0, details=json.dumps({"from": "Bronze", "to": "Silver"}))) == ["tier.changed"]
    assert kinds(entry("birthday", 500)) == ["points.earned", "birthday.reward_granted"]
    assert kinds(entry("promo", 50, source=json.dumps({"code": "C", "promotion_id": "P", "partner_id": "X"}))) == [
        "points.earned", "promotion.code_claimed"]
    assert kinds(entry("expiry_notice", 0, details=json.dumps({"points": 30, "lot": "2026-12-01"}))) == [
        "points.expiring"]
    reminder = entry("tier_reminder", 0, entry_id="E2", details=json.dumps(
        {"tier": "Gold", "review_at": "2027-01-10T05:00:00.000Z", "points_to_keep": 700, "days_left": 7}))
    (at_risk,) = events_of("INSERT", {"pk": "MEMBER#alice", "sk": "ENTRY#E2"}, reminder)
    assert at_risk["type"] == "tier.at_risk" and at_risk["data"] == {
        "entry_id": "E2", "tier": "Gold", "review_at": "2027-01-10T05:00:00.000Z", "points_to_keep": 700,
        "days_left": 7}
    assert kinds(entry("earn", 120, status="pending")) == []  # announced when released
    assert kinds({"member_id": "alice", "enrolled_at": "x", "tier": "Bronze"}, sk="PROFILE") == ["member.enrolled"]
    assert events_of("MODIFY", {"pk": "MEMBER#alice", "sk": "PROFILE"}, {"tier": "Gold"}) == []
    with pytest.raises(PoisonRecord):
        events_of("INSERT", {"pk": "MEMBER#alice", "sk": "ENTRY#E1"}, {"points": 5})


def test_partner_events_carry_the_partner_for_webhook_routing() -> None:
    found = events_of("INSERT", {"pk": "MEMBER#alice", "sk": "ENTRY#E1"}, entry(
        "promo", 50, source=json.dumps({"code": "C", "promotion_id": "P", "partner_id": "X"})))
    assert [event.get("partner_id") for event in found] == [None, "X"]  # the claim, not its points


def test_signatures_verify_and_tampering_fails() -> None:
    body = b'{"id":"promotion.code_claimed:E1"}'
    header = signature("whsec_secret", body, 1_800_000_000)
    assert verify("whsec_secret", body, header, now=1_800_000_010)
    assert not verify("whsec_secret", body.replace(b"E1", b"E2"), header, now=1_800_000_010)
    assert not verify("another", body, header, now=1_800_000_010)
    assert not verify("whsec_secret", body, header, now=1_800_000_010 + 3600)  # a replay, too late
    assert not verify("whsec_secret", body, "garbage", now=1_800_000_010)


class FlakyBus:
    """PutEvents that fails the second entry of the first call (as EventBridge may, per entry)."""

    def __init__(self, failures: int = 1) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.failures = failures

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.failures and len(Entries) > 1:
            self.failures -= 1
            return {"FailedEntryCount": 1, "Entries": [{"EventId": "1"}, {"ErrorCode": "InternalFailure"}]
                    + [{"EventId": "x"}] * (len(Entries) - 2)}
        if self.failures == -1:
            return {"FailedEntryCount": len(Entries), "Entries": [{"ErrorCode": "InternalFailure"}] * len(Entries)}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "x"}] * len(Entries)}


def test_a_failed_put_events_entry_is_retried_alone_and_batches_hold_ten() -> None:
    events = [{"id": f"points.earned:{n}", "type": "points.earned"} for n in range(12)]
    bus = FlakyBus()
    assert publish(events, bus="b", client=bus, pause=0) == 3
    assert [len(call) for call in bus.calls] == [10, 1, 2]
    assert json.loads(bus.calls[1][0]["Detail"])["id"] == "points.earned:1"


def test_a_bus_that_keeps_refusing_raises_so_the_batch_is_retried() -> None:
    bus = FlakyBus(failures=-1)
    with pytest.raises(PublishFailed):
        publish([{"id": "a", "type": "points.earned"}], bus="b", client=bus, pause=0)


def test_a_campaign_award_is_announced_once_per_campaign_with_its_own_id() -> None:
    # Given a purchase entry with two campaign rows, one of them giving nothing (a held-out member's 0 is no row)
    breakdown = json.dumps([{"rule": "base_rate", "points": 100}, {"rule": "campaign:shoes", "points": 80},
                            {"rule": "campaign:big", "points": 200}])
    found = events_of("INSERT", {"pk": "MEMBER#alice", "sk": "ENTRY#E1"}, entry(
        "earn", 380, source=json.dumps({"order_id": "o1"}), breakdown=breakdown))
    # Then it announces the points and each campaign's award, with ids from the entry and the campaign
    assert [(event["type"], event["id"]) for event in found] == [
        ("points.earned", "points.earned:E1"), ("campaign.awarded", "campaign.awarded:E1:shoes"),
        ("campaign.awarded", "campaign.awarded:E1:big")]
    assert found[1]["data"] == {"entry_id": "E1", "campaign_id": "shoes", "points": 80, "order_id": "o1"}
    # And an action campaign's bonus entry too
    assert kinds(entry("bonus", 25, breakdown=json.dumps([{"rule": "campaign:rv", "points": 25}]))) == [
        "points.earned", "campaign.awarded"]


def test_a_household_members_earn_says_what_went_on_to_the_pool() -> None:
    # Given Ben's earn of 200, pooled to household h1 (his own balance after it stays 500)
    pooled = entry("earn", 200, source=json.dumps({"order_id": "o1", "household_id": "h1"}), balance_after=500,
                   pooled_to="h1", pooled_points=200, pooled_balance_after=325)
    # Then its points.earned event names the household and the points the pool received
    (earned,) = events_of("INSERT", {"pk": "MEMBER#ben", "sk": "ENTRY#E1"}, pooled)
    assert earned["data"]["source"]["household_id"] == "h1"
    assert (earned["data"]["points"], earned["data"]["pooled_points"], earned["data"]["balance_after"]) == (
        200, 200, 500)
    # And an earn of a member in no household has no pooled_points
    (own,) = events_of("INSERT", {"pk": "MEMBER#ben", "sk": "ENTRY#E2"}, entry("earn", 10))
    assert "pooled_points" not in own["data"]
