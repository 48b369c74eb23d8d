"""The template of every use case that changes one enrolled member: read once, plan on the member,
commit the member, its new entries and what else the plan takes in one transaction.

A use case names what it reads besides the member and the program (an order, a reward's share, a
promotion…) and gives a `decide` function. `decide` plans on a `Turn` (the member, the program in force,
the change under way, the writes beside it) and returns a `Decision`: the status, the answer (asked once
the change is finished, so balances and tier are final) and the failed conditions that are final.
`writes.execute` does the rest: a used idempotency key replays, a lost race re-reads and re-plans.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from loyalty.domain import households
from loyalty.domain.errors import Conflict, DomainError
from loyalty.domain.holders import Member
from loyalty.domain.member import ClosedHold, Entry, MemberChange
from loyalty.domain.program import ProgramConfig
from loyalty.services import leaderboards
from loyalty.services.context import Outcome
from loyalty.services.program import config_of
from loyalty.services.writes import Plan, Replayer, enrolled_member, execute
from loyalty.store import changes, escrow
from loyalty.store import snapshot as snapshot_store
from loyalty.store.audit import AuditRecord
from loyalty.store.changes import PointsChange
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.snapshot import Snapshot


@dataclass
class Turn:
    """One attempt's view: what was read, and the change a use case plans on it."""

    snapshot: Snapshot
    member: Member
    config: ProgramConfig
    change: MemberChange
    # What the transaction writes besides the member and the change's entries: a use case sets the order,
    # the spend condition, the stock or budget it takes, another member (and appends that member's entries).
    writes: PointsChange
    # A quote: the same plan, never committed; what it would take from shared budgets is looked at only.
    quoting: bool = False
    # The member's household pool, when read before planning (tier_basis household).
    pool: Member | None = None

    @property
    def today(self) -> date:
        return self.change.today


@dataclass
class Decision:
    status: int
    answer: Callable[[], Any]
    # A failed condition on these labels is final (this error) rather than a race to retry.
    final_conflicts: dict[str, DomainError] = field(default_factory=dict)


def change_points(idempotency: IdempotencyRequest | None, member_id: str, now: datetime,
                  decide: Callable[[Turn], Decision], *, replayer: Replayer | None = None,
                  while_blocked: bool = False, audit: AuditRecord | None = None, **reading: Any) -> Outcome:
    """Run `decide` on the member `member_id` (404 if never enrolled, 410 once erased) as it reads now,
    with `reading` (keyword arguments of store.snapshot.read_snapshot) read in the same request.

    A blocked member earns, spends, transfers and claims nothing (409 member_blocked): only the changes
    that take points back or give back what was the member's (`while_blocked`: returns, adjustments,
    releases, cancellations) go on. `audit`: an admin's change, recorded in the same transaction."""

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(member_id=member_id, idempotency=idempotency, **reading)

    def plan(snapshot: Snapshot) -> Plan:
        turn, decision, body = _planned(snapshot, member_id, now, decide, while_blocked=while_blocked, audit=audit)

        def commit(record: IdempotencyRecord | None) -> None:
            turn.writes.idempotency = record
            with escrow.given_back_unless_recorded(turn.writes.campaign_budgets):
                changes.commit_points_change(turn.writes)

        return Plan(decision.status, body, commit, final_conflicts=decision.final_conflicts)

    return execute(idempotency, read, plan, replayer)


def _to_household(turn: Turn, now: datetime) -> None:
    """A household's member: what this change earned moves on to the household's pool, in the same
    transaction."""
    shared = household_share(turn.member, turn.change, turn.config, now, turn.pool)
    if shared is not None:
        pool, entries, closed_holds = shared
        if turn.writes.new_order is not None:  # a purchase: its return takes the points back from the pool
            turn.writes.new_order.household_id = str((turn.member.household or {})["household_id"])
        turn.writes.other_members.append(pool)
        turn.writes.entries.extend(entries)
        turn.writes.closed_holds.extend(closed_holds)


def followed_pool(member: Member, change: MemberChange, config: ProgramConfig) -> Member | None:
    """With tier_basis household, a household's member follows its pool's tier: the pool, read (else None)."""
    household_id = households.followed_household(config, member.household)
    if household_id is None:
        return None
    pool = snapshot_store.read_snapshot(member_id=households.pool_id(household_id), with_program=False).member
    if pool is not None:
        change.follow_tier(str(pool.tier))
    return pool


def household_share(member: Member, change: MemberChange, config: ProgramConfig, now: datetime,
                    pool: Member | None = None) -> tuple[Member, list[Entry], list[ClosedHold]] | None:
    """What `change` earned for a household's member, moved to the pool: the pool (written under its own
    version: its members' earns and spends re-plan on a lost race), its own entries (a hold found expired,
    a tier reached; the earns are recorded on the member's entries) and the holds it closed by the way.
    None when the member is in no household or earned nothing (the pool is then not even read)."""
    seat = member.household or {}
    household_id = seat.get("household_id")
    if not household_id or not any(households.goes_to_pool(entry, household_id) for entry in change.entries):
        return None
    if pool is None:
        pool = snapshot_store.read_snapshot(member_id=households.pool_id(household_id), with_program=False).member
    if pool is None:
        return None
    pool_change = MemberChange(pool, config, now)
    # The earns first: the pool's balance after each (recorded on the member's entry) comes before the
    # pool's own entries of this change in the ledger's order.
    households.contribute(change, pool_change, household_id)
    closed_holds = pool_change.fold_expired_holds()
    member.household = {**seat, "contributed": int(seat.get("contributed", 0)) + households.contributed(
        change.entries)}
    pool_entries = pool_change.finish()
    if change.followed_tier is not None:
        change.follow_tier(str(pool.tier))  # the pool may have reached a tier just now
    return pool, pool_entries, closed_holds


@dataclass(frozen=True)
class Quote:
    """What a change would do to the member now, planned exactly as change_points plans it, not committed."""

    answer: Any
    tier_before: str
    tier_after: str


def quote_points(member_id: str, now: datetime, decide: Callable[[Turn], Decision], **reading: Any) -> Quote:
    """Plan `decide` on the member as change_points would (same reads, same checks, same errors) and
    commit nothing: no entry, no idempotency record, no order guard, no budget drawn."""
    snapshot = snapshot_store.read_snapshot(member_id=member_id, **reading)
    tier_before = str(enrolled_member(snapshot, member_id).tier)
    turn, _decision, body = _planned(snapshot, member_id, now, decide, quoting=True)
    return Quote(body, tier_before, str(turn.member.tier))


def _planned(snapshot: Snapshot, member_id: str, now: datetime, decide: Callable[[Turn], Decision], *,
             while_blocked: bool = False, audit: AuditRecord | None = None,
             quoting: bool = False) -> tuple[Turn, Decision, Any]:
    """One attempt's plan on what was read: the turn (with every write it takes), the decision, the answer."""
    member = enrolled_member(snapshot, member_id)
    if member.status == "blocked" and not while_blocked:
        raise Conflict(f"member {member_id} is blocked", code="member_blocked")
    config = config_of(snapshot.program)
    change = MemberChange(member, config, now)
    # Expired holds come back first, so that the change plans on what the member really has.
    stored_available = change.wallet.available
    expired_holds = change.fold_expired_holds()
    came_back = change.wallet.available - stored_available
    turn = Turn(snapshot, member, config, change,
                PointsChange(member, [], closed_holds=expired_holds, audit=audit), quoting=quoting)
    # tier_basis household: the member's tier is its pool's (read now, for the rules' multipliers and gates).
    turn.pool = followed_pool(member, change, config)
    # Campaign points drawn while planning go back to their chunks unless the change is recorded.
    with escrow.given_back_unless_recorded(turn.writes.campaign_budgets):
        decision = decide(turn)
        if turn.writes.spend is not None:
            # The spend's condition is checked on the balance as stored, before the expired holds came back.
            turn.writes.spend -= came_back
        if not quoting:
            _to_household(turn, now)
        turn.writes.entries = turn.change.finish() + turn.writes.entries
        if not quoting:
            leaderboards.keep_values(snapshot.program, member, turn.writes.entries)
        body = decision.answer()
    return turn, decision, body
