"""Reconciliation as it runs on AWS: in bounded memory, and while the stream lags the ledger."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from loyalty.services import reconcile
from loyalty_local.motoserver import MotoServer
from tests.events import Api
from tests.stream_helpers import deliver, stream_records


def _members(api: Api, first: int, count: int) -> None:
    for number in range(first, first + count):
        assert api.enroll(f"m{number}").status == 201
        assert api.purchase(f"m{number}", f"o{number}-a", "12.00").status == 201
        assert api.purchase(f"m{number}", f"o{number}-b", "30.00").status == 201


def _peak_bytes_of_a_reconciliation(emulator: MotoServer) -> int:
    # (the emulator over its socket: its own work, which grows with the table it scans, is not the job's)
    with emulator.over_http():
        tracemalloc.start()
        try:
            result = reconcile.reconcile()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result["clean"], result["discrepancies"][:5]
    return peak


def test_reconciliation_memory_does_not_grow_with_the_members(api: Api, program: dict, tables: MotoServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 40 members with purchases, folded by the stream, reconciled in pages of 100 items
    monkeypatch.setattr(reconcile, "PAGE_SIZE", 100)
    monkeypatch.setenv("RECONCILE_STREAM_LAG_MINUTES", "0")
    _members(api, 0, 40)
    deliver(stream_records())
    small = _peak_bytes_of_a_reconciliation(tables)

    # When there are four times as many members
    _members(api, 40, 120)
    deliver(stream_records())
    large = _peak_bytes_of_a_reconciliation(tables)

    # Then the reconciliation's peak memory stays about the same (it holds a page and one member)
    assert large < small * 1.5, (small, large)


def test_reconciling_while_the_stream_lags_is_clean(api: Api, program: dict) -> None:
    # Given purchases of which the stream has folded only the older part
    _members(api, 0, 6)
    records = stream_records()
    deliver(records[: len(records) // 2])

    # When the daily job reconciles (records of the last minutes may not be folded yet)
    os.environ.pop("RECONCILE_STREAM_LAG_MINUTES", None)
    lagging = reconcile.reconcile()

    # Then it is clean; and had it demanded that every record be folded, it would have reported the lag
    assert lagging["clean"], lagging["discrepancies"][:5]
    os.environ["RECONCILE_STREAM_LAG_MINUTES"] = "0"
    try:
        strict = reconcile.reconcile()
    finally:
        os.environ.pop("RECONCILE_STREAM_LAG_MINUTES", None)
    assert not strict["clean"]


def test_a_wrong_old_aggregate_is_still_reported_while_the_stream_lags(api: Api, program: dict) -> None:
    # Given everything folded, then an aggregate counter changed behind the stream's back
    _members(api, 0, 3)
    deliver(stream_records())
    from loyalty.store.db import connection

    connection().dispatch("UpdateItem", {
        "TableName": "MetricsTable", "Key": {"pk": {"S": "GLOBAL#00"}, "sk": {"S": "LIABILITY#core"}},
        "UpdateExpression": "ADD #c :one", "ExpressionAttributeNames": {"#c": "members_total_bogus"},
        "ExpressionAttributeValues": {":one": {"N": "1"}}})

    # When the job reconciles with its default lag allowance
    result = reconcile.reconcile()

    # Then the counter no record explains is reported
    assert not result["clean"]
    assert any("LIABILITY" in item["subject"] for item in result["discrepancies"])
