"""Domain errors. Each carries the HTTP status and problem+json `code` the contract gives it."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class BadRequest(DomainError):
    pass


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class InsufficientPoints(Conflict):
    code, title = "insufficient_points", "Not enough available points"


class Gone(DomainError):
    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(DomainError):
    """422 with an `errors` list naming each bad field."""

    status, code, title = 422, "validation_error", "Request validation failed"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.errors = errors or []


class BusinessRuleViolation(DomainError):
    """422 for a well-formed request that a rule refuses (e.g. refund_exceeds_order)."""

    status, code, title = 422, "unprocessable", "Request refused by a program rule"


class LimitReached(DomainError):
    status, code, title = 429, "action_limit_reached", "Limit reached"


class ServiceUnavailable(DomainError):
    """A transient failure of a dependency: safe to retry with the same Idempotency-Key."""

    status, code, title = 503, "service_unavailable", "Service temporarily unavailable"

    def __init__(self, detail: str, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
