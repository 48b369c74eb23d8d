"""Admin API: the rewards catalog and batches of codes worth points."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from loyalty.api.http import caller, deadline, idempotency, respond
from loyalty.api.schemas import (
    CodeBatchOut,
    RewardOut,
    responses,
)
from loyalty.inputs.catalog import CodeBatchRequest, RewardRequest
from loyalty.services import catalog, mechanics

router = Router()


@router.post("/admin/rewards", operation_id="createReward",
             responses=responses(201, RewardOut), tags=["admin"], summary="Add a reward to the catalog")
def create_reward(request: Annotated[RewardRequest, Body()]):
    who = caller(router)
    return respond(catalog.save_reward(who, None, request, idempotency(router, who)))


@router.put("/admin/rewards/<reward_id>", operation_id="putReward", responses=responses(200, RewardOut),
            tags=["admin"], summary="Create or replace a reward")
def put_reward(reward_id: str, request: Annotated[RewardRequest, Body()]):
    who = caller(router)
    return respond(catalog.save_reward(who, reward_id, request, idempotency(router, who)))


@router.post("/admin/code-batches", operation_id="issueCodeBatch", responses=responses(201, CodeBatchOut),
             tags=["admin"],
             summary="Issue proof-of-purchase codes worth points (claimed at /members/{id}/promo-codes)")
def code_batch(request: Annotated[CodeBatchRequest, Body()]):
    who = caller(router)
    return respond(mechanics.code_batch(who, request, idempotency(router, who), deadline=deadline(router)))
