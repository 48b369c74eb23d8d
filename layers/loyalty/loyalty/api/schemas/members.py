"""Shapes of what members and their apps are answered: the member, its ledger, spends, holds, rewards,
offers, households, memberships, spins and vouchers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from loyalty.api.schemas.common import Out
from loyalty.domain.entries import EntryType
from loyalty.domain.program import ProgramConfig


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
    nickname: str | None = Field(default=None, description="shown on leaderboards (else the first name and the "
                                                          "initial of the last name)")
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
    challenge_id: str | None = Field(default=None, description="challenge: the challenge completed")
    streak_id: str | None = Field(default=None, description="streak: the streak whose reward was reached")
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
