"""The local API Gateway: matches the template's routes, verifies JWTs like the HTTP API JWT
authorizer, and invokes the same handler modules with payload-v2 events."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from loyalty_local.activity import ACTIVITY
from loyalty_local.lambdas import Functions
from loyalty_local.template import Route
from loyalty_local.tokens import InvalidToken, Verifier, gateway_claims

log = logging.getLogger("loyalty_local.gateway")
PROBLEM = "application/problem+json"
CORS_ALLOW_HEADERS = "authorization,content-type,idempotency-key"
CORS_EXPOSE_HEADERS = "idempotent-replayed,retry-after"


def problem(status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = {"type": f"urn:loyalty:problem:{code}", "title": title, "status": status, "detail": detail, "code": code}
    return Response(json.dumps(body), status=status, content_type=PROBLEM, headers=headers)


def gateway_error(status: int, message: str | None, headers: dict[str, str] | None = None) -> Response:
    """What API Gateway itself answers (not a function): `{"message": ...}` as JSON, never problem+json."""
    return Response(json.dumps({"message": message}), status=status, content_type="application/json",
                    headers=headers)


class Gateway:
    def __init__(self, routes: list[Route], functions: Functions, verifier: Verifier,
                 extra: Callable[[Request], Response | None] | None = None,
                 rest_authorizers: dict[tuple[str, str], tuple[str, list[str]]] | None = None) -> None:
        self.routes = [(route, route.pattern) for route in routes]
        self.rest_authorizers = rest_authorizers or {}
        self.functions = functions
        self.verifier = verifier
        self.extra = extra

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            response = self.handle(request)
        except Exception:
            # A function that raised: API Gateway answers for it (the traceback is in the server log).
            log.exception("the function failed")
            response = gateway_error(500, "Internal Server Error")
        ACTIVITY.signal()  # a local route (the clock, a drain) may have work for the pollers too
        if request.headers.get("Origin"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        return response(environ, start_response)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        allowed_elsewhere = False
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found:
                if route.method in (method, "ANY"):
                    return route, found.groupdict()
                allowed_elsewhere = True
        if allowed_elsewhere:
            return None
        return None

    def handle(self, request: Request) -> Response:
        if self.extra is not None:
            extra = self.extra(request)
            if extra is not None:
                return extra
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            return Response(status=204, headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": "600",
            })
        matched = self.match(request.method, request.path)
        if matched is None:
            return gateway_error(404, "Not Found")
        route, path_parameters = matched
        if route.kind == "Api":
            return self.rest(request, route, path_parameters)
        claims: dict[str, Any] | None = None
        if route.authorizer:
            try:
                claims = self.verifier.verify(request.headers.get("Authorization"))
            except InvalidToken as exc:
                log.info("JWT refused: %s", exc)
                return gateway_error(401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
        event = self.http_api_event(request, route, path_parameters, claims)
        result = self.functions.invoke(route.function, event)
        return self.to_response(result)

    def rest(self, request: Request, route: Route, path_parameters: dict[str, str]) -> Response:
        """A REST API route (payload v1) behind its Lambda REQUEST authorizer, as API Gateway runs it."""
        context: dict[str, Any] = {}
        if route.authorizer:
            function, identity = self.rest_authorizers[(route.api, route.authorizer)]
            headers = {name.lower(): value for name, value in request.headers.items()}
            if any(not headers.get(name) for name in identity):
                return gateway_error(401, "Unauthorized")
            method_arn = f"arn:aws:execute-api:us-east-1:123456789012:local/v1/{request.method}{request.path}"
            event = self.rest_event(request, route, path_parameters, None)
            try:
                result = self.functions.invoke(function, {**event, "type": "REQUEST", "methodArn": method_arn})
            except Exception as exc:
                if str(exc) == "Unauthorized":
                    return gateway_error(401, "Unauthorized")
                log.exception("authorizer failed")
                return gateway_error(500, None)  # AuthorizerConfigurationException
            statements = (result.get("policyDocument") or {}).get("Statement") or []
            if not statements or any(statement.get("Effect") != "Allow" for statement in statements):
                return gateway_error(403, "User is not authorized to access this resource with an explicit deny")
            context = {**(result.get("context") or {}), "principalId": result.get("principalId")}
        event = self.rest_event(request, route, path_parameters, context)
        return self.to_response(self.functions.invoke(route.function, event))

    @staticmethod
    def rest_event(request: Request, route: Route, path_parameters: dict[str, str],
                   authorizer: dict[str, Any] | None) -> dict[str, Any]:
        raw = request.get_data()
        headers = dict(request.headers.items())
        multi: dict[str, list[str]] = {}
        for name, value in parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True):
            multi.setdefault(name, []).append(value)
        now = datetime.now(UTC)
        context: dict[str, Any] = {
            "accountId": "123456789012", "apiId": "local", "httpMethod": request.method,
            "identity": {"sourceIp": request.remote_addr or "127.0.0.1",
                         "userAgent": request.headers.get("User-Agent", "")},
            "path": f"/v1{request.path}", "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": str(uuid.uuid4()), "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(time.time() * 1000), "resourceId": "local", "resourcePath": route.path,
            "stage": "v1",
        }
        if authorizer is not None:
            context["authorizer"] = authorizer
        return {
            "resource": route.path, "path": request.path, "httpMethod": request.method,
            "headers": headers, "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": {name: values[-1] for name, values in multi.items()} or None,
            "multiValueQueryStringParameters": multi or None,
            "pathParameters": path_parameters or None, "stageVariables": None, "requestContext": context,
            "body": raw.decode("utf-8", errors="replace") if raw else None, "isBase64Encoded": False,
        }

    @staticmethod
    def http_api_event(request: Request, route: Route, path_parameters: dict[str, str],
                       claims: dict[str, Any] | None) -> dict[str, Any]:
        raw = request.get_data()
        try:
            body: str | None = raw.decode("utf-8") if raw else None
            encoded = False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        now = datetime.now(UTC)
        context: dict[str, Any] = {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{route.method} {route.path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        }
        if claims is not None:
            shaped, scopes = gateway_claims(claims)
            context["authorizer"] = {"jwt": {"claims": shaped, "scopes": scopes}}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": f"{route.method} {route.path}",
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode("latin-1"),
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": encoded,
        }
        if request.cookies:
            event["cookies"] = [f"{name}={value}" for name, value in request.cookies.items()]
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if body is not None:
            event["body"] = body
        return event

    @staticmethod
    def to_response(result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            # Payload v2: a bare value is a 200 JSON response.
            return Response(json.dumps(result), status=200, content_type="application/json")
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(data, status=int(result["statusCode"]))
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = value
        # Payload v1 may repeat headers in multiValueHeaders; API Gateway merges them, last one wins.
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(name)
            for value in values:
                response.headers.add(name, value)
        for cookie in result.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        return response
