"""The events publisher on moto's EventBridge: replays publish no new ids; the bus sees every fact."""

from __future__ import annotations

import pytest

from loyalty_local import queues
from loyalty_local.motoserver import MotoServer
from tests.events import Api
from tests.stream_helpers import deliver, stream_records


@pytest.fixture
def event_log(tables: MotoServer, stack, monkeypatch: pytest.MonkeyPatch) -> queues.EventLog:  # type: ignore[no-untyped-def]
    refs, _ = queues.create(stack, tables.url)
    monkeypatch.setenv("EVENT_BUS_NAME", refs["EventBus"])
    return queues.EventLog(stack, tables.url)


def published(log: queues.EventLog) -> list[dict]:
    return list(log.page(0, 10_000)["items"])


def test_replayed_stream_batches_publish_no_new_event_ids(api: Api, program: dict,
                                                         event_log: queues.EventLog) -> None:
    # Given a member who crosses into Silver and redeems a reward
    api.enroll("alice")
    api.purchase("alice", "o-1", "120.00")
    api.redeem("alice", {"reward_id": "nope"})  # refused: no event
    api.redeem("alice", {"points": 100, "description": "x"})
    records = stream_records()
    # When the stream is delivered once, then again in other batches
    deliver(records, function="events_publisher")
    first = published(event_log)
    for start in range(0, len(records), 3):
        deliver(records[start:start + 3], function="events_publisher")
    second = published(event_log)[len(first):]
    # Then the replay carried only ids already published (consumers de-duplicate on them)
    assert {event["type"] for event in first} == {"member.enrolled", "points.earned", "tier.changed",
                                                   "points.redeemed"}
    assert len({event["id"] for event in first}) == len(first)
    assert {event["id"] for event in second} == {event["id"] for event in first}
    assert all(event["member_id"] == "alice" and event["occurred_at"] for event in first)


def test_a_completed_challenge_publishes_its_completion_and_its_badge_once(api: Api, program: dict,
                                                                          event_log: queues.EventLog) -> None:
    # Given a challenge of one purchase with a badge, completed by a member
    assert api.post("/admin/badges", {"badge_id": "first", "name": "First"}, admin=True).status == 201
    assert api.post("/admin/challenges", {
        "challenge_id": "first-buy", "name": "First buy", "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2099-01-01T00:00:00Z", "goal": {"event": "purchase", "count": 1},
        "reward": {"points": 50, "badge_id": "first"}}, admin=True).status == 201
    api.enroll("cleo")
    assert api.purchase("cleo", "c-1", "10.00").status == 201
    # When the stream reaches the events publisher through its filters, twice
    records = stream_records()
    deliver(records, function="events_publisher")
    deliver(records, function="events_publisher")
    # Then the bus saw challenge.completed and badge.earned, each under one id however often delivered
    events = published(event_log)
    found = {(event["type"], event["id"]) for event in events if event["type"] in (
        "challenge.completed", "badge.earned")}
    assert {kind for kind, _ in found} == {"challenge.completed", "badge.earned"}
    assert ("badge.earned", "badge.earned:cleo:first:1") in found
    completed = next(event for event in events if event["type"] == "challenge.completed")
    assert completed["data"]["challenge_id"] == "first-buy" and completed["data"]["badge_id"] == "first"
