"""Shared test set-up. The environment is fixed before any `loyalty` module is imported: pynamodb
reads the table name and endpoint when a model's connection is first made."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

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

