"""Every answer a test sees is checked against the committed OpenAPI documents: the status is one the
operation documents, and the body matches its schema with no field the schema does not name (the
documents themselves allow new fields, for clients' forward compatibility; the tests do not, so a field
the code adds without documenting it fails here)."""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from loyalty_local import openapi

DOCUMENTS = {"HttpApi": openapi.MEMBER_DOCUMENT, "Api": openapi.PARTNER_DOCUMENT}


def _closed(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to others."""
    if isinstance(schema, dict):
        closed = {name: _closed(value) for name, value in schema.items()}
        if "properties" in closed and closed.get("additionalProperties", True) is True:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@cache
def _document(kind: str) -> tuple[dict[str, Any], Registry]:
    document = json.loads(DOCUMENTS[kind].read_text())
    strict = copy.deepcopy(document)
    strict["components"]["schemas"] = _closed(strict["components"]["schemas"])
    registry = Registry().with_resource("urn:doc", Resource.from_contents(strict, default_specification=DRAFT202012))
    return strict, registry


def _with_doc_refs(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {name: ("urn:doc" + value if name == "$ref" and value.startswith("#") else _with_doc_refs(value))
                for name, value in schema.items()}
    if isinstance(schema, list):
        return [_with_doc_refs(item) for item in schema]
    return schema


def check(kind: str, method: str, route_path: str, status: int, headers: dict[str, str], body: Any) -> None:
    """Raise AssertionError when the answer is not what the document says the operation answers (or, with
    CONTRACT_REPORT set to a file, append the difference to it and go on: to list them all at once)."""
    try:
        _check(kind, method, route_path, status, headers, body)
    except AssertionError as failure:
        report = os.environ.get("CONTRACT_REPORT")
        if not report:
            raise
        with open(report, "a") as out:
            out.write(f"{failure}\n")


def _check(kind: str, method: str, route_path: str, status: int, headers: dict[str, str], body: Any) -> None:
    document, registry = _document(kind)
    operation = document["paths"][route_path][method.lower()]
    where = f"{method} {route_path} answered {status}"
    responses = operation["responses"]
    assert str(status) in responses, f"{where}, which the document does not list ({sorted(responses)})"
    content = responses[str(status)].get("content") or {}
    if body is None:
        return
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    assert content_type in content, f"{where} as {content_type}; documented: {sorted(content)}"
    schema = _with_doc_refs(content[content_type]["schema"])
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    assert not errors, f"{where}: the body does not match the document: " + "; ".join(
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message[:300]}" for error in errors[:5])
