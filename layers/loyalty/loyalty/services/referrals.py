"""The back office's referrals: listed by status; a flagged one approved (the rewards it withheld given to the
referrer, once) or rejected. Each decision is audited in the transaction that makes it."""

from __future__ import annotations

import contextlib
from typing import Any

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import Conflict, DomainError, LimitReached, NotFound, ValidationFailed
from loyalty.domain.member import referral_release_day
from loyalty.domain.referrals import STATUSES
from loyalty.inputs.members import ReferralDecisionRequest
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.pointschange import Decision, Turn, change_points
from loyalty.store import audit as audit_store
from loyalty.store import referrals as store
from loyalty.store import snapshot
from loyalty.store.idempotency import IdempotencyRequest
from loyalty.store.referrals import Referral


def referral_view(referral: Referral) -> dict[str, Any]:
    return {"referral_id": referral.referral_id, "referrer_id": referral.referrer_id,
            "referee_id": referral.referee_id, "status": referral.status, "reasons": list(referral.reasons or []),
            "withheld": list(referral.withheld or []), "created_at": referral.created_at,
            "updated_at": referral.updated_at, "decision_reason": referral.decision_reason}


def list_referrals(caller: Caller, status: str, *, limit: int, cursor: str | None) -> Outcome:
    caller.authorize_admin()
    if status not in STATUSES:
        raise ValidationFailed("unknown status", errors=[{"field": "status", "in": "query",
                                                          "message": f"one of {', '.join(STATUSES)}"}])
    items, next_cursor = store.list_referrals(status, limit=limit, cursor=cursor)
    return Outcome(200, {"items": [referral_view(item) for item in items], "next_cursor": next_cursor})


def _flagged(referral_id: str) -> Referral:
    referral = store.read_referral(referral_id)
    if referral is None:
        raise NotFound(f"no referral {referral_id}", code="referral_not_found")
    if referral.status != "flagged":
        raise Conflict(f"the referral is {referral.status}, not flagged", code="referral_not_flagged")
    return referral


def _decided_meanwhile() -> DomainError:
    return Conflict("the referral was decided meanwhile", code="referral_not_flagged")


def approve(caller: Caller, path_id: str, request: ReferralDecisionRequest,
            idempotency: IdempotencyRequest | None) -> Outcome:
    """The referrer gets what the flag withheld (within the actions' caps), once: the referral must still be
    flagged when the referrer's entries commit."""
    caller.authorize_admin()
    referral_id = checked_id(path_id, "referral")
    referrer_id = _flagged(referral_id).referrer_id
    now = utc_now()
    audit = audit_store.new_audit(caller.sub, "referral.approved", f"referral:{referral_id}",
                                 {"reason": request.reason})

    def decide(turn: Turn) -> Decision:
        referral = _flagged(referral_id)  # as it is now, on every attempt
        given = 0
        held = referral_release_day(turn.config, now)
        for action in referral.withheld or []:
            if action in turn.config.actions:
                # The referrer's cap reached meanwhile: approved, with nothing more to give.
                with contextlib.suppress(LimitReached):
                    given += int(turn.change.action(action, occurred_at=now, pending_until=held,
                                                    source={"referred_member_id": referral.referee_id}).points)
        funnel = dict(turn.member.referrals or {})
        funnel["points_earned"] = int(funnel.get("points_earned", 0)) + given
        turn.member.referrals = funnel
        # With referrals.hold_days the reward is held: pending until the maintenance job releases it.
        _decide(turn, referral, "pending" if held is not None and given else "rewarded", request.reason, now)
        return Decision(200, lambda: referral_view(referral), final_conflicts={"referral": _decided_meanwhile()})

    return change_points(idempotency, referrer_id, now, decide, audit=audit)


def reject(caller: Caller, path_id: str, request: ReferralDecisionRequest,
           idempotency: IdempotencyRequest | None) -> Outcome:
    """The referral stays without reward: its referee's first purchase converts nothing either."""
    caller.authorize_admin()
    referral_id = checked_id(path_id, "referral")
    referee_id = _flagged(referral_id).referee_id
    now = utc_now()
    audit = audit_store.new_audit(caller.sub, "referral.rejected", f"referral:{referral_id}",
                                 {"reason": request.reason})

    def decide(turn: Turn) -> Decision:
        referral = _flagged(referral_id)
        _decide(turn, referral, "rejected", request.reason, now)
        return Decision(200, lambda: referral_view(referral), final_conflicts={"referral": _decided_meanwhile()})

    return change_points(idempotency, referee_id, now, decide, audit=audit, while_blocked=True)


def _decide(turn: Turn, referral: Referral, status: str, reason: str, now: Any) -> None:
    """The referral's new status, written with the turn under the condition that it is still flagged; the
    referee's own copy of the status follows (the referee is the turn's member, or another member)."""
    store.move_to(referral, status, iso_utc(now))
    referral.withheld = []
    referral.decision_reason = reason
    turn.writes.referrals.append((referral, "flagged"))
    if turn.member.member_id == referral.referee_id:
        turn.member.referral_status = status
        return
    referee = snapshot.read_snapshot(member_id=referral.referee_id, with_program=False).member
    if referee is not None and referee.status != "erased":
        referee.referral_status = status
        turn.writes.other_members.append(referee)
