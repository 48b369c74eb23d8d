"""Handlers against a real moto server (serialized like the local stack), tables from the template."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import requests

from loyalty_local.demo import DEMO_PROGRAM
from loyalty_local.motoserver import MotoServer
from loyalty_local.stack import create_tables
from loyalty_local.template import read_stack
from tests.conftest import MOTO_PORT
from tests.events import Api


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer(port=MOTO_PORT).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack():  # type: ignore[no-untyped-def]
    return read_stack()


@pytest.fixture
def tables(moto_server: MotoServer, stack) -> MotoServer:  # type: ignore[no-untyped-def]
    """Fresh, empty tables for each test."""
    requests.post(f"{moto_server.url}/moto-api/reset", timeout=10)
    create_tables(stack, moto_server.url)
    return moto_server


@pytest.fixture(scope="session")
def handlers() -> dict[str, ModuleType]:
    names = ["members", "purchases", "redemptions", "catalog", "admin", "engagement", "reports", "partner", "mechanics"]
    return {name: importlib.import_module(f"functions.{name}.handler") for name in names}


@pytest.fixture
def api(tables: MotoServer, handlers: dict[str, ModuleType], stack) -> Api:  # type: ignore[no-untyped-def]
    return Api(stack, handlers)


@pytest.fixture
def program(api: Api) -> dict[str, Any]:
    """Given the demo program (the contract's example config) is in force."""
    response = api.put("/admin/program", DEMO_PROGRAM, admin=True)
    assert response.status == 200, response.body
    return json.loads(json.dumps(DEMO_PROGRAM))
