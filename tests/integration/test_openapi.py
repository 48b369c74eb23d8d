"""The committed OpenAPI documents are what the code generates (regenerate with `loyalty-local openapi`)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

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
                # And a write takes an Idempotency-Key, required where the contract requires it (a post that
                # writes nothing, a quote, takes none)
                keys = [parameter for parameter in operation.get("parameters", [])
                        if parameter["name"] == "Idempotency-Key"]
                writes = method in ("post", "put", "patch") and operation["operationId"] not in openapi.NOTHING_WRITTEN
                assert len(keys) == (1 if writes else 0), (method, path)
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


def _key_requiring_operations() -> set[str]:
    """Operation ids whose route calls a use case that calls writes.key_required, read from the code."""
    root = Path(__file__).resolve().parents[2]
    services = root / "layers" / "loyalty" / "loyalty" / "services"
    requiring: set[str] = set()
    # The handlers, and the Routers a handler includes (the admin API's, one per subject).
    route_files = [*sorted((root / "functions").glob("*/handler.py")),
                   *sorted((root / "layers" / "loyalty" / "loyalty" / "api" / "admin").glob("*.py"))]
    for handler in route_files:
        tree = ast.parse(handler.read_text())
        modules = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                   and node.module == "loyalty.services" for alias in node.names}
        for route in (node for node in tree.body if isinstance(node, ast.FunctionDef)):
            ids = [keyword.value.value for decorator in route.decorator_list if isinstance(decorator, ast.Call)
                   for keyword in decorator.keywords
                   if keyword.arg == "operation_id" and isinstance(keyword.value, ast.Constant)]
            calls = [(call.func.value.id, call.func.attr) for call in ast.walk(route) if isinstance(call, ast.Call)
                     and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
                     and call.func.value.id in modules]
            if not ids or not calls:
                continue
            module, function = calls[0]
            use_case = next(node for node in ast.parse((services / f"{module}.py").read_text()).body
                            if isinstance(node, ast.FunctionDef) and node.name == function)
            if any(isinstance(call, ast.Call) and getattr(call.func, "id", "") == "key_required"
                   for call in ast.walk(use_case)):
                requiring.add(str(ids[0]))
    return requiring


def test_the_documents_require_a_key_exactly_where_the_use_cases_do() -> None:
    # Given the use cases that refuse to run without an Idempotency-Key (they call writes.key_required)
    requiring = _key_requiring_operations()
    # Then those are the operations the documents mark as requiring one, and no other
    assert requiring == set(IDEMPOTENCY_KEY_REQUIRED)
