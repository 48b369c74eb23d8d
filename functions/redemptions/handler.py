"""Redemptions: spend points on a reward or an amount of points; claim promo codes."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, idempotency, logger, respond
from loyalty.api.schemas import LedgerEntryOut, RedemptionOut, responses
from loyalty.inputs import ClaimRequest, RedemptionRequest
from loyalty.observability import metrics, tracer
from loyalty.services import ledger, partners

app = create_app()


@app.post("/members/<member_id>/redemptions", operation_id="redeem", responses=responses(201, RedemptionOut),
          tags=["points"], summary="Redeem a reward or points")
def redeem(member_id: str, request: Annotated[RedemptionRequest, Body()]):
    who = caller(app)
    return respond(ledger.redeem(who, member_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/promo-codes", operation_id="claimCode", responses=responses(201, LedgerEntryOut),
          tags=["points"], summary="Claim a promo code")
def claim_code(member_id: str, request: Annotated[ClaimRequest, Body()]):
    who = caller(app)
    return respond(partners.claim_code(who, member_id, request, idempotency(app, who)))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
