"""A holder of points and the records a change of it makes (no rules here: domain.member has them).

`Member` is a member or a household's pool as the use cases see it: the store maps its item to one and back
(store.members.member_of / item_of). `PointsHolder` is the shape the rules read and change. A change makes
plain `Entry` and `ClosedHold` records; `Hold` and `Order` are the holds and orders as read or to write. The
store turns them into items when it commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class PointsHolder(Protocol):
    """What the rules read and change on a holder of points (a `Member` has these)."""

    member_id: Any
    status: Any
    tier: Any
    tier_since: Any
    tier_review_day: Any
    available: Any
    debt: Any
    pending: Any
    pending_lots: Any
    lifetime_earned: Any
    action_counts: Any
    last_activity_day: Any
    holds: Any
    expiry_notified: Any
    tier_reminded: Any
    birthday: Any
    birthday_awarded_year: Any
    membership: Any
    household: Any  # {household_id, role, contributed} while the holder is a household's member

    @property
    def lots(self) -> dict[str, int]: ...

    @lots.setter
    def lots(self, value: dict[str, int]) -> None: ...

    @property
    def qualifying_days(self) -> dict[str, int]: ...

    @qualifying_days.setter
    def qualifying_days(self, value: dict[str, int]) -> None: ...

    def set_next_due(self, day: str | None) -> None:
        """The holder's next day with scheduled work (None: none)."""


@dataclass
class Member:
    """A member (or a household's pool) as the rules see it: its profile, its points and what the rules keep
    on it. The store maps its item to one and back (store.members.member_of / item_of); `stored` is the
    store's record of what it read, which nothing else looks at."""

    member_id: str
    tier: str
    tier_since: str
    status: str = "active"
    tier_review_day: str | None = None
    lots: dict[str, int] = field(default_factory=dict)
    qualifying_days: dict[str, int] = field(default_factory=dict)
    available: int = 0
    debt: int = 0
    pending: int = 0
    pending_lots: list[dict[str, Any]] = field(default_factory=list)
    lifetime_earned: int = 0
    action_counts: dict[str, Any] = field(default_factory=dict)
    last_activity_day: str | None = None
    holds: dict[str, dict[str, Any]] = field(default_factory=dict)
    expiry_notified: list[str] | None = field(default_factory=list)
    tier_reminded: list[str] | None = None
    birthday: str | None = None
    birthday_awarded_year: int | None = None
    membership: dict[str, Any] | None = None
    household: dict[str, Any] | None = None
    # The day of its next scheduled work (None: none).
    due_day: str | None = None
    # The profile.
    email: str = ""
    name: str = ""
    phone: str | None = None
    locale: str | None = None
    nickname: str | None = None
    preferences: dict[str, Any] | None = None
    consents: dict[str, Any] | None = None
    referral_code: str = ""
    referred_by: str | None = None
    enrolled_at: str = ""
    enrolled_day: str | None = None
    profile_completed_at: str | None = None
    imported_by: str | None = None
    # What the rules keep: caps, purchase history, referral safeguards, campaigns, games, leaderboards.
    reward_counts: dict[str, Any] = field(default_factory=dict)
    last_purchase_day: str | None = None
    purchase_days: list[str] = field(default_factory=list)
    sku_days: dict[str, Any] = field(default_factory=dict)
    purchases: int = 0
    device_hashes: list[str] | None = None
    payment_hashes: list[str] | None = None
    referral_status: str | None = None
    referrals: dict[str, Any] = field(default_factory=dict)
    transfers_sent: dict[str, Any] | None = None
    campaign_counts: dict[str, Any] | None = None
    challenge_progress: dict[str, Any] | None = None
    streak_progress: dict[str, Any] | None = None
    board: dict[str, Any] | None = None
    board_changed_at: str | None = None
    stored: Any = field(default=None, repr=False, compare=False)

    def set_next_due(self, day: str | None) -> None:
        self.due_day = day


@dataclass
class Entry:
    """One ledger entry, as the rules make it (the store keeps it as an item of the member's partition)."""

    entry_id: str
    member_id: str
    type: str
    points: int
    occurred_at: str
    recorded_at: str
    day: str
    balance_after: int
    recorded_day: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    status: str = "available"
    expires_at: str | None = None
    qualifying: int = 0
    qualifying_day: str | None = None
    lots: dict[str, int] | None = None
    amount: str | None = None
    reason: str | None = None
    description: str | None = None
    redemption: dict[str, Any] | None = None
    reversal_id: str | None = None
    previous_activity_day: str | None = None
    details: dict[str, Any] | None = None
    facts: dict[str, Any] | None = None
    # An earn of a household's member whose lots went on to the household's pool (domain.households): the
    # household, the points the pool received (the earn's lots) and the pool's balance after them. The
    # member's own balance_after leaves them out.
    pooled_to: str | None = None
    pooled_points: int | None = None
    pooled_balance_after: int | None = None
    # What each point issued defers in revenue (finance.ssp_per_point when written: a later change of the
    # config never rewrites it), a decimal string in the program currency; issuing and import entries only.
    ssp: str | None = None


class SpentEntry(Protocol):
    """A spend as the ledger has it (an `Entry`, or the store's item of one): what a cancellation gives back."""

    entry_id: Any
    points: Any
    lots: Any
    redemption: Any


@dataclass
class Order:
    """A purchase recorded once, by its order id: what it earned, and what its returns took back."""

    order_id: str
    member_id: str
    entry_id: str
    total: str
    currency: str
    points: int
    qualifying: int
    earned_day: str
    lot: str
    channel: str
    refunded: str = "0"
    pending: int = 0  # 1 while the order's points wait for pending_days
    # A referee's first order while referral rewards may be held: the referrer (its full return cancels them).
    referral_of: str | None = None
    # The household whose pool received the order's points (its return takes them back from the pool).
    household_id: str | None = None
    points_returned: int = 0
    qualifying_returned: int = 0
    # The bulk import that recorded the order (a re-run of that import counts it as its own).
    import_id: str | None = None
    # The store's: where the order is kept (None: under its order id), and what it read (its version).
    key: tuple[str, str] | None = field(default=None, repr=False, compare=False)
    stored: Any = field(default=None, repr=False, compare=False)


@dataclass
class Hold:
    """Points held at a checkout until captured, released or expired (the store keeps it as an item of the
    member's partition; the member's `holds` map has its lots)."""

    hold_id: str
    member_id: str
    points: int
    expires_at: str
    created_at: str
    balance_after: int
    captured_points: int = 0
    status: str = "held"  # held, captured, released, expired
    order_id: str | None = None
    description: str | None = None
    lots: dict[str, int] = field(default_factory=dict)
    closed_id: str | None = None
    closed_at: str | None = None
    redemption_id: str | None = None


@dataclass
class ClosedHold:
    """A hold closed by a change: captured, released or found expired (its points spent or back)."""

    hold_id: str
    member_id: str
    status: str
    closed_id: str
    closed_at: str
    balance_after: int
    captured_points: int = 0
    redemption_id: str | None = None
