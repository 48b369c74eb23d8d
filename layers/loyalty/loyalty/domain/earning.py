"""Points for a purchase: convert, earn rate, tier multiplier, bonus events, one rounding at the end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from loyalty.domain.errors import ValidationFailed
from loyalty.domain.money import MAX_PRECISION, round_points, to_program_currency
from loyalty.domain.program import ProgramConfig


@dataclass(frozen=True)
class BreakdownRow:
    rule: str
    points: int
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "points": self.points, "detail": self.detail}


@dataclass(frozen=True)
class Earning:
    points: int
    breakdown: tuple[BreakdownRow, ...]
    amount_in_program_currency: Decimal


def explain(steps: list[tuple[str, Decimal, str]], rounding: str) -> tuple[int, tuple[BreakdownRow, ...]]:
    """Turn exact running totals into integer rows that sum exactly to the rounded total.

    Each row is round(total after its step) - round(total before it), so only the final total is
    rounded (once) and the rows still explain every point.
    """
    rows = []
    previous = 0
    for rule, running_total, detail in steps:
        rounded = round_points(running_total, rounding)
        rows.append(BreakdownRow(rule, rounded - previous, detail))
        previous = rounded
    return previous, tuple(rows)


def purchase_points(
    *,
    config: ProgramConfig,
    amount: Decimal,
    currency: str,
    channel: str,
    tier_multiplier: Decimal,
    occurred_at: datetime,
    extra_multipliers: tuple[tuple[str, Decimal, str], ...] = (),
) -> Earning:
    """Points for `amount` in `currency` spent on `channel` at `occurred_at` by a member whose tier has
    `tier_multiplier`. Bonus events apply when active at `occurred_at` on `channel`."""
    if channel not in config.earn_rates:
        raise ValidationFailed(
            f"channel {channel} has no earn rate in the program",
            errors=[{"field": "channel", "message": f"no earn rate configured for {channel}"}],
        )
    converted = to_program_currency(amount, currency, config.currency, config.exchange_rates, "total.currency")
    rate = config.earn_rates[channel]
    with localcontext() as ctx:
        ctx.prec = MAX_PRECISION
        running = converted * rate
        conversion = "" if currency == config.currency else f" ({amount} {currency} = {converted} {config.currency})"
        steps = [("base_rate", running, f"{rate} points per {config.currency} on {channel}{conversion}")]
        if tier_multiplier != 1:
            running = running * tier_multiplier
            steps.append(("tier_multiplier", running, f"x{tier_multiplier}"))
        for rule, multiplier, detail in extra_multipliers:
            running = running * multiplier
            steps.append((rule, running, detail))
        for event in config.bonus_events:
            if event.active_at(occurred_at, channel):
                running = running * event.multiplier
                steps.append(("bonus_event", running, f"{event.name} x{event.multiplier}"))
    points, rows = explain(steps, config.rounding)
    return Earning(points=points, breakdown=rows, amount_in_program_currency=converted)
