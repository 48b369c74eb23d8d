"""What every answer shares: the base model, problem+json, the gateway's own answers, each route's
documented responses, and which operations require an Idempotency-Key."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Out(BaseModel):
    # Responses may grow fields; clients ignore what they do not know. These models only feed the OpenAPI
    # documents, so their validators are not built at import (defer_build), saving cold-start time.
    model_config = ConfigDict(extra="allow", defer_build=True)


class FieldError(Out):
    """One bad field of a 422 validation_error."""

    field: str = Field(examples=["total.amount"], description="dotted path of the field (or body, a header)")
    in_: Literal["body", "query", "path", "header"] | None = Field(default=None, alias="in")
    message: str
    type: str | None = Field(default=None, description="a machine-readable kind of error (pydantic's)")


class Problem(Out):
    type: str = Field(examples=["urn:loyalty:problem:insufficient_points"])
    title: str = Field(examples=["Not enough available points"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["500 points requested, 120 available"])
    code: str = Field(examples=["insufficient_points"])
    errors: list[FieldError] | None = Field(default=None, description="validation_error: one entry per bad field")
    limit: int | None = Field(default=None, description=(
        "action_limit_reached: how many the action's cap allows; transfer_limit_reached: the monthly points"))
    per: str | None = Field(default=None, description="action_limit_reached, transfer_limit_reached: the period")


# Operations whose use case refuses to run without an Idempotency-Key (services.writes.key_required); every
# other POST, PUT and PATCH takes one and honours it. The published documents mark the header required here.
IDEMPOTENCY_KEY_REQUIRED = frozenset({
    "recordPurchase", "recordReturn", "redeem", "adjustPoints", "recordMembership", "spin", "donatePoints",
    "recordPartnerEarn", "placeHold", "captureHold", "releaseHold", "cancelRedemption", "transferPoints",
    "redeemFromHousehold", "placeHouseholdHold", "captureHouseholdHold", "releaseHouseholdHold",
    "cancelHouseholdRedemption",
})

ERROR_STATUSES = (400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 500, 503)


class GatewayMessage(Out):
    """What API Gateway itself answers (a missing or bad token or key, a denied key, throttling)."""

    message: str | None = Field(examples=["Unauthorized"])


# Generated clients parse one content type per status (the first in key order: application/json), so the
# schema under application/json reads both bodies: a problem first (it has type, title, status), else the
# gateway's message.
class ProblemOrGatewayMessage(RootModel[Problem | GatewayMessage]):
    """An error: a problem (RFC 9457) from the function, or API Gateway's own {"message": ...}."""

    model_config = ConfigDict(defer_build=True)


# Statuses API Gateway may answer itself, before or instead of the function: {"message": ...} as
# application/json (a function that failed or timed out: 500 or 503).
GATEWAY_STATUSES = (401, 403, 429, 500, 503)


def responses(status: int, model: type[BaseModel], description: str = "Success", *,
              csv: bool = False) -> dict[int, Any]:
    """The documented answers of a route: its success (also as CSV, with `Accept: text/csv`, when `csv`), and
    problem+json for every error status (and, where the gateway may answer instead of the function, its own
    {"message": ...})."""
    success: dict[str, Any] = {"application/json": {"model": model}}
    if csv:
        success["text/csv"] = {"schema": {"type": "string", "description": "CSV with a header row"}}
    documented: dict[int, Any] = {status: {"description": description, "content": success}}
    for error in ERROR_STATUSES:
        content: dict[str, Any] = {"application/problem+json": {"model": Problem}}
        if error in GATEWAY_STATUSES:
            content["application/json"] = {"model": ProblemOrGatewayMessage}
        documented[error] = {"description": "A problem (RFC 9457) from the function, or the gateway's own "
                                            "{\"message\": ...}" if error in GATEWAY_STATUSES
                             else "A problem (RFC 9457)", "content": content}
    return documented
