"""Response shapes for the OpenAPI documents (and the fuzzer's conformance checks): what each route
answers, and the problem+json every error is."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from loyalty.domain.campaigns import Campaign
from loyalty.domain.entries import EntryType
from loyalty.domain.program import ProgramConfig


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
    held: int = Field(description="held for checkouts not yet captured or released (not in available)")
    lifetime_earned: int
    qualifying: int
    expiring_next_30_days: int


class MembershipViewOut(Out):
    """A paid membership as the member reads it today."""

    plan_id: str
    status: Literal["active", "expired"]
    started_on: str
    current_period_end: str = Field(description="the last day paid for (the program's time zone)")
    cancel_at_period_end: bool
    payment_reference: str | None = None
    name: str | None = None
    benefits: list[str]
    earn_multiplier: float


class TierReviewOut(Out):
    """When the member's tier is next reviewed, and what it needs by then to keep it."""

    at: str = Field(description="the start of the review day (program time zone), UTC")
    points_to_keep: int = Field(description="more qualifying points needed by then to keep the tier (0: kept)")


class MemberHouseholdOut(Out):
    household_id: str
    role: Literal["owner", "member"]


class MemberOut(Out):
    member_id: str
    email: str
    name: str
    birthday: str | None = None
    phone: str | None = None
    locale: str | None = None
    status: Literal["active", "blocked"] = Field(description="blocked: earns, spends, transfers and claims "
                                                          "nothing until an admin unblocks it; reads work")
    enrolled_at: str
    tier: TierOut
    next_tier: NextTierOut | None = None
    points: PointsOut
    preferences: dict[str, Any]
    consents: dict[str, Any]
    referral_code: str
    referred_by: str | None = None
    membership: MembershipViewOut | None = None
    tier_review: TierReviewOut | None = Field(default=None, description="null when the member cannot fall a tier")
    household: MemberHouseholdOut | None = Field(default=None, description="the household it belongs to")


class SourceOut(Out):
    """Where an entry came from; which fields are set depends on its type."""

    channel: str | None = Field(default=None, description="earn: online, store, app; partner_earn: partner")
    order_id: str | None = None
    partner_id: str | None = None
    action: str | None = Field(default=None, description="action: the engagement action awarded")
    reward_id: str | None = Field(default=None, description="redeem: the reward (null for points)")
    promotion_id: str | None = None
    code: str | None = Field(default=None, description="promo: the code claimed")
    cause_id: str | None = Field(default=None, description="donation: the cause")
    admin: str | None = Field(default=None, description="adjust: the admin who adjusted")
    feedback_id: str | None = Field(default=None, description="action survey: the feedback answered")
    year: int | None = Field(default=None, description="birthday: the year it was awarded for")
    reference: str | None = Field(default=None, description="action: the caller's reference (a review id)")
    referred_member_id: str | None = Field(default=None, description="referral actions: the friend")
    prize_id: str | None = Field(default=None, description="spin: the prize drawn")
    store_id: str | None = Field(default=None, description="visit: the store")
    hold_id: str | None = Field(default=None, description="redeem: the hold a checkout captured")
    household_id: str | None = Field(default=None, description=(
        "earns of a household's member (their points went to the pool), household entries"))
    member_id: str | None = Field(default=None, description=(
        "a household pool's entries: the member who joined or left, spent, or returned an order"))
    earned_in_household: str | None = Field(default=None, description=(
        "release: the household the pending points were earned in (they go to its pool)"))
    back_end: str | None = Field(default=None, description=(
        "redeem: the trusted back end (its token's sub) that redeemed or captured at a till for the member"))
    redemption_id: str | None = Field(default=None, description="redeem_reversal: the cancelled redemption")
    transfer_id: str | None = Field(default=None, description="transfer_out, transfer_in: the transfer")
    to_member_id: str | None = Field(default=None, description="transfer_out: the receiver")
    from_member_id: str | None = Field(default=None, description="transfer_in: the sender")
    import_id: str | None = Field(default=None, description="import: the bulk import that opened the balance")
    trigger: str | None = Field(default=None, description="bonus: the campaign trigger (action:<name>, enrollment)")
    line: int | None = Field(default=None, description="import: the line of the import's file")


class BreakdownRow(Out):
    rule: str
    points: int
    detail: str | None = None


class QuoteTierOut(Out):
    current: str = Field(description="the member's tier now")
    after: str = Field(description="its tier once this purchase is recorded (an upgrade shows here)")


class QuoteChallengeOut(Out):
    challenge_id: str
    progress_after: int
    completes: bool


class QuoteOut(Out):
    """What recording the purchase now would earn: computed exactly as the purchase is, nothing written."""

    points: int
    status: Literal["available", "pending"]
    breakdown: list[BreakdownRow]
    tier: QuoteTierOut
    campaigns: list[str] = Field(description="the campaigns that would give points (with budget left)")
    challenges: list[QuoteChallengeOut] = Field(description="challenges the purchase would advance")


class LedgerEntryOut(Out):
    entry_id: str
    member_id: str
    type: EntryType = Field(examples=["earn"])
    points: int
    occurred_at: str
    recorded_at: str
    source: SourceOut
    breakdown: list[BreakdownRow]
    balance_after: int
    status: Literal["available", "pending"] = Field(
        examples=["available"], description="pending: not spendable until released")
    expires_at: str | None = None
    qualifying_points: int
    reason: str | None = None
    description: str | None = None
    redemption: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    pooled_points: int | None = Field(default=None, description=(
        "a household member's earn: the points that went on to the household's pool (in the pool's activity, "
        "`points` and `balance_after` are the pool's); the member's balance_after leaves them out"))


class EntryPage(Out):
    items: list[LedgerEntryOut]
    next_cursor: str | None = None


class RedemptionOut(Out):
    redemption_id: str
    entry_id: str
    reward_id: str | None = None
    points: int
    code: str
    status: Literal["issued", "cancelled"]
    balance_after: int
    description: str | None = None
    redeemed_at: str
    hold_id: str | None = Field(default=None, description="a checkout's capture: the hold it spent")
    order_id: str | None = Field(default=None, description="a checkout's capture: the hold's order")
    cancelled_at: str | None = None
    reversal_id: str | None = Field(default=None, description="cancelled: the redeem_reversal entry")


class CancelledRedemptionOut(RedemptionOut):
    reversal: LedgerEntryOut = Field(description=(
        "the redeem_reversal entry: the points given back (details.points_not_returned: those of lots "
        "that expired meanwhile)"))


class HoldOut(Out):
    hold_id: str
    member_id: str
    points: int = Field(description="the points held")
    captured_points: int
    status: Literal["held", "captured", "released", "expired"]
    order_id: str | None = None
    description: str | None = None
    expires_at: str
    created_at: str
    closed_at: str | None = Field(default=None, description="when it was captured, released or found expired")
    redemption_id: str | None = Field(default=None, description="captured: the redemption it paid (cancellable)")
    balance_after: int = Field(description="the member's available points after this call")


class HoldPage(Out):
    items: list[HoldOut]
    next_cursor: str | None = None


class CapturedHoldOut(HoldOut):
    entry: LedgerEntryOut = Field(description="the redeem entry of the captured points")


class ReceivedEntryOut(LedgerEntryOut):
    balance_after: int | None = Field(  # type: ignore[assignment]
        description="the receiver's balance: shown to an admin only (null for the sending member)")


class TransferOut(Out):
    transfer_id: str
    points: int
    from_entry: LedgerEntryOut
    to_entry: ReceivedEntryOut


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


class SpinOddsOut(Out):
    prize_id: str
    kind: str
    points: int | None = None
    reward_id: str | None = None
    probability: str = Field(examples=["0.2500"], description="the prize's weight over all weights, 4 decimals")



class ProgramConfigIn(ProgramConfig):
    """The program config a PUT replaces whole (see the program config reference). `version` and
    `spin_odds` are what a GET adds: sent back, they are ignored, so GET -> edit -> PUT round-trips."""

    model_config = ConfigDict(title="ProgramConfig", defer_build=True)
    version: int | None = Field(default=None, json_schema_extra={"readOnly": True})
    spin_odds: list[SpinOddsOut] | None = Field(default=None, json_schema_extra={"readOnly": True})


class ProgramOut(ProgramConfig):
    """The program config in force, its version, and the prize wheel's odds when it has one."""

    model_config = ConfigDict(defer_build=True)
    version: int = Field(json_schema_extra={"readOnly": True})
    spin_odds: list[SpinOddsOut] | None = Field(default=None, json_schema_extra={"readOnly": True})


class MemberPage(Out):
    items: list[MemberOut]
    next_cursor: str | None = None


class AuditEntryOut(Out):
    audit_id: str
    at: str
    actor: str = Field(description="the admin's token `sub`")
    action: str = Field(examples=["points.adjusted"])
    target: str = Field(examples=["member:alice"])
    details: dict[str, Any]


class AuditPage(Out):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(default=None, description="pass as `after` for the next page")


class CampaignPage(Out):
    items: list[Campaign]


class CampaignGroupOut(Out):
    members: int = Field(description="members of the group who made a purchase the campaign matched")
    purchases: int
    revenue: MoneyOut


class CampaignReportOut(Out):
    campaign_id: str
    points_awarded: int
    budget_left: int | None = Field(description="null: no budget")
    members_reached: int = Field(description="members awarded at least once")
    treated: CampaignGroupOut
    holdout: CampaignGroupOut
    lift: str | None = Field(description="treated revenue per member over the holdout's, less one (decimal string); "
                                         "null until both groups have bought")


class SegmentMembersPage(Out):
    segment_id: str
    items: list[str] = Field(description="member ids in the segment now (a page may hold none and still go on)")
    next_cursor: str | None = None


class WhatIfStartedOut(Out):
    job_id: str
    status: Literal["running"]


class WhatIfPointsOut(Out):
    current: int = Field(description="points the period's purchases and actions earned")
    proposed: int = Field(description="points they would have earned under the proposed config")
    delta: int


class WhatIfReportOut(Out):
    purchases_replayed: int
    points: WhatIfPointsOut
    liability_value_delta: MoneyOut = Field(description="proposed points at the proposed point value, less "
                                                        "the current points at the current point value")
    tier_changes: dict[str, int] = Field(description='members by "current→proposed" tier at the end of the period')
    members_affected: int = Field(description="members whose points or tier would differ")


class WhatIfOut(Out):
    job_id: str
    status: Literal["running", "completed", "failed"]
    from_: str = Field(alias="from")
    to: str
    report: WhatIfReportOut | None = None
    error: str | None = None


class ImportErrorOut(Out):
    line: int = Field(description="the line of the file (a CSV's header is line 1); 0 when the error is not "
                                  "one row's (unit_failed: a page of transactions that went to the dead-letter queue; "
                                  "split_failed: the file's split did)")
    code: str = Field(examples=["invalid_row"])
    detail: str


class ImportOut(Out):
    import_id: str
    kind: Literal["members", "transactions"]
    format: Literal["jsonl", "csv"]
    status: Literal["awaiting_upload", "processing", "completed", "failed"]
    created_at: str
    rows: int = Field(description="rows in the file (known once it is uploaded)")
    imported: int
    skipped: int = Field(description="rows whose member id or order id was already recorded")
    failed: int
    errors: list[ImportErrorOut] = Field(description="the first 100 bad rows, by line")
    upload_url: str | None = Field(default=None, description="createImport only: PUT the file here, no headers")


class ProgramVersionOut(Out):
    version: int
    at: str
    actor: str | None = None


class ProgramVersionPage(Out):
    items: list[ProgramVersionOut]
    next_cursor: str | None = None


class ProgramVersionConfigOut(ProgramVersionOut):
    config: dict[str, Any] = Field(description="the program config as that version was PUT")


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
    status: Literal["erased"]
    erased_at: str
    ledger_entries_kept: int


class DailyOut(Out):
    date: str
    points_issued: int
    points_redeemed: int
    new_members: int
    active_members: int
    purchases: int


class PointsTotalsOut(Out):
    issued: int
    redeemed: int = Field(description="net of cancelled redemptions")
    expired: int
    returned: int
    adjusted_in: int
    adjusted_out: int
    transferred: int = Field(description="points members gave other members (not issued, not redeemed)")
    campaigns: int = Field(default=0, description="of the issued points, what campaigns gave")


class PurchasesOut(Out):
    count: int
    purchasers: int
    repeat_purchasers: int
    revenue: MoneyOut


class ReferralTotalsOut(Out):
    invited: int
    signed_up: int
    converted: int


class DonationTotalOut(Out):
    points: int
    value: MoneyOut


class PartnerFundingOut(Out):
    partner_id: str
    name: str
    points_funded: int
    months: list[str]
    by_promotion: dict[str, int] = Field(description="points funded per promotion id")


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
    points: PointsTotalsOut
    redemption_rate: str
    breakage_rate: str
    tiers: dict[str, int]
    engagement: dict[str, int]
    nps: NpsOut
    repeat_purchase_rate: str
    upsell_rate: str
    average_order_value: MoneyOut
    ltv: MoneyOut
    referrals: ReferralTotalsOut
    purchases: PurchasesOut
    redemptions: int = Field(description="net of cancelled redemptions")
    redemptions_cancelled: int
    transfers: int
    donations: dict[str, DonationTotalOut] = Field(description="per cause id")
    spins: int
    visits: int
    daily: list[DailyOut]
    partners: list[PartnerFundingOut] = Field(default_factory=list, description="points funded per partner")
    campaigns: list[CampaignSummaryOut] = Field(default_factory=list, description=(
        "campaigns whose window touches the period, with their results since they started"))


class CampaignSummaryOut(Out):
    campaign_id: str
    name: str
    active: bool
    points_awarded: int
    members_reached: int
    treated_members: int
    holdout_members: int
    lift: str | None = None


class FlaggedEntryOut(Out):
    member_id: str
    entry_id: str
    order_id: str | None = None
    points: int
    ceiling: int = Field(description="the most the order's money could have earned")
    reason: str


class FlaggedEntriesOut(Out):
    count: int
    excess_points: int = Field(description="points beyond the ceilings, summed")
    entries: list[FlaggedEntryOut] = Field(description="the first 50 found")
    checked_at: str


class LiabilityOut(Out):
    outstanding_points: int
    outstanding_value: MoneyOut
    expiring_next_30_days: int
    breakage_rate: str
    redeemed_points: int
    issued_points: int
    expired_points: int
    as_of: str = Field(description="the day (program's time zone) the totals are read on")
    flagged_entries: FlaggedEntriesOut | None = Field(default=None, description=(
        "purchases whose points exceed what their order's money could earn under any version of the program "
        "and its campaigns, as the latest daily reconciliation found them (null before its first run)"))


class PartnerOut(Out):
    partner_id: str
    name: str
    contact_email: str
    status: Literal["active"]
    created_at: str
    key_ids: list[str]
    usage_plan_id: str | None = None


class PartnerCreatedOut(PartnerOut):
    api_key: str | None = Field(description="shown once; null when a request is replayed")
    key_id: str


class ReferralRecordOut(Out):
    """A referred sign-up and what the safeguards made of it."""

    referral_id: str = Field(description="the referee's member id (a member is referred once)")
    referrer_id: str
    referee_id: str
    status: Literal["flagged", "pending", "rewarded", "rejected"] = Field(
        description="flagged: waiting for an admin; pending: its rewards are held (referrals.hold_days); rewarded: "
                    "given (or nothing to give); rejected: by an admin, or its first order fully returned while held")
    reasons: list[Literal["email", "phone", "device_id", "payment_fingerprint", "max_per_week",
                          "first_order_returned"]] = Field(
        description="why it was flagged (what the referee shares with its referrer, or the weekly cap), or why "
                    "its held rewards were cancelled (first_order_returned)")
    withheld: list[str] = Field(default_factory=list, description="referral actions not given while flagged")
    created_at: str
    updated_at: str | None = None
    decision_reason: str | None = None


class ReferralPage(Out):
    items: list[ReferralRecordOut]
    next_cursor: str | None = None


class PartnerPage(Out):
    items: list[PartnerOut]
    next_cursor: str | None = None


class KeyOut(Out):
    partner_id: str
    key_id: str
    api_key: str | None = None
    revoked: list[str] | None = None
    status: Literal["active", "revoked"] | None = None


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
    status: Literal["scheduled", "active", "ended"]
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
    partner_earns: int = Field(description="partner-earn calls the promotion boosted")


class SettlementPromotionOut(Out):
    promotion_id: str
    points: int
    value: MoneyOut


class SettlementOut(Out):
    partner_id: str
    month: str
    points_funded: int
    value_owed: MoneyOut
    point_value: MoneyOut
    by_promotion: list[SettlementPromotionOut]
    entries: int = Field(description="ledger entries the partner funded in the month")


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


def responses(status: int, model: type[BaseModel], description: str = "Success") -> dict[int, Any]:
    """The documented answers of a route: its success, and problem+json for every error status (and, where
    the gateway may answer instead of the function, its own {"message": ...})."""
    documented: dict[int, Any] = {status: {"description": description,
                                           "content": {"application/json": {"model": model}}}}
    for error in ERROR_STATUSES:
        content: dict[str, Any] = {"application/problem+json": {"model": Problem}}
        if error in GATEWAY_STATUSES:
            content["application/json"] = {"model": ProblemOrGatewayMessage}
        documented[error] = {"description": "A problem (RFC 9457) from the function, or the gateway's own "
                                            "{\"message\": ...}" if error in GATEWAY_STATUSES
                             else "A problem (RFC 9457)", "content": content}
    return documented


class HouseholdSeatOut(Out):
    member_id: str
    role: Literal["owner", "member"]
    joined_at: str
    contributed: int = Field(description="points its earns moved to the pool since it joined")


class HouseholdPointsOut(Out):
    available: int
    held: int
    qualifying: int


class HouseholdOut(Out):
    household_id: str
    name: str
    owner_id: str
    status: Literal["open", "closed"] = Field(description="closed once its owner left, alone")
    members: list[HouseholdSeatOut]
    points: HouseholdPointsOut = Field(description="the pool's")
    tier: TierOut | None = Field(default=None, description="the pool's tier, with tier_basis household")


class InvitationOut(Out):
    household_id: str
    code: str = Field(description="single use; shown once (stored only as its hash)")
    expires_at: str


class WebhookOut(Out):
    webhook_id: str
    url: str
    description: str | None = None
    status: Literal["active"]
    created_at: str
    secret: str | None = Field(default=None, description="shown once, when the webhook is registered")


class WebhookRemovedOut(Out):
    webhook_id: str
    status: Literal["deleted"]


class WebhookList(Out):
    items: list[WebhookOut]


class DeliveryOut(Out):
    webhook_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    attempt: int
    status: Literal["delivered", "failed"] | None = None
    http_status: int | None = None
    error: str | None = None
    at: str | None = None


class DeliveryPage(Out):
    items: list[DeliveryOut]
    next_cursor: str | None = None


class MembershipOut(Out):
    member_id: str
    membership: MembershipViewOut | None = None
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
    status: Literal["issued", "used"]
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
