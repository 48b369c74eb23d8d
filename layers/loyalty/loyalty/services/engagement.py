"""Engagement that is not a purchase: actions with caps, and Net Promoter feedback."""

from __future__ import annotations

from loyalty.domain.clock import utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import LimitReached, ValidationFailed
from loyalty.inputs.engagement import ActionRequest, FeedbackRequest
from loyalty.services import campaigns, gamification
from loyalty.services.context import Caller, Outcome
from loyalty.services.pointschange import Decision, Turn, change_points
from loyalty.services.views import entry_view
from loyalty.store.idempotency import IdempotencyRequest

# Awarded by the system when the thing happens, never claimed through POST /actions.
SYSTEM_ACTIONS = {"profile_completed", "referral_signup", "referral_conversion", "birthday", "survey"}


def record_action(caller: Caller, path_id: str, request: ActionRequest,
                  idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    now = utc_now()
    if request.action in SYSTEM_ACTIONS and not caller.is_admin:
        raise ValidationFailed(f"{request.action} is awarded automatically",
                               errors=[{"field": "action", "message": "awarded by the program, not claimable"}])

    def decide(turn: Turn) -> Decision:
        source = {"reference": request.reference} if request.reference else {}
        entry = turn.change.action(request.action, occurred_at=now, source=source, details=request.details)
        trigger = f"action:{request.action}"
        found = campaigns.awards(turn.snapshot.program, turn.member, turn.config, trigger=trigger, at=now,
                                 today=turn.today)
        turn.writes.campaign_budgets.extend(found[1])
        campaigns.bonus_entry(turn.change, trigger, now, found)
        gamification.advance(turn, trigger, now)
        return Decision(201, lambda: entry_view(entry))

    return change_points(idempotency, member_id, now, decide)


def record_feedback(caller: Caller, path_id: str, request: FeedbackRequest,
                    idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_self(path_id)
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        details = {"score": request.score, **({"comment": request.comment} if request.comment else {})}
        feedback = turn.change.note(EntryType.FEEDBACK, details=details)
        awarded = None
        if "survey" in turn.config.actions:
            try:
                awarded = turn.change.action("survey", occurred_at=now, source={"feedback_id": feedback.entry_id})
            except LimitReached:
                awarded = None  # the answer still counts for NPS; the points are capped
        return Decision(201, lambda: {
            "feedback_id": feedback.entry_id, "score": request.score,
            "points_awarded": int(awarded.points) if awarded is not None else 0,
            "entry": entry_view(awarded) if awarded is not None else None})

    return change_points(idempotency, member_id, now, decide)
