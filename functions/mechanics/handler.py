"""Mechanics of well-known programs: paid memberships, spin to win, donations, visit vouchers."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, idempotency, logger, respond
from loyalty.api.schemas import LedgerEntryOut, MembershipOut, SpinOut, VisitOut, VoucherOut, responses
from loyalty.inputs.engagement import DonationRequest, MembershipRequest, VisitRequest
from loyalty.observability import metrics, tracer
from loyalty.services import mechanics

app = create_app()


@app.post("/members/<member_id>/memberships", operation_id="recordMembership",
          responses=responses(201, MembershipOut), tags=["mechanics"],
          summary="Record a paid membership: subscribe, renew, cancel (trusted back end)")
def membership(member_id: str, request: Annotated[MembershipRequest, Body()]):
    who = caller(app)
    return respond(mechanics.record_membership(who, member_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/spins", operation_id="spin", responses=responses(201, SpinOut), tags=["mechanics"],
          summary="Spin the prize wheel")
def spin(member_id: str):
    who = caller(app)
    return respond(mechanics.spin(who, member_id, idempotency(app, who)))


@app.post("/members/<member_id>/donations", operation_id="donatePoints",
          responses=responses(201, LedgerEntryOut), tags=["mechanics"],
          summary="Donate points to a cause")
def donate(member_id: str, request: Annotated[DonationRequest, Body()]):
    who = caller(app)
    return respond(mechanics.donate(who, member_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/visits", operation_id="recordVisit",
          responses=responses(201, VisitOut), tags=["mechanics"],
          summary="Check in at a store: a personal single-use voucher")
def visit(member_id: str, request: Annotated[VisitRequest, Body()]):
    who = caller(app)
    return respond(mechanics.visit(who, member_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/vouchers/<code>/use", operation_id="useVoucher",
          responses=responses(200, VoucherOut), tags=["mechanics"],
          summary="The till takes a voucher (trusted back end)")
def use_voucher(member_id: str, code: str):
    who = caller(app)
    return respond(mechanics.use_voucher(who, member_id, code, idempotency(app, who)))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
