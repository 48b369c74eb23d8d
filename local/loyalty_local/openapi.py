"""The OpenAPI documents, generated from the handlers with powertools (OpenAPIMerge), committed under
docs/ and served by the local stack (Swagger UI at /docs). A test fails when the committed ones are stale."""

from __future__ import annotations

import ast
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
    return publish(document, kind)


# --- what powertools generates, made into what integrators generate clients from -----------------------

SERVERS = {
    "HttpApi": [{"url": "https://{apiId}.execute-api.{region}.amazonaws.com", "description": "the HTTP API",
                 "variables": {"apiId": {"default": "abc123defg", "description": "the stack's HttpApiId output"},
                               "region": {"default": "us-east-1"}}}],
    "Api": [{"url": "https://{restApiId}.execute-api.{region}.amazonaws.com/v1",
             "description": "the partner REST API's stage v1",
             "variables": {"restApiId": {"default": "abc123defg", "description": "the stack's PartnerApiId output"},
                           "region": {"default": "us-east-1"}}}],
}
LOCAL_SERVER = {"url": "http://127.0.0.1:3000", "description": "the local stack (make run)"}
WRITES = ("post", "put", "patch")
# Posts that take no Idempotency-Key: they write nothing (nothing to replay), or answer a secret shown once
# (an invitation's code, kept only as its hash: a retry draws a new code).
NOTHING_WRITTEN = frozenset({"quotePurchase", "inviteToHousehold"})
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "pattern": "^[\\x20-\\x7e]{1,128}$"},
    "description": "1-128 printable ASCII characters, scoped to the caller. The same key with the same body "
                   "replays the first answer (with Idempotent-Replayed: true); with another body: 409 "
                   "idempotency_key_reused.",
}
REPLAYED = {"Idempotent-Replayed": {"description": "true when this is the recorded answer of an earlier request "
                                                   "with the same Idempotency-Key",
                                    "schema": {"type": "string", "enum": ["true"]}}}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}


# Who may call each operation (the use case checks it; the token carries it), for its description.
MEMBER, ADMIN = "the member itself (`me`) or an admin", "an admin (group loyalty-admin)"
ANY_MEMBER_READER = "the member itself (`me`), a trusted back end (scope loyalty/transactions) or an admin"
TRUSTED = "a trusted back end (scope loyalty/transactions) or an admin"
HOUSEHOLD = "the household's members or an admin (others: 403)"
PARTNER = "the partner whose API key is sent (x-api-key); only its own promotions and webhooks"
WHO = {
    "issueCodeBatch": ADMIN, "getLiability": ADMIN, "adjustPoints": ADMIN, "getMetrics": ADMIN,
    "listPartners": ADMIN, "onboardPartner": ADMIN, "rotatePartnerKey": ADMIN, "revokePartnerKey": ADMIN,
    "putProgram": ADMIN, "createReward": ADMIN, "putReward": ADMIN,
    "enrollMember": "a signed-in user enrolling itself; an admin may enroll anyone (`member_id`)",
    "eraseMember": MEMBER, "getMember": ANY_MEMBER_READER, "updateMember": MEMBER,
    "recordAction": ANY_MEMBER_READER + "; actions the program awards itself only by an admin",
    "listActivity": ANY_MEMBER_READER, "donatePoints": MEMBER, "exportMember": MEMBER,
    "recordFeedback": MEMBER, "recordMembership": TRUSTED, "listOffers": ANY_MEMBER_READER,
    "claimCode": MEMBER, "recordPurchase": TRUSTED, "quotePurchase": ANY_MEMBER_READER,
    "redeem": ANY_MEMBER_READER, "getReferral": MEMBER,
    "recordInvites": MEMBER, "recordReturn": TRUSTED, "spin": MEMBER, "recordVisit": ANY_MEMBER_READER,
    "useVoucher": TRUSTED, "getProgram": "any signed-in caller", "listRewards": "any signed-in caller",
    "getReward": "any signed-in caller",
    **dict.fromkeys(("placeHold", "getHold", "listHolds", "releaseHold"), ANY_MEMBER_READER),
    "captureHold": TRUSTED, "cancelRedemption": TRUSTED, "transferPoints": MEMBER,
    "createHousehold": "a member (it becomes the owner)", "joinHousehold": "a member with an invitation's code",
    **dict.fromkeys(("getHousehold", "listHouseholdActivity"), HOUSEHOLD),
    "inviteToHousehold": "the household's owner or an admin",
    "leaveHousehold": "the member itself, the household's owner, or an admin",
    **dict.fromkeys(("redeemFromHousehold", "placeHouseholdHold"),
                    "the household's owner, its members when members_may_spend, or an admin"),
    "captureHouseholdHold": TRUSTED, "cancelHouseholdRedemption": TRUSTED,
    "releaseHouseholdHold": "whoever may spend the household's pool, a trusted back end or an admin",
    **dict.fromkeys(("listProgramVersions", "getProgramVersion", "rollbackProgram", "searchMembers", "blockMember",
                     "unblockMember", "listAudit", "createImport", "getImport", "createCampaign", "listCampaigns",
                     "getCampaign", "putCampaign", "getCampaignReport", "createSegment", "listSegmentMembers",
                     "startWhatIf", "getWhatIf", "listReferrals", "approveReferral", "rejectReferral",
                     "createBadge", "createChallenge", "putChallenge", "listChallenges", "getChallenge",
                     "awardBadge", "createLeaderboard", "listLeaderboards"), ADMIN),
    "getLeaderboard": "any signed-in caller (`me` is the caller's own standing)",
    "getLedgerPublicKey": "any signed-in caller", "getEntryProof": MEMBER,
    **dict.fromkeys(("listCheckpoints", "getCheckpoint", "getDeferredRevenue", "getJournal"), ADMIN),
    "listBadges": "any signed-in caller",
    **dict.fromkeys(("listMemberChallenges", "listMemberBadges", "listMemberStreaks"), ANY_MEMBER_READER),
    **dict.fromkeys(("recordPartnerEarn", "listPromotions", "createPromotion", "getPromotion", "issueCodes",
                     "getPromotionReport", "getSettlement", "listWebhooks", "registerWebhook", "listDeliveries",
                     "removeWebhook"), PARTNER),
}


def _description(operation: dict[str, Any], takes_key: bool, key_required: bool) -> str:
    parts = [f"{operation.get('summary', '')}.", f"Who may call: {WHO[operation['operationId']]}."]
    if takes_key:
        parts.append("Idempotency-Key: required." if key_required else
                     "Idempotency-Key: optional; when sent, a retry replays the first answer.")
    return " ".join(parts)


def _error_statuses(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from what it takes (the contract's rules)."""
    # The gateway (token, key, throttling), an unexpected failure (a bug: logged, alarmed), a transient one.
    statuses = {401, 403, 429, 500, 503}
    parameters = {parameter["in"]: parameter for parameter in operation.get("parameters", [])}
    query = [parameter for parameter in operation.get("parameters", []) if parameter["in"] == "query"]
    if method in WRITES or any(parameter["name"] in ("cursor", "after") for parameter in query):
        statuses.add(400)  # a malformed or missing Idempotency-Key, a cursor this API did not issue
    if "path" in parameters or operation["operationId"] in {"recordPartnerEarn", "redeem", "claimCode",
                                                            "rollbackProgram", "createHousehold"}:
        statuses.add(404)
    statuses.add(409)  # every call but a few needs the program configured; every write can conflict
    if "{member_id}" in path or "{promotion_id}" in path or operation["operationId"] in {
            "adjustPoints", "recordPartnerEarn", "useVoucher", "joinHousehold", "createHousehold"}:
        statuses.add(410)  # an erased member, an ended promotion, a voucher that ran out, a used invitation
    if "requestBody" in operation:
        statuses |= {413, 415, 422}
    if query or "path" in parameters:
        statuses.add(422)
    return statuses


def publish(document: dict[str, Any], kind: str) -> dict[str, Any]:
    from loyalty.api.schemas import IDEMPOTENCY_KEY_REQUIRED

    document["servers"] = [*SERVERS[kind], LOCAL_SERVER]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            takes_key = method in WRITES and operation["operationId"] not in NOTHING_WRITTEN
            required = operation["operationId"] in IDEMPOTENCY_KEY_REQUIRED
            if takes_key:
                operation.setdefault("parameters", []).append({**IDEMPOTENCY_KEY, "required": required})
            operation["description"] = _description(operation, takes_key, required)
            wanted = _error_statuses(method, path, operation)
            for status in list(operation["responses"]):
                answer = operation["responses"][status]
                if status.startswith("2") and takes_key:
                    answer["headers"] = REPLAYED
                elif not status.startswith("2") and int(status) not in wanted:
                    del operation["responses"][status]
                elif status == "503":
                    answer["headers"] = RETRY_AFTER
    if kind == "HttpApi":
        _program_config_body(document)
    _problem_schema(document)
    _close_keyed_maps(document)
    _drop_unreferenced(document)
    return document


def _program_config_body(document: dict[str, Any]) -> None:
    """PUT /admin/program takes the body as a plain object at run time (the use case validates it whole and
    names each bad field); the document gives it the config's real schema. GET answers the config as it was
    PUT (a rate sent as 10 comes back as 10, not "10"), so the answer's schema is the input's too."""
    from loyalty.api.schemas import ProgramConfigIn, ProgramOut

    schemas = document["components"]["schemas"]
    for name, model in (("ProgramConfig", ProgramConfigIn), ("ProgramOut", ProgramOut)):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    body = document["paths"]["/admin/program"]["put"]["requestBody"]
    body["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/ProgramConfig"}
    # A what-if's proposal is a whole config too.
    what_if = document["paths"]["/admin/what-if"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = what_if["$ref"].rsplit("/", 1)[-1]
    described = schemas[name]["properties"]["config"].get("description", "")
    schemas[name]["properties"]["config"] = {"$ref": "#/components/schemas/ProgramConfig", "description": described}


LAYER = PROJECT_ROOT / "layers" / "loyalty" / "loyalty"


def problem_codes() -> list[str]:
    """Every `code` a problem can carry: the error classes' own, every code="..." a raise names, the
    `<what>_not_found` of checked_id(value, "<what>"), and the codes the HTTP layer answers itself."""
    codes = {"validation_error", "not_found", "internal_error"}
    for path in sorted(LAYER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        codes.add(str(keyword.value.value))
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "checked_id" and len(node.args) == 2 and isinstance(node.args[1], ast.Constant):
                    codes.add(str(node.args[1].value) + "_not_found")
            elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "code" and isinstance(
                    node.value, ast.Constant):
                codes.add(str(node.value.value))
            elif isinstance(node, ast.Assign) and any(
                    isinstance(target, ast.Tuple) and any(getattr(e, "id", "") == "code" for e in target.elts)
                    for target in node.targets) and isinstance(node.value, ast.Tuple):
                codes.update(str(e.value) for e in node.value.elts if isinstance(e, ast.Constant)
                             and isinstance(e.value, str) and e.value.islower() and " " not in e.value)
    return sorted(codes)


def _problem_schema(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    problem["properties"]["code"]["enum"] = problem_codes()


def _close_keyed_maps(node: Any) -> None:
    """A map whose keys have a pattern (preferences, earn rates…) takes no other keys: pydantic refuses
    them. Pydantic writes such a map as patternProperties, which generated clients do not read (they would
    drop every entry); the same rule as propertyNames + additionalProperties is what they read as a map."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            (pattern, values), = patterns.items()
            del node["patternProperties"]
            node["propertyNames"] = {"pattern": pattern}
            node["additionalProperties"] = values
        for value in node.values():
            _close_keyed_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_keyed_maps(value)


def _drop_unreferenced(document: dict[str, Any]) -> None:
    """Schemas powertools adds for its own validation errors, which this API answers as Problem."""
    schemas = document["components"]["schemas"]
    while True:
        text = json.dumps({name: value for name, value in document.items() if name != "components"}) + json.dumps(
            schemas)
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]


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
