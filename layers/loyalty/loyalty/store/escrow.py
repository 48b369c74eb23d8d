"""Budgets taken in chunks (escrow): a campaign's budget off the purchase's transaction.

A campaign that applies to most purchases would otherwise write one of its budget's shares in every
purchase's transaction: two write units a campaign a purchase, and, worse, an item that hundreds of
transactions a second overlap on, which DynamoDB cancels (TransactionConflict) long before the share
reaches a partition's write limit. Here a function instance takes a chunk of the budget from a share with
one plain conditional UpdateItem (`taken` + chunk within the share's cap; never inside a transaction, so
nothing it does can cancel a purchase), keeps it in memory, and gives purchases their campaign points
from it. The purchase's transaction writes nothing of the budget.

Never past the budget: points are only given from chunks taken, and chunks only within the caps, under
the same conditions as before. The price is points taken but not given: a chunk held by an instance that
stops (or whose campaign changes budget) is never given (the report shows it as reserved). So a chunk is
what this instance gave from the budget in the last HOLD_SECONDS (`CAMPAIGN_BUDGET_HOLD_SECONDS`, 10 by
default): at most that many seconds of its awards are held, and a quiet instance takes exactly what each
award needs. A chunk is at most a sixteenth of a share's cap; near the end it is what a share has left.
An instance that finds the budget spent remembers it for that budget: later purchases send no request at
all. A lowered budget is a new budget for the instances (its definition names it): they drop what they
held of the old one.

Function instances serve one request at a time on AWS; the lock is for the tests and the local stack,
which run several requests in one process.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pynamodb.exceptions import PynamoDBException

from loyalty.settings import settings
from loyalty.store import shares
from loyalty.store.db import error_code, raise_if_transient
from loyalty.store.shares import ShareItem, share_key

# A chunk is at most this part of a share's cap.
MAX_CHUNK_PART = 16
# What a chunk take found instead of room: none left at all (final for the budget), or less than the award
# asks (smaller awards may still fit).
SPENT, SHORT = "spent", "short"
Taken = int | str
# A chunk take that loses a race (another instance took from the share meanwhile) reads and tries again.
TAKE_ATTEMPTS = 5


@dataclass(frozen=True)
class Budget:
    """One version of a budget, as the running definition names it: its owner (`CAMPAIGN#<id>`), the caps
    its shares were split with, and the budget itself (a change of either is a new budget)."""

    owner: str
    caps: tuple[int, ...]
    budget: int


@dataclass
class _Held:
    left: int = 0
    spent: bool = False  # no share had room left for any award (final for this budget)
    # (time.monotonic(), points) of this instance's recent awards from the budget: how big a chunk to take.
    recent: deque[tuple[float, int]] = field(default_factory=deque)

    def given(self, points: int, now: float, hold: float) -> None:
        self.recent.append((now, points))
        while self.recent and self.recent[0][0] < now - hold:
            self.recent.popleft()

    def rate_of(self, now: float, hold: float) -> int:
        """Points given in the last `hold` seconds: what the next `hold` seconds are likely to need."""
        return sum(points for at, points in self.recent if at >= now - hold)


_held: dict[Budget, _Held] = {}
_lock = threading.Lock()
# Budgets kept in memory at most (the running campaigns, a few versions each).
MAX_BUDGETS = 256


@dataclass
class Draw:
    """Points given from a chunk, for one award: given back to the chunk if the award is not recorded."""

    budget: Budget
    points: int
    cancelled: bool = False

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        with _lock:
            held = _held.get(self.budget)
            if held is not None:
                held.left += self.points


@contextlib.contextmanager
def given_back_unless_recorded(draws: Iterable[Draw]) -> Iterator[None]:
    """Draws whose award is not recorded (the block raises: a lost race, a refusal, a failed write) go back
    to their chunks: they are given again by a later award, never twice."""
    try:
        yield
    except BaseException:
        for drawn in draws:
            drawn.cancel()
        raise


def held(budget: Budget) -> int:
    """What this instance holds of `budget` (for tests and the report of an instance)."""
    with _lock:
        found = _held.get(budget)
        return found.left if found else 0


def forget_all() -> None:
    """Drop every chunk held (tests: a fresh instance)."""
    with _lock:
        _held.clear()


def draw(budget: Budget, points: int, hold: float | None = None) -> Draw | None:
    """`points` for one award from this instance's chunk of `budget`, taking a chunk first when it holds too
    little; None when the budget cannot cover the whole award (nothing is given in part)."""
    if points <= 0:
        return Draw(budget, 0)
    hold = settings().campaign_budget_hold_seconds if hold is None else hold
    for _attempt in range(TAKE_ATTEMPTS):
        now = time.monotonic()
        with _lock:
            held_now = _held.get(budget)
            if held_now is None:
                if len(_held) >= MAX_BUDGETS:
                    _held.clear()
                held_now = _held[budget] = _Held()
            if held_now.spent:
                return None
            if held_now.left >= points:
                held_now.left -= points
                held_now.given(points, now, hold)
                return Draw(budget, points)
            need = points - held_now.left
            want = max(need, held_now.rate_of(now, hold) - held_now.left)
        taken = _take_chunk(budget, need, want)
        with _lock:
            held_now = _held.setdefault(budget, _Held())
            if taken == SPENT:
                held_now.spent = True
                return None
            if taken == SHORT:
                return None
            held_now.left += int(taken)
    return None


def peek(budget: Budget, points: int) -> Draw | None:
    """What `draw` would answer for `points` now, changing nothing (a quote): this instance's chunk and the
    room left in the shares (one read when the chunk is short; no chunk taken). The Draw it gives is already
    given back, so it cannot be given twice."""
    if points <= 0:
        return Draw(budget, 0, cancelled=True)
    with _lock:
        held_now = _held.get(budget)
        left, spent = (held_now.left, held_now.spent) if held_now is not None else (0, False)
    if spent:
        return None
    if left >= points or left + sum(_rooms(budget)) >= points:
        return Draw(budget, points, cancelled=True)
    return None


def _take_chunk(budget: Budget, need: int, want: int) -> Taken:
    """Units taken for this instance (`want` when they can be had, at least `need`; 0 when a race took the
    room it saw: try again); SHORT when the budget cannot cover `need`, SPENT when it has nothing left."""
    count = len(budget.caps)
    index = shares.random_share(count)
    chunk = max(need, min(want, budget.caps[index] // MAX_CHUNK_PART))
    if _take(budget, index, chunk):
        return chunk
    # The share picked has less room than that: read every share and take from the one with most.
    rooms = _rooms(budget)
    if sum(rooms) == 0:
        return SPENT
    if sum(rooms) < need:
        return SHORT
    index = max(range(count), key=lambda position: rooms[position])
    if rooms[index] >= need:
        chunk = max(need, min(want, rooms[index]))
        return chunk if _take(budget, index, chunk) else 0
    # Near the end no share alone covers the award: the rooms of the fullest ones, whole.
    taken = 0
    for index in sorted(range(count), key=lambda position: -rooms[position]):
        if taken >= need or rooms[index] <= 0:
            break
        if _take(budget, index, rooms[index]):
            taken += rooms[index]
    return taken


def _rooms(budget: Budget) -> list[int]:
    found = shares.read_shares([budget.owner], len(budget.caps))[budget.owner]
    return [max(0, cap - (int(found[index].taken or 0) if found[index] is not None else 0))  # type: ignore[union-attr]
            for index, cap in enumerate(budget.caps)]


def _take(budget: Budget, index: int, chunk: int) -> bool:
    """One conditional update, outside any transaction: `taken` grows by `chunk` within the share's cap."""
    cap = budget.caps[index]
    if chunk > cap:
        return False
    share = ShareItem(*share_key(budget.owner, index))
    try:
        share.update(actions=[ShareItem.taken.add(chunk)],
                     condition=ShareItem.taken.does_not_exist() | (ShareItem.taken <= cap - chunk),
                     add_version_condition=False)
        return True
    except PynamoDBException as exc:
        # Another take got there first, or a transaction held the share a moment: read and try again.
        if error_code(exc) in ("ConditionalCheckFailedException", "TransactionConflictException"):
            return False
        raise_if_transient(exc)
        raise
