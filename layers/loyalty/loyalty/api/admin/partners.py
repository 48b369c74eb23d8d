"""Admin API: partner brands: onboarding and their API keys."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from loyalty.api.http import caller, idempotency, respond
from loyalty.api.schemas import (
    KeyOut,
    PartnerCreatedOut,
    PartnerPage,
    responses,
)
from loyalty.inputs.partners import KeyRequest, PartnerRequest
from loyalty.services import partners

router = Router()


@router.post("/admin/partners", operation_id="onboardPartner", responses=responses(201, PartnerCreatedOut),
             tags=["admin"], summary="Onboard a partner brand (its API key is shown once)")
def onboard_partner(request: Annotated[PartnerRequest, Body()]):
    who = caller(router)
    return respond(partners.onboard(who, request, idempotency(router, who)))


@router.get("/admin/partners", operation_id="listPartners",
            responses=responses(200, PartnerPage), tags=["admin"], summary="Partner brands")
def list_partners(limit: Annotated[int, Query(ge=1, le=100)] = 25,
                  cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(partners.list_partners(caller(router), limit=limit, cursor=cursor))


@router.post("/admin/partners/<partner_id>/keys", operation_id="rotatePartnerKey", responses=responses(201, KeyOut),
             tags=["admin"], summary="Rotate: new key, optionally revoking the rest")
def rotate_key(partner_id: str, request: Annotated[KeyRequest, Body()]):
    who = caller(router)
    return respond(partners.rotate_key(who, partner_id, request, idempotency(router, who)))


@router.delete("/admin/partners/<partner_id>/keys/<key_id>", operation_id="revokePartnerKey",
               responses=responses(200, KeyOut),
               tags=["admin"], summary="Revoke a partner key")
def revoke_key(partner_id: str, key_id: str):
    return respond(partners.revoke_key(caller(router), partner_id, key_id))
