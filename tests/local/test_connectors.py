"""The connectors' input transformers, read from the template and applied as EventBridge applies them: each
tool gets the body its API documents, with the event id as its de-duplication key."""

from __future__ import annotations

from typing import Any

from loyalty_local.connectors import Connector, connectors, matches, transform
from loyalty_local.template import load_template, read_stack

EVENT = {"id": "points.earned:01JD5Q", "type": "points.earned", "occurred_at": "2026-12-06T10:00:00.000Z",
         "member_id": "alice", "data": {"entry_id": "01JD5Q", "points": 120, "source": {"order_id": "1001"}}}
# As the bus holds it: what a rule's transformer reads ($.detail...).
ENVELOPE = {"version": "0", "id": "6a7e8feb", "detail-type": "points.earned", "source": "loyalty",
            "account": "123456789012", "time": "2026-12-06T10:00:01Z", "region": "us-east-1", "resources": [],
            "detail": EVENT}


def by_name() -> dict[str, Connector]:
    return {connector.name: connector for connector in connectors(read_stack())}


def test_segment_gets_a_track_call_with_the_event_id_as_message_id() -> None:
    # https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#track
    assert transform(by_name()["segment"], ENVELOPE) == {
        "userId": "alice", "event": "points.earned", "properties": EVENT["data"],
        "timestamp": "2026-12-06T10:00:00.000Z", "messageId": "points.earned:01JD5Q"}


def test_braze_gets_a_users_track_custom_event() -> None:
    # https://www.braze.com/docs/api/endpoints/user_data/post_user_track/ (an event object: external_id,
    # name, time, properties; Braze has no de-duplication key for custom events, so the id is a property)
    assert transform(by_name()["braze"], ENVELOPE) == {"events": [{
        "external_id": "alice", "name": "points.earned", "time": "2026-12-06T10:00:00.000Z",
        "properties": {"event_id": "points.earned:01JD5Q", "data": EVENT["data"]}}]}


def test_klaviyo_gets_a_create_event_request_with_the_event_id_as_unique_id() -> None:
    # https://developers.klaviyo.com/en/reference/create_event (JSON:API; unique_id de-duplicates)
    assert transform(by_name()["klaviyo"], ENVELOPE) == {"data": {"type": "event", "attributes": {
        "properties": EVENT["data"], "time": "2026-12-06T10:00:00.000Z", "unique_id": "points.earned:01JD5Q",
        "metric": {"data": {"type": "metric", "attributes": {"name": "points.earned"}}},
        "profile": {"data": {"type": "profile", "attributes": {"external_id": "alice"}}}}}}


def test_every_connector_is_optional_and_takes_every_member_event() -> None:
    # Given the template as written
    resources: dict[str, Any] = load_template()["Resources"]
    parameters = load_template()["Parameters"]
    found = by_name()
    assert set(found) == {"segment", "braze", "klaviyo"}
    for connector in found.values():
        # Then its rule, destination and connection exist only when its secret is named (empty by default)
        rule = resources[connector.rule]
        assert rule["Condition"] in {"HasSegment", "HasBraze", "HasKlaviyo"}
        destination = rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
        connection = resources[destination]["Properties"]["ConnectionArn"]["Fn::GetAtt"][0]
        assert resources[destination]["Condition"] == resources[connection]["Condition"] == rule["Condition"]
        # And it takes every event about a member, and no other
        assert matches(connector.pattern, ENVELOPE)
        assert not matches(connector.pattern, {**ENVELOPE, "source": "other"})
        assert not matches(connector.pattern, {**ENVELOPE, "detail": {"id": "x", "type": "partner.only"}})
    for name in ("SegmentSecretName", "BrazeSecretName", "KlaviyoSecretName"):
        assert parameters[name]["Default"] == ""


def test_text_inside_a_template_string_is_the_values_text_and_quotes_are_escaped() -> None:
    connector = Connector("t", "r", {}, {"who": "$.detail.member_id", "data": "$.detail.data", "none": "$.x.y"},
                          '{"line": "member <who> got <data>", "raw": <who>, "missing": <none>}', "")
    envelope = {"detail": {"member_id": 'a"b', "data": {"n": 1}}}
    assert transform(connector, envelope) == {"line": 'member a"b got {"n": 1}', "raw": 'a"b', "missing": None}
