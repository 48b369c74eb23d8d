"""The shape of the code: imports at the top of modules only, no import cycle between use cases, no use case
holding a storage item, no module over 600 lines.
The layers themselves (functions -> api -> services -> store -> domain) are `lint-imports` contracts
(pyproject.toml), run by `make test`."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

LAYER = Path(__file__).resolve().parents[2] / "layers" / "loyalty" / "loyalty"


def function_local_imports(source: str) -> list[int]:
    """Lines of imports inside a function or a class body."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.extend(inner.lineno for inner in ast.walk(node) if isinstance(inner, ast.Import | ast.ImportFrom))
    return found


def test_the_check_finds_an_import_inside_a_function() -> None:
    # Given a module that imports inside a function, and one that imports at the top (in a try, too)
    nested = "import os\n\ndef f():\n    from json import dumps\n    return dumps\n"
    flat = "import os\ntry:\n    import json\nexcept ImportError:\n    json = None\n"
    # Then only the first is reported, at the nested import's line
    assert function_local_imports(nested) == [4]
    assert function_local_imports(flat) == []


def test_no_module_of_the_layer_imports_inside_a_function() -> None:
    # Given every module of the layer
    found = {str(path.relative_to(LAYER)): lines for path in sorted(LAYER.rglob("*.py"))
             if (lines := function_local_imports(path.read_text()))}
    # Then none imports inside a function (an import there hides a cycle or a cost)
    assert found == {}


def cycles_between(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Every cycle among `modules` (each found once, from its smallest module), by depth-first search."""
    found: list[list[str]] = []
    for start in sorted(modules):
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            module, path = stack.pop()
            for imported in sorted(graph.find_modules_directly_imported_by(module) & modules):
                if imported == start:
                    found.append(path)
                elif imported > start and imported not in path:
                    stack.append((imported, [*path, imported]))
    return found


def test_the_use_cases_import_each_other_without_a_cycle() -> None:
    # Given the import graph of the layer
    graph = grimp.build_graph("loyalty")
    services = {module for module in graph.modules if module.startswith("loyalty.services.")}
    # Then no chain of imports between use cases comes back to where it started
    assert cycles_between(graph, services) == []


def test_the_body_limit_counts_bytes_not_characters() -> None:
    from loyalty.api.http import MAX_BODY_BYTES, _body_bytes

    # Given a body of multi-byte characters that is under the limit in characters but over it in bytes
    text = "é" * (MAX_BODY_BYTES // 2 + 1)
    # Then it counts as its UTF-8 size; and a base64 body counts as what it decodes to
    assert _body_bytes(text, False) == 2 * len(text) > MAX_BODY_BYTES
    assert _body_bytes("YWJj", True) == 3 and _body_bytes("YWI=", True) == 2


def authorization_calls(source: str) -> list[str]:
    """Authorization asked in a module: the Caller's authorize_* methods and its role properties."""
    asked = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and (node.attr.startswith("authorize_") or node.attr in {
                "is_admin", "is_trusted"}):
            asked.append(node.attr)
    return asked


def test_handlers_leave_authorization_to_the_use_cases() -> None:
    # Given every Lambda handler module, and the admin API's Routers
    root = Path(__file__).resolve().parents[2]
    modules = [*sorted((root / "functions").glob("*/handler.py")),
               *sorted((root / "layers" / "loyalty" / "loyalty" / "api" / "admin").glob("*.py"))]
    asked = {f"{path.parent.name}/{path.name}": calls for path in modules
             if (calls := authorization_calls(path.read_text()))}
    # Then none authorizes: the use case does, once, whoever calls it (HTTP, a job, a test)
    assert asked == {}
    # And the check itself sees an authorization where there is one
    assert sorted(authorization_calls("who.authorize_admin()\nif who.is_trusted: pass\n")) == [
        "authorize_admin", "is_trusted"]


def imported_modules(source: str) -> set[str]:
    """Every module a source imports (at any depth of the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_unit_tests_need_no_emulator_and_no_store() -> None:
    # Given every unit test module
    unit = Path(__file__).resolve().parent
    emulated = ("moto", "boto3", "botocore", "pynamodb", "loyalty.store", "loyalty_local", "tests.events",
                "tests.stream_helpers")
    found = {path.name: sorted(module for module in imported_modules(path.read_text())
                               if module.startswith(emulated))
             for path in sorted(unit.glob("*.py"))}
    # Then none imports the emulator, the store or the local stack: the rules are tested as plain code
    assert {name: modules for name, modules in found.items() if modules} == {}


def store_items_imported(source: str) -> list[str]:
    """The storage item classes (`...Item`) a module imports from loyalty.store."""
    return sorted(alias.name for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("loyalty.store")
                  for alias in node.names if alias.name.endswith("Item"))


def test_the_check_finds_a_storage_item_imported() -> None:
    # Given a module importing an item class and a record from a store module, and one importing a record only
    importing = "from loyalty.store.members import MemberItem, Taken\nfrom loyalty.domain import Item\n"
    clean = "from loyalty.store.referrals import Referral\n"
    # Then only the item class is reported
    assert store_items_imported(importing) == ["MemberItem"]
    assert store_items_imported(clean) == []


def test_no_use_case_imports_a_storage_item() -> None:
    # Given every use case module
    found = {path.name: items for path in sorted((LAYER / "services").glob("*.py"))
             if (items := store_items_imported(path.read_text()))}
    # Then none imports an item class: the store hands the use cases plain records (issue 31)
    assert found == {}


MAX_MODULE_LINES = 600


def test_no_module_of_the_layer_is_over_600_lines() -> None:
    # Given every module of the layer
    found = {str(path.relative_to(LAYER)): lines for path in sorted(LAYER.rglob("*.py"))
             if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    # Then none is over the limit: a module that grows past it holds two things (issue 31)
    assert found == {}
