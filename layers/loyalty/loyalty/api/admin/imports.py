"""Admin API: bulk imports of members and their order history."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from loyalty.api.http import caller, idempotency, respond
from loyalty.api.schemas import (
    ImportOut,
    responses,
)
from loyalty.inputs.imports import ImportRequest
from loyalty.services import imports

router = Router()


@router.post("/admin/imports", operation_id="createImport", responses=responses(201, ImportOut),
             tags=["admin"], summary="Start a bulk import: answers the URL to PUT the file to")
def create_import(request: Annotated[ImportRequest, Body()]):
    who = caller(router)
    return respond(imports.create_import(who, request, idempotency(router, who)))


@router.get("/admin/imports/<import_id>", operation_id="getImport", responses=responses(200, ImportOut),
            tags=["admin"], summary="A bulk import's progress: rows imported, skipped and failed, bad rows")
def get_import(import_id: str):
    return respond(imports.get_import(caller(router), import_id))
