"""Admin API: campaigns, segments and what-if replays."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from loyalty.api.http import caller, idempotency, respond
from loyalty.api.schemas import (
    CampaignPage,
    SegmentMembersPage,
    WhatIfOut,
    WhatIfStartedOut,
    responses,
)
from loyalty.domain.campaigns import Campaign, Segment
from loyalty.inputs.program import WhatIfRequest
from loyalty.services import campaigns, whatif

router = Router()


@router.post("/admin/campaigns", operation_id="createCampaign", responses=responses(201, Campaign),
             tags=["campaigns"], summary="Create a campaign (validated whole; running at once if active)")
def create_campaign(request: Annotated[Campaign, Body()]):
    who = caller(router)
    return respond(campaigns.save_campaign(who, None, request, idempotency(router, who)))


@router.get("/admin/campaigns", operation_id="listCampaigns", responses=responses(200, CampaignPage),
            tags=["campaigns"], summary="Every campaign")
def list_campaigns():
    return respond(campaigns.list_campaigns(caller(router)))


@router.get("/admin/campaigns/<campaign_id>", operation_id="getCampaign", responses=responses(200, Campaign),
            tags=["campaigns"], summary="A campaign")
def get_campaign(campaign_id: str):
    return respond(campaigns.get_campaign(caller(router), campaign_id))


@router.put("/admin/campaigns/<campaign_id>", operation_id="putCampaign", responses=responses(200, Campaign),
            tags=["campaigns"], summary="Create or replace a campaign (applies to every purchase after the answer)")
def put_campaign(campaign_id: str, request: Annotated[Campaign, Body()]):
    who = caller(router)
    return respond(campaigns.save_campaign(who, campaign_id, request, idempotency(router, who)))


@router.post("/admin/segments", operation_id="createSegment", responses=responses(201, Segment),
             tags=["campaigns"], summary="Define a segment over member facts (evaluated when used)")
def create_segment(request: Annotated[Segment, Body()]):
    who = caller(router)
    return respond(campaigns.create_segment(who, request, idempotency(router, who)))


@router.get("/admin/segments/<segment_id>/members", operation_id="listSegmentMembers",
            responses=responses(200, SegmentMembersPage), tags=["campaigns"],
            summary="A page of the active members in a segment now")
def segment_members(segment_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                    cursor: Annotated[str | None, Query(max_length=2048)] = None):
    return respond(campaigns.segment_members(caller(router), segment_id, limit=limit, cursor=cursor))


@router.post("/admin/what-if", operation_id="startWhatIf", responses=responses(202, WhatIfStartedOut),
             tags=["campaigns"],
             summary="Replay a period of the program's purchases and actions under a proposed config")
def start_what_if(request: Annotated[WhatIfRequest, Body()]):
    who = caller(router)
    return respond(whatif.start(who, request, idempotency(router, who)))


@router.get("/admin/what-if/<job_id>", operation_id="getWhatIf", responses=responses(200, WhatIfOut),
            tags=["campaigns"], summary="A what-if job: running, or its report")
def get_what_if(job_id: str):
    return respond(whatif.get(caller(router), job_id))
