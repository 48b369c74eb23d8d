"""Imports of files a careless or hostile integrator sends (issue 29): every row is tried, a bad one is a bad
row whatever makes it bad, the import takes exactly one file, and a worker's memory does not grow with the
file or its lines."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
import requests

from loyalty_local import queues
from loyalty_local.motoserver import MotoServer
from tests.events import Api
from tests.import_helpers import Importer


@pytest.fixture
def importer(api: Api, program: dict, tables: MotoServer, stack, monkeypatch: pytest.MonkeyPatch) -> Importer:  # type: ignore[no-untyped-def]
    refs, arns = queues.create(stack, tables.url)
    monkeypatch.setenv("IMPORT_BUCKET", refs["ImportBucket"])
    monkeypatch.setenv("WORK_QUEUE_URL", refs["WorkQueue"])
    monkeypatch.setenv("IMPORT_CHUNK_ROWS", "3")
    importer = Importer(api, refs, arns, tables.url)
    importer.drain()
    return importer


def member(member_id: str, **fields: Any) -> dict[str, Any]:
    return {"member_id": member_id, "email": f"{member_id}@example.com", "name": member_id.title(),
            "enrolled_at": "2024-03-01T10:00:00Z", **fields}


def line(row: dict[str, Any]) -> str:
    return json.dumps(row) + "\n"


def outcome(status: dict[str, Any]) -> tuple[Any, ...]:
    return (status["status"], status["rows"], status["imported"], status["failed"],
            [(error["line"], error["code"]) for error in status["errors"]])


def test_a_row_that_breaks_the_parser_is_a_bad_row_and_its_chunk_is_imported(importer: Importer) -> None:
    # Given a JSONL file whose 2nd line is nested 30,000 deep, between good rows of the same chunk
    content = line(member("a1")) + '{"x":' * 30_000 + "1" + "}" * 30_000 + "\n" + line(member("a3"))
    # When it is imported
    import_id = importer.start("members", content)
    importer.drain()
    # Then the import completes: the deep line is a bad row, the good rows of its chunk are imported
    assert outcome(importer.status(import_id)) == ("completed", 3, 2, 1, [(2, "invalid_row")])


CSV_HEADER = "member_id,email,name,enrolled_at\n"


def csv_row(member_id: str, name: str | None = None) -> str:
    return f"{member_id},{member_id}@example.com,{name or member_id.title()},2024-03-01T10:00:00Z\n"


def test_a_csv_field_over_the_csv_limit_and_a_stray_carriage_return_are_bad_rows(importer: Importer) -> None:
    # Given a CSV with a 200 KB name (the csv module's field limit is 128 KiB) and a row with a bare CR
    stray_cr = "c3,c3@example.com,C\rC,2024-03-01T10:00:00Z\n"
    content = CSV_HEADER + csv_row("c1") + csv_row("c2", "N" * 200_000) + stray_cr + csv_row("c4")
    # When it is imported
    import_id = importer.start("members", content, "csv")
    importer.drain()
    # Then both are reported by line and the others imported
    assert outcome(importer.status(import_id)) == ("completed", 4, 2, 2, [(3, "invalid_row"), (4, "invalid_row")])


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_a_file_with_carriage_returns_alone_for_line_ends_is_read_row_by_row(importer: Importer,
                                                                             file_format: str) -> None:
    # Given a file whose lines end with CR only (an old Mac export)
    if file_format == "jsonl":
        content = "".join(line(member(f"r{n}")).replace("\n", "\r") for n in range(5))
    else:
        content = (CSV_HEADER + "".join(csv_row(f"r{n}") for n in range(5))).replace("\n", "\r")
    # When it is imported, then every row is
    import_id = importer.start("members", content, file_format)
    importer.drain()
    assert outcome(importer.status(import_id)) == ("completed", 5, 5, 0, [])


def test_a_jsonl_file_may_start_with_a_byte_order_mark(importer: Importer) -> None:
    # Given a JSONL file saved with a UTF-8 BOM
    import_id = importer.start("members", "\ufeff" + line(member("bom1")) + line(member("bom2")))
    importer.drain()
    # Then its first row is imported like the others
    assert outcome(importer.status(import_id)) == ("completed", 2, 2, 0, [])


def test_dates_in_the_future_and_a_zero_amount_are_invalid_rows(api: Api, importer: Importer) -> None:
    # Given members enrolled or tiered in 2099
    members = importer.start("members", line(member("f1", enrolled_at="2099-01-01T00:00:00Z"))
                             + line(member("f2", tier="Gold", tier_since="2099-01-01T00:00:00Z"))
                             + line(member("f3")))
    importer.drain()
    # Then both are invalid rows, like every other bad value
    assert outcome(importer.status(members)) == ("completed", 3, 1, 2, [(1, "invalid_row"), (2, "invalid_row")])
    # And a purchase of zero is an invalid row too (not a validation_error of its own)
    transactions = importer.start("transactions", line(
        {"member_id": "f3", "order_id": "z-1", "occurred_at": "2025-01-01T00:00:00Z",
         "total": {"amount": "0.00", "currency": "USD"}, "channel": "store"}))
    importer.drain()
    assert outcome(importer.status(transactions)) == ("completed", 1, 0, 1, [(1, "invalid_row")])


def test_an_import_takes_exactly_one_file_the_first_put(api: Api, importer: Importer) -> None:
    # Given an import that completed with its file of 3 members
    created = api.post("/admin/imports", {"kind": "members", "format": "jsonl"}, admin=True).body
    first = "".join(line(member(f"one-{n}")) for n in range(3))
    assert requests.put(created["upload_url"], data=first.encode(), timeout=30).status_code == 200
    importer.drain()
    done = importer.status(created["import_id"])
    assert outcome(done) == ("completed", 3, 3, 0, [])
    # When a second, different file is PUT to the same URL (it works until it expires)
    second = "".join(line(member(f"two-{n}")) for n in range(5))
    assert requests.put(created["upload_url"], data=second.encode(), timeout=30).status_code == 200
    importer.drain()
    # Then nothing of it is imported, the counts stay, and the import lists it as ignored
    after = importer.status(created["import_id"])
    assert (after["status"], after["rows"], after["imported"]) == ("completed", 3, 3)
    assert [(error["line"], error["code"]) for error in after["errors"]] == [(0, "upload_ignored")]
    assert api.get("/members/two-0", sub="two-0").status == 404


def test_a_second_put_before_the_first_is_split_still_imports_the_first(api: Api, importer: Importer) -> None:
    # Given an import whose URL is used twice before any worker ran
    created = api.post("/admin/imports", {"kind": "members", "format": "jsonl"}, admin=True).body
    for prefix, count in (("early", 2), ("late", 4)):
        data = "".join(line(member(f"{prefix}-{n}")) for n in range(count)).encode()
        assert requests.put(created["upload_url"], data=data, timeout=30).status_code == 200
    # When the workers run (both notifications arrive)
    importer.drain()
    # Then the first file is the one imported, the second is listed as ignored
    status = importer.status(created["import_id"])
    assert outcome(status) == ("completed", 2, 2, 0, [(0, "upload_ignored")])
    assert api.get("/members/early-1", sub="early-1").status == 200
    assert api.get("/members/late-0", sub="late-0").status == 404


def _drain_and_measure(refs: dict[str, str], arns: dict[str, str], endpoint: str, answer: Any) -> None:
    """In a process of its own, as a worker is: drain the import queues and tell the peak of what the split
    and the workers allocated (the emulator, in the test's process, is S3's memory, not the worker's)."""
    import functions.work.handler  # noqa: F401 - imported before measuring, as a warm instance has it
    from loyalty.services import imports

    imports._s3()
    importer = Importer(None, refs, arns, endpoint)  # type: ignore[arg-type]
    tracemalloc.start()
    importer.drain()
    answer.send(tracemalloc.get_traced_memory()[1])


def _peak_of_import(importer: Importer, content: bytes) -> tuple[int, dict[str, Any]]:
    """What the split and the workers held at their peak while importing `content`, in bytes."""
    import multiprocessing

    created = importer.api.post("/admin/imports", {"kind": "members", "format": "jsonl"}, admin=True).body
    assert requests.put(created["upload_url"], data=content, timeout=120).status_code == 200
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    endpoint = importer.sqs.meta.endpoint_url
    worker = context.Process(target=_drain_and_measure, args=(importer.refs, importer.arns, endpoint, theirs))
    worker.start()
    peak = mine.recv() if mine.poll(300) else None
    worker.join(30)
    assert peak is not None, "the worker did not finish"
    return int(peak), importer.status(created["import_id"])

@pytest.mark.timeout(600)
def test_a_workers_memory_does_not_grow_with_line_length_or_file_size(importer: Importer) -> None:
    # Given a small file, and a file of 24 MB whose one line is an array of 3 million numbers
    small_peak, small = _peak_of_import(importer, line(member("small-1")).encode())
    huge_line = b'{"member_id": "huge", "lots": [' + b"1," * 3_000_000 + b"1]}\n"
    huge_peak, huge = _peak_of_import(importer, line(member("h-1")).encode() + huge_line
                                      + line(member("h-3")).encode())
    # Then the long line is a bad row and the others are imported
    assert outcome(huge) == ("completed", 3, 2, 1, [(2, "invalid_row")])
    assert "longer than" in huge["errors"][0]["detail"]
    assert outcome(small) == ("completed", 1, 1, 0, [])
    # And what the split and the workers held at their peak is the same few MB either way
    assert huge_peak < small_peak + 6 * 1024 * 1024, (small_peak, huge_peak)
