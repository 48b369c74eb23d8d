"""Allowances kept in shares (see loyalty.domain.allowance): keys, reads and the writes that take from them.

Owners: `REWARD#<id>` (stock units, `left` per share, null when unlimited), `PROMO#<id>` (budget points,
`left` per share) and `SPIN` (the prize wheel: the budget is in the program config, which may change,
so a share counts what it gave, `taken`, against its part of the configured budget).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from loyalty.domain.allowance import SHARES, draw, split
from loyalty.domain.errors import ServiceUnavailable
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import ConditionFailed, Key, Txn, batch_get, error_code, load, raise_if_transient


class ShareItem(Item):
    """One share of an allowance (see loyalty.domain.allowance). A claim reads one share at random,
    which carries a copy of the definition, and takes from it under a condition on what it has left."""

    class Meta(TableMeta):
        pass

    owner = UnicodeAttribute(null=True)
    data = JSONAttribute(null=True)  # the reward's or promotion's definition, as the main item has it
    partner_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # What this share may still give (stock units, budget points); null: unlimited.
    left = NumberAttribute(null=True)
    # What it gave, and the promotion counters of the claims it took (summed over the shares for reports).
    taken = NumberAttribute(null=True)
    # Of `taken`, what a lowered campaign budget took out of reach (no member got it): see
    # shares.set_budget.
    burned = NumberAttribute(null=True)
    codes_claimed = NumberAttribute(null=True)
    earns = NumberAttribute(null=True)
    members_reached = NumberAttribute(null=True)
    new_members = NumberAttribute(null=True)


@dataclass(frozen=True)
class Share:
    """One share as read: the definition's copy it carries and what it may still give and gave."""

    data: dict[str, Any] | None = None
    partner_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    left: int | None = None  # None: unlimited
    taken: int | None = None
    burned: int | None = None  # of `taken`, what a lowered budget took out of reach (set_budget)


def _share_of(item: ShareItem | None) -> Share | None:
    return None if item is None else record_of(Share, item)


def share_key(owner: str, index: int) -> tuple[str, str]:
    return f"SHARE#{owner}#{index:02d}", "SHARE"



SPIN = "SPIN"


def reward_owner(reward_id: str) -> str:
    return f"REWARD#{reward_id}"


def promotion_owner(promotion_id: str) -> str:
    return f"PROMO#{promotion_id}"


def share_keys(owner: str, count: int = SHARES) -> list[Key]:
    return [share_key(owner, index) for index in range(count)]


def random_share(count: int = SHARES) -> int:
    return random.randrange(count)  # noqa: S311 - spreading load, not security


@dataclass
class Pool:
    """The shares of one allowance a request has read: at first the one it picked, all of them when
    that one could not cover what it needs."""

    owner: str
    first: int
    shares: dict[int, Share | None]
    # The wheel: each share's part of the configured budget (its room is that less what it gave).
    caps: list[int] | None = None
    complete: bool = False
    # What a planned write takes from which share (set by `take`).
    takes: dict[int, int] = field(default_factory=dict)
    # How many shares the allowance has (a campaign budget may have more: see store.campaigns).
    count: int = SHARES

    @property
    def head(self) -> Share | None:
        return self.shares.get(self.first)

    @property
    def unlimited(self) -> bool:
        return self.caps is None and self.head is not None and self.head.left is None

    def room(self, index: int) -> int:
        share = self.shares.get(index)
        if self.caps is not None:
            return self.caps[index] - (int(share.taken or 0) if share is not None else 0)
        return 0 if share is None or share.left is None else int(share.left)

    def total(self) -> int | None:
        """What all shares still hold (None: unlimited); reads them all first."""
        if self.unlimited:
            return None
        self.read_all()
        return sum(max(0, self.room(index)) for index in range(self.count))

    def read_all(self) -> None:
        if not self.complete:
            self.shares = read_shares([self.owner], self.count)[self.owner]
            self.complete = True

    def take(self, need: int) -> bool:
        """Plans taking `need` (the share picked first when it can, several near the end); False when
        the whole allowance cannot cover it. The write's conditions check it again."""
        if self.unlimited:
            self.takes = {}
            return True
        if self.room(self.first) >= need:
            self.takes = {self.first: need} if need > 0 else {}
            return True
        self.read_all()
        takes = draw({index: self.room(index) for index in range(self.count)}, need, self.first)
        self.takes = takes or {}
        return takes is not None


def pool_from(owner: str, index: int, raw: dict[str, Any] | None) -> Pool:
    return Pool(owner, index, {index: _share_of(load(ShareItem, raw))})


def read_shares(owners: Iterable[str], count: int = SHARES) -> dict[str, dict[int, Share | None]]:
    """Every share of each owner (one BatchGetItem per 100 shares)."""
    owners = list(owners)
    raw = batch_get(key for owner in owners for key in share_keys(owner, count))
    return {owner: {index: _share_of(load(ShareItem, raw.get(share_key(owner, index)))) for index in range(count)}
            for owner in owners}


def new_shares(owner: str, *, total: int | None, data: dict[str, Any] | None = None, partner_id: str | None = None,
               created_at: str | None = None, updated_at: str | None = None) -> list[ShareItem]:
    """The shares a definition is written with: its copy in each, `total` split over them (None: unlimited)."""
    parts: list[int | None] = [None] * SHARES if total is None else list(split(total))
    return [ShareItem(*share_key(owner, index), owner=owner, data=data, partner_id=partner_id,
                      created_at=created_at, updated_at=updated_at, left=part, taken=0)
            for index, part in enumerate(parts)]


def take_actions(txn: Txn, pool: Pool, counters: dict[str, int] | None = None) -> None:
    """The updates of a planned take, each conditioned on the share still holding what it gives, and the
    request's counters added to one of the shares it touched."""
    touched = dict(pool.takes)
    if counters and not touched:
        touched = {pool.first: 0}
    for position, (index, amount) in enumerate(sorted(touched.items(), key=lambda pair: pair[0] != pool.first)):
        share = ShareItem(*share_key(pool.owner, index))
        actions: list[Any] = [ShareItem.taken.add(amount)]
        condition: Any
        if pool.caps is not None:
            condition = ShareItem.taken.does_not_exist() | (ShareItem.taken <= pool.caps[index] - amount)
        elif amount > 0:
            actions.append(ShareItem.left.add(-amount))
            condition = ShareItem.left >= amount
        else:
            condition = ShareItem.pk.exists()
        if position == 0:
            actions.extend(getattr(ShareItem, name).add(value) for name, value in (counters or {}).items() if value)
        txn.update(f"share{index}", share, actions, condition, versioned=False)


def take_now(pool: Pool) -> None:
    """A planned take of a reward's stock written at once, each share by a plain conditional update, never
    inside a transaction: a share that many redemptions take from would otherwise be written by overlapping
    transactions, which DynamoDB cancels (TransactionConflict) long before a partition's write limit.
    ConditionFailed(share<nn>) when a share gave meanwhile (re-read and plan again); what was taken before
    that is given back."""
    done: list[tuple[int, int]] = []
    for index, amount in sorted(pool.takes.items()):
        share = ShareItem(*share_key(pool.owner, index))
        try:
            share.update(actions=[ShareItem.taken.add(amount), ShareItem.left.add(-amount)],
                         condition=ShareItem.left >= amount, add_version_condition=False)
        except PynamoDBException as exc:
            give_back_now(pool.owner, done)
            if error_code(exc) in ("ConditionalCheckFailedException", "TransactionConflictException"):
                raise ConditionFailed([f"share{index}"]) from exc
            raise_if_transient(exc)
            raise
        done.append((index, amount))


GIVE_BACK_ATTEMPTS = 10


def give_back_now(owner: str, takes: Iterable[tuple[int, int]]) -> None:
    """Units taken by `take_now` for a change that was not recorded, back into their shares. Best effort: a
    unit that cannot be given back (the function stops, the table refuses) is lost, never sold twice."""
    for index, amount in takes:
        share = ShareItem(*share_key(owner, index))
        for attempt in range(GIVE_BACK_ATTEMPTS):
            try:
                share.update(actions=[ShareItem.taken.add(-amount), ShareItem.left.add(amount)],
                             condition=ShareItem.left.exists(), add_version_condition=False)
                break
            except PynamoDBException as exc:
                if error_code(exc) == "ConditionalCheckFailedException" or attempt == GIVE_BACK_ATTEMPTS - 1:
                    logging.getLogger("loyalty").warning("a stock unit could not be given back", extra={
                        "owner": owner, "share": index, "units": amount, "error": error_code(exc)})
                    break
                time.sleep(0.005 * (attempt + 1))  # a transaction held the share, or a throttle: again


def give_back_actions(txn: Txn, owner: str, index: int, set_at: str | None, units: int = 1) -> None:
    """Units coming back to a stocked allowance (a cancelled redemption), into the share they came from,
    unread. ConditionFailed(stock) when the stock was set anew since (`set_at`: when the stock the units
    came from was set): a PUT's stock is what the PUT says."""
    share = ShareItem(*share_key(owner, index))
    condition = ShareItem.left.exists()
    condition &= ShareItem.updated_at == set_at if set_at else ShareItem.updated_at.does_not_exist()
    txn.update("stock", share, [ShareItem.left.add(units), ShareItem.taken.add(-units)], condition,
               versioned=False)


def sum_counters(shares: Iterable[ShareItem | None], names: Iterable[str]) -> dict[str, int]:
    names = list(names)
    totals = dict.fromkeys(names, 0)
    for share in shares:
        if share is not None:
            for name in names:
                totals[name] += int(getattr(share, name) or 0)
    return totals


@dataclass(frozen=True)
class BudgetChange:
    """A capped allowance's budget (a campaign's, the prize wheel's) set anew. A claim takes from a share
    blind, checking the caps of the definition it read, so caps only ever grow: `basis` is what they split
    from now on (the budget, or the highest it had), and `caps_kept` says they stay as they were, which
    lets the room be cut before the new definition is written (see set_budget)."""

    basis: int | None
    caps_kept: bool


def budget_change(budget_before: int | None, basis_before: int | None, budget: int | None) -> BudgetChange:
    if budget is None:
        return BudgetChange(None, False)
    before = basis_before if basis_before is not None else budget_before
    basis = budget if before is None else max(before, budget)
    return BudgetChange(basis, basis == before)


SET_BUDGET_ATTEMPTS = 20


def awarded(owner: str, count: int) -> int:
    """What an allowance with caps gave so far (every share read): taken, less the room burned."""
    return _awarded(read_shares([owner], count)[owner])


def _awarded(found: dict[int, Share | None]) -> int:
    return sum(int(share.taken or 0) - int(share.burned or 0) for share in found.values() if share is not None)


def set_budget(owner: str, caps: list[int], budget: int) -> None:
    """Brings what an allowance with caps can still give to its new budget less what it gave: room above
    that is burned (counted as taken, and as `burned`, so it is never given), burned room below it is given
    back. The caps stay; the change is share by share, each update conditioned on what it read, and claims
    taking meanwhile send it round again (503 when they keep doing so for SET_BUDGET_ATTEMPTS rounds)."""
    count = len(caps)
    for _attempt in range(SET_BUDGET_ATTEMPTS):
        found = read_shares([owner], count)[owner]
        taken = {index: int(share.taken or 0) if share else 0 for index, share in found.items()}
        burned = {index: int(share.burned or 0) if share else 0 for index, share in found.items()}
        rooms = {index: max(0, caps[index] - taken[index]) for index in range(count)}
        excess = sum(rooms.values()) - max(0, budget - _awarded(found))
        if excess == 0 or (excess < 0 and not any(burned.values())):
            return
        try:
            if excess > 0:
                for index in sorted(rooms, key=lambda index: -rooms[index]):
                    amount = min(rooms[index], excess)
                    if amount <= 0:
                        break
                    _move_burned(owner, index, amount, ShareItem.taken.does_not_exist()
                                 | (ShareItem.taken <= caps[index] - amount))
                    excess -= amount
            else:
                for index in sorted(burned, key=lambda index: -burned[index]):
                    amount = min(burned[index], -excess)
                    if amount <= 0:
                        break
                    _move_burned(owner, index, -amount, ShareItem.burned >= amount)
                    excess += amount
        except ShareMoved:
            continue
    raise ServiceUnavailable("claims kept taking from this budget while it was changed; retry", retry_after=1)


class ShareMoved(Exception):
    """A share changed between the read and the update: read again."""


def _move_burned(owner: str, index: int, amount: int, condition: Any) -> None:
    share = ShareItem(*share_key(owner, index))
    try:
        share.update(actions=[ShareItem.taken.add(amount), ShareItem.burned.add(amount)], condition=condition,
                     add_version_condition=False)
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            raise ShareMoved from exc
        raise_if_transient(exc)
        raise
