"""Allowances in shares: how a claim draws on them (loyalty.domain.allowance)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loyalty.domain.allowance import SHARES, draw, split


@given(st.integers(0, 10**9), st.integers(1, 64))
def test_a_split_adds_up_and_is_even(total: int, shares: int) -> None:
    parts = split(total, shares)
    assert sum(parts) == total and len(parts) == shares
    assert max(parts) - min(parts) <= 1


@given(st.lists(st.integers(-5, 500), min_size=SHARES, max_size=SHARES), st.integers(0, 20_000),
       st.integers(0, SHARES - 1))
def test_a_draw_takes_exactly_what_is_needed_within_each_share(room: list[int], need: int, first: int) -> None:
    # Given what each share still holds, when a claim draws `need`
    rooms = dict(enumerate(room))
    takes = draw(rooms, need, first)

    # Then it fails only when all shares together hold too little
    if takes is None:
        assert sum(max(0, left) for left in room) < need
        return
    # And otherwise takes exactly `need`, never more than a share holds, the picked share first
    assert sum(takes.values()) == need
    assert all(0 < amount <= rooms[index] for index, amount in takes.items())
    if need and rooms[first] >= need:
        assert takes == {first: need}
