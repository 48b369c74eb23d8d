"""Shared test set-up. The environment is fixed before any `loyalty` module is imported: pynamodb
reads the table name and endpoint when a model's connection is first made."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so `functions.<name>.handler` imports as a package path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


MOTO_PORT = _free_port()
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{MOTO_PORT}",
    "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{MOTO_PORT}",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "TABLE_NAME": "LoyaltyTable",
    "METRICS_TABLE_NAME": "MetricsTable",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_SERVICE_NAME": "loyalty",
    "DYNAMODB_MAX_RETRIES": "1",  # injected faults reach the handler fast
    # Campaign budgets taken award by award (exact reports to assert on); store.escrow's own tests take
    # chunks as deployed functions do.
    "CAMPAIGN_BUDGET_HOLD_SECONDS": "0",
    # Catalog pages read live stock every time (exact to assert on); a test of its own reads it as deployed.
    "CATALOG_STOCK_SECONDS": "0",
    "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
})

logging.getLogger("werkzeug").setLevel(logging.WARNING)



def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test has a node id of its own, and the e2e tests go to two workers when `make test` runs several.

    schemathesis names each operation's fuzz test `test_...[POST /members]` but gives them all the node id of
    the test function: pytest-xdist, which schedules and reports by node id, then ran one of them per test
    function (578 of 661 tests ran). Here each takes its name as its node id, and a duplicate stops the run.

    The e2e tests each start local stacks (a server and an emulator in subprocesses): the fuzzer's go to one
    worker and the others to another (`--dist loadgroup`; two groups, so that neither waits for the other),
    while everything else runs wherever a worker is free. The stacks start one at a time
    (tests/e2e/conftest.py): two starting at once starved one past its start on a 2-CPU machine. xdist groups
    by an `@group` suffix of the node id, which its own hook sets where pytest before 9 kept it (`_nodeid`):
    with pytest 9 that suffix was lost and the e2e tests went to every worker, so it is set here."""
    grouping = bool(getattr(config.option, "loadgroup", False))
    for item in items:
        if getattr(item, "operation_label", None) is not None and item.parent is not None:
            _rename(item, f"{item.parent.nodeid}::{item.name}")
    seen: set[str] = set()
    for item in items:
        if item.nodeid in seen:
            raise pytest.UsageError(f"two tests have the node id {item.nodeid}: pytest-xdist would run one")
        seen.add(item.nodeid)
        if item.nodeid.startswith("tests/e2e/"):
            group = "e2e-fuzz" if item.nodeid.startswith("tests/e2e/test_fuzz.py") else "e2e"
            item.add_marker(pytest.mark.xdist_group(group))
            if grouping and not item.nodeid.endswith(f"@{group}"):
                _rename(item, f"{item.nodeid}@{group}")


def _rename(item: pytest.Item, nodeid: str) -> None:
    """A node id is private state: `_id` (a structured NodeId) since pytest 9, `_nodeid` before."""
    if hasattr(item, "_id"):
        from _pytest.nodes import coerce_node_id

        item._id = coerce_node_id(nodeid)
    else:
        item._nodeid = nodeid
