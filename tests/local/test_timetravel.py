"""Time travel lives in the local stack: the production clock reads the real time and has no switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loyalty.domain import clock
from loyalty_local import timetravel


def test_the_production_clock_has_no_way_to_freeze_it() -> None:
    # Given the clock module as it ships in the layer
    # Then it offers nothing to stop or move time
    assert not [name for name in vars(clock) if "freeze" in name or "frozen" in name]


def test_travelling_moves_the_clock_and_coming_back_restores_real_time() -> None:
    # Given a moment in the past
    moment = datetime(2025, 2, 28, 23, 30, tzinfo=UTC)
    try:
        # When the local stack travels there
        timetravel.travel(moment)
        # Then the production clock answers it (aware, in UTC)
        assert clock.utc_now() == moment
        assert clock.utc_now().tzinfo is not None
    finally:
        timetravel.travel(None)
    # And after coming back it answers the real time
    assert abs(clock.utc_now() - datetime.now(UTC)) < timedelta(seconds=5)
