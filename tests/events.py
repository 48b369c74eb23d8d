"""Builds API Gateway payload-v2 events exactly as the gateway does and calls handlers in-process."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from loyalty_local.iam import as_function
from loyalty_local.template import Stack
from tests import contract, invocations
from tests.lambda_context import LambdaContext

invocations.install()  # concurrent in-process invocations each see their own event, as on Lambda

# The functions tests invoke directly (not through a route), by handler package.
FUNCTION_OF_MODULE = {"stream_processor": "StreamProcessorFunction", "events_publisher": "EventsPublisherFunction",
                      "webhook_delivery": "WebhookDeliveryFunction", "partner_authorizer": "PartnerAuthorizerFunction",
                      "scheduler": "SchedulerFunction"}

MODULE_OF_FUNCTION = {
    "MembersFunction": "members",
    "PurchasesFunction": "purchases",
    "RedemptionsFunction": "redemptions",
    "CatalogFunction": "catalog",
    "AdminFunction": "admin",
    "EngagementFunction": "engagement",
    "ReportsFunction": "reports",
    "PartnerFunction": "partner",
    "MechanicsFunction": "mechanics",
}


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: Any


def claims_for(sub: str, *, admin: bool = False, scopes: list[str] | None = None) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": sub, "scope": " ".join(scopes or ["aws.cognito.signin.user.admin"]),
                              "token_use": "access", "client_id": "local-member-app"}
    if admin:
        claims["cognito:groups"] = "[loyalty-admin]"
    return claims


def http_event(method: str, path: str, route_path: str, body: Any = None, *, claims: dict[str, Any] | None,
               headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
               raw_body: str | None = None) -> dict[str, Any]:
    all_headers = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route_path))
    found = re.match(f"^{pattern}$", path)
    assert found, (path, route_path)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "test", "domainName": "test", "domainPrefix": "test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "pytest"},
            "requestId": str(uuid.uuid4()), "routeKey": f"{method} {route_path}", "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    if claims is not None:
        scopes = str(claims.get("scope", "")).split() or None
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": scopes}}
    if query:
        event["queryStringParameters"] = query
    if found.groupdict():
        event["pathParameters"] = found.groupdict()
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


def rest_event(method: str, path: str, route_path: str, body: Any = None, *, partner: str | None,
               headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    """A REST API (payload v1) event with the partner authorizer's context."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route_path))
    found = re.match(f"^{pattern}$", path)
    assert found, (path, route_path)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": route_path, "path": path, "httpMethod": method, "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {name: [value] for name, value in (query or {}).items()} or None,
        "pathParameters": found.groupdict() or None, "stageVariables": None,
        "requestContext": {"accountId": "123456789012", "apiId": "test", "httpMethod": method, "path": path,
                           "stage": "v1", "requestId": str(uuid.uuid4()), "resourcePath": route_path,
                           "identity": {"sourceIp": "127.0.0.1"},
                           "authorizer": {"partner_id": partner, "principalId": partner} if partner else {}},
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


class Api:
    """Routes a request to the handler the template names for it, as the gateway would."""

    def __init__(self, stack: Stack, handlers: dict[str, ModuleType]) -> None:
        self.stack = stack
        self.handlers = handlers

    def request(self, method: str, path: str, body: Any = None, *, sub: str = "admin", admin: bool = False,
                scopes: list[str] | None = None, headers: dict[str, str] | None = None,
                query: dict[str, str] | None = None, raw_body: str | None = None,
                anonymous: bool = False, partner: str | None = None) -> Result:
        for route in self.stack.routes:
            if route.method == method and route.pattern.match(path):
                break
        else:
            raise AssertionError(f"no route for {method} {path}")
        if route.kind == "Api":
            event = rest_event(method, path, route.path, body, partner=partner, headers=headers, query=query)
        else:
            claims = None if anonymous else claims_for(sub, admin=admin, scopes=scopes)
            event = http_event(method, path, route.path, body, claims=claims, headers=headers, query=query,
                               raw_body=raw_body)
        module = self.handlers[MODULE_OF_FUNCTION[route.function]]
        with as_function(route.function):  # its DynamoDB requests are checked against its role
            response = module.lambda_handler(event, LambdaContext())
        text = response.get("body") or ""
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        headers.update({k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v})
        as_json = "json" in headers.get("content-type", "application/json")
        body = (json.loads(text) if as_json else text) if text else None
        contract.check(route.kind, method, route.path, response["statusCode"], headers, body)
        return Result(response["statusCode"], headers, body)

    def get(self, path: str, **kwargs: Any) -> Result:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Result:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Result:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Result:
        return self.request("PATCH", path, body, **kwargs)

    # Conveniences that read as the scenario does.
    def enroll(self, member_id: str, email: str | None = None, **fields: Any) -> Result:
        body = {"email": email or f"{member_id}@example.com", "name": member_id.title(), **fields}
        return self.post("/members", body, sub=member_id)

    def purchase(self, member_id: str, order_id: str, amount: str, *, channel: str = "online",
                 currency: str = "USD", key: str | None = None, **fields: Any) -> Result:
        body = {"order_id": order_id, "total": {"amount": amount, "currency": currency}, "channel": channel,
                **fields}
        return self.post(f"/members/{member_id}/purchases", body, sub="pos", scopes=["loyalty/transactions"],
                         headers={"Idempotency-Key": key or f"purchase-{order_id}"})

    def redeem(self, member_id: str, body: dict[str, Any], *, key: str | None = None, sub: str | None = None) -> Result:
        return self.post(f"/members/{member_id}/redemptions", body, sub=sub or member_id,
                         headers={"Idempotency-Key": key or str(uuid.uuid4())})
