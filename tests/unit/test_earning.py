"""Earning rules: rates, conversion, tier and bonus multipliers, one rounding at the end, Decimal only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty.domain.earning import explain, purchase_points
from loyalty.domain.errors import ValidationFailed
from loyalty.domain.program import ProgramConfig
from tests.unit.programs import DEMO_PROGRAM

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def config(**changes: object) -> ProgramConfig:
    return ProgramConfig.model_validate({**DEMO_PROGRAM, **changes})


def earn(amount: str, *, currency: str = "USD", channel: str = "online", tier: str = "1", at: datetime = NOW,
         **changes: object) -> tuple[int, list[tuple[str, int]]]:
    result = purchase_points(config=config(**changes), amount=Decimal(amount), currency=currency, channel=channel,
                             tier_multiplier=Decimal(tier), occurred_at=at)
    return result.points, [(row.rule, row.points) for row in result.breakdown]


def test_channel_rates_differ() -> None:
    assert earn("10.00", channel="online")[0] == 100
    assert earn("10.00", channel="store")[0] == 50
    assert earn("10.00", channel="app")[0] == 100


def test_unknown_channel_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed):
        earn("10.00", channel="kiosk")


def test_conversion_uses_the_program_rate_without_intermediate_rounding() -> None:
    # 0.05 EUR * 1.08 = 0.054 USD -> 0.54 points -> floor 0: nothing was rounded before the end
    assert earn("0.05", currency="EUR")[0] == 0
    # 9.99 EUR * 1.08 = 10.7892 USD -> 107.892 points
    assert earn("9.99", currency="EUR")[0] == 107


def test_unsupported_currency_is_refused() -> None:
    with pytest.raises(ValidationFailed) as raised:
        earn("1.00", currency="GBP")
    assert raised.value.errors[0]["field"] == "total.currency"


def test_rounding_happens_once_at_the_end() -> None:
    # 0.15 * 10 = 1.5; x1.5 = 2.25 -> 2. Rounding each step would give floor(1.5)=1 -> 1*1.5 -> 1.
    points, rows = earn("0.15", tier="1.5")
    assert points == 2
    assert rows == [("base_rate", 1), ("tier_multiplier", 1)]


def test_breakdown_rows_always_sum_to_the_total() -> None:
    for amount in ("0.01", "0.99", "1.23", "19.99", "123456789.99"):
        points, rows = earn(amount, tier="1.25", bonus_events=[
            {"name": "B", "starts_at": "2026-05-01T00:00:00Z", "ends_at": "2026-07-01T00:00:00Z",
             "multiplier": "1.1"}])
        assert sum(points for _, points in rows) == points


def test_bonus_events_apply_in_their_window_on_their_channels() -> None:
    events = [{"name": "Double", "starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-06-02T00:00:00Z",
               "multiplier": "2", "channels": ["online"]},
              {"name": "Everywhere", "starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-06-03T00:00:00Z",
               "multiplier": "1.5"}]
    assert earn("10.00", bonus_events=events)[0] == 300  # both
    assert earn("10.00", channel="store", bonus_events=events)[0] == 75  # only the every-channel one
    late = datetime(2026, 6, 2, 12, tzinfo=UTC)
    assert earn("10.00", at=late, bonus_events=events)[0] == 150
    # ends_at is exclusive
    assert earn("10.00", at=datetime(2026, 6, 3, tzinfo=UTC), bonus_events=events)[0] == 100


@pytest.mark.parametrize(("mode", "expected"), [("floor", 12), ("ceil", 13), ("half_up", 13), ("half_even", 12)])
def test_rounding_modes(mode: str, expected: int) -> None:
    assert earn("1.25", rounding=mode)[0] == expected  # 12.5 points


def test_explain_rows_are_differences_of_rounded_running_totals() -> None:
    total, rows = explain([("a", Decimal("1.9"), ""), ("b", Decimal("3.8"), ""), ("c", Decimal("3.1"), "")], "floor")
    assert total == 3
    assert [row.points for row in rows] == [1, 2, 0]


def test_huge_amounts_stay_exact() -> None:
    points, _ = earn("999999999999999.99", tier="2.0")
    assert points == 19999999999999999  # 15 digits * 10 * 2, floor, no float drift
