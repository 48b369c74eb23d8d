"""Admin API: referrals the safeguards flagged, approved or rejected."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from loyalty.api.http import caller, idempotency, respond
from loyalty.api.schemas import ReferralPage, ReferralRecordOut, responses
from loyalty.inputs.members import ReferralDecisionRequest
from loyalty.services import referrals

router = Router()


@router.get("/admin/referrals", operation_id="listReferrals", responses=responses(200, ReferralPage),
            tags=["admin"], summary="Referred sign-ups by status (flagged ones to decide), oldest first")
def list_referrals(status: Annotated[Literal["flagged", "pending", "rewarded", "rejected"], Query()] = "flagged",
                   limit: Annotated[int, Query(ge=1, le=100)] = 25,
                   cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(referrals.list_referrals(caller(router), status, limit=limit, cursor=cursor))


@router.post("/admin/referrals/<referral_id>/approve", operation_id="approveReferral",
             responses=responses(200, ReferralRecordOut), tags=["admin"],
             summary="Approve a flagged referral: the referrer gets what was withheld, once")
def approve(referral_id: str, request: Annotated[ReferralDecisionRequest, Body()]):
    who = caller(router)
    return respond(referrals.approve(who, referral_id, request, idempotency(router, who)))


@router.post("/admin/referrals/<referral_id>/reject", operation_id="rejectReferral",
             responses=responses(200, ReferralRecordOut), tags=["admin"],
             summary="Reject a flagged referral: it earns nothing")
def reject(referral_id: str, request: Annotated[ReferralDecisionRequest, Body()]):
    who = caller(router)
    return respond(referrals.reject(who, referral_id, request, idempotency(router, who)))
