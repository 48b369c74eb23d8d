"""Campaigns and segments: rules on the basket and the member, written by marketers, evaluated on the
request path without I/O (the running campaigns arrive with the program read).

A campaign has a trigger (a purchase, an action, an enrollment), conditions on facts (all must hold),
effects (bonus points, a multiplier on the basket or some categories, points per item), a window, an
audience (a segment, a minimum tier, a holdout percentage), a budget and a per-member maximum. Every
rule here is pure: `evaluate` takes the facts and answers the points each campaign gives; budgets and
per-member counts are kept by the store in the same transaction as the points.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from loyalty.domain.fields import Body, Moment, Text64, Text200
from loyalty.domain.money import MAX_PRECISION, round_points

CampaignId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Name = Text200
Label = Text64
# More than 1, at most 10, up to 4 decimals.
Multiplier = Annotated[str, StringConstraints(pattern=r"^(1\.[0-9]{0,3}[1-9]|[2-9](\.[0-9]{1,4})?|10(\.0{1,4})?)$")]
FactName = Annotated[str, StringConstraints(pattern=(
    r"^(basket\.(total|quantity|skus|categories)|channel|member\.(tier|purchases|days_since_last_purchase|"
    r"days_since_enrollment)|member\.preferences\.[a-z][a-z0-9_]{0,39})$"))]
# Campaigns running at once: they ride on every program read, so they stay few and small.
MAX_RUNNING = 25
MAX_CONDITIONS = 20

Kind = Literal["money", "int", "text", "list", "tier", "any"]
# Every fact a condition may name, and its kind. `member.preferences.<key>` is a family.
FACTS: dict[str, Kind] = {
    "basket.total": "money", "basket.quantity": "int", "basket.skus": "list", "basket.categories": "list",
    "channel": "text", "member.tier": "tier", "member.purchases": "int",
    "member.days_since_last_purchase": "int", "member.days_since_enrollment": "int",
}
PREFERENCE_PREFIX = "member.preferences."
OPS: dict[Kind, tuple[str, ...]] = {
    "money": ("eq", "ne", "gte", "lte"),
    "int": ("eq", "ne", "gte", "lte", "in", "not_in"),
    "text": ("eq", "ne", "in", "not_in"),
    "tier": ("eq", "ne", "gte", "lte", "in", "not_in"),
    "list": ("contains",),
    "any": ("eq", "ne", "in", "not_in", "contains"),
}
# Facts a trigger knows (an action or an enrollment has no basket).
MEMBER_FACTS = ("member.tier", "member.purchases", "member.days_since_last_purchase", "member.days_since_enrollment")


def fact_kind(fact: str) -> Kind | None:
    if fact.startswith(PREFERENCE_PREFIX) and len(fact) > len(PREFERENCE_PREFIX):
        return "any"
    return FACTS.get(fact)


class _Model(Body):
    """Read as every request body is (3.0 is the integer 3; times are RFC 3339 strings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyValue(_Model):
    amount: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Condition(_Model):
    fact: FactName = Field(
        description="basket.total, basket.quantity, basket.skus, basket.categories, channel, member.tier, "
                    "member.purchases, member.days_since_last_purchase, member.days_since_enrollment, "
                    "member.preferences.<key>")
    op: Literal["eq", "ne", "in", "not_in", "gte", "lte", "contains"]
    value: MoneyValue | StrictInt | StrictBool | Label | Annotated[list[Label | StrictInt], Field(max_length=100)]

    @field_validator("fact")
    @classmethod
    def _known(cls, fact: str) -> str:
        if fact_kind(fact) is None:
            raise ValueError(f"unknown fact {fact!r}; facts: {', '.join(sorted(FACTS))}, {PREFERENCE_PREFIX}<key>")
        return fact

    @field_validator("op")
    @classmethod
    def _fits_the_fact(cls, op: str, info: ValidationInfo) -> str:
        kind = fact_kind(str(info.data.get("fact", "")))
        if kind is not None and op not in OPS[kind]:
            raise ValueError(f"the fact {info.data['fact']} takes the ops {', '.join(OPS[kind])}, not {op}")
        return op

    @field_validator("value")
    @classmethod
    def _compares_with_the_fact(cls, value: Any, info: ValidationInfo) -> Any:
        op, kind = info.data.get("op"), fact_kind(str(info.data.get("fact", "")))
        if op is None or kind is None:
            return value
        listed = isinstance(value, list)
        if op in ("in", "not_in") and not listed:
            raise ValueError(f"{op} takes a list value")
        if op not in ("in", "not_in") and listed:
            raise ValueError(f"{op} takes a single value, not a list")
        wanted = {"money": MoneyValue, "int": int, "text": str, "tier": str, "list": str}.get(kind)
        items = value if listed else [value]
        if wanted is not None and not all(isinstance(item, wanted) and not isinstance(item, bool) for item in items):
            what = {"money": "a Money", "int": "a number"}.get(kind, "text")
            raise ValueError(f"the fact {info.data['fact']} compares with {what}")
        return value


class BonusPoints(_Model):
    type: Literal["bonus_points"]
    points: Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class Multiply(_Model):
    type: Literal["multiply"]
    multiplier: Multiplier = Field(description="> 1: the basket's points (or its categories') earn this many times")
    categories: Annotated[list[Label], Field(min_length=1, max_length=50)] | None = None

    @model_validator(mode="after")
    def _more_than_one(self) -> Multiply:
        if not Decimal(1) < Decimal(self.multiplier) <= 10:
            raise ValueError("multiplier is more than 1 and at most 10")
        return self


class PointsPerItem(_Model):
    type: Literal["points_per_item"]
    points: Annotated[StrictInt, Field(ge=1, le=100_000)]
    skus: Annotated[list[Label], Field(min_length=1, max_length=100)] | None = None
    categories: Annotated[list[Label], Field(min_length=1, max_length=50)] | None = None


Effect = Annotated[BonusPoints | Multiply | PointsPerItem, Field(discriminator="type")]


class Audience(_Model):
    segment: CampaignId | None = None
    min_tier: Label | None = None
    holdout_percent: Annotated[StrictInt, Field(ge=0, le=50)] = 0


class Campaign(_Model):
    campaign_id: CampaignId
    name: Name
    starts_at: Moment
    ends_at: Moment
    trigger: Annotated[str, StringConstraints(pattern=r"^(purchase|enrollment|action:[a-z][a-z0-9_]{0,39})$")]
    conditions: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] = []
    effects: Annotated[list[Effect], Field(min_length=1, max_length=10)]
    budget_points: Annotated[StrictInt, Field(ge=1, le=10**12)] | None = None
    max_per_member: Annotated[StrictInt, Field(ge=1, le=10**6)] | None = Field(
        default=None, description="the most times one member is awarded")
    audience: Audience = Audience()
    active: StrictBool = True

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.trigger != "purchase":
            for index, condition in enumerate(self.conditions):
                if not condition.fact.startswith("member."):
                    raise ValueError(f"conditions.{index}.fact: a {self.trigger} trigger has no basket or channel")
            if any(effect.type != "bonus_points" for effect in self.effects):
                raise ValueError(f"effects: a {self.trigger} trigger gives bonus_points only")
        return self


class Segment(_Model):
    segment_id: CampaignId
    name: Name
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=MAX_CONDITIONS)]

    @model_validator(mode="after")
    def _member_facts_only(self) -> Segment:
        for index, condition in enumerate(self.conditions):
            if not condition.fact.startswith("member."):
                raise ValueError(f"conditions.{index}.fact: a segment is over member facts only")
        return self


# --- evaluation -----------------------------------------------------------------------------------


# Shares of the total are cut (down) to this many decimals: their sum never exceeds the total.
_SHARE_EXPONENT = Decimal("1e-10")


@dataclass(frozen=True)
class Line:
    sku: str
    category: str | None
    quantity: int
    amount: Decimal  # in the program currency: the line's share of what was paid (see `paid_lines`)


def paid_lines(lines: Sequence[Line], total: Decimal) -> tuple[tuple[Line, ...], Decimal]:
    """The lines as shares of what was paid, and the scale applied to them (1 when they fit the total).

    Lines are what the shopper bought at line prices; `total` is what was paid. Point-of-sale systems
    send lines at list price and the order's discount only in the total, so when the lines add up to
    more than the total every line is scaled down pro rata (each share cut down, never up): no rule on
    lines can count more money than was paid."""
    listed = sum((line.amount for line in lines), Decimal(0))
    if listed <= total:
        return tuple(lines), Decimal(1)
    with localcontext() as context:
        context.prec = MAX_PRECISION
        scale = total / listed
        scaled = tuple(replace(line, amount=(line.amount * total / listed).quantize(_SHARE_EXPONENT, ROUND_FLOOR))
                       for line in lines)
    return scaled, scale


@dataclass(frozen=True)
class Facts:
    """What conditions and effects look at. `tiers` ranks the program's tiers (lowest first)."""

    channel: str | None = None
    total: Decimal | None = None  # the basket in the program currency (None: no basket)
    lines: tuple[Line, ...] = ()  # as shares of the total (see `paid_lines`)
    scale: Decimal = Decimal(1)  # what `paid_lines` scaled the lines by: items count in the same proportion
    tier: str = ""
    tiers: tuple[str, ...] = ()
    preferences: Mapping[str, Any] | None = None
    purchases: int = 0
    days_since_last_purchase: int | None = None
    days_since_enrollment: int = 0

    def value(self, fact: str) -> Any:
        if fact == "basket.total":
            return self.total
        if fact == "basket.quantity":
            return sum(line.quantity for line in self.lines)
        if fact == "basket.skus":
            return sorted({line.sku for line in self.lines})
        if fact == "basket.categories":
            return sorted({line.category for line in self.lines if line.category})
        if fact == "channel":
            return self.channel
        if fact == "member.tier":
            return self.tier
        if fact == "member.purchases":
            return self.purchases
        if fact == "member.days_since_last_purchase":
            return self.days_since_last_purchase
        if fact == "member.days_since_enrollment":
            return self.days_since_enrollment
        if fact.startswith(PREFERENCE_PREFIX):
            return (self.preferences or {}).get(fact[len(PREFERENCE_PREFIX):])
        return None


def holds(condition: Condition, facts: Facts, currency: str) -> bool:
    """Whether one condition holds (a fact the event does not have never satisfies one)."""
    actual = facts.value(condition.fact)
    if actual is None:
        return False
    expected: Any = condition.value
    if isinstance(expected, MoneyValue):
        if expected.currency != currency:
            return False
        expected = Decimal(expected.amount)
    if fact_kind(condition.fact) == "tier":
        ranks = {name: rank for rank, name in enumerate(facts.tiers)}
        if condition.op in ("gte", "lte"):
            if actual not in ranks or expected not in ranks:
                return False
            actual, expected = ranks[actual], ranks[expected]
    op = condition.op
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        return isinstance(actual, list | tuple | set | frozenset) and expected in actual
    if isinstance(actual, bool) or not isinstance(actual, int | Decimal):
        return False
    return bool(actual >= expected) if op == "gte" else bool(actual <= expected)


def all_hold(conditions: Sequence[Condition], facts: Facts, currency: str) -> bool:
    return all(holds(condition, facts, currency) for condition in conditions)


def in_holdout(campaign_id: str, member_id: str, percent: int) -> bool:
    """A member's group, the same on every call: a stable hash of (campaign, member) below `percent` of 100."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{campaign_id}\x1f{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def effect_points(effect: BonusPoints | Multiply | PointsPerItem, facts: Facts, *, points_per_unit: Decimal,
                  rounding: str) -> int:
    """The points one effect adds. `points_per_unit`: what one unit of the program currency earns this
    member on this channel before any campaign (earn rate x tier multiplier)."""
    if isinstance(effect, BonusPoints):
        return effect.points
    if isinstance(effect, Multiply):
        wanted = set(effect.categories or ())
        amount = (facts.total or Decimal(0)) if not wanted else sum(
            (line.amount for line in facts.lines if line.category in wanted), Decimal(0))
        with localcontext() as context:
            context.prec = MAX_PRECISION
            return round_points(amount * points_per_unit * (Decimal(effect.multiplier) - 1), rounding)
    return effect.points * paid_items(effect, facts)


def paid_items(effect: PointsPerItem, facts: Facts) -> int:
    """The items a points-per-item effect counts: those of its SKUs or categories that were paid for, in
    the proportion of the lines that the total paid (a free line counts none; a basket whose lines
    add up to twice what was paid counts half its items), rounded down."""
    skus, categories = set(effect.skus or ()), set(effect.categories or ())
    quantity = sum(line.quantity for line in facts.lines if line.amount > 0 and (
        (not skus and not categories) or line.sku in skus or line.category in categories))
    if facts.scale >= 1:
        return quantity
    with localcontext() as context:
        context.prec = MAX_PRECISION
        return int((quantity * facts.scale).to_integral_value(ROUND_FLOOR))


@dataclass(frozen=True)
class Outcome:
    """A campaign whose trigger, window, conditions and audience matched: the points it would give the
    member (0 for the holdout group)."""

    campaign: Campaign
    points: int
    holdout: bool


def evaluate(campaigns: Sequence[Campaign], segments: Mapping[str, Sequence[Condition]], *, trigger: str,
             member_id: str, at: datetime, facts: Facts, currency: str, points_per_unit: Decimal,
             rounding: str) -> list[Outcome]:
    """The campaigns that match this event, in campaign id order. Budgets and per-member maximums are the
    caller's (they need the store's counts)."""
    found: list[Outcome] = []
    ranks = {name: rank for rank, name in enumerate(facts.tiers)}
    for campaign in sorted(campaigns, key=lambda c: c.campaign_id):
        if not campaign.active or campaign.trigger != trigger or not campaign.starts_at <= at < campaign.ends_at:
            continue
        audience = campaign.audience
        if audience.min_tier is not None and ranks.get(facts.tier, -1) < ranks.get(audience.min_tier, 0):
            continue
        if audience.segment is not None and not all_hold(segments.get(audience.segment, ()), facts, currency):
            continue
        if not all_hold(campaign.conditions, facts, currency):
            continue
        holdout = in_holdout(campaign.campaign_id, member_id, audience.holdout_percent)
        points = 0 if holdout else sum(effect_points(effect, facts, points_per_unit=points_per_unit,
                                                     rounding=rounding) for effect in campaign.effects)
        found.append(Outcome(campaign, points, holdout))
    return found


def lift(treated: tuple[int, Decimal], holdout: tuple[int, Decimal]) -> str | None:
    """Revenue per member of the treated group over the holdout's, less one (None without both groups)."""
    (treated_members, treated_revenue), (holdout_members, holdout_revenue) = treated, holdout
    if not treated_members or not holdout_members or not holdout_revenue:
        return None
    with localcontext() as context:
        context.prec = MAX_PRECISION
        ratio = (treated_revenue / treated_members) / (holdout_revenue / holdout_members) - 1
    return str(ratio.quantize(Decimal("0.0001")))


def parse_running(raw: Sequence[Mapping[str, Any]]) -> tuple[list[Campaign], dict[str, list[Condition]]]:
    """The running campaigns as stored on the program items: each with its segment's conditions."""
    campaigns, segments = [], {}
    for stored in raw:
        campaign = Campaign.model_validate(stored["campaign"])
        campaigns.append(campaign)
        if stored.get("segment") is not None and campaign.audience.segment:
            segments[campaign.audience.segment] = [Condition.model_validate(c) for c in stored["segment"]]
    return campaigns, segments
