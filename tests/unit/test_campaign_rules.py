"""The campaign rules engine without AWS: properties over random baskets, members and campaigns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from loyalty.domain import campaigns as rules
from loyalty.domain.earning import purchase_points
from loyalty.domain.program import ProgramConfig
from loyalty.domain.whatif import replay_member
from tests.unit.programs import DEMO_PROGRAM

CONFIG = ProgramConfig.model_validate({**DEMO_PROGRAM, "bonus_events": []})
TIERS = tuple(tier.name for tier in CONFIG.tiers)
AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
SKUS = ["s1", "s2", "s3", "s4"]
CATEGORIES = ["shoes", "socks", "hats"]

lines = st.lists(st.builds(
    rules.Line, sku=st.sampled_from(SKUS), category=st.one_of(st.none(), st.sampled_from(CATEGORIES)),
    quantity=st.integers(1, 5), amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)),
    max_size=6)


@st.composite
def baskets(draw: Any) -> rules.Facts:
    basket = tuple(draw(lines))
    return rules.Facts(
        channel=draw(st.sampled_from(["online", "store", "app"])), total=sum((line.amount for line in basket),
                                                                            Decimal(0)),
        lines=basket, tier=draw(st.sampled_from(TIERS)), tiers=TIERS,
        preferences={"drink": draw(st.sampled_from(["tea", "coffee"]))}, purchases=draw(st.integers(0, 50)),
        days_since_last_purchase=draw(st.one_of(st.none(), st.integers(0, 400))),
        days_since_enrollment=draw(st.integers(0, 2000)))


conditions = st.one_of(
    st.builds(lambda op, n: {"fact": "basket.quantity", "op": op, "value": n},
              st.sampled_from(["eq", "ne", "gte", "lte"]), st.integers(0, 20)),
    st.builds(lambda op, amount: {"fact": "basket.total", "op": op, "value": {"amount": amount, "currency": "USD"}},
              st.sampled_from(["gte", "lte", "eq", "ne"]), st.sampled_from(["0.00", "25.00", "80.00", "500.00"])),
    st.builds(lambda sku: {"fact": "basket.skus", "op": "contains", "value": sku}, st.sampled_from(SKUS)),
    st.builds(lambda category: {"fact": "basket.categories", "op": "contains", "value": category},
              st.sampled_from(CATEGORIES)),
    st.builds(lambda op, tier: {"fact": "member.tier", "op": op, "value": tier}, st.sampled_from(["eq", "gte", "lte"]),
              st.sampled_from(TIERS)),
    st.builds(lambda values: {"fact": "channel", "op": "in", "value": values},
              st.lists(st.sampled_from(["online", "store", "app"]), min_size=1, unique=True)),
    st.builds(lambda drink: {"fact": "member.preferences.drink", "op": "eq", "value": drink},
              st.sampled_from(["tea", "coffee"])),
    st.builds(lambda days: {"fact": "member.days_since_last_purchase", "op": "gte", "value": days},
              st.integers(0, 100)),
)
effects = st.one_of(
    st.builds(lambda points: {"type": "bonus_points", "points": points}, st.integers(1, 1000)),
    st.builds(lambda multiplier, categories: {"type": "multiply", "multiplier": multiplier,
                                              **({"categories": categories} if categories else {})},
              st.sampled_from(["1.5", "2", "3.25"]), st.one_of(st.none(), st.lists(st.sampled_from(CATEGORIES),
                                                                                     min_size=1, unique=True))),
    st.builds(lambda points, skus: {"type": "points_per_item", "points": points, **({"skus": skus} if skus else {})},
              st.integers(1, 50), st.one_of(st.none(), st.lists(st.sampled_from(SKUS), min_size=1, unique=True))),
)


@st.composite
def campaign_lists(draw: Any) -> list[rules.Campaign]:
    count = draw(st.integers(1, 4))
    return [rules.Campaign.model_validate({
        "campaign_id": f"c{number}", "name": f"C{number}", "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "2027-01-01T00:00:00Z", "trigger": "purchase",
        "conditions": draw(st.lists(conditions, max_size=3)),
        "effects": draw(st.lists(effects, min_size=1, max_size=3)),
        "audience": {"holdout_percent": draw(st.sampled_from([0, 10, 50]))}}) for number in range(count)]


def reference_holds(condition: rules.Condition, facts: rules.Facts) -> bool:
    """The conditions written out one by one, the slow and obvious way."""
    value: Any = condition.value
    if condition.fact == "basket.quantity":
        actual: Any = sum(line.quantity for line in facts.lines)
    elif condition.fact == "basket.total":
        actual, value = facts.total, Decimal(value.amount)
    elif condition.fact == "basket.skus":
        return value in {line.sku for line in facts.lines}
    elif condition.fact == "basket.categories":
        return value in {line.category for line in facts.lines}
    elif condition.fact == "member.tier":
        actual, value = (TIERS.index(facts.tier), TIERS.index(value)) if condition.op != "eq" else (facts.tier, value)
    elif condition.fact == "channel":
        return facts.channel in value
    elif condition.fact == "member.preferences.drink":
        return (facts.preferences or {}).get("drink") == value
    else:
        if facts.days_since_last_purchase is None:
            return False
        actual = facts.days_since_last_purchase
    return {"eq": actual == value, "ne": actual != value, "gte": actual >= value, "lte": actual <= value}[
        condition.op]


@settings(max_examples=300, deadline=None)
@given(campaign_lists(), baskets(), st.text(alphabet="abcdef0123456789", min_size=1, max_size=12))
def test_a_campaign_matches_exactly_when_every_condition_holds_and_gives_whole_points(
        campaigns: list[rules.Campaign], facts: rules.Facts, member_id: str) -> None:
    # When the campaigns are evaluated on a random basket and member
    outcomes = rules.evaluate(campaigns, {}, trigger="purchase", member_id=member_id, at=AT, facts=facts,
                              currency="USD", points_per_unit=Decimal(10), rounding="floor")
    # Then the ones that match are those whose every condition holds (by the reference), in id order
    expected = [c.campaign_id for c in campaigns if all(reference_holds(k, facts) for k in c.conditions)]
    assert [outcome.campaign.campaign_id for outcome in outcomes] == sorted(expected)
    for outcome in outcomes:
        # And each gives a whole, non-negative number of points, none to a held-out member
        assert isinstance(outcome.points, int) and outcome.points >= 0
        holdout = rules.in_holdout(outcome.campaign.campaign_id, member_id,
                                   outcome.campaign.audience.holdout_percent)
        assert outcome.holdout == holdout and (outcome.points == 0 if holdout else True)


@settings(max_examples=200, deadline=None)
@given(baskets(), st.sampled_from(["1.5", "2", "3.25"]))
def test_multiplying_every_category_is_multiplying_the_basket_when_every_line_has_one(
        facts: rules.Facts, multiplier: str) -> None:
    categorized = rules.Facts(**{**facts.__dict__, "lines": tuple(
        rules.Line(line.sku, line.category or "shoes", line.quantity, line.amount) for line in facts.lines)})
    whole = rules.effect_points(rules.Multiply(type="multiply", multiplier=multiplier), categorized,
                                points_per_unit=Decimal(10), rounding="floor")
    each = rules.effect_points(rules.Multiply(type="multiply", multiplier=multiplier, categories=CATEGORIES),
                               categorized, points_per_unit=Decimal(10), rounding="floor")
    assert whole == each


@settings(max_examples=200, deadline=None)
@given(campaign_lists(), baskets(), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000"), places=2))
def test_the_breakdown_rows_of_a_purchase_with_campaigns_sum_exactly_to_its_points(
        campaigns: list[rules.Campaign], facts: rules.Facts, amount: Decimal) -> None:
    # Given a purchase's earning rows and the campaigns' rows, as a purchase writes them
    earning = purchase_points(config=CONFIG, amount=amount, currency="USD", channel=facts.channel or "online",
                              tier_multiplier=CONFIG.tier_named(facts.tier).multiplier, occurred_at=AT)
    outcomes = rules.evaluate(campaigns, {}, trigger="purchase", member_id="m", at=AT, facts=facts, currency="USD",
                              points_per_unit=Decimal(10), rounding="floor")
    rows = [row.points for row in earning.breakdown] + [outcome.points for outcome in outcomes if outcome.points]
    # Then the integer rows add up to the entry's points
    assert sum(rows) == earning.points + sum(outcome.points for outcome in outcomes)


def test_holdout_membership_is_stable_and_near_its_percentage() -> None:
    members = [f"member-{number}" for number in range(4000)]
    held = [rules.in_holdout("spring", member, 10) for member in members]
    assert held == [rules.in_holdout("spring", member, 10) for member in members]
    assert 0.08 < sum(held) / len(held) < 0.12
    # A member's group differs from one campaign to the next (not the same 10% every time)
    other = [rules.in_holdout("summer", member, 10) for member in members]
    assert held != other
    assert not any(rules.in_holdout("spring", member, 0) for member in members)


def test_a_window_and_an_audience_gate_the_campaign() -> None:
    campaign = rules.Campaign.model_validate({
        "campaign_id": "gold-weekend", "name": "Gold weekend", "starts_at": "2026-06-06T00:00:00Z",
        "ends_at": "2026-06-08T00:00:00Z", "trigger": "purchase", "effects": [{"type": "bonus_points", "points": 5}],
        "audience": {"min_tier": "Gold"}})
    gold = rules.Facts(channel="online", total=Decimal(10), tier="Gold", tiers=TIERS)

    def points(facts: rules.Facts, at: datetime) -> list[int]:
        return [o.points for o in rules.evaluate([campaign], {}, trigger="purchase", member_id="m", at=at, facts=facts,
                                                 currency="USD", points_per_unit=Decimal(10), rounding="floor")]

    assert points(gold, datetime(2026, 6, 6, 9, tzinfo=UTC)) == [5]
    assert points(gold, datetime(2026, 6, 8, 0, tzinfo=UTC)) == []  # the end is excluded
    assert points(rules.Facts(**{**gold.__dict__, "tier": "Silver"}), datetime(2026, 6, 6, 9, tzinfo=UTC)) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"conditions": [{"fact": "basket.colour", "op": "eq", "value": "red"}]}, ("conditions", 0, "fact")),
    ({"conditions": [{"fact": "basket.skus", "op": "gte", "value": "x"}]}, ("conditions", 0, "op")),
    ({"conditions": [{"fact": "basket.quantity", "op": "in", "value": 3}]}, ("conditions", 0, "value")),
    ({"effects": [{"type": "multiply", "multiplier": "1"}]}, ("effects", 0, "multiply")),
    ({"trigger": "action:review", "conditions": [{"fact": "basket.quantity", "op": "gte", "value": 1}]}, ()),
])
def test_a_bad_campaign_names_where(body: dict[str, Any], field: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as raised:
        rules.Campaign.model_validate({"campaign_id": "c", "name": "C", "starts_at": "2026-01-01T00:00:00Z",
                                       "ends_at": "2026-02-01T00:00:00Z", "trigger": "purchase",
                                       "effects": [{"type": "bonus_points", "points": 1}], **body})
    assert raised.value.errors()[0]["loc"][:len(field)] == field


def test_a_member_replayed_under_its_own_config_is_unaffected() -> None:
    # Given a member's recorded purchases under the demo config (no bonus events)
    entries = []
    for number, (day, amount) in enumerate((("2026-03-01", "40.00"), ("2026-03-09", "75.50"))):
        moment = datetime.fromisoformat(f"{day}T12:00:00+00:00")
        earned = purchase_points(config=CONFIG, amount=Decimal(amount), currency="USD", channel="online",
                                 tier_multiplier=Decimal(1), occurred_at=moment)
        entries.append({"type": "earn", "day": day, "points": earned.points, "occurred_at": f"{day}T12:00:00Z",
                        "source": {"order_id": f"o{number}", "channel": "online"},
                        "details": {"total": {"amount": amount, "currency": "USD"}}, "sk": f"ENTRY#{number}"})
    entries.append({"type": "tier_change", "day": "2026-03-09", "points": 0, "sk": "ENTRY#9",
                    "details": {"from": "Bronze", "to": "Silver"}})  # 1,155 qualifying points
    # When it is replayed under the same config
    totals = replay_member({"tier": "Silver"}, entries, CONFIG, date(2026, 3, 1), date(2026, 3, 31))
    # Then nothing changes
    assert (totals.current, totals.proposed, totals.members_affected, totals.purchases_replayed) == (1155, 1155, 0, 2)
