"""Households: members who pool their points.

A household's pool is a holder of points like a member (domain.member.PointsHolder: lots with their expiry,
holds, qualifying days, a tier), kept under the pool id `household#<household_id>`, which no path can name
as a member. While a member belongs to a household, what it earns moves on to the pool in the same
transaction (`contribute`), written once: the earn entry stays on the member's ledger (the program issued
the points to it: metrics and events count it there), carries `household_id`, and records what the pool
received (`pooled_points`, the same lots with their expiry, and the earn's qualifying points) and the pool's
balance after it. The pool's ledger is its own partition's entries (spends, expiry, returns, who joined and
left) and its contributors' pooled earns. Nothing here reads or writes storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loyalty.domain.clock import iso_utc, parse_utc
from loyalty.domain.entries import POOL_PREFIX, EntryType, is_pool
from loyalty.domain.errors import Conflict, Forbidden
from loyalty.domain.ids import ulid_floor
from loyalty.domain.member import Entry, MemberChange
from loyalty.domain.program import Households, ProgramConfig

__all__ = ["is_pool"]
INVITATION_DAYS = 7
OWNER, MEMBER = "owner", "member"


def pool_id(household_id: str) -> str:
    """The member id the household's pool is kept under (a `#` no member id has)."""
    return f"{POOL_PREFIX}{household_id}"


@dataclass
class Household:
    household_id: str
    name: str
    owner_id: str
    created_at: str
    # {member_id: {"role": "owner"|"member", "joined_at": ...}}
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "open"  # "closed" once its owner left, alone
    # Every member it ever seated, with when it first joined and last left (None: seated now): whose
    # ledgers hold earns pooled to it, and between which moments (the pool's activity reads no further).
    tenure: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def role_of(self, member_id: str) -> str | None:
        return (self.members.get(member_id) or {}).get("role")


# How far a pooled earn's id may lie outside its member's tenure: ids come from the clock of the Lambda that
# planned the earn, the tenure's moments from the one that committed the join or the leave.
CLOCK_SKEW_MS = 5 * 60 * 1000


def _mark(tenure: dict[str, dict[str, str | None]], member_id: str, action: str, moment: str,
          since: str | None = None) -> None:
    """One joining or leaving in a tenure: it runs from the first joining (`since` when that predates the
    record) to the last leaving, and stays open while the member is seated."""
    first = (tenure.get(member_id) or {}).get("since") or since or moment
    tenure[member_id] = {"since": first, "until": moment if action == "left" else None}


def seat(household: Household, member_id: str, role: str, now: str) -> None:
    """The member into a seat of the household, its tenure open (from its first joining)."""
    household.members[member_id] = {"role": role, "joined_at": now}
    _mark(household.tenure, member_id, "joined", now)


def leave(household: Household, member_id: str, now: str) -> str:
    """The member out of its seat, its tenure closed; returns the role it had."""
    role = str(household.role_of(member_id))
    joined_at = str(household.members.pop(member_id)["joined_at"])
    _mark(household.tenure, member_id, "left", now, since=joined_at)
    return role


def tenure_of(notes: list[tuple[str, str, str]]) -> dict[str, dict[str, str | None]]:
    """Members' tenure as a pool's `household` entries tell it: (member_id, "joined"|"left", moment), in
    the ledger's order."""
    tenure: dict[str, dict[str, str | None]] = {}
    for member_id, action, moment in notes:
        _mark(tenure, member_id, action, moment)
    return tenure


def contributors(household: Household) -> list[tuple[str, str, str | None]]:
    """Every member the household ever seated, with the entry ids its pooled earns lie between."""
    tenure: dict[str, dict[str, str | None]] = {
        member_id: {"since": seat["joined_at"], "until": None} for member_id, seat in household.members.items()}
    tenure.update(household.tenure)
    return windows(tenure)


def windows(tenure: dict[str, dict[str, str | None]]) -> list[tuple[str, str, str | None]]:
    """Each member's tenure as the entry ids its pooled earns lie between: from its first joining to its last
    leaving, with the clocks' skew (None: up to now)."""
    return [(member_id, ulid_floor(_ms(str(held["since"])) - CLOCK_SKEW_MS),
             ulid_floor(_ms(str(held["until"])) + CLOCK_SKEW_MS) if held.get("until") else None)
            for member_id, held in sorted(tenure.items())]


def _ms(moment: str) -> int:
    return int(parse_utc(moment).timestamp() * 1000)


def rules_of(config: ProgramConfig) -> Households:
    """The program's households block; 409 households_disabled unless it is on."""
    rules = config.households
    if rules is None or not rules.enabled:
        raise Conflict("the program has no households (households.enabled)", code="households_disabled")
    return rules


def tiers_follow_pools(config: ProgramConfig) -> bool:
    """tier_basis household: every household member's tier is its pool's."""
    return config.households is not None and config.households.tier_basis == "household"


def followed_household(config: ProgramConfig, seat: dict[str, Any] | None) -> str | None:
    """The household whose pool's tier a member with this seat follows (None: its own tier)."""
    household_id = (seat or {}).get("household_id")
    return str(household_id) if household_id and tiers_follow_pools(config) else None


def may_read(household: Household, member_id: str, *, admin: bool) -> bool:
    return admin or household.role_of(member_id) is not None


def check_may_spend(household: Household, rules: Households, member_id: str, *, admin: bool) -> None:
    """The owner spends the pool, and every member when `members_may_spend` (an admin too)."""
    role = household.role_of(member_id)
    if admin or role == OWNER or (role == MEMBER and rules.members_may_spend):
        return
    raise Forbidden("only the household's owner may spend its points" if role else
                    "only the household's members may use it")


def check_may_join(household: Household, rules: Households, member_id: str,
                   member_household: dict[str, Any] | None) -> None:
    if member_household:
        raise Conflict("the member already belongs to a household", code="already_in_household")
    if household.status != "open":
        raise Conflict("the household is closed", code="household_closed")
    if len(household.members) >= rules.max_members:
        raise Conflict(f"the household has its {rules.max_members} members", code="household_full")


def check_may_remove(household: Household, caller_id: str, member_id: str, *, admin: bool) -> None:
    """A member leaves; the owner (or an admin) removes a member; the owner leaves only when alone."""
    role = household.role_of(member_id)
    if role is None:
        raise Conflict(f"member {member_id} is not in this household", code="not_in_household")
    if not admin and caller_id != member_id and household.role_of(caller_id) != OWNER:
        raise Forbidden("only the owner removes another member")
    if role == OWNER and len(household.members) > 1:
        raise Conflict("the owner leaves last: remove the other members first", code="owner_leaves_last")


def invitation_expiry(now: datetime) -> str:
    return iso_utc(now + timedelta(days=INVITATION_DAYS))


def goes_to_pool(entry: Entry, household_id: str) -> bool:
    """Points the program issued to a household's member, available now: the pool's (pending points released
    now only when they were earned in this household: what the member had before joining stays its own)."""
    if int(entry.points) <= 0 or entry.status != "available" or not EntryType(entry.type).issues_points:
        return False
    return entry.type != EntryType.RELEASE or entry.source.get("earned_in_household") == household_id


def contribute(member_change: MemberChange, pool_change: MemberChange, household_id: str) -> None:
    """Move what the member's change earned (points the program issued, available now) on to the pool, with
    no entry of their own: each such earn entry records `household_id` in its source, and the household, the
    points and the pool's balance after them in `pooled_*`. The member's balance_after (of that entry and of
    the change's entries after it) leaves the moved points out."""
    moved = 0
    for entry in member_change.entries:
        entry.balance_after -= moved
        if not goes_to_pool(entry, household_id):
            continue
        entry.source = {**entry.source, "household_id": household_id}
        if not entry.lots:
            continue  # all of it paid a debt of the member's
        points = member_change.pool_out(entry)
        moved += points
        entry.balance_after -= points
        entry.pooled_to, entry.pooled_points = household_id, points
        entry.pooled_balance_after = pool_change.pool_in(entry)


def contributed(entries: list[Entry]) -> int:
    """What these entries of a member moved to its household's pool."""
    return sum(int(entry.pooled_points or 0) for entry in entries)
