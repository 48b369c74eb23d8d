"""Request bodies of partners: partners, promotions, codes, partner earn, claims, API keys, webhooks."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from loyalty.domain.fields import (
    _URL_REST,
    MAX_BUDGET_POINTS,
    Body,
    Email,
    Identifier,
    Moment,
    OrderId,
    Text100,
    Text200,
    Text500,
    _parsable_url,
)
from loyalty.inputs.common import PositiveMoney


class PartnerRequest(Body):
    name: Text100
    contact_email: Email


class PromotionAudience(Body):
    min_tier: Text100 | None = None


# 1.001 to 10 with at most three decimals, as text.
_MULTIPLIER_TEXT = r"^(1\.(00[1-9]|0[1-9][0-9]?|[1-9][0-9]{0,2})|[2-9](\.[0-9]{1,3})?|10(\.0{1,3})?)$"


class PromotionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Free beans", "kind": "bonus_points", "points": 50, "budget_points": 5000, "max_per_member": 1,
         "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}],
        # What each kind needs (ends_at after starts_at is checked too, which a schema cannot say).
        "allOf": [
            {"if": {"properties": {"kind": {"enum": ["bonus_points", "giveaway"]}}},
             "then": {"required": ["points"], "properties": {"points": {"type": "integer"}}}},
            {"if": {"properties": {"kind": {"const": "multiplier"}}},
             "then": {"required": ["multiplier"], "properties": {"multiplier": {"not": {"type": "null"}}}}},
        ]})
    name: Text100
    kind: Literal["bonus_points", "multiplier", "giveaway"]
    points: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    multiplier: Annotated[Decimal, Field(gt=1, le=10, max_digits=6, decimal_places=3),
                          WithJsonSchema({"anyOf": [
                              {"type": "number", "exclusiveMinimum": 1, "maximum": 10, "multipleOf": 0.001},
                              {"type": "string", "pattern": _MULTIPLIER_TEXT}],
                              "description": "more than 1, at most 10, at most 3 decimals"})] | None = None
    starts_at: Moment
    ends_at: Moment
    budget_points: Annotated[StrictInt, Field(ge=1, le=MAX_BUDGET_POINTS)]
    max_per_member: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    audience: PromotionAudience | None = None
    description: Text500 | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PromotionRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.kind in ("bonus_points", "giveaway") and self.points is None:
            raise ValueError(f"a {self.kind} promotion needs points")
        if self.kind == "multiplier" and self.multiplier is None:
            raise ValueError("a multiplier promotion needs multiplier")
        return self


class CodesRequest(Body):
    count: Annotated[StrictInt, Field(ge=1, le=10_000)]
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,8}$")] | None = None


class PartnerEarnRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"member_id": "alice", "order_id": "brew-77", "total": {"amount": "12.00", "currency": "USD"}}]})
    member_id: Identifier
    order_id: OrderId
    total: PositiveMoney
    promotion_id: Identifier | None = None


class ClaimRequest(Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class KeyRequest(Body):
    revoke_others: StrictBool = False


class WebhookRequest(Body):
    # https only (the use case refuses anything else; the local stack also lets tests use http://127.0.0.1).
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=f"^https?://{_URL_REST}$"),
                   AfterValidator(_parsable_url), Field(json_schema_extra={"pattern": f"^https://{_URL_REST}$"})]
    description: Text200 | None = None
