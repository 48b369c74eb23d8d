"""The local gateway: API Gateway's event shape and JWT checks, and throttling of failed authentication."""

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


def test_failed_authentication_is_throttled_but_valid_tokens_still_pass(tmp_path: Any, monkeypatch: Any) -> None:
    client, recorder = gateway(tmp_path, monkeypatch)
    statuses = [client.get("/members/me", headers={"Authorization": "Bearer forged"}).status_code
                for _ in range(25)]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    throttled = client.get("/members/me", headers={"Authorization": "Bearer forged"})
    assert throttled.headers["Retry-After"] == "60"
    assert json.loads(throttled.get_data())["code"] == "too_many_auth_failures"
    valid = client.get("/members/me", headers={"Authorization": f"Bearer {tokens.issue('alice')}"})
    assert valid.status_code == 200 and len(recorder.events) == 1
