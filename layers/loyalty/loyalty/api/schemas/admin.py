"""Shapes of what the back office and partners are answered: audit, campaigns, what-if, imports, program
versions, referrals, exports, metrics, liability, partners, promotions, settlements and webhooks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from loyalty.api.schemas.common import Out
from loyalty.api.schemas.members import LedgerEntryOut, MemberOut, MoneyOut
from loyalty.domain.campaigns import Campaign


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
    badges: list[dict[str, Any]] = Field(default_factory=list, description="the badges the member earned")
    challenges_completed: list[dict[str, Any]] = Field(default_factory=list, description=(
        "the challenges it completed (with their summary)"))


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
    challenges_completed: dict[str, int] = Field(default_factory=dict, description=(
        "completions per challenge id in the period (from the stream: `challenge` entries)"))
    streak_rewards: dict[str, int] = Field(default_factory=dict, description="streak rewards given per streak id")
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


class DayRootOut(Out):
    date: str
    root: str


class SettlementOut(Out):
    partner_id: str
    month: str
    points_funded: int
    value_owed: MoneyOut
    point_value: MoneyOut
    by_promotion: list[SettlementPromotionOut]
    entries: int = Field(description="ledger entries the partner funded in the month")
    checkpoints: list[DayRootOut] = Field(default_factory=list, description=(
        "the ledger's signed daily roots of the month's days checkpointed so far (docs/ledger-proofs.md)"))


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


class CodeBatchOut(Out):
    promotion_id: str
    name: str
    points: int
    starts_at: str
    ends_at: str
    count: int
    codes: list[str]
