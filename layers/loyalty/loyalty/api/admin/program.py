"""Admin API: the program config, its versions and rollback."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from loyalty.api.http import caller, idempotency, respond
from loyalty.api.schemas import (
    ProgramOut,
    ProgramVersionConfigOut,
    ProgramVersionPage,
    responses,
)
from loyalty.inputs.program import RollbackRequest
from loyalty.services import program

router = Router()


@router.put("/admin/program", operation_id="putProgram", responses=responses(200, ProgramOut),
            tags=["admin"], summary="Replace the program config (validated whole, versioned)")
def put_program(config: Annotated[dict[str, Any], Body()]):
    who = caller(router)
    return respond(program.put_program(who, config, idempotency(router, who)))


@router.get("/admin/program/versions", operation_id="listProgramVersions", responses=responses(200, ProgramVersionPage),
            tags=["admin"], summary="The program's versions, newest first")
def list_versions(limit: Annotated[int, Query(ge=1, le=100)] = 25,
                  cursor: Annotated[str | None, Query(max_length=1024)] = None):
    return respond(program.list_versions(caller(router), limit=limit, cursor=cursor))


@router.get("/admin/program/versions/<version>", operation_id="getProgramVersion",
            responses=responses(200, ProgramVersionConfigOut), tags=["admin"], summary="One version of the program")
def get_version(version: str):
    return respond(program.get_version(caller(router), version))


@router.post("/admin/program/rollback", operation_id="rollbackProgram", responses=responses(200, ProgramOut),
             tags=["admin"], summary="A new version equal to an old one")
def rollback(request: Annotated[RollbackRequest, Body()]):
    who = caller(router)
    return respond(program.rollback(who, request.version, idempotency(router, who)))
