"""The committed OpenAPI documents are what the code generates (regenerate with `loyalty-local openapi`)."""

from __future__ import annotations

import json
import re

from loyalty.api.schemas import IDEMPOTENCY_KEY_REQUIRED
from loyalty_local import openapi


def test_the_committed_member_api_document_is_current() -> None:
    assert openapi.MEMBER_DOCUMENT.read_text() == openapi.render(openapi.build("HttpApi")), (
        "docs/openapi.json is stale: run .venv/bin/loyalty-local openapi")


def test_the_committed_partner_api_document_is_current() -> None:
    assert openapi.PARTNER_DOCUMENT.read_text() == openapi.render(openapi.build("Api")), (
        "docs/partner-openapi.json is stale: run .venv/bin/loyalty-local openapi")


def test_every_route_documents_its_answer_and_problems() -> None:
    for document in (json.loads(openapi.MEMBER_DOCUMENT.read_text()), json.loads(openapi.PARTNER_DOCUMENT.read_text())):
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                # Given an operation: a short camelCase verb, its success, and the problems it can answer
                assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation["operationId"]), operation["operationId"]
                assert "Who may call:" in operation["description"], operation["operationId"]
                responses = operation["responses"]
                assert any(code.startswith("2") for code in responses), (method, path)
                problems = [code for code in responses if not code.startswith("2")]
                assert {"401", "403", "429", "500", "503"} <= set(problems), (method, path)
                for code in problems:
                    schema = responses[code]["content"]["application/problem+json"]["schema"]
                    assert schema["$ref"].endswith("/Problem"), (method, path, code)
                # And a write takes an Idempotency-Key, required where the contract requires it
                keys = [parameter for parameter in operation.get("parameters", [])
                        if parameter["name"] == "Idempotency-Key"]
                assert len(keys) == (1 if method in ("post", "put", "patch") else 0), (method, path)
                if keys:
                    assert keys[0]["required"] == (operation["operationId"] in IDEMPOTENCY_KEY_REQUIRED)


def test_the_program_config_round_trips_in_the_document() -> None:
    # Given the member document
    schemas = json.loads(openapi.MEMBER_DOCUMENT.read_text())["components"]["schemas"]
    # Then what GET /program adds is readOnly in the config PUT takes, so a GET's answer is a valid PUT body
    for name in ("version", "spin_odds"):
        assert schemas["ProgramConfig"]["properties"][name]["readOnly"] is True
        assert schemas["ProgramOut"]["properties"][name]["readOnly"] is True
    assert "version" not in schemas["ProgramConfig"].get("required", [])
    # And no schema powertools adds for its own validation errors is left over
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(schemas)
