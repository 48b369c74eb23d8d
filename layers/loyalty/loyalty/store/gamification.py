"""Badges and challenges: their items, the running challenges on every program replica, and what a member
has earned.

  BADGES / <badge_id>                         a badge (staff writes only: one partition)
  CHALLENGES / <challenge_id>                 a challenge as written
  MEMBER#<id> / BADGE#<badge_id>              a badge the member earned: how many times, first and last
  MEMBER#<id> / CHALLENGE#<challenge_id>      a challenge the member completed: its summary, how many times

A member's progress on the running challenges is on the member item (`challenge_progress`, store.members):
the points change that advances it writes the member anyway. Its size is bounded: at most 25 running
challenges, each a few dozen bytes (a distinct-days goal keeps a bit per day: 16 hex characters for a
two-month window), and an ended challenge's progress is dropped by the next change. The member's BADGE# and
CHALLENGE# items are written only by a completion or an award, in the transaction of the change that gives it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from loyalty.domain.gamification import BadgeAward, CompletedChallenge, Completion, EarnedBadge
from loyalty.store import db
from loyalty.store.audit import AuditRecord, add_audit, create_audited
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import Txn, batch_get, load, raise_if_transient
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency
from loyalty.store.ledger import member_partition
from loyalty.store.members import MemberItem, member_key
from loyalty.store.program import Program, ProgramItem, update_riders

BADGES_PK = "BADGES"
CHALLENGES_PK = "CHALLENGES"
BADGE_PREFIX = "BADGE#"
CHALLENGE_PREFIX = "CHALLENGE#"


class BadgeItem(Item):
    class Meta(TableMeta):
        pass

    definition = UnicodeAttribute()
    created_at = UnicodeAttribute()


class ChallengeItem(Item):
    class Meta(TableMeta):
        pass

    definition = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class MemberBadgeItem(Item):
    class Meta(TableMeta):
        pass

    member_id = UnicodeAttribute()
    badge_id = UnicodeAttribute()
    times = NumberAttribute()
    earned_at = UnicodeAttribute()  # the first time
    last_earned_at = UnicodeAttribute()
    source = UnicodeAttribute(null=True)  # the last award's: challenge:<id>, streak:<id>, admin


class MemberChallengeItem(Item):
    class Meta(TableMeta):
        pass

    member_id = UnicodeAttribute()
    challenge_id = UnicodeAttribute()
    summary = JSONAttribute()  # name, description, window and target as they were at the last completion
    times = NumberAttribute()
    completed_at = UnicodeAttribute()


def badge_key(badge_id: str) -> tuple[str, str]:
    return BADGES_PK, badge_id


def challenge_key(challenge_id: str) -> tuple[str, str]:
    return CHALLENGES_PK, challenge_id


def member_badge_key(member_id: str, badge_id: str) -> tuple[str, str]:
    return member_partition(member_id), f"{BADGE_PREFIX}{badge_id}"


def member_challenge_key(member_id: str, challenge_id: str) -> tuple[str, str]:
    return member_partition(member_id), f"{CHALLENGE_PREFIX}{challenge_id}"


def _query(model: Any, pk: str, condition: Any = None) -> Iterator[Any]:
    try:
        yield from model.query(pk, condition)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


# --- badges -------------------------------------------------------------------------------------------


def create_badge(badge_id: str, definition: str, created_at: str, audit: AuditRecord,
                 idempotency: IdempotencyRecord | None) -> None:
    """A badge (its definition as JSON). Raises ConditionFailed: badge (the id is taken), idempotency."""
    create_audited("badge", BadgeItem(*badge_key(badge_id), definition=definition, created_at=created_at), audit,
                   idempotency)


def get_badges(badge_ids: list[str]) -> dict[str, str]:
    """The definitions (JSON) of those of `badge_ids` that exist."""
    found = batch_get([badge_key(badge_id) for badge_id in dict.fromkeys(badge_ids)])
    items = [load(BadgeItem, raw) for raw in found.values()]
    return {item.sk: item.definition for item in items if item is not None}


def list_badges() -> list[str]:
    """Every badge's definition (JSON), by id."""
    return [item.definition for item in _query(BadgeItem, BADGES_PK)]


# --- challenges ---------------------------------------------------------------------------------------


def get_challenge(challenge_id: str) -> str | None:
    """The challenge's definition (JSON), or None."""
    key = challenge_key(challenge_id)
    item = load(ChallengeItem, batch_get([key]).get(key))
    return None if item is None else item.definition


def list_challenges() -> list[str]:
    """Every challenge's definition (JSON), by id."""
    return [item.definition for item in _query(ChallengeItem, CHALLENGES_PK)]


def running_json(program: Program | None) -> str:
    """The running challenges on a program replica (JSON list of challenge definitions)."""
    stored = None if program is None else program.challenges_deflated
    return zlib.decompress(stored).decode() if stored else "[]"


def save_challenge(challenge_id: str, definition: str, at: str, *, must_be_new: bool, program: Program,
                   running: str, audit: AuditRecord, idempotency: IdempotencyRecord | None) -> None:
    """The challenge, every program replica's running list (so the next purchase after the answer sees it),
    the audit and idempotency records, in one transaction. Raises ConditionFailed: challenge (exists, when
    new), program (the program, a campaign or a challenge was written meanwhile: re-read), idempotency."""
    txn = Txn()
    item = ChallengeItem(*challenge_key(challenge_id))
    txn.update("challenge", item, [ChallengeItem.definition.set(definition), ChallengeItem.updated_at.set(at),
                                   ChallengeItem.created_at.set(ChallengeItem.created_at | at)],
               ChallengeItem.pk.does_not_exist() if must_be_new else None, versioned=False)
    update_riders(txn, program, [ProgramItem.challenges_deflated.set(zlib.compress(running.encode(), 9))])
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


# --- what members earned --------------------------------------------------------------------------------


def award_actions(txn: Txn, awards: list[BadgeAward], completions: list[Completion]) -> None:
    """A points change's badges and completions (labels badge<n>, completion<n>), in its transaction."""
    # One write per badge (a transaction may not touch an item twice): a challenge and a streak completed by
    # the same fact may give the same badge.
    given: dict[tuple[str, str], list[BadgeAward]] = {}
    for award in awards:
        given.setdefault((award.member_id, award.badge_id), []).append(award)
    for index, same in enumerate(given.values()):
        award = same[-1]
        item = MemberBadgeItem(*member_badge_key(award.member_id, award.badge_id))
        txn.update(f"badge{index}", item, [
            MemberBadgeItem.member_id.set(award.member_id), MemberBadgeItem.badge_id.set(award.badge_id),
            MemberBadgeItem.times.add(len(same)), MemberBadgeItem.earned_at.set(MemberBadgeItem.earned_at | award.at),
            MemberBadgeItem.last_earned_at.set(award.at), MemberBadgeItem.source.set(award.source),
        ], versioned=False)
    for index, completion in enumerate(completions):
        record = MemberChallengeItem(*member_challenge_key(completion.member_id, completion.challenge_id))
        txn.update(f"completion{index}", record, [
            MemberChallengeItem.member_id.set(completion.member_id),
            MemberChallengeItem.challenge_id.set(completion.challenge_id),
            MemberChallengeItem.summary.set(completion.summary),
            MemberChallengeItem.times.add(1), MemberChallengeItem.completed_at.set(completion.at),
        ], versioned=False)


def award_badge(award: BadgeAward, audit: AuditRecord, idempotency: IdempotencyRecord | None) -> None:
    """A badge given by hand: the member's badge, the audit and idempotency records. Raises
    ConditionFailed: member (not enrolled, or erased), idempotency."""
    txn = Txn()
    txn.check("member", MemberItem, member_key(award.member_id),
              MemberItem.pk.exists() & (MemberItem.status != "erased"))
    award_actions(txn, [award], [])
    add_audit(txn, audit)
    add_idempotency(txn, idempotency)
    db.commit(txn)


def member_badges(member_id: str) -> list[EarnedBadge]:
    return [EarnedBadge(item.badge_id, int(item.times), item.earned_at, item.last_earned_at)
            for item in _query(MemberBadgeItem, member_partition(member_id),
                               MemberBadgeItem.sk.startswith(BADGE_PREFIX))]


def member_completions(member_id: str) -> list[CompletedChallenge]:
    return [CompletedChallenge(item.challenge_id, dict(item.summary), int(item.times), item.completed_at)
            for item in _query(MemberChallengeItem, member_partition(member_id),
                               MemberChallengeItem.sk.startswith(CHALLENGE_PREFIX))]
