"""The committed OpenAPI documents are what the code generates (regenerate with `loyalty-local openapi`)."""

from __future__ import annotations

import json

from loyalty_local import openapi


def test_the_committed_member_api_document_is_current() -> None:
    assert openapi.MEMBER_DOCUMENT.read_text() == openapi.render(openapi.build("HttpApi")), (
        "docs/openapi.json is stale: run .venv/bin/loyalty-local openapi")


def test_the_committed_partner_api_document_is_current() -> None:
    assert openapi.PARTNER_DOCUMENT.read_text() == openapi.render(openapi.build("Api")), (
        "docs/partner-openapi.json is stale: run .venv/bin/loyalty-local openapi")


def test_every_route_documents_its_answer_and_problems() -> None:
    document = json.loads(openapi.MEMBER_DOCUMENT.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            assert responses["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
