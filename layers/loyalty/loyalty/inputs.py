"""Request bodies as pydantic models: the input of the use cases (services) and the bodies the HTTP
layer validates with powertools (422 with field errors). Both layers import this module; it imports
neither. The value types of their fields are in `loyalty.domain.fields`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

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

from loyalty.domain.fields import (  # noqa: F401 (the value types; other modules import them from here too)
    _URL_REST,
    FIRST_YEAR,
    LAST_YEAR,
    MAX_BUDGET_POINTS,
    AmountString,
    Birthday,
    Body,
    CurrencyCode,
    Day,
    Email,
    Fingerprint,
    Identifier,
    Locale,
    Moment,
    Month,
    OrderId,
    Phone,
    Points,
    PreferenceKey,
    PreferenceValue,
    Slug,
    Text64,
    Text100,
    Text200,
    Text500,
    Text1000,
    _parsable_url,
)


class Money(Body):
    amount: AmountString = Field(description="decimal string, no sign or exponent", examples=["12.50"])
    currency: CurrencyCode = Field(examples=["USD"])


def _more_than_zero(amount: str) -> str:
    if not amount.strip("0."):
        raise ValueError("must be greater than zero")
    return amount


class PositiveMoney(Money):
    """A purchase's total or a refund: greater than zero (the schema says "not all zeros")."""

    amount: Annotated[AmountString, AfterValidator(_more_than_zero)] = Field(
        description="decimal string greater than zero, no sign or exponent", examples=["12.50"],
        json_schema_extra={"not": {"pattern": "^0+(\\.0+)?$"}})


class EnrollRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "alice@example.com", "name": "Alice", "birthday": "1990-05-01", "preferences": {"drink": "tea"}}]})
    email: Email
    name: Text200
    birthday: Birthday | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    preferences: Annotated[dict[PreferenceKey, PreferenceValue], Field(max_length=50)] | None = None
    consents: Annotated[dict[PreferenceKey, StrictBool], Field(max_length=50)] | None = None
    referral_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{4,16}$")] | None = None
    member_id: Identifier | None = Field(default=None, description="admins only: enroll someone else")
    device_id: Fingerprint | None = Field(default=None, description=(
        "the app's device id (kept hashed): a referral from a device its referrer used earns nothing"))


class ProfilePatch(Body):
    """Only the fields present change; null clears an optional field."""

    email: Email | None = None
    name: Text200 | None = None
    birthday: Birthday | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    preferences: Annotated[dict[PreferenceKey, PreferenceValue], Field(max_length=50)] | None = None
    consents: Annotated[dict[PreferenceKey, StrictBool], Field(max_length=50)] | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProfilePatch:
        for name in ("email", "name"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


# A basket as the contract bounds it (Conventions): lines count only as shares of what was paid.
MAX_LINE_QUANTITY = 9_999
MAX_LINES = 500


class LineItem(Body):
    sku: Text64
    category: Text64 | None = None
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_LINE_QUANTITY)]
    unit_price: Money = Field(description="the line's unit price as listed; when the lines add up to more than "
                                          "the total (an order-level discount), every line counts pro rata")


class PurchaseRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"order_id": "1001", "total": {"amount": "120.00", "currency": "USD"}, "channel": "online",
         "items": [{"sku": "latte", "quantity": 2, "unit_price": {"amount": "4.50", "currency": "USD"}}]}]})
    order_id: OrderId
    total: PositiveMoney
    channel: Literal["online", "store", "app"]
    occurred_at: Moment | None = None
    items: Annotated[list[LineItem], Field(max_length=MAX_LINES)] | None = Field(
        default=None, description="what was bought at line prices; rules on lines use each line's share of "
                                  "`total` (scaled down pro rata when the lines exceed it)")
    payment_fingerprint: Fingerprint | None = Field(default=None, description=(
        "the payment provider's card or account fingerprint (kept hashed): referral safeguards"))
    device_id: Fingerprint | None = Field(default=None, description="the device the order came from (kept hashed)")


class QuoteRequest(PurchaseRequest):
    """A purchase body, quoted before it is paid: `order_id` may not be known yet (then no order is checked)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"total": {"amount": "120.00", "currency": "USD"}, "channel": "online",
         "items": [{"sku": "latte", "quantity": 2, "unit_price": {"amount": "4.50", "currency": "USD"}}]}]})
    order_id: OrderId | None = None  # type: ignore[assignment]


class RedemptionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reward_id": "free-coffee"}, {"points": 100, "description": "Paid with points at the till"}],
        # Either a reward, or points with a description (null is the same as absent).
        "if": {"properties": {"points": {"type": "integer"}}, "required": ["points"]},
        "then": {"required": ["description"], "properties": {"description": {"type": "string"},
                                                            "reward_id": {"type": "null"}}},
        "else": {"required": ["reward_id"], "properties": {"reward_id": {"type": "string"}}}})
    reward_id: Identifier | None = None
    points: Points | None = None
    description: Text200 | None = None

    @model_validator(mode="after")
    def _one_way(self) -> RedemptionRequest:
        if (self.reward_id is None) == (self.points is None):
            raise ValueError("give either reward_id or points (with a description), not both")
        if self.points is not None and self.description is None:
            raise ValueError("a redemption by points needs a description")
        return self


class AdjustmentRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"points": 250, "reason": "Late delivery"}]})
    points: Annotated[StrictInt, Field(ge=-1_000_000_000, le=1_000_000_000, json_schema_extra={"not": {"const": 0}},
                                       description="points to add (positive) or take away (negative), not 0")]
    reason: Text500

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentRequest:
        if self.points == 0:
            raise ValueError("points must not be zero")
        return self


class RewardRequest(Body):
    reward_id: Identifier | None = None
    name: Text100
    description: Text1000 | None = None
    points: Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]
    tags: Annotated[list[Text100], Field(max_length=20)] = Field(default_factory=list)
    min_tier: Text100 | None = None
    stock: Annotated[StrictInt, Field(ge=0, le=1_000_000_000)] | None = None
    per_member_limit: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    partner_id: Identifier | None = None
    active: StrictBool = True
    membership_plans: Annotated[list[Slug], Field(max_length=20)] | None = Field(
        default=None, description="member-only: visible and redeemable only with one of these paid plans")

    @model_validator(mode="after")
    def _window(self) -> RewardRequest:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class ActionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "social_share", "reference": "post-123"}]})
    action: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    reference: Text200 | None = Field(default=None, description="e.g. the review or post id")
    details: Annotated[dict[PreferenceKey, Text500 | StrictInt | StrictBool], Field(max_length=20)] | None = None


class FeedbackRequest(Body):
    score: Annotated[StrictInt, Field(ge=0, le=10, description="How likely to recommend us, 0-10")]
    comment: Text1000 | None = None


class ReturnRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"order_id": "1001", "refund": {"amount": "30.00", "currency": "USD"}, "reason": "damaged"}]})
    order_id: OrderId
    refund: PositiveMoney
    items: Annotated[list[LineItem], Field(max_length=MAX_LINES)] | None = None
    reason: Text200 | None = None


class InviteRequest(Body):
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None
    count: Annotated[StrictInt, Field(ge=1, le=50)] = 1


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


class MembershipRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"plan_id": "prime", "payment_reference": "pi_3NfZ2", "action": "subscribe"}]})

    plan_id: Slug
    payment_reference: Annotated[str, StringConstraints(pattern=r"^[!-~]{1,128}$")]
    action: Literal["subscribe", "renew", "cancel"] = "subscribe"


class DonationRequest(Body):
    cause_id: Slug
    points: Points


class VisitRequest(Body):
    store_id: Identifier | None = None


class CodeBatchRequest(Body):
    name: Text100
    points: Annotated[StrictInt, Field(ge=1, le=1_000_000)]
    count: Annotated[StrictInt, Field(ge=1, le=10_000)]
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,8}$")] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    max_per_member: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None

    @model_validator(mode="after")
    def _window(self) -> CodeBatchRequest:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.points * self.count > MAX_BUDGET_POINTS:
            raise ValueError(f"points x count is the batch's budget: at most {MAX_BUDGET_POINTS:,} points")
        return self


class HoldRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"points": 500, "order_id": "basket-1001", "description": "Part payment at checkout"}]})
    points: Points
    order_id: OrderId | None = None
    description: Text200 | None = None
    expires_in_seconds: Annotated[StrictInt, Field(ge=60, le=86400, description=(
        "how long the hold lasts unless captured or released; then its points come back by themselves"))] = 900


class CaptureRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"points": 300}]})
    points: Annotated[Points | None, Field(description="what to spend (default: everything held); the rest "
                                                       "goes back to the member")] = None


class ReleaseRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class CancelRedemptionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "order refunded"}]})
    reason: Text500


class TransferRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"to_member_id": "member-42", "points": 500, "message": "Happy birthday!"}]})
    to_member_id: Identifier
    points: Points
    message: Text200 | None = None


class BlockRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "chargeback fraud"}]})
    reason: Text500


class ReferralDecisionRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "checked: a flatmate"}]})
    reason: Text500


class UnblockRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class RollbackRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 3}]})
    version: Annotated[StrictInt, Field(ge=1, le=10**8)]


# --- bulk import -------------------------------------------------------------------------------------


class ImportRequest(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "members", "format": "jsonl"}]})
    kind: Literal["members", "transactions"]
    format: Literal["jsonl", "csv"] = "jsonl"


class ImportLot(Body):
    points: Points
    expires_at: Moment | None = Field(default=None, description="absent: the points never expire")


class ImportMemberRow(Body):
    """One member of a members import (a JSONL line, or a CSV row flattened the same way)."""

    member_id: Identifier
    email: Email
    name: Text200
    enrolled_at: Moment
    tier: Text64 | None = Field(default=None, description="absent: the program's first tier")
    tier_since: Moment | None = Field(default=None, description="absent: enrolled_at")
    lots: Annotated[list[ImportLot], Field(max_length=200)] | None = None
    lifetime_earned: Annotated[StrictInt, Field(ge=0, le=10**12)] | None = Field(
        default=None, description="absent: the points of the lots")
    birthday: Birthday | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    preferences: Annotated[dict[PreferenceKey, PreferenceValue], Field(max_length=50)] | None = None
    consents: Annotated[dict[PreferenceKey, StrictBool], Field(max_length=50)] | None = None


class ImportTransactionRow(Body):
    """One historical purchase of a transactions import."""

    member_id: Identifier
    order_id: OrderId
    occurred_at: Moment
    total: PositiveMoney
    channel: Literal["online", "store", "app"]


class WhatIfRequest(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra={"examples": [
        {"config": {"name": "Demo", "currency": "USD", "earn_rates": {"online": 12}}, "from": "2026-01-01",
         "to": "2026-06-30"}]})
    config: dict[str, Any] = Field(description="a whole program config, as PUT /admin/program takes it")
    from_day: Day = Field(alias="from", description="first day of the period replayed (program time zone)")
    to_day: Day = Field(alias="to", description="last day of the period")

    @model_validator(mode="after")
    def _ordered(self) -> WhatIfRequest:
        if self.to_day < self.from_day:
            raise ValueError("to is on or after from")
        if (self.to_day - self.from_day).days > 3 * 366:
            raise ValueError("a period covers at most three years")
        return self
