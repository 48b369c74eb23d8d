"""Resolver set-up shared by every HTTP function: problem+json errors, body guards, caller, idempotency."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError
from pydantic import ValidationError

from loyalty import snapstart
from loyalty.domain import jsontext
from loyalty.domain.errors import (
    BadRequest,
    DomainError,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from loyalty.logs import make_logger
from loyalty.observability import count, record_outcome, record_problem
from loyalty.services.context import Caller, Outcome
from loyalty.store.db import raise_if_transient
from loyalty.store.idempotency import IdempotencyRequest

PROBLEM_JSON = "application/problem+json"
# Bodies above this are refused with 413 before parsing (the contract's documented limit).
MAX_BODY_BYTES = 64 * 1024
IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,128}$")

logger = make_logger()


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": f"urn:loyalty:problem:{code}", "title": title, "status": status, "detail": detail, "code": code}
    body.update(extra)
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
        body.pop("retry_after", None)
    return Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(body), headers=headers)


def _domain_error(exc: DomainError) -> Response:
    record_problem(exc.code)
    extra: dict[str, Any] = dict(exc.extra)
    if isinstance(exc, ValidationFailed):
        extra["errors"] = exc.errors
    if isinstance(exc, ServiceUnavailable):
        extra["retry_after"] = exc.retry_after
        logger.warning("transient failure", extra={"code": exc.code, "detail": exc.detail})
    return problem(exc.status, exc.code, exc.title, exc.detail, **extra)


def _validation_error(exc: RequestValidationError) -> Response:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header"):
            where, location = location[0], location[1:]
        else:
            where = "body"
        # Union members show up as extra location parts (e.g. "str", "list[str]"); keep field names.
        field = ".".join(part for part in location if not part.startswith(("function-", "list[", "str", "bool")))
        errors.append({
            "field": field or where,
            "in": where,
            "message": str(error.get("msg", "invalid")),
            "type": error.get("type", "invalid"),
        })
    return problem(422, "validation_error", "Request validation failed",
                   "the request does not match the schema; see errors", errors=errors)


def _invalid_inside(exc: ValidationError) -> Response:
    """A model built inside a use case from what the caller sent (a promotion of a code batch, say) that
    does not validate: the caller's input, so a 422 naming what failed, never a 500."""
    errors = [{"field": ".".join(str(part) for part in error.get("loc", ())) or "body", "in": "body",
               "message": str(error.get("msg", "invalid")), "type": str(error.get("type", "invalid"))}
              for error in exc.errors()[:20]]
    logger.warning("validation error inside a use case", extra={"model": exc.title, "errors": errors})
    return problem(422, "validation_error", "Request validation failed",
                   f"the request cannot be carried out as sent ({exc.title}); see errors", errors=errors)


def _not_found(_: NotFoundError) -> Response:
    return problem(404, "not_found", "Not found", "no such route")


def _unreachable(exc: BotoCoreError) -> Response:
    try:
        raise_if_transient(exc)
    except ServiceUnavailable as unavailable:
        return _domain_error(unavailable)
    return _unexpected(exc)


def _unexpected(exc: Exception) -> Response:
    count("UnhandledErrors")
    logger.exception("unhandled error")
    return problem(500, "internal_error", "Internal error", "an unexpected error occurred; it has been logged")


def _body_bytes(body: str, base64_encoded: bool) -> int:
    """The body's size in bytes as the client sent it (UTF-8 text, or what the base64 text decodes to)."""
    if base64_encoded:
        padding = len(body) - len(body.rstrip("="))
        return len(body) * 3 // 4 - padding
    # Every character is 1 to 4 bytes: a body over the limit in characters is over it in bytes.
    return len(body) if len(body) > MAX_BODY_BYTES else len(body.encode("utf-8"))


# Methods whose body is the operation's input: an object, as every request schema of the API declares.
_BODY_METHODS = ("POST", "PUT", "PATCH")
_CHARSET = re.compile(r"charset\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


def _bad_body(message: str) -> ValidationFailed:
    return ValidationFailed(f"the body {message}", errors=[{"field": "body", "in": "body", "message": message}])


def _refusal(event: dict[str, Any]) -> DomainError | None:
    """Bodies are bounded before anything parses them: too large (413), not JSON (415), not UTF-8, nested
    deeper than the contract allows, not JSON at all, or not the object every operation declares (422).
    powertools would otherwise recurse into any depth, and take an array's first element for the object."""
    body = event.get("body")
    if not body:
        return None
    if _body_bytes(body, bool(event.get("isBase64Encoded"))) > MAX_BODY_BYTES:
        return PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    text = body
    if event.get("isBase64Encoded"):
        # API Gateway base64-encodes what is not text: a JSON body must be UTF-8.
        try:
            text = base64.b64decode(body, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return _bad_body("is not UTF-8 text")
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").lower()
    if "json" not in content_type:
        return UnsupportedMediaType("send the body as application/json")
    charset = _CHARSET.search(content_type)
    if charset and charset.group(1) not in ("utf-8", "utf8"):
        return UnsupportedMediaType("send the body as application/json in UTF-8")
    try:
        parsed = jsontext.loads_bounded(text)
    except jsontext.TooDeep:
        return _bad_body(f"is nested more than {jsontext.MAX_DEPTH} levels deep")
    except ValueError:
        return _bad_body("is not valid JSON")
    method = str(event.get("httpMethod") or ((event.get("requestContext") or {}).get("http") or {}).get("method", ""))
    if method.upper() in _BODY_METHODS and not isinstance(parsed, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(parsed), "a number")
        return _bad_body(f"must be a JSON object, not {kind}")
    return None


def _refused(event: Mapping[str, Any]) -> dict[str, Any] | None:
    refused = _refusal(dict(event))
    if refused is None:
        return None
    response = _domain_error(refused)
    return {"statusCode": response.status_code, "headers": {"Content-Type": PROBLEM_JSON}, "body": response.body,
            "isBase64Encoded": False}


class LoyaltyResolver(APIGatewayHttpResolver):
    """The powertools HTTP API resolver with our body guard in front of its request validation."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        return _refused(event) or super().resolve(event, context)


class PartnerResolver(APIGatewayRestResolver):
    """The same for the partner REST API (payload v1)."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        return _refused(event) or super().resolve(event, context)


def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
    return _domain_error(UnsupportedMediaType("send the body as application/json"))


def create_app(rest: bool = False) -> Any:
    """The resolver of one function: HTTP API (members, admin) or, with `rest`, the partner REST API."""
    app = PartnerResolver(enable_validation=True) if rest else LoyaltyResolver(enable_validation=True)
    app.exception_handler(RequestUnsupportedContentType)(_unsupported_content_type)
    app.exception_handler(DomainError)(_domain_error)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(ValidationError)(_invalid_inside)
    app.exception_handler(NotFoundError)(_not_found)
    app.exception_handler(BotoCoreError)(_unreachable)
    app.exception_handler(Exception)(_unexpected)
    snapstart.register(app)  # priming and re-seeding hooks, where the runtime has SnapStart
    return app


def _claims(app: BaseRouter) -> tuple[dict[str, Any], list[str]]:
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    jwt = authorizer.get("jwt") or {}
    return jwt.get("claims") or {}, jwt.get("scopes") or []


def _listish(value: Any) -> list[str]:
    """API Gateway passes array claims as strings such as "[loyalty-admin other]"."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part for part in re.split(r"[\s,]+", text) if part]


def caller(app: BaseRouter) -> Caller:
    """The identity the JWT authorizer verified, exactly as API Gateway passes it in the event."""
    claims, scopes = _claims(app)
    sub = claims.get("sub")
    if not sub:
        raise Unauthorized("no verified token")
    scope_claim = _listish(claims.get("scope")) if not scopes else [str(s) for s in scopes]
    return Caller(
        sub=str(sub),
        scopes=frozenset(scope_claim),
        groups=frozenset(_listish(claims.get("cognito:groups"))),
    )


def partner(app: Any) -> Caller:
    """The partner the API-key authorizer resolved, from the REST API's authorizer context."""
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    partner_id = authorizer.get("partner_id")
    if not partner_id:
        raise Unauthorized("no verified partner key")
    return Caller(sub=f"partner:{partner_id}", partner_id=str(partner_id))


def request_hash(app: BaseRouter) -> str:
    event = app.current_event
    # The body as the client sent it, not its transport encoding: the gateway base64-encodes some bodies
    # (by content type), and a retry must hash the same however it travelled.
    try:
        body = event.decoded_body or ""
    except (ValueError, UnicodeDecodeError):
        body = event.body or ""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")) if body else ""
    except ValueError:
        canonical = body
    text = f"{event.http_method} {event.path}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency(app: BaseRouter, who: Caller) -> IdempotencyRequest | None:
    """The request's Idempotency-Key, checked for form only: whether a use case needs one is the use case's
    to say (after it has authorized the caller), see services.writes.key_required."""
    headers = {name.lower(): value for name, value in (app.current_event.headers or {}).items()}
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key must be 1-128 printable ASCII characters", code="invalid_idempotency_key")
    return IdempotencyRequest(scope=who.partner_id or who.sub, key=key, request_hash=request_hash(app))


def deadline(app: BaseRouter, reserve_seconds: float = 2.0) -> float:
    """When a long use case must stop (time.monotonic()): the invocation's remaining time less a reserve for
    one more step and the answer, so that it answers 503 and a retry continues, rather than the function
    being cut off and the gateway answering 500."""
    left = app.lambda_context.get_remaining_time_in_millis() / 1000
    return time.monotonic() + left - reserve_seconds


def respond(outcome: Outcome) -> Response:
    record_outcome(outcome.body, outcome.status, outcome.replayed)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return Response(
        status_code=outcome.status, content_type="application/json",
        body=json.dumps(outcome.body, separators=(",", ":"), ensure_ascii=False), headers=headers,
    )
