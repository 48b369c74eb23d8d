"""Fault injection: DynamoDB throttling, server errors, transaction conflicts and a crash after the
commit. Each is a retriable 503 (with Retry-After) or a replay; nothing is half-written; the retry
with the same Idempotency-Key takes effect exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from loyalty_local.motoserver import MotoServer
from tests.events import Api
from tests.stream_helpers import ledger_items

PREFIX = "com.amazonaws.dynamodb.v20120810#"


class Faults:
    """Answers the next `times` requests for `operation` with an error, as DynamoDB would."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.plan: list[tuple[str, int, str]] = []

    def inject(self, operation: str, times: int, status: int, body: dict) -> None:
        self.plan.extend([(operation, status, json.dumps(body))] * times)

    def __call__(self, target: str) -> tuple[int, str] | None:
        for index, (operation, status, body) in enumerate(self.plan):
            if target.endswith(f".{operation}"):
                del self.plan[index]
                return status, body
        return None


@pytest.fixture
def faults(tables: MotoServer) -> Iterator[Faults]:
    injector = Faults(tables)
    tables.app.fault = injector
    yield injector
    tables.app.fault = None


def entries(member: str) -> list[dict]:
    return [item for item in ledger_items()
            if item["pk"] == f"MEMBER#{member}" and str(item["sk"]).startswith("ENTRY#")]


def idempotency_records() -> list[dict]:
    return [item for item in ledger_items() if str(item["pk"]).startswith("IDEM#")]


@pytest.mark.parametrize(("operation", "status", "error"), [
    ("TransactWriteItems", 400, "ProvisionedThroughputExceededException"),
    ("TransactWriteItems", 400, "ThrottlingException"),
    ("TransactWriteItems", 500, "InternalServerError"),
    ("BatchGetItem", 400, "ProvisionedThroughputExceededException"),
    ("BatchGetItem", 500, "InternalServerError"),
])
def test_throttling_and_server_errors_are_a_retriable_503_and_the_retry_counts_once(
        api: Api, program: dict, faults: Faults, operation: str, status: int, error: str) -> None:
    api.enroll("alice")
    # Given DynamoDB refuses more often than botocore retries
    faults.inject(operation, 5, status, {"__type": PREFIX + error, "message": "injected"})
    # When a purchase arrives
    failed = api.purchase("alice", "o-1", "10.00", key="k-1")
    # Then it is a 503 problem with Retry-After, and nothing was written
    assert failed.status == 503, failed.body
    assert failed.headers["content-type"] == "application/problem+json"
    assert int(failed.headers["retry-after"]) >= 1
    assert entries("alice") == [] and idempotency_records() == []
    # And the client's retry with the same key takes effect once
    faults.plan.clear()
    retried = api.purchase("alice", "o-1", "10.00", key="k-1")
    again = api.purchase("alice", "o-1", "10.00", key="k-1")
    assert retried.status == 201 and again.headers.get("idempotent-replayed") == "true"
    assert len(entries("alice")) == 1
    assert api.get("/members/me", sub="alice").body["points"]["available"] == 100


def test_transaction_conflicts_are_retried_inside_the_call(api: Api, program: dict, faults: Faults) -> None:
    api.enroll("alice")
    reasons = [{"Code": "TransactionConflict", "Message": "conflict"}] + [{"Code": "None"}] * 3
    faults.inject("TransactWriteItems", 2, 400, {"__type": PREFIX + "TransactionCanceledException",
                                                 "message": "Transaction cancelled [TransactionConflict]",
                                                 "CancellationReasons": reasons})
    response = api.purchase("alice", "o-1", "10.00", key="k-1")
    assert response.status == 201
    assert len(entries("alice")) == 1


def test_endless_conflicts_end_in_a_503(api: Api, program: dict, faults: Faults) -> None:
    api.enroll("alice")
    reasons = [{"Code": "TransactionConflict", "Message": "conflict"}] + [{"Code": "None"}] * 3
    faults.inject("TransactWriteItems", 50, 400, {"__type": PREFIX + "TransactionCanceledException",
                                                  "message": "Transaction cancelled [TransactionConflict]",
                                                  "CancellationReasons": reasons})
    response = api.purchase("alice", "o-1", "10.00", key="k-1")
    assert response.status == 503 and entries("alice") == []


def test_a_crash_after_the_commit_is_answered_by_a_replay(api: Api, program: dict, handlers: dict,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    api.enroll("alice")
    module = handlers["purchases"]
    real_respond = module.respond

    def crash(_: object) -> None:
        raise RuntimeError("the function died after the transaction committed")

    # Given the function dies between the commit and the response
    monkeypatch.setattr(module, "respond", crash)
    lost = api.purchase("alice", "o-1", "10.00", key="k-1")
    assert lost.status == 500
    # When the client retries with the same key (the function is healthy again)
    monkeypatch.setattr(module, "respond", real_respond)
    retried = api.purchase("alice", "o-1", "10.00", key="k-1")
    # Then it gets the original answer, replayed, and the purchase counted once
    assert retried.status == 201 and retried.headers.get("idempotent-replayed") == "true"
    assert len(entries("alice")) == 1
