"""The local gateway: API Gateway's event shape, its JWT checks, and the errors it answers itself."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.test import Client

from loyalty_local import tokens
from loyalty_local.gateway import Gateway
from loyalty_local.template import Route


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def gateway(tmp_path: Any, monkeypatch: Any) -> tuple[Client, Recorder]:
    monkeypatch.setenv("LOYALTY_LOCAL_HOME", str(tmp_path))
    recorder = Recorder()
    route = Route(function="F", method="GET", path="/members/{member_id}", api="HttpApi", kind="HttpApi",
                  authorizer="CognitoJwt")
    return Client(Gateway([route], recorder, tokens.Verifier.local())), recorder  # type: ignore[arg-type]


def test_the_event_carries_claims_as_api_gateway_passes_them(tmp_path: Any, monkeypatch: Any) -> None:
    client, recorder = gateway(tmp_path, monkeypatch)
    token = tokens.issue("ops", admin=True, scopes=["loyalty/transactions"])
    response = client.get("/members/me?limit=5", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    event = recorder.events[0]
    assert event["version"] == "2.0" and event["routeKey"] == "GET /members/{member_id}"
    assert event["pathParameters"] == {"member_id": "me"} and event["queryStringParameters"] == {"limit": "5"}
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["cognito:groups"] == "[loyalty-admin]"  # arrays arrive as strings
    assert jwt["claims"]["sub"] == "ops" and jwt["scopes"] == ["loyalty/transactions"]


def test_what_the_gateway_itself_answers_is_shaped_as_on_aws(tmp_path: Any, monkeypatch: Any) -> None:
    # Given the local gateway in front of one route
    client, recorder = gateway(tmp_path, monkeypatch)

    # When a token is forged or missing, or the route does not exist
    forged = client.get("/members/me", headers={"Authorization": "Bearer forged"})
    missing = client.get("/members/me")
    unknown = client.get("/nowhere", headers={"Authorization": f"Bearer {tokens.issue('alice')}"})

    # Then the gateway answers as API Gateway does: {"message": ...} as JSON, never reaching the function
    assert (forged.status_code, json.loads(forged.get_data())) == (401, {"message": "Unauthorized"})
    assert (missing.status_code, json.loads(missing.get_data())) == (401, {"message": "Unauthorized"})
    assert forged.headers["Content-Type"] == "application/json"
    assert (unknown.status_code, json.loads(unknown.get_data())) == (404, {"message": "Not Found"})
    assert recorder.events == []
    # And however many attempts fail, a valid token still passes (no local-only 429)
    for _ in range(30):
        assert client.get("/members/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    valid = client.get("/members/me", headers={"Authorization": f"Bearer {tokens.issue('alice')}"})
    assert valid.status_code == 200 and len(recorder.events) == 1


def test_a_function_that_raises_is_a_500_from_the_gateway(tmp_path: Any, monkeypatch: Any) -> None:
    # Given a function that raises instead of answering
    client, recorder = gateway(tmp_path, monkeypatch)

    def broken(function: str, event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(recorder, "invoke", broken)

    # When it is called, then API Gateway's own 500 comes back
    response = client.get("/members/me", headers={"Authorization": f"Bearer {tokens.issue('alice')}"})
    assert (response.status_code, json.loads(response.get_data())) == (500, {"message": "Internal Server Error"})
