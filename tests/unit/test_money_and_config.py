"""Money strings and program config validation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from loyalty.domain.errors import ValidationFailed
from loyalty.domain.money import format_amount, minor_units, parse_amount
from loyalty.domain.program import ProgramConfig
from tests.unit.programs import DEMO_PROGRAM


@pytest.mark.parametrize("good", ["1", "1.5", "1.50", "0.01", "999999999999999.99"])
def test_valid_amounts(good: str) -> None:
    assert parse_amount(good, "USD", "f") == Decimal(good)


@pytest.mark.parametrize("bad", ["0", "0.00", "-1", "+1", "1.", ".5", "1e2", "1.001", "NaN", "Infinity",
                                 "1" * 16, " 1", "1,00", "١٢"])
def test_invalid_amounts(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_amount(bad, "USD", "f")


def test_minor_units_follow_the_currency() -> None:
    assert minor_units("JPY") == 0 and minor_units("KWD") == 3 and minor_units("EUR") == 2
    with pytest.raises(ValidationFailed):
        parse_amount("100.5", "JPY", "f")
    assert parse_amount("1.234", "KWD", "f") == Decimal("1.234")
    assert format_amount(Decimal("2.005"), "USD") == "2.00"


def test_the_contract_example_config_is_valid() -> None:
    config = ProgramConfig.model_validate(DEMO_PROGRAM)
    assert [tier.name for tier in config.tiers] == ["Bronze", "Silver", "Gold", "Platinum"]
    assert config.tiers[1].multiplier == Decimal("1.25")
    assert config.exchange_rates["EUR"] == Decimal("1.08")


# What the refusal must say for each mistake (the test fails if a config is refused for another reason).
REASON_TEXT = {
    "unknown zone": ["unknown iana time zone"],
    "first tier must start at 0": ["first tier must have threshold 0"],
    "thresholds must increase": ["strictly increasing"],
    "duplicate tier names": ["tier names must be unique"],
    "program currency in rates": ["must not list the program currency"],
    "negative rate": ["exchange_rates.eur", "greater than 0"],
    "rolling needs days": ["rolling needs days"],
    "ends before it starts": ["ends_at must be after starts_at"],
    "action names are snake_case": ["should match pattern"],
    "unknown field": ["surprise", "extra inputs are not permitted"],
    "point value in another currency": ["point_value must be in the program currency"],
}


@pytest.mark.parametrize(("change", "reason"), [
    ({"timezone": "Nowhere/Land"}, "unknown zone"),
    ({"tiers": [{"name": "A", "threshold": 5}]}, "first tier must start at 0"),
    ({"tiers": [{"name": "A", "threshold": 0}, {"name": "B", "threshold": 0}]}, "thresholds must increase"),
    ({"tiers": [{"name": "A", "threshold": 0}, {"name": "A", "threshold": 5}]}, "duplicate tier names"),
    ({"exchange_rates": {"USD": "1"}}, "program currency in rates"),
    ({"exchange_rates": {"EUR": "-1"}}, "negative rate"),
    ({"expiry": {"policy": "rolling"}}, "rolling needs days"),
    ({"bonus_events": [{"name": "x", "starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z",
                        "multiplier": "2"}]}, "ends before it starts"),
    ({"actions": {"Bad Name": {"points": 1}}}, "action names are snake_case"),
    ({"surprise": True}, "unknown field"),
    ({"point_value": {"amount": "0.01", "currency": "EUR"}}, "point value in another currency"),
])
def test_bad_configs_are_rejected(change: dict, reason: str) -> None:
    # Given a config with one mistake; then validation refuses it, naming that mistake
    with pytest.raises(ValidationError) as refused:
        ProgramConfig.model_validate({**DEMO_PROGRAM, **change})
    assert all(fragment in str(refused.value).lower() for fragment in REASON_TEXT[reason]), (reason, refused.value)
