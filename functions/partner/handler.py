"""The partner API (REST API, API key + partner authorizer): promotions, codes, partner earn, reports."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import create_app, deadline, idempotency, logger, partner, respond
from loyalty.api.schemas import (
    CodesOut,
    DeliveryPage,
    LedgerEntryOut,
    PromotionOut,
    PromotionPage,
    ReportOut,
    SettlementOut,
    WebhookList,
    WebhookOut,
    WebhookRemovedOut,
    responses,
)
from loyalty.domain.fields import Month
from loyalty.inputs.partners import CodesRequest, PartnerEarnRequest, PromotionRequest, WebhookRequest
from loyalty.observability import metrics, tracer
from loyalty.services import partners, webhooks

app = create_app(rest=True)


@app.post("/partner/promotions", operation_id="createPromotion", responses=responses(201, PromotionOut),
          tags=["partner"], summary="Create a co-promotion")
def create_promotion(request: Annotated[PromotionRequest, Body()]):
    who = partner(app)
    return respond(partners.create_promotion(who, request, idempotency(app, who)))


@app.get("/partner/promotions", operation_id="listPromotions",
         responses=responses(200, PromotionPage), tags=["partner"], summary="Your promotions")
def list_promotions(limit: Annotated[int, Query(ge=1, le=100)] = 25,
                    cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(partners.list_promotions(partner(app), limit=limit, cursor=cursor))


@app.get("/partner/promotions/<promotion_id>", operation_id="getPromotion", responses=responses(200, PromotionOut),
         tags=["partner"], summary="One of your promotions")
def get_promotion(promotion_id: str):
    return respond(partners.get_promotion(partner(app), promotion_id))


@app.post("/partner/promotions/<promotion_id>/codes", operation_id="issueCodes", responses=responses(201, CodesOut),
          tags=["partner"], summary="Issue single-use codes")
def issue_codes(promotion_id: str, request: Annotated[CodesRequest, Body()]):
    who = partner(app)
    return respond(partners.issue_codes(who, promotion_id, request, idempotency(app, who), deadline=deadline(app)))


@app.get("/partner/promotions/<promotion_id>/report", operation_id="getPromotionReport",
         responses=responses(200, ReportOut),
         tags=["partner"], summary="How a promotion is doing")
def report(promotion_id: str):
    return respond(partners.promotion_report(partner(app), promotion_id))


@app.post("/partner/earn", operation_id="recordPartnerEarn", responses=responses(201, LedgerEntryOut),
          tags=["partner"], summary="Points for a member's purchase at the partner")
def partner_earn(request: Annotated[PartnerEarnRequest, Body()]):
    who = partner(app)
    return respond(partners.partner_earn(who, request, idempotency(app, who)))


@app.get("/partner/settlement", operation_id="getSettlement", responses=responses(200, SettlementOut),
         tags=["partner"], summary="Points funded in a month and their value")
def settlement(month: Annotated[Month, Query(description="YYYY-MM, in the program's time zone")]):
    return respond(partners.settlement(partner(app), month))


@app.post("/partner/webhooks", operation_id="registerWebhook", responses=responses(201, WebhookOut), tags=["partner"],
          summary="Register a webhook (its signing secret is shown once)")
def register_webhook(request: Annotated[WebhookRequest, Body()]):
    who = partner(app)
    return respond(webhooks.register(who, request.url, request.description, idempotency(app, who)))


@app.get("/partner/webhooks", operation_id="listWebhooks",
         responses=responses(200, WebhookList), tags=["partner"], summary="Your webhooks")
def list_webhooks():
    return respond(webhooks.list_webhooks(partner(app)))


@app.delete("/partner/webhooks/<webhook_id>", operation_id="removeWebhook",
            responses=responses(200, WebhookRemovedOut), tags=["partner"],
            summary="Remove a webhook")
def remove_webhook(webhook_id: str):
    return respond(webhooks.remove(partner(app), webhook_id))


@app.get("/partner/webhooks/deliveries", operation_id="listDeliveries",
         responses=responses(200, DeliveryPage), tags=["partner"],
         summary="The delivery log, newest first")
def deliveries(limit: Annotated[int, Query(ge=1, le=100)] = 25,
               cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(webhooks.deliveries(partner(app), limit=limit, cursor=cursor))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
