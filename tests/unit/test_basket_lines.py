"""Basket lines count only as shares of what was paid (contract, Conventions): the pure rules, no AWS."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.domain import campaigns as rules

CATEGORIES = ["shoes", "socks", "hats"]
SKUS = ["s1", "s2", "s3"]

line_strategy = st.builds(
    rules.Line, sku=st.sampled_from(SKUS), category=st.one_of(st.none(), st.sampled_from(CATEGORIES)),
    quantity=st.integers(1, 9_999),
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999999.99"), places=2))
effects = st.one_of(
    st.builds(lambda m, cats: rules.Multiply(type="multiply", multiplier=m, categories=cats),
              st.sampled_from(["1.5", "2", "3.25", "10"]),
              st.one_of(st.none(), st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))),
    st.builds(lambda points, skus, cats: rules.PointsPerItem(type="points_per_item", points=points, skus=skus,
                                                             categories=cats),
              st.integers(1, 100_000),
              st.one_of(st.none(), st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True)),
              st.one_of(st.none(), st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))),
)


def _facts(lines: list[rules.Line], total: Decimal) -> rules.Facts:
    shares, scale = rules.paid_lines(lines, total)
    return rules.Facts(channel="online", total=total, lines=shares, scale=scale)


def _whole_basket(effect: Any, total: Decimal, lines: list[rules.Line], per_unit: Decimal) -> int:
    """The same effect with nothing but the total to go on: a multiplier on the whole of what was paid; items
    counted as the total pays for them (every item, or fewer when the lines exceed the total)."""
    if isinstance(effect, rules.Multiply):
        whole = rules.Multiply(type="multiply", multiplier=effect.multiplier)
        return rules.effect_points(whole, rules.Facts(total=total), points_per_unit=per_unit, rounding="floor")
    listed = sum((line.amount for line in lines), Decimal(0))
    quantity = sum(line.quantity for line in lines)
    paid = quantity if listed <= total else int(quantity * total / listed)
    return int(effect.points) * paid


@settings(max_examples=400, deadline=None)
@given(st.lists(line_strategy, min_size=1, max_size=40),
       st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2), effects,
       st.sampled_from([Decimal(5), Decimal(10), Decimal("12.5")]))
def test_line_based_rules_never_give_more_than_the_same_rules_on_the_total_alone(
        lines: list[rules.Line], total: Decimal, effect: Any, per_unit: Decimal) -> None:
    # Given any basket and what was really paid (order-level discounts: the lines may add up to far more)
    facts = _facts(lines, total)
    # Then the lines' shares never add up to more than the total
    assert sum((line.amount for line in facts.lines), Decimal(0)) <= total
    # And no effect on lines gives more than the same effect with only the total to go on
    assert rules.effect_points(effect, facts, points_per_unit=per_unit, rounding="floor") <= _whole_basket(
        effect, total, lines, per_unit)


@settings(max_examples=200, deadline=None)
@given(st.lists(line_strategy, min_size=1, max_size=10))
def test_lines_that_fit_the_total_count_as_sent(lines: list[rules.Line]) -> None:
    # Given lines that add up to exactly what was paid (no order-level discount)
    total = sum((line.amount for line in lines), Decimal(0))
    # When they are taken as shares of the total, then nothing changes
    shares, scale = rules.paid_lines(lines, total)
    assert shares == tuple(lines) and scale == 1


def test_a_ten_dollar_order_with_three_list_price_shoes_doubles_ten_dollars_not_fifteen_hundred() -> None:
    # Given "x2 on shoes" and a $10.00 purchase whose lines say 3 x $500.00 shoes (the POS sends list prices)
    lines = [rules.Line("run-1", "shoes", 3, Decimal("1500.00"))]
    facts = _facts(lines, Decimal("10.00"))
    double_shoes = rules.Multiply(type="multiply", multiplier="2", categories=["shoes"])
    # Then the campaign doubles the $10.00 paid (10 points a dollar: 100 more), not $1,500
    assert rules.effect_points(double_shoes, facts, points_per_unit=Decimal(10), rounding="floor") == 100
    # And 10 points per shoe counts the shoes in the proportion paid (3 x 10/1500: none whole)
    per_shoe = rules.PointsPerItem(type="points_per_item", points=10, categories=["shoes"])
    assert rules.effect_points(per_shoe, facts, points_per_unit=Decimal(10), rounding="floor") == 0


def test_an_order_discount_scales_every_line_pro_rata() -> None:
    # Given $80 of shoes and $20 of socks, paid $50 after a 50% order discount
    lines = [rules.Line("run-1", "shoes", 1, Decimal("80.00")), rules.Line("sock-1", "socks", 2, Decimal("20.00"))]
    facts = _facts(lines, Decimal("50.00"))
    # Then shoes count $40 and socks $10, and the 3 items count as 1 (half of 3, rounded down)
    assert [line.amount for line in facts.lines] == [Decimal("40.00"), Decimal("10.00")]
    per_item = rules.PointsPerItem(type="points_per_item", points=100)
    assert rules.effect_points(per_item, facts, points_per_unit=Decimal(10), rounding="floor") == 100


# --- the check that would have caught it --------------------------------------------------------------

from datetime import UTC, datetime  # noqa: E402

from loyalty.domain import ceilings  # noqa: E402
from loyalty.domain.earning import purchase_points  # noqa: E402
from loyalty.domain.program import ProgramConfig  # noqa: E402
from tests.unit.programs import DEMO_PROGRAM  # noqa: E402

CONFIG = ProgramConfig.model_validate({**DEMO_PROGRAM, "bonus_events": []})
AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
SHOES_X2 = rules.Campaign.model_validate({
    "campaign_id": "shoes-x2", "name": "Shoes x2", "starts_at": "2020-01-01T00:00:00Z",
    "ends_at": "2099-01-01T00:00:00Z", "trigger": "purchase",
    "effects": [{"type": "multiply", "multiplier": "2", "categories": ["shoes"]},
                {"type": "points_per_item", "points": 5}]})
RULES = ceilings.rules_of([CONFIG], [SHOES_X2])


# Lines as the ledger builds them from a basket: unit price (at least a cent) times quantity.
priced_lines = st.builds(
    lambda sku, category, quantity, unit: rules.Line(sku, category, quantity, unit * quantity),
    st.sampled_from(SKUS), st.one_of(st.none(), st.sampled_from(CATEGORIES)), st.integers(1, 9_999),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(priced_lines, min_size=1, max_size=20),
       st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
       st.sampled_from([tier.name for tier in CONFIG.tiers]), st.sampled_from(["online", "store", "app"]))
def test_a_purchase_as_recorded_is_never_flagged(lines: list[rules.Line], total: Decimal, tier: str,
                                                 channel: str) -> None:
    # Given a purchase earned as the ledger computes it, with the campaign on its lines
    earning = purchase_points(config=CONFIG, amount=total, currency="USD", channel=channel,
                              tier_multiplier=CONFIG.tier_named(tier).multiplier, occurred_at=AT)
    shares, scale = rules.paid_lines(lines, total)
    per_unit = CONFIG.earn_rates[channel] * CONFIG.tier_named(tier).multiplier
    facts = rules.Facts(channel=channel, total=total, lines=shares, scale=scale, tier=tier)
    (outcome,) = rules.evaluate([SHOES_X2], {}, trigger="purchase", member_id="m", at=AT, facts=facts,
                                currency="USD", points_per_unit=per_unit, rounding="floor")
    rows = [row.as_dict() for row in earning.breakdown] + [{"rule": "campaign:shoes-x2", "points": outcome.points}]
    # Then the check finds its points within what its money could earn
    assert ceilings.over_money(earning.points + outcome.points, rows, total, AT, RULES) is None


def test_the_points_minted_from_list_prices_are_flagged() -> None:
    # Given the entry the old code wrote: $10.00 paid, 15,100 points (lines said 3 x $500 shoes, doubled)
    rows = [{"rule": "base_rate", "points": 100}, {"rule": "campaign:shoes-x2", "points": 15_000}]
    # Then the check flags it, with the most that $10.00 could have earned
    excess = ceilings.over_money(15_100, rows, Decimal("10.00"), AT, RULES)
    assert excess is not None and excess.points == 15_100 and excess.ceiling < 15_100
    # And a row naming a campaign that does not exist is flagged whatever its points
    assert ceilings.over_money(1, [{"rule": "campaign:ghost", "points": 1}], Decimal("10.00"), AT, RULES)
