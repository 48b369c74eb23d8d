"""Members: enroll, read, update the profile, list activity."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from datetime import datetime
from typing import Any

from loyalty.domain import referrals as referral_rules
from loyalty.domain.actions import profile_is_complete
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, Forbidden, LimitReached, ServiceUnavailable, ValidationFailed
from loyalty.domain.holders import Member
from loyalty.domain.households import followed_household, pool_id
from loyalty.domain.ids import random_code
from loyalty.domain.member import Entry, MemberChange, award_action, referral_release_day
from loyalty.domain.program import ProgramConfig
from loyalty.inputs.members import EnrollRequest, InviteRequest, ProfilePatch
from loyalty.services import campaigns, leaderboards
from loyalty.services.context import Caller, Outcome
from loyalty.services.program import config_of
from loyalty.services.views import entry_view, member_view
from loyalty.services.writes import MAX_ATTEMPTS, Plan, enrolled_member, execute
from loyalty.store import audit as audit_store
from loyalty.store import escrow, ledger, members
from loyalty.store import gamification as gamification_store
from loyalty.store import referrals as referrals_store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.db import ConditionFailed
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.referrals import Referral
from loyalty.store.snapshot import Snapshot

ENTRY_TYPES = frozenset(kind.value for kind in EntryType)
# Characters of a member's referral code (ids.random_code's unambiguous alphabet: 31^8 codes).
REFERRAL_CODE_LENGTH = 8


# The stored stand-in for a member view in an idempotency record: {"$member_view": member id}. Member
# views hold personal data, which idempotency records never keep: a replay answers the member as it is.
MEMBER_VIEW = "$member_view"


def replay_member_view(stored: Any) -> Any:
    if isinstance(stored, dict) and set(stored) == {MEMBER_VIEW}:
        return current_view(str(stored[MEMBER_VIEW]))
    return stored


def normalize_email(email: str) -> str:
    return email.strip().lower()


def enroll(caller: Caller, request: EnrollRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    if request.member_id is not None and request.member_id != caller.sub and not caller.is_admin:
        raise Forbidden("only an admin may enroll someone else")
    member_id = request.member_id or caller.sub
    email = normalize_email(request.email)
    referral_code = request.referral_code.upper() if request.referral_code else None
    now = utc_now()

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(member_id=member_id, idempotency=idempotency, email=email,
                                        referral_code=referral_code)

    # Staff enrolling someone else is an admin write: audited with the enrollment.
    audit = audit_store.new_audit(caller.sub, "member.enrolled", f"member:{member_id}") if (
        member_id != caller.sub) else None

    def plan(snapshot: Snapshot) -> Plan:
        if snapshot.member is not None:
            raise Conflict(f"member {member_id} is already enrolled", code="member_exists")
        if snapshot.email is not None:
            raise Conflict("a member with this email is already enrolled", code="member_exists")
        config = config_of(snapshot.program)
        stamp = iso_utc(now)
        member = members.new_member(
            member_id, email=email, name=request.name,
            birthday=request.birthday.isoformat() if request.birthday else None,
            phone=request.phone, locale=request.locale, nickname=request.nickname,
            preferences=request.preferences or {},
            consents=request.consents or {}, referral_code=random_code(REFERRAL_CODE_LENGTH), status="active",
            enrolled_at=stamp, tier=config.tiers[0].name, tier_since=stamp,
            enrolled_day=now.astimezone(config.zone).date().isoformat(),
            last_activity_day=now.astimezone(config.zone).date().isoformat(),
        )
        if request.device_id is not None:
            member.device_hashes = referral_rules.remember(None, request.device_id)
        if referral_code is not None:
            if snapshot.referral is None:
                raise ValidationFailed("unknown referral code",
                                       errors=[{"field": "referral_code", "message": "no member has this code"}])
            if snapshot.referral.member_id == member_id:
                raise ValidationFailed("a member cannot refer itself",
                                       errors=[{"field": "referral_code", "message": "self-referral"}])
        change = MemberChange(member, config, now)
        found = campaigns.awards(snapshot.program, member, config, trigger="enrollment", at=now,
                                 today=change.today)
        with escrow.given_back_unless_recorded(found[1]):
            return _enrollment_plan(snapshot, member, config, change, found)

    def _enrollment_plan(snapshot: Snapshot, member: Member, config: Any, change: MemberChange,
                         found: campaigns.Awards) -> Plan:
        campaigns.bonus_entry(change, "enrollment", now, found)
        entries: list[Entry] = change.finish()  # and the member's first due day (a birthday)
        referrer = referral = None
        if referral_code is not None and snapshot.referral is not None:
            referrer_id = snapshot.referral.member_id
            member.referred_by = referrer_id
            referrer = snapshot_store.read_snapshot(member_id=referrer_id, with_program=False).member
            if referrer is not None:
                referral = _referred_sign_up(member, referrer, config, now, entries)
        body = member_view(member, config, now)

        def commit(record: IdempotencyRecord | None) -> None:
            with escrow.given_back_unless_recorded(found[1]):
                members.create_member(member, record, entries, referrer, audit, referral)

        return Plan(201, body, commit, final_conflicts={
            "member": Conflict(f"member {member_id} is already enrolled", code="member_exists"),
            "email": Conflict("a member with this email is already enrolled", code="member_exists"),
        }, replay_body={MEMBER_VIEW: member_id})

    return execute(idempotency, read, plan, replay_member_view)


def _referred_sign_up(member: Member, referrer: Member, config: ProgramConfig, now: datetime,
                      entries: list[Entry]) -> Referral:
    """A referred member's sign-up: the referrer's funnel counts it and earns `referral_signup` (within its
    caps), unless the safeguards flag it (the referee is the referrer under another name, or the referrer
    is past its weekly cap): then it earns nothing until an admin approves. The referral's record."""
    rules = config.referral_rules
    funnel = dict(referrer.referrals or {})
    week = referral_rules.week_of(local_day(now, config.zone))
    reasons = referral_rules.shared(identity(member), identity(referrer), tuple(rules.block_same))
    if referral_rules.past_weekly_limit(rules.max_per_week, week, funnel.get("week"),
                                        int(funnel.get("week_signups", 0))):
        reasons.append("max_per_week")
    awarded: list[Entry] = []
    withheld: list[str] = []
    if reasons:
        withheld = ["referral_signup"] if "referral_signup" in config.actions else []
        funnel["flagged"] = int(funnel.get("flagged", 0)) + 1
    elif "referral_signup" in config.actions and referrer.status == "active":
        awarded = award_action(referrer, config, "referral_signup", now,
                               source={"referred_member_id": member.member_id}, silent_when_capped=True,
                               pending_until=referral_release_day(config, now))
    entries.extend(awarded)
    funnel["signed_up"] = int(funnel.get("signed_up", 0)) + 1
    funnel["points_earned"] = int(funnel.get("points_earned", 0)) + sum(int(e.points) for e in awarded)
    funnel["week_signups"] = (int(funnel.get("week_signups", 0)) if funnel.get("week") == week else 0) + 1
    funnel["week"] = week
    referrer.referrals = funnel
    # Pending while its reward is held (referrals.hold_days), rewarded once nothing is held.
    status = "flagged" if reasons else "pending" if any(e.status == "pending" for e in awarded) else "rewarded"
    member.referral_status = status
    return referrals_store.new_referral(str(referrer.member_id), str(member.member_id), status=status,
                                        reasons=reasons, withheld=withheld, created_at=str(member.enrolled_at))


def identity(member: Member) -> referral_rules.Identity:
    """What the referral safeguards compare of a member."""
    return referral_rules.Identity(email=member.email, phone=member.phone,
                                   devices=frozenset(member.device_hashes or []),
                                   payments=frozenset(member.payment_hashes or []))


def current_view(member_id: str) -> dict[str, Any]:
    snapshot = snapshot_store.read_snapshot(member_id=member_id)
    return member_view(enrolled_member(snapshot, member_id), config_of(snapshot.program), utc_now())


PERSONAL_FIELDS = ("email", "name", "nickname", "phone", "birthday", "locale", "preferences", "consents")


def export(caller: Caller, path_id: str) -> Outcome:
    """Everything held about the member, as JSON (data portability)."""
    member_id = caller.authorize_self(path_id)
    snapshot = snapshot_store.read_snapshot(member_id=member_id)
    member = enrolled_member(snapshot, member_id)
    config = config_of(snapshot.program)
    entries = ledger.all_entries(member_id)
    profile = {name: getattr(member, name) for name in (
        "member_id", *PERSONAL_FIELDS, "referral_code", "referred_by", "status", "enrolled_at", "tier", "tier_since",
        "available", "pending", "lifetime_earned", "debt", "lots", "qualifying_days", "action_counts",
        "reward_counts", "referrals", "last_activity_day", "profile_completed_at", "household",
        "challenge_progress", "streak_progress", "board")}
    return Outcome(200, {"exported_at": iso_utc(utc_now()), "member": json.loads(json.dumps(profile, default=str)),
                         "view": member_view(member, config, utc_now()),
                         "activity": [entry_view(entry) for entry in entries],
                         "badges": [dataclasses.asdict(badge) for badge in gamification_store.member_badges(member_id)],
                         "challenges_completed": [dataclasses.asdict(record) for record in
                                                  gamification_store.member_completions(member_id)]})


def erase(caller: Caller, path_id: str) -> Outcome:
    """Right to erasure: personal data goes; the ledger stays under the member's opaque id (a Cognito
    sub), so balances, totals and metrics stay right. The email is free to enroll again."""
    member_id = caller.authorize_self(path_id)
    for _attempt in range(MAX_ATTEMPTS):
        snapshot = snapshot_store.read_snapshot(member_id=member_id)
        member = enrolled_member(snapshot, member_id)
        email, code, phone = member.email, member.referral_code, member.phone
        # Comments first, the member last: a failure in between leaves the member as it was, so the
        # client's retry of DELETE does it all again (scrubbing is idempotent). The member's write is
        # conditioned on the version read before the comments were found, so a comment written
        # meanwhile (a feedback moves the version) sends the erasure round again.
        ledger.scrub_feedback([entry for entry in ledger.all_entries(member_id, types={EntryType.FEEDBACK})
                                   if (entry.details or {}).get("comment")])
        for name in PERSONAL_FIELDS:
            setattr(member, name, None)
        member.email, member.name = f"erased+{member_id}", "erased"
        member.device_hashes = member.payment_hashes = None  # the referral safeguards' fingerprints too
        member.status = "erased"
        leaderboards.shown_changed(member)
        member.set_next_due(None)
        try:
            members.erase_member(member, email, code, phone, audit=audit_store.new_audit(
                caller.sub, "member.erased", f"member:{member_id}") if member_id != caller.sub else None)
            break
        except ConditionFailed:
            continue
    else:
        raise ServiceUnavailable("the member kept changing during the erasure; retry", retry_after=1)
    return Outcome(200, {"member_id": member_id, "status": "erased", "erased_at": iso_utc(utc_now()),
                         "ledger_entries_kept": len(ledger.all_entries(member_id))})


def get_member(caller: Caller, path_id: str) -> Outcome:
    member_id = caller.authorize_member(path_id)
    snapshot = snapshot_store.read_snapshot(member_id=member_id)
    member = enrolled_member(snapshot, member_id)
    config = config_of(snapshot.program)
    return Outcome(200, member_view(member, config, utc_now(), tier_of=_followed_pool(member, config)))


def _followed_pool(member: Member, config: ProgramConfig) -> Member | None:
    """tier_basis household: the pool whose tier the member's follows (read for the answer's tier)."""
    household_id = followed_household(config, member.household)
    if household_id is None:
        return None
    return snapshot_store.read_snapshot(member_id=pool_id(household_id), with_program=False).member


def update_profile(caller: Caller, path_id: str, patch: ProfilePatch,
                   idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_self(path_id)
    changes: dict[str, Any] = {name: getattr(patch, name) for name in patch.model_fields_set}
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    if changes.get("birthday") is not None:
        changes["birthday"] = changes["birthday"].isoformat()
    now = utc_now()

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(member_id=member_id, idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        member = enrolled_member(snapshot, member_id)
        config = config_of(snapshot.program)
        old_email, old_phone = member.email, member.phone or ""
        for name, value in changes.items():
            setattr(member, name, value)
        leaderboards.shown_changed(member)
        change = MemberChange(member, config, now)
        if member.profile_completed_at is None and _complete(member):
            member.profile_completed_at = iso_utc(now)
            # A blocked member earns nothing (the completion is kept: it is not awarded later either).
            if "profile_completed" in config.actions and member.status != "blocked":
                # Completed before (the lifetime cap): nothing more to award.
                with contextlib.suppress(LimitReached):
                    change.action("profile_completed", occurred_at=now, source={})
        entries = change.finish()  # also reschedules (a new birthday)
        body = member_view(member, config, now)

        def commit(record: IdempotencyRecord | None) -> None:
            members.update_member(member, record, old_email=old_email, old_phone=old_phone, entries=entries)

        return Plan(200, body, commit, final_conflicts={
            "email": Conflict("a member with this email is already enrolled", code="member_exists"),
        }, replay_body={MEMBER_VIEW: member_id})

    return execute(idempotency, read, plan, replay_member_view)


def _complete(member: Member) -> bool:
    return profile_is_complete(member.name, member.birthday, member.phone, member.preferences)


def entry_types_wanted(types: str | None) -> set[str] | None:
    """The `type` filter of an activity list (None: every type); 422 for a type the ledger does not have."""
    if not types:
        return None
    wanted = {part.strip(" ") for part in types.split(",")}
    unknown = wanted - ENTRY_TYPES
    if unknown:
        raise ValidationFailed("unknown entry type", errors=[
            {"field": "type", "in": "query", "message": f"unknown types: {', '.join(sorted(unknown))}"}
        ])
    return wanted


def list_activity(caller: Caller, path_id: str, *, limit: int, cursor: str | None, types: str | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    wanted = entry_types_wanted(types)
    entries, next_cursor = ledger.list_entries(member_id, limit=limit, cursor=cursor, types=wanted)
    if not entries and cursor is None:
        snapshot = snapshot_store.read_snapshot(member_id=member_id, with_program=False)
        enrolled_member(snapshot, member_id)
    return Outcome(200, {"items": [entry_view(entry) for entry in entries], "next_cursor": next_cursor})


def referral(caller: Caller, path_id: str) -> Outcome:
    member_id = caller.authorize_self(path_id)
    snapshot = snapshot_store.read_snapshot(member_id=member_id, with_program=False)
    member = enrolled_member(snapshot, member_id)
    funnel = member.referrals or {}
    return Outcome(200, {"referral_code": member.referral_code,
                         **{name: int(funnel.get(name, 0))
                            for name in ("invited", "signed_up", "converted", "points_earned")}})


def record_invites(caller: Caller, path_id: str, request: InviteRequest,
                   idempotency: IdempotencyRequest | None) -> Outcome:
    """The member shared its code (count invitations): the top of the referral funnel."""
    member_id = caller.authorize_self(path_id)
    now = utc_now()

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(member_id=member_id, idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        member = enrolled_member(snapshot, member_id)
        config = config_of(snapshot.program)
        change = MemberChange(member, config, now)
        change.note(EntryType.REFERRAL_INVITE, details={"count": request.count, "channel": request.channel})
        funnel = dict(member.referrals or {})
        funnel["invited"] = int(funnel.get("invited", 0)) + request.count
        member.referrals = funnel
        entries = change.finish()
        body = {"referral_code": member.referral_code,
                **{name: int(funnel.get(name, 0)) for name in ("invited", "signed_up", "converted", "points_earned")}}

        def commit(record: IdempotencyRecord | None) -> None:
            members.update_member(member, record, entries=entries)

        return Plan(201, body, commit)

    return execute(idempotency, read, plan)
