"""The program config: what a loyalty team sets with PUT /admin/program, validated whole."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from loyalty.domain.gamification import Streak
from loyalty.domain.money import CURRENCY_RE, parse_amount

Channel = Literal["online", "store", "app"]
Period = Literal["day", "week", "month", "quarter", "year", "lifetime"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
ActionName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# Ids a program picks for plans, prizes, vouchers and causes: lower case, digits, dashes, underscores.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=CURRENCY_RE.pattern)]
Multiplier = Annotated[Decimal, Field(gt=0, le=100, max_digits=12, decimal_places=6)]
Rate = Annotated[Decimal, Field(ge=0, le=100000, max_digits=16, decimal_places=8)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyConfig(Strict):
    # Its fraction digits are checked against the currency's minor units below.
    amount: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$")]
    currency: CurrencyCode

    @model_validator(mode="after")
    def _amount_is_decimal_string(self) -> MoneyConfig:
        parse_amount(self.amount, self.currency, "amount", positive=False)
        return self

    @property
    def value(self) -> Decimal:
        return Decimal(self.amount)


class Tier(Strict):
    name: Name
    threshold: Annotated[int, Field(ge=0, le=10**9)]
    multiplier: Multiplier = Decimal(1)
    benefits: list[Annotated[str, StringConstraints(max_length=100)]] = Field(default_factory=list, max_length=50)


class ActionLimit(Strict):
    count: Annotated[int, Field(ge=1, le=10**6)]
    per: Period


class ActionRule(Strict):
    points: Annotated[int, Field(ge=0, le=10**7)]
    limit: ActionLimit | None = None
    # Whether the points count towards tiers (qualifying points). Engagement counts by default.
    qualifying: bool = True


class BonusEvent(Strict):
    name: Name
    starts_at: datetime
    ends_at: datetime
    multiplier: Multiplier
    channels: list[Channel] | None = None  # None: every channel

    @model_validator(mode="after")
    def _window(self) -> BonusEvent:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone offset (RFC 3339)")
        if not all(1970 <= moment.year <= 2999 for moment in (self.starts_at, self.ends_at)):
            raise ValueError("the years of starts_at and ends_at must be between 1970 and 2999")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def active_at(self, moment: datetime, channel: str) -> bool:
        return self.starts_at <= moment < self.ends_at and (self.channels is None or channel in self.channels)


class Expiry(Strict):
    """`rolling`: a lot expires `days` after it was earned. `end_of_period`: at the end of the `period`
    in which it was earned. `inactivity`: all points expire after `days` without activity. `none`."""

    policy: Literal["rolling", "end_of_period", "inactivity", "none"] = "none"
    days: Annotated[int, Field(ge=1, le=36500)] | None = None
    period: Literal["month", "quarter", "year"] | None = None
    # A points.expiring event this many days before a lot expires (0: none).
    notice_days: Annotated[int, Field(ge=0, le=365)] = 7

    @model_validator(mode="after")
    def _needs(self) -> Expiry:
        if self.policy in ("rolling", "inactivity") and self.days is None:
            raise ValueError(f"expiry policy {self.policy} needs days")
        if self.policy == "end_of_period" and self.period is None:
            raise ValueError("expiry policy end_of_period needs period")
        return self


class MembershipPlan(Strict):
    """A paid membership (Amazon Prime, Barnes & Noble Premium): benefits while it is paid for."""

    name: Name
    price: MoneyConfig
    period: Literal["month", "year"]
    benefits: list[Annotated[str, StringConstraints(max_length=100)]] = Field(default_factory=list, max_length=50)
    # Stacks with the tier's and the bonus events' multipliers: base x tier x membership x bonus events.
    earn_multiplier: Multiplier = Decimal(1)


class SpinPrize(Strict):
    prize_id: Slug
    kind: Literal["points", "reward", "nothing"]
    weight: Annotated[int, Field(ge=1, le=1_000_000)]
    points: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    reward_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$")] | None = None
    label: Annotated[str, StringConstraints(max_length=100)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> SpinPrize:
        if self.kind == "points" and self.points is None:
            raise ValueError("a points prize needs points")
        if self.kind == "reward" and self.reward_id is None:
            raise ValueError("a reward prize needs reward_id")
        return self


class Spin(Strict):
    """Spin to win (MyHunkemöller's wheel): weighted prizes, a per-member limit, a budget of points."""

    prizes: list[SpinPrize] = Field(min_length=1, max_length=50)
    limit: ActionLimit
    budget_points: Annotated[int, Field(ge=0, le=10**12)]

    def odds(self) -> list[dict[str, object]]:
        total = sum(prize.weight for prize in self.prizes)
        return [{"prize_id": prize.prize_id, "kind": prize.kind, "points": prize.points, "reward_id": prize.reward_id,
                 "probability": str((Decimal(prize.weight) / Decimal(total)).quantize(Decimal("0.0001")))}
                for prize in self.prizes]


class Cause(Strict):
    name: Name
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class Voucher(Strict):
    voucher_id: Slug
    name: Name
    tags: list[Annotated[str, StringConstraints(max_length=100)]] = Field(default_factory=list, max_length=20)


class VisitRewards(Strict):
    """A check-in that hands out a personal single-use voucher (IKEA's hot drink, La Place's offer)."""

    limit: ActionLimit = Field(default_factory=lambda: ActionLimit(count=1, per="day"))
    vouchers: list[Voucher] = Field(min_length=1, max_length=100)
    valid_days: Annotated[int, Field(ge=1, le=365)] = 7


class Transfers(Strict):
    """Members giving points to other members. Absent from the config: transfers are disabled."""

    enabled: bool = False
    min_points: Annotated[int, Field(ge=1, le=10**9)] = 100
    max_points_per_month: Annotated[int, Field(ge=1, le=10**12)] = 5000
    # The sender must be in this tier or a higher one (None: any tier).
    min_tier: Name | None = None


BreakageRate = Annotated[Decimal, Field(ge=0, lt=1, max_digits=6, decimal_places=4)]


class Breakage(Strict):
    """The share of points expected never to be redeemed (IFRS 15 B46): `fixed` at `rate`, or `historical`
    from the program's own ledger (points expired over points issued once past their expiry window; `rate`
    while there is no such history)."""

    method: Literal["fixed", "historical"] = "fixed"
    rate: BreakageRate | None = None

    @model_validator(mode="after")
    def _rate_when_fixed(self) -> Breakage:
        if self.method == "fixed" and self.rate is None:
            raise ValueError("a fixed breakage needs its rate")
        return self


class Finance(Strict):
    """Deferred revenue (contract: "Finance"): the stand-alone selling price of a point, recorded on each
    issuing entry when it is written, and the expected breakage."""

    ssp_per_point: MoneyConfig | None = None  # default: point_value
    breakage: Breakage = Field(default_factory=lambda: Breakage(method="fixed", rate=Decimal(0)))


class Households(Strict):
    """Members pooling their points (loyalty.domain.households). Absent from the config: no households."""

    enabled: bool = False
    max_members: Annotated[int, Field(ge=2, le=20)] = 6
    # "household": every member's tier follows the pool's qualifying points.
    tier_basis: Literal["member", "household"] = "member"
    members_may_spend: bool = True


ReminderDays = Annotated[list[Annotated[int, Field(ge=1, le=365)]], Field(max_length=10)]


class Reminders(Strict):
    """Days before a lot expires (`points.expiring`) and before a tier review (`tier.at_risk`) on which the
    member is reminded, once each. Absent from the config: one expiry notice, `expiry.notice_days` before."""

    expiry_days: ReminderDays = Field(default_factory=list)
    tier_review_days: ReminderDays = Field(default_factory=list)

    @field_validator("expiry_days", "tier_review_days")
    @classmethod
    def _distinct(cls, days: list[int]) -> list[int]:
        if len(set(days)) != len(days):
            raise ValueError("each reminder day may be listed once")
        return days


ReferralCheck = Literal["email", "phone", "device_id", "payment_fingerprint"]
ALL_REFERRAL_CHECKS: tuple[ReferralCheck, ...] = ("email", "phone", "device_id", "payment_fingerprint")


class Referrals(Strict):
    """Referral safeguards (see loyalty.domain.referrals). Absent from the config: every check, no weekly cap."""

    # Referral rewards held pending for this many days (0: available at once); a referee's first order fully
    # returned meanwhile cancels what is still held.
    hold_days: Annotated[int, Field(ge=0, le=365)] = 0
    max_per_week: Annotated[int, Field(ge=1, le=10_000)] | None = None
    block_same: Annotated[list[ReferralCheck], Field(max_length=4)] = Field(
        default_factory=lambda: list(ALL_REFERRAL_CHECKS))

    @field_validator("block_same")
    @classmethod
    def _distinct(cls, checks: list[str]) -> list[str]:
        if len(set(checks)) != len(checks):
            raise ValueError("each check may be listed once")
        return checks


class ProgramConfig(Strict):
    name: Name
    currency: CurrencyCode
    timezone: str
    earn_rates: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")], Rate]
    exchange_rates: dict[CurrencyCode, Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=10)]] = (
        Field(default_factory=dict)
    )
    point_value: MoneyConfig
    rounding: Literal["floor", "ceil", "half_up", "half_even"] = "floor"
    pending_days: Annotated[int, Field(ge=0, le=365)] = 0
    expiry: Expiry = Field(default_factory=Expiry)
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    tier_window_days: Annotated[int, Field(ge=1, le=3650)] = 365
    tier_retention_days: Annotated[int, Field(ge=0, le=3650)] = 365
    actions: dict[ActionName, ActionRule] = Field(default_factory=dict)
    bonus_events: list[BonusEvent] = Field(default_factory=list, max_length=200)
    return_policy: Literal["allow_negative", "within_balance"] = "allow_negative"
    memberships: dict[Slug, MembershipPlan] = Field(default_factory=dict)
    spin: Spin | None = None
    causes: dict[Slug, Cause] = Field(default_factory=dict)
    visit_rewards: VisitRewards | None = None
    transfers: Transfers | None = None
    reminders: Reminders | None = None
    referrals: Referrals | None = None
    households: Households | None = None
    streaks: Annotated[list[Streak], Field(max_length=20)] = Field(default_factory=list)
    finance: Finance = Field(default_factory=Finance)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProgramConfig:
        thresholds = [tier.threshold for tier in self.tiers]
        if thresholds[0] != 0:
            raise ValueError("the first tier must have threshold 0 (new members start there)")
        if any(b <= a for a, b in pairwise(thresholds)):
            raise ValueError("tier thresholds must be strictly increasing")
        names = [tier.name for tier in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        if self.currency in self.exchange_rates:
            raise ValueError("exchange_rates must not list the program currency")
        if self.point_value.currency != self.currency:
            raise ValueError("point_value must be in the program currency")
        if self.transfers is not None and self.transfers.min_tier is not None and self.transfers.min_tier not in names:
            raise ValueError("transfers.min_tier must be the name of a tier")
        if self.transfers is not None and self.transfers.min_points > self.transfers.max_points_per_month:
            raise ValueError("transfers.min_points must not exceed transfers.max_points_per_month")
        streak_ids = [streak.streak_id for streak in self.streaks]
        if len(set(streak_ids)) != len(streak_ids):
            raise ValueError("each streak has a streak_id of its own")
        for streak in self.streaks:
            if streak.event != "purchase" and streak.event.removeprefix("action:") not in self.actions:
                raise ValueError(f"streak {streak.streak_id}: {streak.event.removeprefix('action:')} is not an "
                                 "action of this program")
        if self.finance.ssp_per_point is not None and self.finance.ssp_per_point.currency != self.currency:
            raise ValueError("finance.ssp_per_point must be in the program currency")
        for plan_id, plan in self.memberships.items():
            if plan.price.currency != self.currency:
                raise ValueError(f"membership {plan_id} must be priced in the program currency")
        return self

    @cached_property
    def ssp_per_point(self) -> Decimal:
        """What a point issued now defers (finance.ssp_per_point, else point_value)."""
        return (self.finance.ssp_per_point or self.point_value).value

    @cached_property
    def expiry_reminder_days(self) -> tuple[int, ...]:
        """Days before a lot's expiry on which its points.expiring goes out, furthest first."""
        days = self.reminders.expiry_days if self.reminders is not None else (
            [self.expiry.notice_days] if self.expiry.notice_days else [])
        return tuple(sorted(days, reverse=True))

    @cached_property
    def tier_reminder_days(self) -> tuple[int, ...]:
        """Days before a tier review on which tier.at_risk goes out, furthest first."""
        return tuple(sorted(self.reminders.tier_review_days, reverse=True)) if self.reminders is not None else ()

    @property
    def referral_rules(self) -> Referrals:
        return self.referrals if self.referrals is not None else Referrals()

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def tier_rank(self, name: str) -> int:
        """The tier's place on the ladder (0: the lowest); an unknown name ranks as the lowest."""
        return next((rank for rank, tier in enumerate(self.tiers) if tier.name == name), 0)

    def tier_named(self, name: str) -> Tier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        # A tier renamed or removed by a config change: treat the member as in the lowest tier.
        return self.tiers[0]
