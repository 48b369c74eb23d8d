"""Shared allowances kept in shares: a reward's stock, a promotion's budget, the prize wheel's budget.

One item taking every claim of a popular reward would cap it near 500 claims/s (1,000 write units a
partition, 2 per transactional write). The allowance is split into SHARES shares with their own keys;
a claim takes from one share (or, near the end, from several) under a condition on each share it
draws on, so the total is never exceeded and every share stays far below a partition's limit.
"""

from __future__ import annotations

SHARES = 32


def split(total: int, shares: int = SHARES) -> list[int]:
    """`total` spread over `shares` as evenly as integers allow (the first ones get the remainder)."""
    base, rest = divmod(max(0, total), shares)
    return [base + (1 if index < rest else 0) for index in range(shares)]


def draw(room: dict[int, int], need: int, first: int) -> dict[int, int] | None:
    """How much to take from which share to cover `need`, or None when all of `room` cannot.

    `first` (the share the request picked at random) is drawn on first, so that spread requests touch
    one share each; the rest is taken from the fullest shares, so that a claim touches as few as it can.
    """
    if need <= 0:
        return {}
    if sum(max(0, left) for left in room.values()) < need:
        return None
    takes: dict[int, int] = {}
    order = [first, *sorted((index for index in room if index != first), key=lambda index: (-room[index], index))]
    remaining = need
    for index in order:
        left = max(0, room.get(index, 0))
        if left <= 0:
            continue
        taken = min(left, remaining)
        takes[index] = taken
        remaining -= taken
        if remaining == 0:
            break
    return takes
