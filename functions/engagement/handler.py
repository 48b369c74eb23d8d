"""Engagement: actions that earn points within caps (shares, reviews, check-ins), and NPS feedback."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, idempotency, logger, respond
from loyalty.api.schemas import FeedbackOut, LedgerEntryOut, responses
from loyalty.inputs.engagement import ActionRequest, FeedbackRequest
from loyalty.observability import metrics, tracer
from loyalty.services import engagement

app = create_app()


@app.post("/members/<member_id>/actions", operation_id="recordAction", responses=responses(201, LedgerEntryOut),
          tags=["engagement"], summary="Record an engagement action")
def record_action(member_id: str, request: Annotated[ActionRequest, Body()]):
    who = caller(app)
    return respond(engagement.record_action(who, member_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/feedback", operation_id="recordFeedback", responses=responses(201, FeedbackOut),
          tags=["engagement"], summary="Answer the Net Promoter question")
def record_feedback(member_id: str, request: Annotated[FeedbackRequest, Body()]):
    who = caller(app)
    return respond(engagement.record_feedback(who, member_id, request, idempotency(app, who)))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
