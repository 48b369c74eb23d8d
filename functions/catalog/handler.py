"""What any signed-in caller may read: the rewards catalog and the program config."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, logger, respond
from loyalty.api.schemas import Offers, ProgramOut, RewardOut, RewardPage, responses
from loyalty.api.schemas.gamification import BadgePage
from loyalty.observability import metrics, tracer
from loyalty.services import catalog, gamification, offers, program

app = create_app()


@app.get("/rewards", operation_id="listRewards",
         responses=responses(200, RewardPage), tags=["catalog"], summary="The rewards catalog")
def list_rewards(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
):
    caller(app)
    return respond(catalog.list_rewards(limit=limit, cursor=cursor))


@app.get("/rewards/<reward_id>", operation_id="getReward",
         responses=responses(200, RewardOut), tags=["catalog"], summary="One reward")
def get_reward(reward_id: str):
    caller(app)
    return respond(catalog.get_reward(reward_id))


@app.get("/badges", operation_id="listBadges", responses=responses(200, BadgePage), tags=["gamification"],
         summary="Every badge of the program")
def list_badges():
    return respond(gamification.list_badges(caller(app)))


@app.get("/program", operation_id="getProgram", responses=responses(200, ProgramOut),
         tags=["catalog"], summary="The program config in force, with its version")
def get_program():
    caller(app)
    return respond(program.get_program())


@app.get("/members/<member_id>/offers", operation_id="listOffers", responses=responses(200, Offers),
         tags=["catalog"], summary="Rewards this member can use now, best first")
def member_offers(member_id: str):
    return respond(offers.offers(caller(app), member_id))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
