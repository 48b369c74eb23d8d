"""Redemptions: spend points on a reward or on an amount of points."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, idempotency, logger, respond
from loyalty.api.models import RedemptionRequest
from loyalty.services import ledger

app = create_app()


@app.post("/members/<member_id>/redemptions", tags=["points"], summary="Redeem a reward or points")
def redeem(member_id: str, request: Annotated[RedemptionRequest, Body()]):
    who = caller(app)
    who.member_id(member_id)
    return respond(ledger.redeem(who, member_id, request, idempotency(app, who, required=True)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
