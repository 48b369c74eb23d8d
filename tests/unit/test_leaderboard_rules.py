"""Leaderboards' rules without AWS: periods, a member's values, display names, top lists merged with ties,
the histogram's estimate, and what a member record's change does to the boards."""

from __future__ import annotations

from datetime import date

from loyalty.domain import leaderboards as boards

TRACKED = [("points_earned", "week"), ("purchases", "month")]


def test_periods_start_on_monday_and_on_the_first() -> None:
    sunday = date(2026, 12, 6)
    assert boards.period_key(sunday, "week") == "2026-11-30" and boards.previous_key(sunday, "week") == "2026-11-23"
    assert boards.period_key(date(2026, 1, 15), "month") == "2026-01"
    assert boards.previous_key(date(2026, 1, 15), "month") == "2025-12"
    assert boards.period_bounds("2026-02", "month") == (date(2026, 2, 1), date(2026, 2, 28))
    assert boards.period_bounds("2026-11-30", "week") == (date(2026, 11, 30), date(2026, 12, 6))


def test_a_members_values_add_up_per_period_and_roll_over() -> None:
    # Given points and a purchase on a Wednesday, then more the same week
    board = boards.add_to_board(None, date(2026, 12, 2), TRACKED, {"points_earned": 100, "purchases": 1})
    board = boards.add_to_board(board, date(2026, 12, 3), TRACKED, {"points_earned": 50, "purchases": 1})
    assert boards.value_in(board, "points_earned", "week", "2026-11-30") == 150
    assert boards.value_in(board, "purchases", "month", "2026-12") == 2
    # When the next week starts, the last one is kept as the previous; two weeks on, it is gone
    board = boards.add_to_board(board, date(2026, 12, 8), TRACKED, {"points_earned": 10})
    assert boards.value_in(board, "points_earned", "week", "2026-11-30") == 150
    assert boards.value_in(board, "points_earned", "week", "2026-12-07") == 10
    board = boards.add_to_board(board, date(2026, 12, 22), TRACKED, {"points_earned": 1})
    assert boards.value_in(board, "points_earned", "week", "2026-11-30") == 0
    # And a change that adds nothing to a tracked metric leaves the board as it was
    assert boards.add_to_board(board, date(2026, 12, 22), [("purchases", "month")], {"points_earned": 5}) == board


def test_display_names_and_consent() -> None:
    assert boards.display_name("Speedy", "Ann Brown") == "Speedy"
    assert boards.display_name(None, "Ann Mary Brown") == "Ann B." and boards.display_name(None, "Cher") == "Cher"
    assert boards.ranked(None) and boards.ranked({"email": False}) and not boards.ranked({"leaderboard": False})


def test_top_lists_keep_each_member_at_its_highest_value_and_ties_share_a_rank() -> None:
    top = boards.merge_top([], [(boards.Standing("a", "A", 10), "a"), (boards.Standing("b", "B", 30), "b")])
    # A replayed older value changes nothing; a withdrawn consent takes the member off
    assert boards.merge_top(top, [(boards.Standing("b", "B", 20), "b")]) == top
    assert [entry["m"] for entry in boards.merge_top(top, [(None, "b")])] == ["a"]
    other = boards.merge_top([], [(boards.Standing("c", "C", 30), "c"), (boards.Standing("d", "D", 5), "d")])
    shown = boards.ranked_entries([top, other], size=3)
    assert [(entry["rank"], entry["display_name"], entry["value"]) for entry in shown] == [
        (1, "B", 30), (1, "C", 30), (3, "A", 10)]


def test_the_histogram_estimate_is_exact_for_small_values_and_within_half_a_bucket_above() -> None:
    values = [5, 5, 7, 900, 1500, 1501, 1502, 50_000]
    histogram: dict[str, int] = {}
    for value in values:
        name = f"h{boards.bucket_of(value)}"
        histogram[name] = histogram.get(name, 0) + 1
    assert boards.estimated_rank(histogram, 7) == 1 + sum(v > 7 for v in values)
    assert boards.estimated_rank(histogram, 5) == 1 + sum(v > 5 for v in values)
    exact = 1 + sum(v > 1500 for v in values)
    assert abs(boards.estimated_rank(histogram, 1500) - exact) <= 1
    assert boards.members_ranked(histogram) == len(values)
    assert all(boards.bucket_floor(boards.bucket_of(v)) <= v for v in (999, 1000, 1010, 1011, 10**9))


def _board(values: dict[str, int], buckets: int = 16) -> tuple[list[list[dict]], dict[str, int]]:
    """The stream's top lists (members spread over `buckets`) and histogram for members' values."""
    lists: list[list[dict]] = [[] for _ in range(buckets)]
    histogram: dict[str, int] = {}
    for number, (member_id, value) in enumerate(sorted(values.items())):
        lists[number % buckets] = boards.merge_top(lists[number % buckets],
                                                   [(boards.Standing(member_id, member_id, value), member_id)])
        histogram[f"h{boards.bucket_of(value)}"] = histogram.get(f"h{boards.bucket_of(value)}", 0) + 1
    return lists, histogram


def test_a_rank_beyond_the_list_is_exact_when_every_member_above_is_in_the_top_lists() -> None:
    # Given a board of 500 members crowded within one 1%-wide bucket (2,000 to 2,019 points)
    values = {f"m{number:03d}": 2000 + number % 20 for number in range(500)}
    lists, histogram = _board(values)
    # When any of them asks for its standing, Then it is exact: no list is full, so every member is listed
    for member_id in ("m000", "m007", "m019", "m250"):
        rank, is_estimate = boards.standing_beyond(lists, histogram, member_id, values[member_id])
        assert (rank, is_estimate) == (1 + sum(other > values[member_id] for other in values.values()), False)


def test_a_rank_beyond_full_lists_counts_the_listed_exactly_and_is_off_by_at_most_half_its_bucket() -> None:
    # Given 20,000 members: 1,500 at the top, the rest spread below, with a crowd just above 5,000
    values = {f"t{number:05d}": 50_000 + number for number in range(1500)}
    values |= {f"c{number:05d}": 5000 + number % 50 for number in range(8000)}
    values |= {f"s{number:05d}": 1 + number for number in range(10_500)}
    lists, histogram = _board(values)
    for member_id in ("c00000", "c00017", "c00049", "s00000", "s00998", "s02500", "s10499", "t00000", "t01499"):
        value = values[member_id]
        exact = 1 + sum(other > value for other in values.values())
        # When the member asks for its standing
        rank, is_estimate = boards.standing_beyond(lists, histogram, member_id, value)
        # Then below 1,000 (a bucket is one value) and at the top it is exact
        if value < boards.EXACT_BELOW or member_id.startswith("t"):
            assert (rank, is_estimate) == (exact, False), member_id
        # And otherwise it is off by at most half the unlisted members of its bucket
        listed = {entry["m"] for top in lists for entry in top}
        unlisted_in_bucket = sum(1 for other_id, other in values.items() if other_id not in listed
                                 and boards.bucket_of(other) == boards.bucket_of(value))
        assert abs(rank - exact) <= unlisted_in_bucket // 2 + 1, (member_id, rank, exact)
        assert is_estimate or rank == exact


def test_a_member_records_change_moves_it_in_the_histogram_and_consent_takes_it_off() -> None:
    board = {"w": ["2026-11-30", {"pe": 100}]}
    later = {"w": ["2026-11-30", {"pe": 1200}]}
    old = {"member_id": "ann", "name": "Ann Brown", "board": board, "consents": {}}
    new = {**old, "board": later}
    standings, histogram = boards.changes(old, new)
    assert standings == [(("pe", "week", "2026-11-30"), boards.Standing("ann", "Ann B.", 1200), "ann")]
    assert histogram == {("pe", "week", "2026-11-30"): {"h100": -1, f"h{boards.bucket_of(1200)}": 1}}
    withdrawn = {**new, "consents": {"leaderboard": False}}
    standings, histogram = boards.changes(new, withdrawn)
    assert standings == [(("pe", "week", "2026-11-30"), None, "ann")]
    assert histogram == {("pe", "week", "2026-11-30"): {f"h{boards.bucket_of(1200)}": -1}}


def test_a_late_fact_counts_in_its_own_period_or_nowhere() -> None:
    # Given values this week
    board = boards.add_to_board(None, date(2026, 12, 9), TRACKED, {"points_earned": 100})
    # When a fact of last week arrives late, then one of three weeks ago
    board = boards.add_to_board(board, date(2026, 12, 2), TRACKED, {"points_earned": 40})
    board = boards.add_to_board(board, date(2026, 11, 18), TRACKED, {"points_earned": 7})
    # Then last week's counts there, this week's stays, and the old one counts nowhere
    assert boards.value_in(board, "points_earned", "week", "2026-12-07") == 100
    assert boards.value_in(board, "points_earned", "week", "2026-11-30") == 40
    assert boards.value_in(board, "points_earned", "week", "2026-11-16") == 0
