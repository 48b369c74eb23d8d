"""Program staff: the program config and its versions, the rewards catalog, manual adjustments, partners,
the back office (member search, blocks) and the audit log."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, deadline, idempotency, logger, respond
from loyalty.api.schemas import (
    AuditPage,
    CampaignPage,
    CodeBatchOut,
    ImportOut,
    KeyOut,
    LedgerEntryOut,
    MemberOut,
    MemberPage,
    PartnerCreatedOut,
    PartnerPage,
    ProgramOut,
    ProgramVersionConfigOut,
    ProgramVersionPage,
    RewardOut,
    SegmentMembersPage,
    WhatIfOut,
    WhatIfStartedOut,
    responses,
)
from loyalty.domain.campaigns import Campaign, Segment
from loyalty.inputs import (
    AdjustmentRequest,
    BlockRequest,
    CodeBatchRequest,
    ImportRequest,
    KeyRequest,
    PartnerRequest,
    RewardRequest,
    RollbackRequest,
    UnblockRequest,
    WhatIfRequest,
)
from loyalty.observability import metrics, tracer
from loyalty.services import backoffice, campaigns, catalog, imports, ledger, mechanics, partners, program, whatif

app = create_app()


@app.put("/admin/program", operation_id="putProgram", responses=responses(200, ProgramOut),
         tags=["admin"], summary="Replace the program config (validated whole, versioned)")
def put_program(config: Annotated[dict[str, Any], Body()]):
    who = caller(app)
    return respond(program.put_program(who, config, idempotency(app, who)))


@app.post("/admin/rewards", operation_id="createReward",
          responses=responses(201, RewardOut), tags=["admin"], summary="Add a reward to the catalog")
def create_reward(request: Annotated[RewardRequest, Body()]):
    who = caller(app)
    return respond(catalog.save_reward(who, None, request, idempotency(app, who)))


@app.put("/admin/rewards/<reward_id>", operation_id="putReward", responses=responses(200, RewardOut),
         tags=["admin"], summary="Create or replace a reward")
def put_reward(reward_id: str, request: Annotated[RewardRequest, Body()]):
    who = caller(app)
    return respond(catalog.save_reward(who, reward_id, request, idempotency(app, who)))


@app.post("/admin/members/<member_id>/adjustments", operation_id="adjustPoints",
          responses=responses(201, LedgerEntryOut),
          tags=["admin"], summary="Adjust a member's points")
def adjust(member_id: str, request: Annotated[AdjustmentRequest, Body()]):
    who = caller(app)
    return respond(ledger.adjust(who, member_id, request, idempotency(app, who)))


@app.post("/admin/partners", operation_id="onboardPartner", responses=responses(201, PartnerCreatedOut),
          tags=["admin"], summary="Onboard a partner brand (its API key is shown once)")
def onboard_partner(request: Annotated[PartnerRequest, Body()]):
    who = caller(app)
    return respond(partners.onboard(who, request, idempotency(app, who)))


@app.get("/admin/partners", operation_id="listPartners",
         responses=responses(200, PartnerPage), tags=["admin"], summary="Partner brands")
def list_partners(limit: Annotated[int, Query(ge=1, le=100)] = 25,
                  cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(partners.list_partners(caller(app), limit=limit, cursor=cursor))


@app.post("/admin/partners/<partner_id>/keys", operation_id="rotatePartnerKey", responses=responses(201, KeyOut),
          tags=["admin"], summary="Rotate: new key, optionally revoking the rest")
def rotate_key(partner_id: str, request: Annotated[KeyRequest, Body()]):
    who = caller(app)
    return respond(partners.rotate_key(who, partner_id, request, idempotency(app, who)))


@app.delete("/admin/partners/<partner_id>/keys/<key_id>", operation_id="revokePartnerKey",
            responses=responses(200, KeyOut),
            tags=["admin"], summary="Revoke a partner key")
def revoke_key(partner_id: str, key_id: str):
    return respond(partners.revoke_key(caller(app), partner_id, key_id))


@app.post("/admin/code-batches", operation_id="issueCodeBatch", responses=responses(201, CodeBatchOut), tags=["admin"],
          summary="Issue proof-of-purchase codes worth points (claimed at /members/{id}/promo-codes)")
def code_batch(request: Annotated[CodeBatchRequest, Body()]):
    who = caller(app)
    return respond(mechanics.code_batch(who, request, idempotency(app, who), deadline=deadline(app)))


@app.get("/admin/program/versions", operation_id="listProgramVersions", responses=responses(200, ProgramVersionPage),
         tags=["admin"], summary="The program's versions, newest first")
def list_versions(limit: Annotated[int, Query(ge=1, le=100)] = 25,
                  cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(program.list_versions(caller(app), limit=limit, cursor=cursor))


@app.get("/admin/program/versions/<version>", operation_id="getProgramVersion",
         responses=responses(200, ProgramVersionConfigOut), tags=["admin"], summary="One version of the program")
def get_version(version: str):
    return respond(program.get_version(caller(app), version))


@app.post("/admin/program/rollback", operation_id="rollbackProgram", responses=responses(200, ProgramOut),
          tags=["admin"], summary="A new version equal to an old one")
def rollback(request: Annotated[RollbackRequest, Body()]):
    who = caller(app)
    return respond(program.rollback(who, request.version, idempotency(app, who)))


@app.get("/admin/members", operation_id="searchMembers", responses=responses(200, MemberPage), tags=["admin"],
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
    return respond(backoffice.search_members(caller(app), criteria, limit=limit, cursor=cursor))


@app.post("/admin/members/<member_id>/block", operation_id="blockMember", responses=responses(200, MemberOut),
          tags=["admin"], summary="Block a member (earns, spends, transfers and claims nothing)")
def block(member_id: str, request: Annotated[BlockRequest, Body()]):
    who = caller(app)
    return respond(backoffice.set_blocked(who, member_id, request, idempotency(app, who)))


@app.post("/admin/members/<member_id>/unblock", operation_id="unblockMember", responses=responses(200, MemberOut),
          tags=["admin"], summary="Unblock a member")
def unblock(member_id: str, request: Annotated[UnblockRequest, Body()]):
    who = caller(app)
    return respond(backoffice.set_blocked(who, member_id, request, idempotency(app, who)))


@app.get("/admin/audit", operation_id="listAudit", responses=responses(200, AuditPage), tags=["admin"],
         summary="The audit log of admin writes, oldest first")
def audit(limit: Annotated[int, Query(ge=1, le=100)] = 25,
          after: Annotated[str | None, Query(max_length=1024, description="next_cursor of the page before")] = None):
    return respond(backoffice.list_audit(caller(app), limit=limit, cursor=after))


@app.post("/admin/imports", operation_id="createImport", responses=responses(201, ImportOut),
          tags=["admin"], summary="Start a bulk import: answers the URL to PUT the file to")
def create_import(request: Annotated[ImportRequest, Body()]):
    who = caller(app)
    return respond(imports.create_import(who, request, idempotency(app, who)))


@app.get("/admin/imports/<import_id>", operation_id="getImport", responses=responses(200, ImportOut),
         tags=["admin"], summary="A bulk import's progress: rows imported, skipped and failed, bad rows")
def get_import(import_id: str):
    return respond(imports.get_import(caller(app), import_id))



@app.post("/admin/campaigns", operation_id="createCampaign", responses=responses(201, Campaign),
          tags=["campaigns"], summary="Create a campaign (validated whole; running at once if active)")
def create_campaign(request: Annotated[Campaign, Body()]):
    who = caller(app)
    return respond(campaigns.save_campaign(who, None, request, idempotency(app, who)))


@app.get("/admin/campaigns", operation_id="listCampaigns", responses=responses(200, CampaignPage),
         tags=["campaigns"], summary="Every campaign")
def list_campaigns():
    return respond(campaigns.list_campaigns(caller(app)))


@app.get("/admin/campaigns/<campaign_id>", operation_id="getCampaign", responses=responses(200, Campaign),
         tags=["campaigns"], summary="A campaign")
def get_campaign(campaign_id: str):
    return respond(campaigns.get_campaign(caller(app), campaign_id))


@app.put("/admin/campaigns/<campaign_id>", operation_id="putCampaign", responses=responses(200, Campaign),
         tags=["campaigns"], summary="Create or replace a campaign (applies to every purchase after the answer)")
def put_campaign(campaign_id: str, request: Annotated[Campaign, Body()]):
    who = caller(app)
    return respond(campaigns.save_campaign(who, campaign_id, request, idempotency(app, who)))


@app.post("/admin/segments", operation_id="createSegment", responses=responses(201, Segment),
          tags=["campaigns"], summary="Define a segment over member facts (evaluated when used)")
def create_segment(request: Annotated[Segment, Body()]):
    who = caller(app)
    return respond(campaigns.create_segment(who, request, idempotency(app, who)))


@app.get("/admin/segments/<segment_id>/members", operation_id="listSegmentMembers",
         responses=responses(200, SegmentMembersPage), tags=["campaigns"],
         summary="A page of the active members in a segment now")
def segment_members(segment_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                    cursor: Annotated[str | None, Query(max_length=2048)] = None):
    return respond(campaigns.segment_members(caller(app), segment_id, limit=limit, cursor=cursor))



@app.post("/admin/what-if", operation_id="startWhatIf", responses=responses(202, WhatIfStartedOut),
          tags=["campaigns"], summary="Replay a period of the program's purchases and actions under a proposed config")
def start_what_if(request: Annotated[WhatIfRequest, Body()]):
    who = caller(app)
    return respond(whatif.start(who, request, idempotency(app, who)))


@app.get("/admin/what-if/<job_id>", operation_id="getWhatIf", responses=responses(200, WhatIfOut),
         tags=["campaigns"], summary="A what-if job: running, or its report")
def get_what_if(job_id: str):
    return respond(whatif.get(caller(app), job_id))



@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
