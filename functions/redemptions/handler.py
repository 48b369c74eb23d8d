"""Redemptions: spend points on a reward or an amount of points, cancel a redemption; checkout holds
(hold, capture, release); transfers between members; claim promo codes."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, idempotency, logger, respond
from loyalty.api.schemas import (
    CancelledRedemptionOut,
    CapturedHoldOut,
    HoldOut,
    HoldPage,
    LedgerEntryOut,
    RedemptionOut,
    TransferOut,
    responses,
)
from loyalty.inputs.partners import ClaimRequest
from loyalty.inputs.redemptions import (
    CancelRedemptionRequest,
    CaptureRequest,
    HoldRequest,
    RedemptionRequest,
    ReleaseRequest,
    TransferRequest,
)
from loyalty.observability import metrics, tracer
from loyalty.services import checkout, households, ledger, partners

app = create_app()


@app.post("/members/<member_id>/redemptions", operation_id="redeem", responses=responses(201, RedemptionOut),
          tags=["points"], summary="Redeem a reward or points")
def redeem(member_id: str, request: Annotated[RedemptionRequest, Body()]):
    who = caller(app)
    return respond(ledger.redeem(who, member_id, request, idempotency(app, who)))


@app.post("/households/<household_id>/redemptions", operation_id="redeemFromHousehold",
          responses=responses(201, RedemptionOut), tags=["households"],
          summary="Redeem a reward or points from the household's pool")
def redeem_from_household(household_id: str, request: Annotated[RedemptionRequest, Body()]):
    who = caller(app)
    return respond(households.redeem(who, household_id, request, idempotency(app, who)))


@app.post("/households/<household_id>/holds", operation_id="placeHouseholdHold", responses=responses(201, HoldOut),
          tags=["households"], summary="Hold points of the household's pool for a checkout")
def place_household_hold(household_id: str, request: Annotated[HoldRequest, Body()]):
    who = caller(app)
    return respond(households.place_hold(who, household_id, request, idempotency(app, who)))


@app.post("/households/<household_id>/redemptions/<redemption_id>/cancel", operation_id="cancelHouseholdRedemption",
          responses=responses(200, CancelledRedemptionOut), tags=["households"],
          summary="Cancel a redemption the household's pool paid (a refund)")
def cancel_household_redemption(household_id: str, redemption_id: str,
                                request: Annotated[CancelRedemptionRequest, Body()]):
    who = caller(app)
    return respond(households.cancel_redemption(who, household_id, redemption_id, request, idempotency(app, who)))


@app.post("/households/<household_id>/holds/<hold_id>/capture", operation_id="captureHouseholdHold",
          responses=responses(200, CapturedHoldOut), tags=["households"],
          summary="Spend a hold of the household's pool (the checkout was paid)")
def capture_household_hold(household_id: str, hold_id: str, request: Annotated[CaptureRequest, Body()]):
    who = caller(app)
    return respond(households.capture_hold(who, household_id, hold_id, request, idempotency(app, who)))


@app.post("/households/<household_id>/holds/<hold_id>/release", operation_id="releaseHouseholdHold",
          responses=responses(200, HoldOut), tags=["households"],
          summary="Give a hold's points back to the household's pool")
def release_household_hold(household_id: str, hold_id: str, request: Annotated[ReleaseRequest, Body()]):
    who = caller(app)
    return respond(households.release_hold(who, household_id, hold_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/redemptions/<redemption_id>/cancel", operation_id="cancelRedemption",
          responses=responses(200, CancelledRedemptionOut), tags=["points"], summary="Cancel a redemption")
def cancel_redemption(member_id: str, redemption_id: str, request: Annotated[CancelRedemptionRequest, Body()]):
    who = caller(app)
    return respond(checkout.cancel_redemption(who, member_id, redemption_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/holds", operation_id="placeHold", responses=responses(201, HoldOut),
          tags=["checkout"], summary="Hold points for a checkout")
def place_hold(member_id: str, request: Annotated[HoldRequest, Body()]):
    who = caller(app)
    return respond(checkout.place_hold(who, member_id, request, idempotency(app, who)))


@app.get("/members/<member_id>/holds", operation_id="listHolds", responses=responses(200, HoldPage),
         tags=["checkout"], summary="The member's holds, newest first")
def list_holds(member_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 25,
               cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(checkout.list_holds(caller(app), member_id, limit=limit, cursor=cursor))


@app.get("/members/<member_id>/holds/<hold_id>", operation_id="getHold", responses=responses(200, HoldOut),
         tags=["checkout"], summary="Read a hold")
def get_hold(member_id: str, hold_id: str):
    return respond(checkout.get_hold(caller(app), member_id, hold_id))


@app.post("/members/<member_id>/holds/<hold_id>/capture", operation_id="captureHold",
          responses=responses(200, CapturedHoldOut), tags=["checkout"], summary="Spend held points")
def capture_hold(member_id: str, hold_id: str, request: Annotated[CaptureRequest, Body()]):
    who = caller(app)
    return respond(checkout.capture_hold(who, member_id, hold_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/holds/<hold_id>/release", operation_id="releaseHold",
          responses=responses(200, HoldOut), tags=["checkout"], summary="Give held points back")
def release_hold(member_id: str, hold_id: str, request: Annotated[ReleaseRequest, Body()]):
    who = caller(app)
    return respond(checkout.release_hold(who, member_id, hold_id, request, idempotency(app, who)))


@app.post("/members/<member_id>/transfers", operation_id="transferPoints", responses=responses(201, TransferOut),
          tags=["points"], summary="Give points to another member")
def transfer(member_id: str, request: Annotated[TransferRequest, Body()]):
    who = caller(app)
    return respond(checkout.transfer(who, member_id, request, idempotency(app, who)))


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
