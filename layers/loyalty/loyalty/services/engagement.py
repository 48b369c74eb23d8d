"""Engagement that is not a purchase: actions with caps, and Net Promoter feedback."""

from __future__ import annotations

from loyalty.domain.clock import utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import LimitReached, ValidationFailed
from loyalty.inputs import ActionRequest, FeedbackRequest
from loyalty.services.awards import MemberChange
from loyalty.services.context import Caller, Outcome
from loyalty.services.program import config_of
from loyalty.services.views import entry_view
from loyalty.services.writes import Plan, enrolled_member, execute
from loyalty.store import repository
from loyalty.store.models import IdempotencyItem
from loyalty.store.repository import IdempotencyRequest, PointsChange, Snapshot

# Awarded by the system when the thing happens, never claimed through POST /actions.
SYSTEM_ACTIONS = {"profile_completed", "referral_signup", "referral_conversion", "birthday", "survey"}


def record_action(caller: Caller, path_id: str, request: ActionRequest,
                  idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    now = utc_now()
    if request.action in SYSTEM_ACTIONS and not caller.is_admin:
        raise ValidationFailed(f"{request.action} is awarded automatically",
                               errors=[{"field": "action", "message": "awarded by the program, not claimable"}])

    def read() -> Snapshot:
        return repository.read_snapshot(member_id=member_id, idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        member = enrolled_member(snapshot, member_id)
        config = config_of(snapshot.program)
        change = MemberChange(member, config, now)
        source = {"reference": request.reference} if request.reference else {}
        entry = change.action(request.action, occurred_at=now, source=source, details=request.details)
        entries = change.finish()

        def commit(record: IdempotencyItem | None) -> None:
            repository.commit_points_change(PointsChange(member, entries, record))

        return Plan(201, entry_view(entry), commit)

    return execute(idempotency, read, plan)


def record_feedback(caller: Caller, path_id: str, request: FeedbackRequest,
                    idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_self(path_id)
    now = utc_now()

    def read() -> Snapshot:
        return repository.read_snapshot(member_id=member_id, idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        member = enrolled_member(snapshot, member_id)
        config = config_of(snapshot.program)
        change = MemberChange(member, config, now)
        details = {"score": request.score, **({"comment": request.comment} if request.comment else {})}
        feedback = change.note(EntryType.FEEDBACK, details=details)
        awarded = None
        if "survey" in config.actions:
            try:
                awarded = change.action("survey", occurred_at=now, source={"feedback_id": feedback.entry_id})
            except LimitReached:
                awarded = None  # the answer still counts for NPS; the points are capped
        entries = change.finish()
        body = {"feedback_id": feedback.entry_id, "score": request.score,
                "points_awarded": int(awarded.points) if awarded is not None else 0,
                "entry": entry_view(awarded) if awarded is not None else None}

        def commit(record: IdempotencyItem | None) -> None:
            repository.commit_points_change(PointsChange(member, entries, record))

        return Plan(201, body, commit)

    return execute(idempotency, read, plan)
