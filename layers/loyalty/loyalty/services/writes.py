"""The write loop every state-changing use case runs: read, plan, commit once, replay or retry.

Optimistic concurrency: the plan is computed from one consistent read and committed with
conditions on what it read (the member's version, the balance, the order, the stock, the absent
idempotency record). A lost race re-reads and re-plans; a used idempotency key replays.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loyalty.domain.entries import POOL_PREFIX, is_pool
from loyalty.domain.errors import BadRequest, Conflict, DomainError, Gone, NotFound, ServiceUnavailable
from loyalty.domain.holders import Member
from loyalty.services.context import Outcome
from loyalty.store.db import ConditionFailed
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest, idempotency_record, read_idempotency
from loyalty.store.snapshot import Snapshot

MAX_ATTEMPTS = 10
# What a use case makes of a recorded body when it replays it (e.g. a stand-in for personal data that
# the record never keeps, answered as it reads now).
Replayer = Callable[[Any], Any]


@dataclass
class Plan:
    status: int
    body: Any
    commit: Callable[[IdempotencyRecord | None], None]
    # A failed condition on these labels is final (raise the error) rather than a race to retry.
    final_conflicts: dict[str, DomainError] = field(default_factory=dict)
    # What a replay returns when it must differ from the first answer (a secret shown only once).
    replay_body: Any = None


def key_required(idempotency: IdempotencyRequest | None) -> IdempotencyRequest:
    """Points-changing calls need an Idempotency-Key (asked after authorization: a caller that may not make
    the call learns that first)."""
    if idempotency is None:
        raise BadRequest("this call needs an Idempotency-Key header", code="idempotency_key_required")
    return idempotency


def enrolled_member(snapshot: Snapshot, member_id: str) -> Member:
    """The member a request is about: 404 if it never enrolled, 410 once it erased its account
    (an erased member keeps its ledger for the books, but nothing reads or changes it any more)."""
    if snapshot.member is None:
        if is_pool(member_id):  # a household's pool (household spends): the household does not exist
            raise NotFound(f"no household {member_id.removeprefix(POOL_PREFIX)}", code="household_not_found")
        raise NotFound(f"member {member_id} is not enrolled", code="member_not_found")
    if snapshot.member.status == "erased":
        raise Gone(f"member {member_id} was erased", code="member_erased")
    return snapshot.member


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def replay(record: IdempotencyRecord, request: IdempotencyRequest, replayer: Replayer | None = None) -> Outcome:
    if record.request_hash != request.request_hash:
        raise Conflict(
            "this Idempotency-Key was already used with a different request", code="idempotency_key_reused"
        )
    body = json.loads(record.answer())
    return Outcome(int(record.status_code), replayer(body) if replayer is not None else body, replayed=True)


def recorded_outcome(idempotency: IdempotencyRequest | None) -> Outcome | None:
    """The replayed answer of a request already recorded under this key, or None: for use cases with side
    effects outside the table, which must answer a replay before creating anything."""
    if idempotency is None:
        return None
    existing = read_idempotency(idempotency)
    return replay(existing, idempotency) if existing is not None else None


def step(idempotency: IdempotencyRequest | None, name: str) -> IdempotencyRequest | None:
    """The key of one step of a use case made of several idempotent writes: its own record, replayed
    on a retry of the whole request (same caller, key and body)."""
    if idempotency is None:
        return None
    return IdempotencyRequest(scope=idempotency.scope, key=f"{idempotency.key}#{name}",
                              request_hash=idempotency.request_hash)


def key_derived_name(idempotency: IdempotencyRequest) -> str:
    """A name derived from (caller, key): what a retry after a crash finds again (a usage plan, a batch)."""
    return hashlib.sha256(f"{idempotency.scope}|{idempotency.key}".encode()).hexdigest()[:32]


def execute(
    idempotency: IdempotencyRequest | None,
    read: Callable[[], Snapshot],
    plan: Callable[[Snapshot], Plan],
    replayer: Replayer | None = None,
) -> Outcome:
    for attempt in range(MAX_ATTEMPTS):
        snapshot = read()
        if idempotency is not None and snapshot.idempotency is not None:
            return replay(snapshot.idempotency, idempotency, replayer)
        decided = plan(snapshot)
        record = None
        if idempotency is not None:
            stored = decided.body if decided.replay_body is None else decided.replay_body
            record = idempotency_record(idempotency, decided.status, dumps(stored))
        try:
            decided.commit(record)
            return Outcome(decided.status, decided.body)
        except ConditionFailed as failed:
            if idempotency is not None and "idempotency" in failed.labels:
                existing = read_idempotency(idempotency)
                if existing is not None:
                    return replay(existing, idempotency, replayer)
            for label in failed.labels:
                if label in decided.final_conflicts:
                    raise decided.final_conflicts[label] from failed
            # Lost a race (the member moved on): back off a little, then re-read and re-plan.
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter, not security
    raise ServiceUnavailable("too many concurrent changes to the same member; retry", retry_after=1)
