"""The most an order's money could earn: the check that catches points minted past what was paid.

An earn entry agrees with itself however many points it has (the ledger, the balance and the liability all
move together), so reconciliation also checks each purchase against its money: the amount paid, in the
program currency, times the highest earn rate, tier multiplier and membership multiplier of any version of
the program, times every bonus event of any version that was running when the purchase occurred; and each
campaign row against what that campaign's effects could give on that amount. A line-based rule counts at
most what was paid (items at most one per smallest currency unit paid), so this bound holds for any basket.
Pure: the caller reads the program's versions and the campaigns once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from loyalty.domain.campaigns import BonusPoints, Campaign, Multiply
from loyalty.domain.money import MAX_PRECISION, minor_units
from loyalty.domain.program import ProgramConfig

CAMPAIGN_RULE = "campaign:"


@dataclass(frozen=True)
class Rules:
    """Every version of the program, folded into the highest factors any of them gave."""

    base_factor: Decimal  # earn rate x tier multiplier x membership multiplier, the highest of any version
    per_unit: Decimal  # earn rate x tier multiplier: what a campaign's multiplier applies to
    events: tuple[tuple[datetime, datetime, Decimal], ...]  # every bonus event of any version, once
    smallest_unit: Decimal  # the least a paid item can cost, in the program currency
    campaigns: Mapping[str, Campaign]
    # An entry keeps its amount rounded to the currency's minor unit: half a unit more may have earned.
    rounding_slack: Decimal = Decimal("0.005")


def rules_of(configs: Iterable[ProgramConfig], campaigns: Iterable[Campaign]) -> Rules:
    base = per_unit = Decimal(0)
    events: set[tuple[datetime, datetime, Decimal]] = set()
    smallest = Decimal(1)
    slack = Decimal(0)
    for config in configs:
        slack = max(slack, Decimal(1).scaleb(-minor_units(config.currency)) / 2)
        rate = max(config.earn_rates.values(), default=Decimal(0))
        tier = max((tier.multiplier for tier in config.tiers), default=Decimal(1))
        membership = max((plan.earn_multiplier for plan in config.memberships.values()), default=Decimal(1))
        per_unit = max(per_unit, rate * tier)
        base = max(base, rate * tier * max(membership, Decimal(1)))
        events.update((event.starts_at, event.ends_at, event.multiplier) for event in config.bonus_events)
        units = [Decimal(1).scaleb(-minor_units(config.currency))] + [
            Decimal(1).scaleb(-minor_units(currency)) * rate_ for currency, rate_ in config.exchange_rates.items()]
        smallest = min([smallest, *units])
    return Rules(base, per_unit, tuple(sorted(events)), smallest,
                 {campaign.campaign_id: campaign for campaign in campaigns}, slack)


def _campaign_most(campaign: Campaign, amount: Decimal, rules: Rules) -> Decimal:
    most = Decimal(0)
    for effect in campaign.effects:
        if isinstance(effect, BonusPoints):
            most += effect.points
        elif isinstance(effect, Multiply):
            most += amount * rules.per_unit * (Decimal(effect.multiplier) - 1)
        else:  # points per item: at most one item per smallest unit paid
            most += effect.points * (amount / rules.smallest_unit)
    return most


@dataclass(frozen=True)
class Excess:
    points: int
    ceiling: int
    reason: str


def over_money(points: int, breakdown: Sequence[Mapping[str, object]], amount: Decimal, occurred_at: datetime,
               rules: Rules) -> Excess | None:
    """None when a purchase's points are within what `amount` could earn under `rules`; else by how much
    they are not. `amount` is the entry's (rounded to the currency's minor unit); each rounding (one for the
    earning, one per campaign) may add a point."""
    with localcontext() as context:
        context.prec = MAX_PRECISION
        amount += rules.rounding_slack
        bonus = Decimal(1)
        for starts, ends, multiplier in rules.events:
            if starts <= occurred_at < ends:
                bonus *= multiplier
        ceiling = amount * rules.base_factor * bonus + 1
        reasons = []
        for row in breakdown:
            rule = str(row.get("rule", ""))
            if not rule.startswith(CAMPAIGN_RULE):
                continue
            campaign = rules.campaigns.get(rule.removeprefix(CAMPAIGN_RULE))
            if campaign is None:
                reasons.append(f"{rule} names no campaign")
                continue
            ceiling += _campaign_most(campaign, amount, rules) + 1
    whole = int(ceiling)
    if points <= whole and not reasons:
        return None
    return Excess(points, whole, "; ".join(reasons) or "more points than the money paid could earn")
