"""The handlers driven with events shaped as AWS sends them (the shapes `sam local generate-event` makes),
not only as the local gateway builds them: base64 bodies, string-valued claims and authorizer context,
`scopes: null`, multi-value headers, the stream's final tumbling-window invoke."""

from __future__ import annotations

import base64
import importlib
import json
import uuid
from typing import Any

from tests.events import Api, LambdaContext


def _http_api_event(method: str, path: str, route: str, body: Any, claims: dict[str, str],
                    headers: dict[str, str] | None = None, path_parameters: dict[str, str] | None = None,
                    ) -> dict[str, Any]:
    """HTTP API payload 2.0 behind the JWT authorizer, as API Gateway sends it for a JSON POST."""
    raw = json.dumps(body).encode()
    return {
        "version": "2.0", "routeKey": f"{method} {route}", "rawPath": path, "rawQueryString": "",
        "cookies": ["session=abc"],
        "headers": {"accept": "*/*", "content-length": str(len(raw)), "content-type": "application/json",
                    "host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "curl/8.5.0",
                    "x-amzn-trace-id": "Root=1-65a0b0c0-0123456789abcdef01234567",
                    "x-forwarded-for": "203.0.113.7", "x-forwarded-port": "443", "x-forwarded-proto": "https",
                    **(headers or {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            # Claims arrive as strings; `scopes` is null when the route names no authorization scopes.
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "curl/8.5.0"},
            "requestId": "Jq3zHhqSIAMEbYw=", "routeKey": f"{method} {route}", "stage": "$default",
            "time": "23/Nov/2026:18:00:00 +0000", "timeEpoch": 1795370400000,
        },
        "pathParameters": path_parameters or {},
        # API Gateway base64-encodes bodies of some content types
        "body": base64.b64encode(raw).decode(), "isBase64Encoded": True,
    }


def _claims(sub: str, scope: str) -> dict[str, str]:
    return {"sub": sub, "scope": scope, "token_use": "access", "client_id": "4abcdefghijklmnop",
            "auth_time": "1795370000", "exp": "1795373600", "iat": "1795370000", "jti": str(uuid.uuid4()),
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example", "version": "2"}


def test_a_purchase_arrives_as_api_gateway_sends_it(api: Api, program: dict) -> None:
    # Given a member
    assert api.enroll("alice").status == 201
    body = {"order_id": "o-aws-1", "total": {"amount": "12.50", "currency": "USD"}, "channel": "store"}
    event = _http_api_event("POST", "/members/alice/purchases", "/members/{member_id}/purchases", body,
                            _claims("pos", "loyalty/transactions"), {"idempotency-key": "aws-1"},
                            {"member_id": "alice"})

    # When the purchases function gets the event exactly as API Gateway sends it
    handler = importlib.import_module("functions.purchases.handler")
    response = handler.lambda_handler(event, LambdaContext())

    # Then the purchase is recorded, and its retry (the same event) replays
    assert response["statusCode"] == 201, response.get("body")
    assert json.loads(response["body"])["points"] > 0
    again = handler.lambda_handler(event, LambdaContext())
    assert again["statusCode"] == 201 and json.loads(again["body"]) == json.loads(response["body"])


def test_a_member_read_with_null_scopes_and_string_claims(api: Api, program: dict) -> None:
    # Given a member, reading itself with an access token (scopes null, every claim a string)
    assert api.enroll("bob").status == 201
    event = _http_api_event("GET", "/members/me", "/members/{member_id}", {}, _claims(
        "bob", "aws.cognito.signin.user.admin"), path_parameters={"member_id": "me"})
    event["body"], event["isBase64Encoded"] = None, False

    # When the members function gets it, then it answers the member
    response = importlib.import_module("functions.members.handler").lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response.get("body")
    assert json.loads(response["body"])["member_id"] == "bob"


def test_a_partner_call_arrives_as_the_rest_api_sends_it(api: Api, program: dict) -> None:
    # Given a partner whose key the authorizer resolved
    partner = api.post("/admin/partners", {"name": "Brew", "contact_email": "ops@brew.example"},
                       admin=True).body["partner_id"]
    body = json.dumps({"name": "Summer", "kind": "bonus_points", "points": 10, "starts_at": "2026-01-01T00:00:00Z",
                       "ends_at": "2100-01-01T00:00:00Z", "budget_points": 1000})
    headers = {"Accept": "*/*", "Content-Type": "application/json", "Host": "xyz.execute-api.us-east-1.amazonaws.com",
               "User-Agent": "curl/8.5.0", "X-Amzn-Trace-Id": "Root=1-65a0b0c0-0123456789abcdef01234567",
               "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
               "x-api-key": "lk_example"}
    event = {
        "resource": "/partner/promotions", "path": "/partner/promotions", "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc1de", "resourcePath": "/partner/promotions", "httpMethod": "POST",
            "extendedRequestId": "Jq3zHhqS=", "requestTime": "23/Nov/2026:18:00:00 +0000",
            "path": "/v1/partner/promotions",
            "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": "v1", "domainPrefix": "xyz",
            "requestTimeEpoch": 1795370400000, "requestId": str(uuid.uuid4()),
            "domainName": "xyz.execute-api.us-east-1.amazonaws.com",
            "apiId": "xyz",
            "identity": {"cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
                         "apiKey": "uK3Yq3dExample", "apiKeyId": "a1b2c3d4e5", "sourceIp": "203.0.113.7",
                         "principalOrgId": None, "accessKey": None, "cognitoAuthenticationType": None,
                         "cognitoAuthenticationProvider": None, "userArn": None, "userAgent": "curl/8.5.0",
                         "user": None},
            # The REST API passes the authorizer's context values as strings
            "authorizer": {"partner_id": partner, "key_id": "01EXAMPLE", "principalId": partner,
                           "integrationLatency": 12},
        },
        "body": body, "isBase64Encoded": False,
    }

    # When the partner function gets it, then the promotion is created for that partner
    response = importlib.import_module("functions.partner.handler").lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 201, response.get("body")
    assert json.loads(response["body"])["partner_id"] == partner


def test_the_final_tumbling_window_invoke_is_answered_with_its_state(api: Api, program: dict) -> None:
    # Given the stream's last invoke of a window: no records, the window's state
    event = {"Records": [], "window": {"start": "2026-11-23T18:00:00Z", "end": "2026-11-23T18:01:00Z"},
             "state": {"seen": "3"}, "shardId": "shardId-00000001795370400000-abcdef01",
             "eventSourceARN": ("arn:aws:dynamodb:us-east-1:123456789012:table/LoyaltyTable/stream/"
                                "2026-11-23T00:00:00.000"),
             "isFinalInvokeForWindow": True, "isWindowTerminatedEarly": False}

    # When the stream processor gets it, then it answers without failing, reporting no failed item
    result = importlib.import_module("functions.stream_processor.handler").lambda_handler(event, LambdaContext())
    assert result.get("batchItemFailures", []) == []
