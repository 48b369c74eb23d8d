"""The OpenAPI documents, generated from the handlers with powertools (OpenAPIMerge), committed under
docs/ and served by the local stack (Swagger UI at /docs). A test fails when the committed ones are stale."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from loyalty_local.template import PROJECT_ROOT, read_stack

DOCS = PROJECT_ROOT / "docs"
MEMBER_DOCUMENT = DOCS / "openapi.json"
PARTNER_DOCUMENT = DOCS / "partner-openapi.json"

DESCRIPTION = (
    "Members earn points for purchases and engagement, climb tiers and redeem rewards; trusted back ends "
    "record purchases and returns; program staff configure the program and read its metrics. Errors are "
    "application/problem+json. Points-changing calls need an Idempotency-Key header."
)
PARTNER_DESCRIPTION = "Partner brands run co-promotions: promotions, single-use codes, partner-funded points."


def _handler_files(kind: str) -> list[Path]:
    stack = read_stack()
    functions = {route.function for route in stack.routes if route.kind == kind}
    return sorted({stack.functions[name].module_path for name in functions})


def build(kind: str) -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, HTTPBearer

    if kind == "HttpApi":
        merger = OpenAPIMerge(
            title="Loyalty API (members and admin)", version="1.0.0", description=DESCRIPTION,
            security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT", description=(
                "An access token from the user pool: a member (sub = member id), a trusted back end "
                "(scope loyalty/transactions) or an admin (group loyalty-admin)."))},
            security=[{"bearerAuth": []}], on_conflict="error",
        )
    else:
        merger = OpenAPIMerge(
            title="Loyalty partner API", version="1.0.0", description=PARTNER_DESCRIPTION,
            security_schemes={"apiKey": APIKey.model_validate({
                "type": "apiKey", "name": "x-api-key", "in": "header",
                "description": "The key POST /admin/partners returned once"})},
            security=[{"apiKey": []}], on_conflict="error",
        )
    for path in _handler_files(kind):
        merger.add_file(path, resolver_name="app")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a handler that fails to load must fail the build
        document = json.loads(merger.get_openapi_json_schema())
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write() -> list[Path]:
    DOCS.mkdir(exist_ok=True)
    MEMBER_DOCUMENT.write_text(render(build("HttpApi")))
    PARTNER_DOCUMENT.write_text(render(build("Api")))
    return [MEMBER_DOCUMENT, PARTNER_DOCUMENT]


# Swagger UI from the copy powertools ships (no CDN, works offline).
SWAGGER_UI = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loyalty API</title>
<link rel="stylesheet" href="/docs/swagger-ui.min.css"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.min.js"></script>
<script>window.ui = SwaggerUIBundle({dom_id: "#ui", deepLinking: true,
  urls: [{url: "/openapi.json", name: "Members and admin"}, {url: "/partner-openapi.json", name: "Partners"}]});
</script></body></html>
"""


def swagger_asset(name: str) -> bytes | None:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    if name not in ("swagger-ui.min.css", "swagger-ui-bundle.min.js"):
        return None
    return (Path(swagger_ui.__file__).parent / name).read_bytes()
