"""The layer's settings: one model, validated from the environment, with the variable named on error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from loyalty.settings import _NAMES, Settings, settings


def test_defaults_and_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function's environment with a few variables set
    for name in _NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TABLE_NAME", "Loyalty-prod")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("TRACING", "true")
    # When the settings are read
    current = settings()
    # Then the values come through typed, and the rest take their defaults
    assert (current.table_name, current.region, current.tracing) == ("Loyalty-prod", "eu-west-1", True)
    assert current.dynamodb_max_retries == 3 and current.partner_api_id is None


def test_a_changed_variable_is_seen_by_the_next_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILE_STREAM_LAG_MINUTES", "15")
    assert settings().reconcile_stream_lag_minutes == 15
    monkeypatch.setenv("RECONCILE_STREAM_LAG_MINUTES", "0")
    assert settings().reconcile_stream_lag_minutes == 0


@pytest.mark.parametrize(("name", "value"), [("DYNAMODB_MAX_RETRIES", "lots"), ("DYNAMODB_MAX_RETRIES", "50"),
                                             ("PARTNER_RATE_LIMIT", "0"), ("TRACING", "maybe")])
def test_a_wrong_value_fails_naming_the_variable(name: str, value: str) -> None:
    # Given a wrong value; then validation (at init) refuses it and names the variable
    with pytest.raises(ValidationError, match=name):
        Settings.model_validate({name: value})


def test_no_module_of_the_layer_reads_the_environment_but_the_settings() -> None:
    from pathlib import Path

    layer = Path(__file__).resolve().parents[2] / "layers" / "loyalty" / "loyalty"
    readers = [str(path.relative_to(layer)) for path in sorted(layer.rglob("*.py"))
               if "os.environ" in path.read_text() and path.name != "settings.py"]
    assert readers == []
