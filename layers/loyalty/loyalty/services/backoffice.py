"""The back office: find a member, block and unblock, read the audit log and the program's versions.

Every admin write is audited in its own transaction (see store.audit.new_audit); these use cases add the
reads program staff need and the blocks. Search goes through keys and indexes, never a Scan.
"""

from __future__ import annotations

from typing import Any

from loyalty.domain.clock import utc_now
from loyalty.domain.errors import ValidationFailed
from loyalty.inputs.members import BlockRequest, UnblockRequest
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.members import normalize_email
from loyalty.services.program import config_of
from loyalty.services.views import member_view
from loyalty.services.writes import Plan, enrolled_member, execute
from loyalty.store import audit as audit_store
from loyalty.store import guards
from loyalty.store import members as members_store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.audit import AuditRecord
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.snapshot import Snapshot

SEARCH_KEYS = ("email", "phone", "referral_code")
STATUSES = ("active", "blocked")


def search_members(caller: Caller, criteria: dict[str, str | None], *, limit: int, cursor: str | None) -> Outcome:
    """Members by exact email (case-insensitive), phone or referral code (one of them); or a page of the
    members of a tier and/or a status."""
    caller.authorize_admin()
    given = {name: value for name, value in criteria.items() if value}
    lookups = {name: value for name, value in given.items() if name in SEARCH_KEYS}
    listing = {name: value for name, value in given.items() if name not in SEARCH_KEYS}
    if len(lookups) > 1 or (lookups and listing) or not given:
        raise ValidationFailed("find by one of email, phone, referral_code; or list by tier and/or status", errors=[
            {"field": name, "in": "query",
             "message": "give one of email, phone, referral_code, or tier and/or status"}
            for name in (given or dict.fromkeys(SEARCH_KEYS))])
    snapshot = snapshot_store.read_snapshot()
    config, now = config_of(snapshot.program), utc_now()
    next_cursor = None
    if listing:
        program_tiers = [tier.name for tier in config.tiers]
        tiers = [listing["tier"]] if listing.get("tier") else program_tiers
        if not set(tiers) <= set(program_tiers):
            raise ValidationFailed("the tier is not a tier of the program", errors=[
                {"field": "tier", "in": "query", "message": "not a tier of the program"}])
        statuses = [listing["status"]] if listing.get("status") else list(STATUSES)
        keys = [members_store.roster_key(tier, status, shard) for tier in tiers for status in statuses
                for shard in range(members_store.ROSTER_SHARDS)]
        member_ids, next_cursor = members_store.roster_page(keys, limit=limit, cursor=cursor)
    else:
        (kind, value), = lookups.items()
        if kind == "phone":
            member_ids = guards.member_ids_by_phone(value, limit)
        else:
            found = guards.member_id_by(kind, normalize_email(value) if kind == "email" else value.strip())
            member_ids = [found] if found else []
    members = [member for member in members_store.members(member_ids) if member.status != "erased"]
    return Outcome(200, {"items": [member_view(member, config, now) for member in members],
                         "next_cursor": next_cursor})


def set_blocked(caller: Caller, member_id: str, request: BlockRequest | UnblockRequest,
                idempotency: IdempotencyRequest | None) -> Outcome:
    """Block (a reason is required) or unblock a member; audited in the same transaction."""
    caller.authorize_admin()
    checked_id(member_id, "member")
    blocking = isinstance(request, BlockRequest)
    now = utc_now()

    def plan(snapshot: Snapshot) -> Plan:
        member = enrolled_member(snapshot, member_id)
        config = config_of(snapshot.program)
        member.status = "blocked" if blocking else "active"
        details: dict[str, Any] = {"reason": request.reason} if isinstance(request, BlockRequest) else {}
        audit: AuditRecord = audit_store.new_audit(caller.sub, "member.blocked" if blocking else "member.unblocked",
                                                f"member:{member_id}", details)

        def commit(record: IdempotencyRecord | None) -> None:
            members_store.update_member(member, record, audit=audit)

        return Plan(200, member_view(member, config, now), commit)

    return execute(idempotency,
                   lambda: snapshot_store.read_snapshot(member_id=member_id, idempotency=idempotency), plan)


def audit_view(item: AuditRecord) -> dict[str, Any]:
    return {"audit_id": item.audit_id, "at": item.at, "actor": item.actor, "action": item.action,
            "target": item.target, "details": item.details or {}}


def list_audit(caller: Caller, *, limit: int, cursor: str | None) -> Outcome:
    caller.authorize_admin()
    items, next_cursor = audit_store.list_audit(limit=limit, cursor=cursor)
    return Outcome(200, {"items": [audit_view(item) for item in items], "next_cursor": next_cursor})
