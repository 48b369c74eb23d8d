"""Members: enroll, read and update the profile, list activity; households (create, invite, join, leave)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, idempotency, logger, respond
from loyalty.api.schemas import (
    EntryPage,
    ErasureOut,
    ExportOut,
    HouseholdOut,
    InvitationOut,
    MemberOut,
    ReferralOut,
    responses,
)
from loyalty.api.schemas.gamification import MemberBadgesOut, MemberChallengePage, MemberStreaksOut
from loyalty.domain.entries import EntryType
from loyalty.inputs.households import HouseholdRequest, InvitationRequest, JoinRequest
from loyalty.inputs.members import EnrollRequest, InviteRequest, ProfilePatch
from loyalty.observability import metrics, tracer
from loyalty.services import gamification, households, members

app = create_app()
_ENTRY_TYPE = "|".join(kind.value for kind in EntryType)
ENTRY_TYPE_LIST = rf"^ *({_ENTRY_TYPE}) *(, *({_ENTRY_TYPE}) *)*$"


@app.post("/members", operation_id="enrollMember",
          responses=responses(201, MemberOut), tags=["members"], summary="Enroll a member")
def enroll(request: Annotated[EnrollRequest, Body()]):
    who = caller(app)
    return respond(members.enroll(who, request, idempotency(app, who)))


@app.get("/members/<member_id>", operation_id="getMember", responses=responses(200, MemberOut),
         tags=["members"], summary="Read a member (`me` for yourself)")
def get_member(member_id: str):
    return respond(members.get_member(caller(app), member_id))


@app.patch("/members/<member_id>", operation_id="updateMember",
           responses=responses(200, MemberOut), tags=["members"], summary="Update the profile")
def update_member(member_id: str, patch: Annotated[ProfilePatch, Body()]):
    who = caller(app)
    return respond(members.update_profile(who, member_id, patch, idempotency(app, who)))


@app.get("/members/<member_id>/activity", operation_id="listActivity", responses=responses(200, EntryPage),
         tags=["members"], summary="The member's ledger, newest first")
def activity(
    member_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    entry_types: Annotated[str | None, Query(alias="type", max_length=200, pattern=ENTRY_TYPE_LIST, description=(
        "only entries of these types, comma-separated (earn,redeem)"))] = None,
):
    return respond(members.list_activity(caller(app), member_id, limit=limit, cursor=cursor, types=entry_types))


@app.get("/members/<member_id>/challenges", operation_id="listMemberChallenges",
         responses=responses(200, MemberChallengePage), tags=["gamification"],
         summary="The challenges open to the member now, with its progress, and those it completed")
def member_challenges(member_id: str):
    return respond(gamification.member_challenges(caller(app), member_id))


@app.get("/members/<member_id>/badges", operation_id="listMemberBadges", responses=responses(200, MemberBadgesOut),
         tags=["gamification"], summary="The badges the member earned")
def member_badges(member_id: str):
    return respond(gamification.member_badges(caller(app), member_id))


@app.get("/members/<member_id>/streaks", operation_id="listMemberStreaks", responses=responses(200, MemberStreaksOut),
         tags=["gamification"], summary="The member's run on each of the program's streaks")
def member_streaks(member_id: str):
    return respond(gamification.member_streaks(caller(app), member_id))


@app.get("/members/<member_id>/referral", operation_id="getReferral", responses=responses(200, ReferralOut),
         tags=["members"], summary="The member's referral code and funnel")
def referral(member_id: str):
    return respond(members.referral(caller(app), member_id))


@app.post("/members/<member_id>/referral/invites", operation_id="recordInvites", responses=responses(201, ReferralOut),
          tags=["members"], summary="Count invitations the member sent")
def invites(member_id: str, request: Annotated[InviteRequest, Body()]):
    who = caller(app)
    return respond(members.record_invites(who, member_id, request, idempotency(app, who)))


@app.get("/members/<member_id>/export", operation_id="exportMember", responses=responses(200, ExportOut),
         tags=["members"], summary="Everything held about the member (JSON)")
def export(member_id: str):
    return respond(members.export(caller(app), member_id))


@app.delete("/members/<member_id>", operation_id="eraseMember", responses=responses(200, ErasureOut),
            tags=["members"], summary="Erase the member's personal data")
def erase(member_id: str):
    return respond(members.erase(caller(app), member_id))


@app.post("/households", operation_id="createHousehold", responses=responses(201, HouseholdOut),
          tags=["households"], summary="Create a household; the caller (a member) becomes its owner")
def create_household(request: Annotated[HouseholdRequest, Body()]):
    who = caller(app)
    return respond(households.create(who, request, idempotency(app, who)))


@app.get("/households/<household_id>", operation_id="getHousehold", responses=responses(200, HouseholdOut),
         tags=["households"], summary="Read a household (its members and admins)")
def get_household(household_id: str):
    return respond(households.get(caller(app), household_id))


@app.post("/households/<household_id>/invitations", operation_id="inviteToHousehold",
          responses=responses(201, InvitationOut), tags=["households"],
          summary="A single-use invitation code that works for 7 days (the owner)")
def invite_to_household(household_id: str, request: Annotated[InvitationRequest, Body()]):
    return respond(households.invite(caller(app), household_id, request))


@app.post("/households/<household_id>/members", operation_id="joinHousehold", responses=responses(200, HouseholdOut),
          tags=["households"], summary="Join a household with an invitation's code")
def join_household(household_id: str, request: Annotated[JoinRequest, Body()]):
    who = caller(app)
    return respond(households.join(who, household_id, request, idempotency(app, who)))


@app.delete("/households/<household_id>/members/<member_id>", operation_id="leaveHousehold",
            responses=responses(200, HouseholdOut), tags=["households"],
            summary="Leave a household, or (the owner) remove a member")
def leave_household(household_id: str, member_id: str):
    who = caller(app)
    return respond(households.remove(who, household_id, member_id, idempotency(app, who)))


@app.get("/households/<household_id>/activity", operation_id="listHouseholdActivity",
         responses=responses(200, EntryPage), tags=["households"], summary="The pool's ledger, newest first")
def household_activity(
    household_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    entry_types: Annotated[str | None, Query(alias="type", max_length=200, pattern=ENTRY_TYPE_LIST, description=(
        "only entries of these types, comma-separated (earn,redeem)"))] = None,
):
    return respond(households.activity(caller(app), household_id, limit=limit, cursor=cursor, types=entry_types))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
