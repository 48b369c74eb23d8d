"""Admin API: the back office: members found and listed, blocked and unblocked, points adjusted; the audit log."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from loyalty.api.http import caller, idempotency, respond
from loyalty.api.schemas import (
    AuditPage,
    LedgerEntryOut,
    MemberOut,
    MemberPage,
    responses,
)
from loyalty.inputs.members import BlockRequest, UnblockRequest
from loyalty.inputs.purchases import AdjustmentRequest
from loyalty.services import backoffice, ledger

router = Router()


@router.post("/admin/members/<member_id>/adjustments", operation_id="adjustPoints",
             responses=responses(201, LedgerEntryOut),
             tags=["admin"], summary="Adjust a member's points")
def adjust(member_id: str, request: Annotated[AdjustmentRequest, Body()]):
    who = caller(router)
    return respond(ledger.adjust(who, member_id, request, idempotency(router, who)))


@router.get("/admin/members", operation_id="searchMembers", responses=responses(200, MemberPage), tags=["admin"],
            summary="Find members by email (case-insensitive), phone or referral code; list them by tier or status")
def search_members(
    email: Annotated[str | None, Query(max_length=254)] = None,
    phone: Annotated[str | None, Query(max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{3,22}$")] = None,
    referral_code: Annotated[str | None, Query(max_length=64)] = None,
    tier: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[Literal["active", "blocked"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
):
    criteria = {"email": email, "phone": phone, "referral_code": referral_code, "tier": tier, "status": status}
    return respond(backoffice.search_members(caller(router), criteria, limit=limit, cursor=cursor))


@router.post("/admin/members/<member_id>/block", operation_id="blockMember", responses=responses(200, MemberOut),
             tags=["admin"], summary="Block a member (earns, spends, transfers and claims nothing)")
def block(member_id: str, request: Annotated[BlockRequest, Body()]):
    who = caller(router)
    return respond(backoffice.set_blocked(who, member_id, request, idempotency(router, who)))


@router.post("/admin/members/<member_id>/unblock", operation_id="unblockMember", responses=responses(200, MemberOut),
             tags=["admin"], summary="Unblock a member")
def unblock(member_id: str, request: Annotated[UnblockRequest, Body()]):
    who = caller(router)
    return respond(backoffice.set_blocked(who, member_id, request, idempotency(router, who)))


@router.get("/admin/audit", operation_id="listAudit", responses=responses(200, AuditPage), tags=["admin"],
            summary="The audit log of admin writes, oldest first")
def audit(limit: Annotated[int, Query(ge=1, le=100)] = 25,
          after: Annotated[str | None, Query(max_length=1024, description="next_cursor of the page before")] = None):
    return respond(backoffice.list_audit(caller(router), limit=limit, cursor=after))
