"""The one vocabulary of ledger entry types, and what each type means for the program's numbers.

Every module that classifies entries (activity for recency and churn, points issued for metrics,
events and business metrics, lots credited for reconciliation) asks the type here."""

from __future__ import annotations

from enum import StrEnum


class EntryType(StrEnum):
    EARN = "earn"  # a purchase
    REDEEM = "redeem"
    RETURN = "return"  # points clawed back by a refund
    ADJUST = "adjust"  # an admin's correction, either sign
    EXPIRE = "expire"
    ACTION = "action"  # engagement: share, review, survey, profile, check-in, referral reward
    PARTNER_EARN = "partner_earn"
    PROMO = "promo"  # a partner promotion's points (a code claim)
    BONUS = "bonus"  # in the contract's list; no use case writes it today
    TIER_CHANGE = "tier_change"
    REFERRAL = "referral"  # accepted as a filter since the first scope; no use case writes it today
    BIRTHDAY = "birthday"
    FEEDBACK = "feedback"  # an NPS answer, 0 points
    RELEASE = "release"  # pending points becoming available
    REFERRAL_INVITE = "referral_invite"
    EXPIRY_NOTICE = "expiry_notice"
    TIER_REMINDER = "tier_reminder"  # 0 points: the tier is reviewed soon and needs more points (tier.at_risk)
    SPIN = "spin"
    DONATION = "donation"
    VISIT = "visit"
    MEMBERSHIP = "membership"
    REDEEM_REVERSAL = "redeem_reversal"  # a cancelled redemption: its points back into their lots
    TRANSFER_OUT = "transfer_out"  # points given to another member (negative)
    TRANSFER_IN = "transfer_in"  # points received from another member: a lot, neither earned nor qualifying
    IMPORT = "import"  # a migrated member's opening balance (its lots); lifetime_earned in its details
    # Held referral rewards cancelled (negative, pending): the referee's first order was fully returned.
    # Neither a return of the referrer's nor its activity.
    REFERRAL_REVERSAL = "referral_reversal"
    # A return of an order whose points went to a household's pool: the pool's entry (negative: the lots it
    # gives back, and the qualifying points) and the member's (the same lots, which its return entry then
    # takes). Neither issues points nor is activity. (An earn is pooled with no entry of its own: the earn
    # entry records it, see domain.households.contribute.)
    HOUSEHOLD_OUT = "household_out"
    HOUSEHOLD_IN = "household_in"
    # 0 points, on the pool's ledger: a member joined or left (household.member_joined / member_left).
    HOUSEHOLD = "household"
    CHALLENGE = "challenge"  # a challenge completed: its reward's points (0 when it gives a badge only)
    STREAK = "streak"  # a streak reward reached

    @property
    def issues_points(self) -> bool:
        """Its positive points are points the program issued (metrics, `points.earned` events)."""
        return self in _ISSUING

    @property
    def is_activity(self) -> bool:
        """It makes the member active on its day (recency, churn, retention)."""
        return self in _ACTIVITY

    @property
    def credits_lots(self) -> bool:
        """Its positive points were earned: lifetime_earned counts them (reconciliation adds them up). A
        redemption given back or points received by transfer become lots too, but are not earned."""
        return self in _ISSUING or self is EntryType.ADJUST


# A household's pool is a holder of points kept under this member id prefix (loyalty.domain.households): never a
# member of the program's numbers (no enrollment, no activity), though its entries move points like any.
POOL_PREFIX = "household#"


def is_pool(member_id: str) -> bool:
    return member_id.startswith(POOL_PREFIX)


_ISSUING = frozenset({EntryType.EARN, EntryType.ACTION, EntryType.PARTNER_EARN, EntryType.PROMO, EntryType.BONUS,
                      EntryType.REFERRAL, EntryType.BIRTHDAY, EntryType.RELEASE, EntryType.SPIN,
                      EntryType.CHALLENGE, EntryType.STREAK})
_ACTIVITY = frozenset({EntryType.EARN, EntryType.REDEEM, EntryType.ACTION, EntryType.PARTNER_EARN, EntryType.PROMO,
                       EntryType.REFERRAL, EntryType.RETURN, EntryType.BONUS, EntryType.SPIN, EntryType.VISIT,
                       EntryType.DONATION, EntryType.TRANSFER_OUT})

ISSUING_TYPES = frozenset(EntryType(kind) for kind in _ISSUING)
ACTIVITY_TYPES = frozenset(EntryType(kind) for kind in _ACTIVITY)
LOT_CREDITING_TYPES = frozenset(kind for kind in EntryType if kind.credits_lots)
