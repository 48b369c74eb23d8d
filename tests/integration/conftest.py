"""Handlers against a real moto server (serialized like the local stack), tables from the template."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from loyalty_local.demo import DEMO_PROGRAM
from loyalty_local.iam import Enforcer, as_function, enforcer
from loyalty_local.motoserver import MotoServer
from loyalty_local.queues import create_keys
from loyalty_local.stack import create_tables
from loyalty_local.template import read_stack
from tests import stream_helpers
from tests.conftest import MOTO_PORT
from tests.events import Api


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """The emulator in this process, botocore's requests handed straight to it (LOYALTY_TESTS_OVER_HTTP=1: over
    its HTTP port instead, as the local stack's functions reach theirs)."""
    server = MotoServer(port=MOTO_PORT).start()
    with contextlib.nullcontext(server) if os.environ.get("LOYALTY_TESTS_OVER_HTTP") else server.in_process():
        yield server
    server.stop()


@pytest.fixture(scope="session")
def stack():  # type: ignore[no-untyped-def]
    return read_stack()


@pytest.fixture
def tables(moto_server: MotoServer, stack) -> MotoServer:  # type: ignore[no-untyped-def]
    """Fresh, empty tables for each test (and no budget chunk held from another test's tables)."""
    from loyalty.store import escrow

    escrow.forget_all()
    stream_helpers.forget_deliveries()
    requests.post(f"{moto_server.url}/moto-api/reset", timeout=10)
    create_tables(stack, moto_server.url)
    # The ledger's signing key, as the local stack makes it (an alias of its logical id).
    os.environ["LEDGER_KEY_ID"] = create_keys(stack, moto_server.url)["LedgerSigningKey"]
    return moto_server


@pytest.fixture(scope="session", autouse=True)
def iam(moto_server: MotoServer) -> Iterator[Enforcer]:
    """Every DynamoDB request a handler sends is checked against its role, as IAM would on AWS."""
    enforcing = enforcer()
    enforcing.install()
    # Jobs that tests run directly run as the scheduler function does, under its role.
    from loyalty.services import jobs

    run = jobs.run

    def run_as_scheduler(*args: Any, **kwargs: Any) -> Any:
        with as_function("SchedulerFunction"):
            return run(*args, **kwargs)

    jobs.run = run_as_scheduler  # type: ignore[assignment]
    yield enforcing
    jobs.run = run  # type: ignore[assignment]
    record = os.environ.get("LOYALTY_IAM_RECORD")
    if record:  # what each function used, to write least-privilege policies from
        Path(record).write_text(json.dumps(sorted(enforcing.used), indent=0))


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
