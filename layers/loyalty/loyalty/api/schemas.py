"""Response shapes for the OpenAPI documents (and the fuzzer's conformance checks): what each route
answers, and the problem+json every error is."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    # Responses may grow fields; clients ignore what they do not know. These models only feed the OpenAPI
    # documents, so their validators are not built at import (defer_build), saving cold-start time.
    model_config = ConfigDict(extra="allow", defer_build=True)


class Problem(Out):
    type: str = Field(examples=["urn:loyalty:problem:insufficient_points"])
    title: str = Field(examples=["Not enough available points"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["500 points requested, 120 available"])
    code: str = Field(examples=["insufficient_points"])
    errors: list[dict[str, Any]] | None = Field(default=None, description="422: one entry per bad field")


class MoneyOut(Out):
    amount: str = Field(examples=["12.50"])
    currency: str = Field(examples=["USD"])


class TierOut(Out):
    name: str
    since: str
    multiplier: float
    benefits: list[str]


class NextTierOut(Out):
    name: str
    points_needed: int


class PointsOut(Out):
    available: int
    pending: int
    lifetime_earned: int
    qualifying: int
    expiring_next_30_days: int


class MemberOut(Out):
    member_id: str
    email: str
    name: str
    birthday: str | None = None
    phone: str | None = None
    locale: str | None = None
    status: str
    enrolled_at: str
    tier: TierOut
    next_tier: NextTierOut | None = None
    points: PointsOut
    preferences: dict[str, Any]
    consents: dict[str, Any]
    referral_code: str
    referred_by: str | None = None


class SourceOut(Out):
    channel: str | None = None
    order_id: str | None = None
    partner_id: str | None = None
    action: str | None = None


class BreakdownRow(Out):
    rule: str
    points: int
    detail: str | None = None


class LedgerEntryOut(Out):
    entry_id: str
    member_id: str
    type: str = Field(examples=["earn"])
    points: int
    occurred_at: str
    recorded_at: str
    source: SourceOut
    breakdown: list[BreakdownRow]
    balance_after: int
    status: str = Field(examples=["available"])
    expires_at: str | None = None
    qualifying_points: int
    reason: str | None = None
    description: str | None = None
    redemption: dict[str, Any] | None = None
    details: dict[str, Any] | None = None


class EntryPage(Out):
    items: list[LedgerEntryOut]
    next_cursor: str | None = None


class RedemptionOut(Out):
    redemption_id: str
    entry_id: str
    reward_id: str | None = None
    points: int
    code: str
    status: str
    balance_after: int
    description: str | None = None
    redeemed_at: str


class RewardOut(Out):
    reward_id: str
    name: str | None = None
    description: str | None = None
    points: int | None = None
    tags: list[str]
    min_tier: str | None = None
    stock: int | None = None
    per_member_limit: int | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    partner_id: str | None = None
    active: bool


class RewardPage(Out):
    items: list[RewardOut]
    next_cursor: str | None = None


class OfferOut(RewardOut):
    affordable: bool
    points_needed: int
    personalized: bool


class PromotionOfferOut(Out):
    promotion_id: str
    partner_id: str
    partner: str | None = None
    name: str | None = None
    kind: str | None = None
    points: int | None = None
    multiplier: str | None = None
    ends_at: str | None = None
    description: str | None = None


class Offers(Out):
    items: list[OfferOut | PromotionOfferOut] = Field(
        description="rewards (reward_id) first, best first, then partner promotions (promotion_id)")


class ProgramOut(Out):
    """The program config as last PUT (see the contract), plus its version."""

    version: int


class ReferralOut(Out):
    referral_code: str
    invited: int
    signed_up: int
    converted: int
    points_earned: int


class FeedbackOut(Out):
    feedback_id: str
    score: int
    points_awarded: int
    entry: LedgerEntryOut | None = None


class ExportOut(Out):
    exported_at: str
    member: dict[str, Any]
    view: MemberOut
    activity: list[LedgerEntryOut]


class ErasureOut(Out):
    member_id: str
    status: str
    erased_at: str
    ledger_entries_kept: int


class DailyOut(Out):
    date: str
    points_issued: int
    points_redeemed: int
    new_members: int
    active_members: int


class MembersOut(Out):
    start: int
    end: int
    new: int
    retained: int
    total: int


class NpsOut(Out):
    responses: int
    promoters: int
    passives: int
    detractors: int
    score: float | None = None


class MetricsOut(Out):
    from_: str = Field(alias="from")
    to: str
    members: MembersOut
    retention_rate: str | None = None
    churn_rate: str | None = None
    points: dict[str, int]
    redemption_rate: str
    breakage_rate: str
    tiers: dict[str, int]
    engagement: dict[str, int]
    nps: NpsOut
    repeat_purchase_rate: str
    upsell_rate: str
    average_order_value: MoneyOut
    ltv: MoneyOut
    referrals: dict[str, int]
    daily: list[DailyOut]
    partners: list[dict[str, Any]] = Field(default_factory=list, description="points funded per partner")


class LiabilityOut(Out):
    outstanding_points: int
    outstanding_value: MoneyOut
    expiring_next_30_days: int
    breakage_rate: str


class PartnerOut(Out):
    partner_id: str
    name: str
    contact_email: str
    status: str
    created_at: str
    key_ids: list[str]
    usage_plan_id: str | None = None


class PartnerCreatedOut(PartnerOut):
    api_key: str | None = Field(description="shown once; null when a request is replayed")
    key_id: str


class PartnerPage(Out):
    items: list[PartnerOut]
    next_cursor: str | None = None


class KeyOut(Out):
    partner_id: str
    key_id: str
    api_key: str | None = None
    revoked: list[str] | None = None
    status: str | None = None


class PromotionOut(Out):
    promotion_id: str
    partner_id: str
    name: str
    kind: str
    points: int | None = None
    multiplier: str | None = None
    starts_at: str
    ends_at: str
    budget_points: int
    max_per_member: int | None = None
    audience: dict[str, Any] | None = None
    description: str | None = None
    created_at: str
    status: str
    budget_left: int | None = None


class PromotionPage(Out):
    items: list[PromotionOut]
    next_cursor: str | None = None


class CodesOut(Out):
    promotion_id: str
    count: int
    codes: list[str]


class ReportOut(Out):
    promotion_id: str
    codes_issued: int
    codes_claimed: int
    points_awarded: int
    members_reached: int
    new_members: int
    budget_left: int


class SettlementOut(Out):
    partner_id: str
    month: str
    points_funded: int
    value_owed: MoneyOut
    by_promotion: list[dict[str, Any]]


ERROR_STATUSES = (400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503)


class GatewayMessage(Out):
    """What API Gateway itself answers (a missing or bad token or key, a denied key, throttling)."""

    message: str | None = Field(examples=["Unauthorized"])


# Statuses API Gateway may answer itself, before any function: {"message": ...} as application/json.
GATEWAY_STATUSES = (401, 403, 429)


def responses(status: int, model: type[BaseModel], description: str = "Success") -> dict[int, Any]:
    """The documented answers of a route: its success, and problem+json for every error status (and, where
    the gateway may answer instead of the function, its own {"message": ...})."""
    documented: dict[int, Any] = {status: {"description": description,
                                           "content": {"application/json": {"model": model}}}}
    for error in ERROR_STATUSES:
        content: dict[str, Any] = {"application/problem+json": {"model": Problem}}
        if error in GATEWAY_STATUSES:
            content["application/json"] = {"model": GatewayMessage}
        documented[error] = {"description": "A problem (RFC 9457) from the function, or the gateway's own "
                                            "{\"message\": ...}" if error in GATEWAY_STATUSES
                             else "A problem (RFC 9457)", "content": content}
    return documented


class WebhookOut(Out):
    webhook_id: str
    url: str
    description: str | None = None
    status: str
    created_at: str
    secret: str | None = Field(default=None, description="shown once, when the webhook is registered")


class WebhookList(Out):
    items: list[WebhookOut]


class DeliveryOut(Out):
    webhook_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    attempt: int
    status: str | None = None
    http_status: int | None = None
    error: str | None = None
    at: str | None = None


class DeliveryPage(Out):
    items: list[DeliveryOut]
    next_cursor: str | None = None


class MembershipOut(Out):
    member_id: str
    membership: dict[str, Any] | None = None
    entry_id: str


class SpinOut(Out):
    spin_id: str
    prize: dict[str, Any]
    points: int
    balance_after: int


class VoucherOut(Out):
    code: str
    voucher_id: str
    name: str
    status: str
    valid_until: str | None = None
    used_at: str | None = None


class VisitOut(Out):
    visit_id: str
    voucher: VoucherOut


class CodeBatchOut(Out):
    promotion_id: str
    name: str
    points: int
    starts_at: str
    ends_at: str
    count: int
    codes: list[str]
