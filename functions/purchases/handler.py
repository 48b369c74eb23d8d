"""Purchases and returns recorded by trusted back ends (POS, e-commerce): points earned and clawed back; quotes
of what a purchase would earn."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, idempotency, logger, respond
from loyalty.api.schemas import LedgerEntryOut, QuoteOut, responses
from loyalty.inputs.purchases import PurchaseRequest, QuoteRequest, ReturnRequest
from loyalty.observability import metrics, tracer
from loyalty.services import ledger

app = create_app()


@app.post("/members/<member_id>/purchases", operation_id="recordPurchase", responses=responses(201, LedgerEntryOut),
          tags=["points"], summary="Record a purchase (trusted back end)")
def record_purchase(member_id: str, request: Annotated[PurchaseRequest, Body()]):
    who = caller(app)
    return respond(ledger.record_purchase(who, member_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/quotes", operation_id="quotePurchase", responses=responses(200, QuoteOut),
          tags=["points"], summary="What a purchase would earn now (nothing recorded)")
def quote_purchase(member_id: str, request: Annotated[QuoteRequest, Body()]):
    return respond(ledger.quote_purchase(caller(app), member_id, request))


@app.post("/members/<member_id>/returns", operation_id="recordReturn", responses=responses(201, LedgerEntryOut),
          tags=["points"], summary="Record a return (trusted back end)")
def record_return(member_id: str, request: Annotated[ReturnRequest, Body()]):
    who = caller(app)
    return respond(ledger.record_return(who, member_id, request, idempotency(app, who)))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
