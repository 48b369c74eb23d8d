"""Admin API: badges, challenges, badges given by hand."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from loyalty.api.http import caller, idempotency, respond
from loyalty.api.schemas import responses
from loyalty.api.schemas.gamification import BadgeAwardedOut, ChallengePage, LeaderboardPage
from loyalty.domain.gamification import Badge, Challenge
from loyalty.domain.leaderboards import Leaderboard
from loyalty.inputs.gamification import BadgeAwardRequest
from loyalty.services import gamification, leaderboards

router = Router()


@router.post("/admin/badges", operation_id="createBadge", responses=responses(201, Badge),
             tags=["gamification"], summary="Create a badge")
def create_badge(request: Annotated[Badge, Body()]):
    who = caller(router)
    return respond(gamification.create_badge(who, request, idempotency(router, who)))


@router.post("/admin/challenges", operation_id="createChallenge", responses=responses(201, Challenge),
             tags=["gamification"], summary="Create a challenge (validated whole; running at once if active)")
def create_challenge(request: Annotated[Challenge, Body()]):
    who = caller(router)
    return respond(gamification.save_challenge(who, None, request, idempotency(router, who)))


@router.put("/admin/challenges/<challenge_id>", operation_id="putChallenge", responses=responses(200, Challenge),
            tags=["gamification"], summary="Create or replace a challenge")
def put_challenge(challenge_id: str, request: Annotated[Challenge, Body()]):
    who = caller(router)
    return respond(gamification.save_challenge(who, challenge_id, request, idempotency(router, who)))


@router.get("/admin/challenges", operation_id="listChallenges", responses=responses(200, ChallengePage),
            tags=["gamification"], summary="Every challenge")
def list_challenges():
    return respond(gamification.list_challenges(caller(router)))


@router.get("/admin/challenges/<challenge_id>", operation_id="getChallenge", responses=responses(200, Challenge),
            tags=["gamification"], summary="A challenge")
def get_challenge(challenge_id: str):
    return respond(gamification.get_challenge(caller(router), challenge_id))


@router.post("/admin/members/<member_id>/badges", operation_id="awardBadge",
             responses=responses(201, BadgeAwardedOut), tags=["gamification"],
             summary="Give a member a badge by hand (audited, with its reason)")
def award_badge(member_id: str, request: Annotated[BadgeAwardRequest, Body()]):
    who = caller(router)
    return respond(gamification.award_badge(who, member_id, request.badge_id, request.reason,
                                            idempotency(router, who)))


@router.post("/admin/leaderboards", operation_id="createLeaderboard", responses=responses(201, Leaderboard),
             tags=["gamification"], summary="Create a leaderboard (members are ranked from the next change on)")
def create_leaderboard(request: Annotated[Leaderboard, Body()]):
    who = caller(router)
    return respond(leaderboards.create_leaderboard(who, request, idempotency(router, who)))


@router.get("/admin/leaderboards", operation_id="listLeaderboards", responses=responses(200, LeaderboardPage),
            tags=["gamification"], summary="Every leaderboard")
def list_leaderboards():
    return respond(leaderboards.list_leaderboards(caller(router)))
