"""Households: create, invite, join, leave; read the household and its pool's activity; spend the pool.

Each membership change is one transaction over the household (its version), the members it moves, the
pool (a 0-point `household` entry: household.member_joined / member_left) and the invitation used. Spending
the pool is a points change of the pool's (services.pointschange), guarded by the household's version so
that a member removed meanwhile spends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from loyalty.domain import households as rules
from loyalty.domain.balances import available_points, held_points
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, Forbidden, Gone, NotFound, ServiceUnavailable
from loyalty.domain.holders import Member
from loyalty.domain.households import MEMBER, OWNER, Household, pool_id
from loyalty.domain.ids import new_ulid, random_code
from loyalty.domain.member import Entry, MemberChange
from loyalty.domain.program import ProgramConfig
from loyalty.domain.tiers import qualifying_points
from loyalty.inputs.households import HouseholdRequest, InvitationRequest, JoinRequest
from loyalty.inputs.redemptions import (
    CancelRedemptionRequest,
    CaptureRequest,
    HoldRequest,
    RedemptionRequest,
    ReleaseRequest,
)
from loyalty.services import checkout, ledger
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.members import entry_types_wanted
from loyalty.services.pointschange import Turn
from loyalty.services.program import config_of
from loyalty.services.views import pool_entry_view
from loyalty.services.writes import Plan, enrolled_member, execute, key_required
from loyalty.store import households as store
from loyalty.store import ledger as ledger_store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.db import ConditionFailed
from loyalty.store.households import HouseholdChange, HouseholdRead
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.snapshot import Snapshot

INVITATION_CODE_LENGTH = 12


def _not_found(household_id: str) -> NotFound:
    return NotFound(f"no household {household_id[:64]}", code="household_not_found")


def _program() -> ProgramConfig:
    return config_of(snapshot_store.read_snapshot().program)


def _read(household_id: str, caller: Caller, *, whole: bool = False,
          also: tuple[str, ...] = ()) -> tuple[HouseholdRead, Household]:
    """The household as the caller may see it: 404 unknown, 403 unless a member of it or an admin. `whole`:
    with every member it seats (and `also`), read together with it."""
    checked_id(household_id, "household")
    found = (store.read_whole_household(household_id, also=also) if whole
             else store.read_household(household_id))
    if found.household is None or found.pool is None:
        raise _not_found(household_id)
    if not rules.may_read(found.household, caller.sub, admin=caller.is_admin):
        raise Forbidden("only the household's members may use it")
    return found, found.household


def household_view(household: Household, pool: Member, members: dict[str, Member],
                   config: ProgramConfig, now: datetime) -> dict[str, Any]:
    today = local_day(now, config.zone)
    view: dict[str, Any] = {
        "household_id": household.household_id, "name": household.name, "owner_id": household.owner_id,
        "status": household.status,
        "members": [{"member_id": member_id, "role": seat["role"], "joined_at": seat["joined_at"],
                     "contributed": int(((members.get(member_id) and members[member_id].household) or {}).get(
                         "contributed", 0))}
                    for member_id, seat in sorted(household.members.items(), key=lambda seat: seat[1]["joined_at"])],
        "points": {"available": available_points(pool, now), "held": held_points(pool, now),
                   "qualifying": qualifying_points(pool.qualifying_days or {}, today, config.tier_window_days)},
    }
    if rules.tiers_follow_pools(config):
        tier = config.tier_named(pool.tier)
        view["tier"] = {"name": tier.name, "since": pool.tier_since, "multiplier": float(tier.multiplier),
                        "benefits": list(tier.benefits)}
    return view


def _note(pool: Member, config: ProgramConfig, now: datetime, action: str, member_id: str,
          role: str, household_id: str) -> MemberChange:
    change = MemberChange(pool, config, now)
    change.note(EntryType.HOUSEHOLD, details={"action": action, "member_id": member_id, "role": role},
                source={"household_id": household_id, "member_id": member_id})
    return change


def _membership_change(idempotency: IdempotencyRequest | None, member_id: str,
                       plan: Callable[[Snapshot], tuple[int, dict[str, Any], HouseholdChange,
                                                        dict[str, Any]]]) -> Outcome:
    """Read the caller (and the program), plan, commit the household's change: a lost race re-plans."""

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(member_id=member_id, idempotency=idempotency)

    def planned(snapshot: Snapshot) -> Plan:
        status, body, change, final = plan(snapshot)

        def commit(record: IdempotencyRecord | None) -> None:
            change.idempotency = record
            store.commit_household_change(change)

        return Plan(status, body, commit, final_conflicts=final)

    return execute(idempotency, read, planned)


def create(caller: Caller, request: HouseholdRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    """The caller (a member) creates a household and becomes its owner."""
    member_id = checked_id(caller.sub, "member")
    now = utc_now()
    household_id = new_ulid()

    def plan(snapshot: Snapshot) -> tuple[int, dict[str, Any], HouseholdChange, dict[str, Any]]:
        member = enrolled_member(snapshot, member_id)
        config = config_of(snapshot.program)
        rules.rules_of(config)
        if member.household:
            raise Conflict("the member already belongs to a household", code="already_in_household")
        if member.status == "blocked":
            raise Conflict(f"member {member_id} is blocked", code="member_blocked")
        moment = iso_utc(now)
        household = Household(household_id, request.name, member_id, moment)
        rules.seat(household, member_id, OWNER, moment)
        pool = store.new_pool(household_id, request.name, tier=config.tiers[0].name, now=moment)
        entries = _note(pool, config, now, "joined", member_id, OWNER, household_id).finish()
        member.household = {"household_id": household_id, "role": OWNER, "contributed": 0}
        entries += _tier_on_joining(member, pool, config, now)
        change = HouseholdChange(household, None, pool, new_pool=True, members=[member], entries=entries)
        # The member moved on meanwhile (a purchase, or another household's creation): re-read and re-plan.
        return 201, household_view(household, pool, {member_id: member}, config, now), change, {}

    return _membership_change(idempotency, member_id, plan)


def get(caller: Caller, household_id: str) -> Outcome:
    found, household = _read(household_id, caller, whole=True)
    members = found.members
    assert found.pool is not None
    return Outcome(200, household_view(household, found.pool, members, _program(), utc_now()))


def invite(caller: Caller, household_id: str, request: InvitationRequest) -> Outcome:
    """A single-use code that works for 7 days (stored only as its hash: shown once)."""
    _found, household = _read(household_id, caller)
    if household.role_of(caller.sub) != OWNER and not caller.is_admin:
        raise Forbidden("only the household's owner invites")
    if household.status != "open":
        raise Conflict("the household is closed", code="household_closed")
    rules.rules_of(_program())
    now = utc_now()
    expires_at = rules.invitation_expiry(now)
    for _attempt in range(3):
        code = random_code(INVITATION_CODE_LENGTH)
        try:
            store.add_invitation(household_id, code, expires_at, iso_utc(now))
            break
        except ConditionFailed:
            continue  # a code drawn before (1 in 31^12): draw another
    else:
        raise ServiceUnavailable("could not draw an invitation code; retry", retry_after=1)
    return Outcome(201, {"code": code, "expires_at": expires_at, "household_id": household_id})


def join(caller: Caller, household_id: str, request: JoinRequest,
         idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = checked_id(caller.sub, "member")
    checked_id(household_id, "household")
    now = utc_now()
    moment = iso_utc(now)

    def plan(snapshot: Snapshot) -> tuple[int, dict[str, Any], HouseholdChange, dict[str, Any]]:
        member = enrolled_member(snapshot, member_id)
        config = config_of(snapshot.program)
        household_rules = rules.rules_of(config)
        found = store.read_whole_household(household_id, code=request.code)
        invitation = found.invitation
        if found.household is None or found.pool is None or invitation is None or (
                invitation.household_id != household_id):
            raise NotFound("no such invitation to this household", code="invitation_not_found")
        if invitation.used_by is not None:
            raise Gone("this invitation was used", code="invitation_used")
        if invitation.expires_at <= moment:
            raise Gone("this invitation expired", code="invitation_expired")
        household = found.household
        if member.status == "blocked":
            raise Conflict(f"member {member_id} is blocked", code="member_blocked")
        rules.check_may_join(household, household_rules, member_id, member.household)
        rules.seat(household, member_id, MEMBER, moment)
        member.household = {"household_id": household_id, "role": MEMBER, "contributed": 0}
        entries = _note(found.pool, config, now, "joined", member_id, MEMBER, household_id).finish()
        entries += _tier_on_joining(member, found.pool, config, now)
        change = HouseholdChange(household, found.rev, found.pool, members=[member], entries=entries,
                                 used_code=(request.code, member_id, moment))
        return 200, household_view(household, found.pool, {**found.members, member_id: member}, config, now), change, {
            "invitation": Gone("this invitation was used", code="invitation_used")}

    return _membership_change(idempotency, member_id, plan)


def remove(caller: Caller, household_id: str, member_id: str, idempotency: IdempotencyRequest | None) -> Outcome:
    """A member leaves (taking nothing from the pool), or the owner removes it; the owner leaves last, and the
    household then closes."""
    checked_id(household_id, "household")
    target = caller.sub if member_id == "me" else checked_id(member_id, "member")
    now = utc_now()

    def plan(snapshot: Snapshot) -> tuple[int, dict[str, Any], HouseholdChange, dict[str, Any]]:
        config = config_of(snapshot.program)
        found, household = _read(household_id, caller, whole=True, also=(target,))
        rules.check_may_remove(household, caller.sub, target, admin=caller.is_admin)
        role = rules.leave(household, target, iso_utc(now))
        leaving = found.members.get(target)
        moved = []
        assert found.pool is not None
        entries = _note(found.pool, config, now, "left", target, role, household_id).finish()
        if leaving is not None and (leaving.household or {}).get("household_id") == household_id:
            leaving.household = None
            moved.append(leaving)
            entries += _tier_on_leaving(leaving, config, now)
        if role == OWNER:
            household.status = "closed"
        change = HouseholdChange(household, found.rev, found.pool, members=moved, entries=entries)
        return 200, household_view(household, found.pool, found.members, config, now), change, {}

    return _membership_change(idempotency, caller.sub, plan)


def _tier_on_joining(member: Member, pool: Member, config: ProgramConfig, now: datetime) -> list[Entry]:
    """tier_basis household: a member who joins takes the pool's tier at once."""
    if not rules.tiers_follow_pools(config):
        return []
    change = MemberChange(member, config, now)
    change.follow_tier(str(pool.tier))
    return change.finish()


def _tier_on_leaving(member: Member, config: ProgramConfig, now: datetime) -> list[Entry]:
    """A member who followed its pool's tier has its own again: reached on its own qualifying points, and
    reviewed on the next daily visit (kept through retention, as any tier)."""
    if not rules.tiers_follow_pools(config):
        return []
    change = MemberChange(member, config, now)
    if config.tier_rank(str(member.tier)) > 0:
        member.tier_review_day = change.today.isoformat()
    return change.finish()


def activity(caller: Caller, household_id: str, *, limit: int, cursor: str | None, types: str | None) -> Outcome:
    _found, household = _read(household_id, caller)
    wanted = entry_types_wanted(types)
    entries, next_cursor = ledger_store.list_pool_entries(pool_id(household_id), household_id,
                                                          rules.contributors(household), limit=limit, cursor=cursor,
                                                          types=wanted)
    return Outcome(200, {"items": [pool_entry_view(entry) for entry in entries], "next_cursor": next_cursor})


def _spender(caller: Caller, household_id: str) -> Callable[[Turn], None]:
    """Checks, on each attempt's read (the household and the spender are read with the pool), that the caller
    may spend the pool, and guards the spend with the household's version (a member removed meanwhile spends
    nothing)."""

    def check(turn: Turn) -> None:
        household, rev = turn.snapshot.household, turn.snapshot.household_rev
        if household is None or rev is None:
            raise _not_found(household_id)
        rules.check_may_spend(household, rules.rules_of(turn.config), caller.sub, admin=caller.is_admin)
        spender = turn.snapshot.other_member
        if spender is not None and spender.status == "blocked":
            raise Conflict(f"member {caller.sub} is blocked", code="member_blocked")
        turn.writes.household_unchanged = (household_id, rev)

    return check


def _spending(caller: Caller, household_id: str) -> dict[str, Any]:
    """What a spend of the pool reads with the pool: the household, and the spender (a member)."""
    checked_id(household_id, "household")
    spender = {} if caller.is_admin or caller.is_trusted else {"other_member_id": checked_id(caller.sub, "member")}
    return {"household_id": household_id, **spender}


def _authorized_before_key(caller: Caller, household_id: str, idempotency: IdempotencyRequest | None) -> None:
    """A spend needs an Idempotency-Key; a caller who may not spend learns that first (403). With a key, the
    spend's own read authorizes it (the household is read with the pool)."""
    if idempotency is None:
        _read(household_id, caller)


def redeem(caller: Caller, household_id: str, request: RedemptionRequest,
           idempotency: IdempotencyRequest | None) -> Outcome:
    _authorized_before_key(caller, household_id, idempotency)
    key = key_required(idempotency)
    return ledger.redeem_from(pool_id(household_id), request, key, source={"member_id": caller.sub},
                              check=_spender(caller, household_id), **_spending(caller, household_id))


def place_hold(caller: Caller, household_id: str, request: HoldRequest,
               idempotency: IdempotencyRequest | None) -> Outcome:
    _authorized_before_key(caller, household_id, idempotency)
    key = key_required(idempotency)
    return checkout.hold_from(pool_id(household_id), request, key, check=_spender(caller, household_id),
                              **_spending(caller, household_id))


def capture_hold(caller: Caller, household_id: str, hold_id: str, request: CaptureRequest,
                 idempotency: IdempotencyRequest | None) -> Outcome:
    """A checkout paid with the pool's held points: captured by a trusted back end (or an admin), as a
    member's hold is."""
    caller.authorize_trusted()
    checked_id(hold_id, "hold")

    def known(turn: Turn) -> None:
        if turn.snapshot.household is None:
            raise _not_found(household_id)

    return checkout.capture_from(pool_id(household_id), hold_id, request, key_required(idempotency),
                                 source={"back_end": caller.sub} if not caller.is_admin else {}, check=known,
                                 **_spending(caller, household_id))


def release_hold(caller: Caller, household_id: str, hold_id: str, request: ReleaseRequest,
                 idempotency: IdempotencyRequest | None) -> Outcome:
    """The pool's held points back: by whoever may spend the pool, a trusted back end or an admin."""
    checked_id(hold_id, "hold")
    _authorized_before_key(caller, household_id, idempotency)
    key = key_required(idempotency)
    return checkout.release_from(pool_id(household_id), hold_id, key, check=_spender(caller, household_id),
                                 **_spending(caller, household_id))


def cancel_redemption(caller: Caller, household_id: str, redemption_id: str, request: CancelRedemptionRequest,
                      idempotency: IdempotencyRequest | None) -> Outcome:
    """A refund of what the pool paid: the pool's redemption cancelled (a trusted back end or an admin), its
    points back into the pool's lots, as a member's redemption is."""
    caller.authorize_trusted()
    checked_id(household_id, "household")
    checked_id(redemption_id, "redemption")
    idempotency = key_required(idempotency)
    return checkout.cancel_from(pool_id(household_id), redemption_id, request, idempotency, caller,
                                target=f"household:{household_id}")
