"""A member's lots and qualifying days in their compact stored form, and split over the cold wallet
(loyalty.store.daycounts): what is stored reads back the same."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Maps of up to 400 days are large inputs: on a busy 2-CPU machine their generation alone can pass
# hypothesis' too_slow threshold (a CI run failed on it), which says nothing about the code.
STORED_FORMS = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@STORED_FORMS
@given(st.dictionaries(st.dates().map(lambda day: day.isoformat()), st.integers(-10**9, 10**9), max_size=400))
def test_day_counts_survive_their_compact_stored_form(days: dict[str, int]) -> None:
    from loyalty.store.daycounts import decode, decode_any, encode

    # Given any {day: count} map, when it is stored compactly and read back, then it is the same map
    assert decode(encode(days)) == days
    # And the JSON text that older items hold reads as the same map
    import json

    assert decode_any(json.dumps(days)) == days


day_counts = st.dictionaries(st.dates().map(lambda day: day.isoformat()), st.integers(-10**9, 10**9), max_size=200)


@STORED_FORMS
@given(day_counts, day_counts)
def test_a_members_two_day_maps_survive_their_one_stored_value(lots: dict[str, int], days: dict[str, int]) -> None:
    from loyalty.store.daycounts import decode_pair, encode_pair

    # Given any lots and qualifying days, when they are stored as one value and read back, then both are the same
    assert decode_pair(encode_pair(lots, days)) == (lots, days)


def test_a_year_of_lots_that_match_their_qualifying_days_stores_in_far_fewer_bytes_together() -> None:
    import random
    from datetime import date, timedelta

    from loyalty.store.daycounts import encode, encode_pair

    # Given a year of daily earnings, every point qualifying, each day's lot expiring 365 days later
    rng = random.Random(7)
    earned = {(date(2026, 1, 1) + timedelta(days=day)).isoformat(): rng.randrange(30, 1500) for day in range(365)}
    lots = {(date.fromisoformat(day) + timedelta(days=365)).isoformat(): points for day, points in earned.items()}

    # When they are stored as one value, then it takes under 60% of the two maps stored apart
    assert len(encode_pair(lots, earned)) < 0.6 * (len(encode(lots)) + len(encode(earned)))


lot_days = st.dictionaries(st.dates().map(lambda day: day.isoformat()), st.integers(1, 10**6), max_size=60)
any_days = st.dictionaries(st.dates().map(lambda day: day.isoformat()), st.integers(-10**6, 10**6), max_size=60)


@STORED_FORMS
@given(lot_days, st.integers(0, 10**8), any_days)
def test_any_lots_split_over_the_cold_wallet_merge_back_the_same(cold: dict[str, int], consumed: int,
                                                                   lots: dict[str, int]) -> None:
    from loyalty.store.daycounts import merged_lots, split_lots

    # Given cold lots partly consumed, when any whole map of lots is stored as its hot part and what it consumed
    consumed = min(consumed, sum(cold.values()))
    hot, now_consumed = split_lots(cold, consumed, lots)

    # Then merging them gives the same lots back, and what was consumed never goes back
    assert merged_lots(cold, now_consumed, hot) == {day: amount for day, amount in lots.items() if amount}
    assert now_consumed >= consumed


@STORED_FORMS
@given(lot_days, st.integers(0, 10**8), st.integers(0, 10**8))
def test_spending_or_expiring_the_soonest_cold_lots_writes_no_day(cold: dict[str, int], consumed: int,
                                                                  spent: int) -> None:
    from loyalty.store.daycounts import consumed_front, split_lots

    # Given cold lots partly consumed and nothing on the hot part
    total = sum(cold.values())
    consumed = min(consumed, total)
    spent = min(spent, total - consumed)
    # When more is taken from the soonest days (a spend, an expiry)
    hot, now_consumed = split_lots(cold, consumed, consumed_front(cold, consumed + spent))
    # Then it is only counted as consumed
    assert (hot, now_consumed) == ({}, consumed + spent)


@STORED_FORMS
@given(any_days, st.one_of(st.none(), st.dates().map(lambda day: day.isoformat())), any_days)
def test_any_qualifying_days_split_over_the_cold_wallet_merge_back_the_same(
        cold: dict[str, int], floor: str | None, days: dict[str, int]) -> None:
    from loyalty.store.daycounts import merged_qualifying, split_qualifying

    # Given cold qualifying days under a floor, when any whole map of days is stored as its hot part and floor
    hot, now_floor = split_qualifying(cold, floor, days)
    # Then merging them gives the same days back
    assert merged_qualifying(cold, now_floor, hot) == {day: amount for day, amount in days.items() if amount}
