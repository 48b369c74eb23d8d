"""Bulk import on moto: S3 upload -> notification -> split -> chunks (and apply pages) through SQS
(drained in-process by tests.import_helpers.Importer)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loyalty_local import queues
from loyalty_local.motoserver import MotoServer
from tests.events import Api
from tests.import_helpers import Importer
from tests.stream_helpers import assert_reconciled


@pytest.fixture
def importer(api: Api, program: dict, tables: MotoServer, stack, monkeypatch: pytest.MonkeyPatch) -> Importer:  # type: ignore[no-untyped-def]
    refs, arns = queues.create(stack, tables.url)
    monkeypatch.setenv("IMPORT_BUCKET", refs["ImportBucket"])
    monkeypatch.setenv("WORK_QUEUE_URL", refs["WorkQueue"])
    monkeypatch.setenv("IMPORT_CHUNK_ROWS", "3")
    importer = Importer(api, refs, arns, tables.url)
    importer.drain()  # S3's test notification, sent when the bucket's notification was configured
    return importer


def member_row(member_id: str, **fields: Any) -> dict[str, Any]:
    return {"member_id": member_id, "email": f"{member_id}@example.com", "name": member_id.title(),
            "enrolled_at": "2024-03-01T10:00:00Z", **fields}


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def test_a_members_file_creates_members_with_their_tier_and_opening_lots(api: Api, importer: Importer) -> None:
    # Given a members file: a Gold member with two lots, a plain one, and a bad row in the middle
    rows = [
        member_row("m-gold", tier="Gold", tier_since="2026-01-10T00:00:00Z", lifetime_earned=9000,
                   lots=[{"points": 500, "expires_at": "2027-03-01T00:00:00Z"}, {"points": 200}],
                   phone="+1 555 0100", preferences={"drink": "tea"}),
        member_row("m-plain"),
        {"member_id": "m-bad", "email": "not-an-email", "name": "Bad", "enrolled_at": "2024-01-01T00:00:00Z"},
        member_row("m-tier", tier="Platinum-ish"),
        member_row("m-last", lots=[{"points": 50, "expires_at": "2027-01-31T00:00:00Z"}]),
    ]
    # When it is uploaded and the workers run
    import_id = importer.start("members", jsonl(rows))
    importer.drain()
    # Then the import completed: 3 imported, the bad rows reported with their lines and codes
    status = importer.status(import_id)
    assert status["status"] == "completed"
    assert (status["rows"], status["imported"], status["skipped"], status["failed"]) == (5, 3, 0, 2)
    assert [(error["line"], error["code"]) for error in status["errors"]] == [(3, "invalid_row"), (4, "unknown_tier")]
    assert "email" in status["errors"][0]["detail"]
    # And the Gold member has its tier, balance (one import entry) and lifetime points
    gold = api.get("/members/m-gold", sub="m-gold").body
    assert (gold["tier"]["name"], gold["tier"]["since"][:10]) == ("Gold", "2026-01-10")
    assert (gold["points"]["available"], gold["points"]["lifetime_earned"]) == (700, 9000)
    assert gold["preferences"] == {"drink": "tea"}
    ledger = api.get("/members/m-gold/activity", sub="m-gold").body["items"]
    assert [(entry["type"], entry["points"]) for entry in ledger] == [("import", 700)]
    # And it is found by phone
    found = api.get("/admin/members", query={"phone": "+15550100"}, admin=True).body["items"]
    assert [member["member_id"] for member in found] == ["m-gold"]
    # And the import itself is in the audit log
    audit = api.get("/admin/audit", admin=True).body["items"]
    assert any(record["action"] == "import.created" and record["target"] == f"import:{import_id}" for record in audit)
    # And the books balance: lots, lifetime points and the liability the stream keeps
    assert_reconciled()
    liability = api.get("/admin/liability", admin=True).body
    assert liability["outstanding_points"] == 750 and liability["issued_points"] == 0


def test_importing_the_same_members_file_again_changes_nothing(api: Api, importer: Importer) -> None:
    # Given a members file imported once
    rows = [member_row(f"m-{n}", lots=[{"points": 100 + n}]) for n in range(7)]
    first = importer.start("members", jsonl(rows))
    importer.drain()
    assert importer.status(first)["imported"] == 7
    ledger_before = api.get("/members/m-3/activity", sub="m-3").body["items"]
    # When the same file is imported again
    second = importer.start("members", jsonl(rows))
    importer.drain()
    # Then every row is skipped and nothing changed
    status = importer.status(second)
    assert (status["status"], status["imported"], status["skipped"], status["failed"]) == ("completed", 0, 7, 0)
    assert api.get("/members/m-3/activity", sub="m-3").body["items"] == ledger_before


def test_a_worker_that_crashes_midway_finishes_on_retry_with_nothing_twice(api: Api, importer: Importer,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a members file of 3 chunks, and a worker that dies after the 2nd row of the 2nd chunk

    rows = [member_row(f"c-{n}", lots=[{"points": 10}]) for n in range(8)]
    failing_at_line(monkeypatch, 5, times=1)
    import_id = importer.start("members", jsonl(rows))
    # When the workers run: the chunk fails once (row 4 already written), then is retried
    importer.drain()
    # Then the import completed, every member counted once as imported, and no member has two entries
    status = importer.status(import_id)
    assert (status["status"], status["imported"], status["skipped"], status["failed"]) == ("completed", 8, 0, 0)
    for n in range(8):
        ledger = api.get(f"/members/c-{n}/activity", sub=f"c-{n}").body["items"]
        assert [(entry["type"], entry["points"]) for entry in ledger] == [("import", 10)]


def failing_at_line(monkeypatch: pytest.MonkeyPatch, line: int, times: int | None = None) -> Any:
    """Members rows whose import raises at `line` (`times` times, or every time); returns the real import."""
    from loyalty.services import imports

    real = imports.import_member
    left = {"times": times}

    def failing(import_id: str, at_line: int, *args: Any) -> str:
        if at_line == line and left["times"] != 0:
            left["times"] = None if left["times"] is None else left["times"] - 1
            raise RuntimeError(f"the import of line {line} failed")
        return real(import_id, at_line, *args)

    monkeypatch.setattr(imports, "import_member", failing)
    return real


def given_up(status: dict[str, Any]) -> tuple[int, str]:
    """The one error of an import whose unit or split failed its last try: (line, code), once it is checked
    to say how many tries failed, why, and where the message went."""
    (error,) = status["errors"]
    assert "failed 5 times (RuntimeError)" in error["detail"] and "dead-letter queue" in error["detail"]
    return error["line"], error["code"]


def redrive_the_dead_letter(importer: Importer, queue: str) -> None:
    """The import dead-letter queue's one message sent back to `queue`, and the workers run."""
    dead_letters = importer.sqs.receive_message(QueueUrl=importer.refs["ImportDeadLetterQueue"],
                                                MaxNumberOfMessages=10)["Messages"]
    assert len(dead_letters) == 1
    importer.sqs.send_message(QueueUrl=importer.refs[queue], MessageBody=dead_letters[0]["Body"])
    importer.drain()


def test_a_chunk_that_fails_every_try_is_reported_and_a_redrive_finishes_the_import(
        api: Api, importer: Importer, stack, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # Given a members file of 3 chunks, and a worker that fails at the 5th row every time
    from loyalty.services import imports

    work_queue = stack.queues["WorkQueue"]["RedrivePolicy"]["maxReceiveCount"]
    work_function = stack.functions["WorkFunction"].environment
    assert str(work_function["WORK_MAX_RECEIVES"]) == str(work_queue)  # the function knows its last try
    rows = [member_row(f"d-{n}") for n in range(8)]
    real = failing_at_line(monkeypatch, 5)
    import_id = importer.start("members", jsonl(rows))

    # When the workers run until the queue gives the chunk up (its last try, then the dead-letter queue)
    importer.drain()

    # Then the import is not completed, and says which unit stopped, why, and how to finish it
    stopped = importer.status(import_id)
    assert stopped["status"] == "processing" and stopped["imported"] == 5
    assert given_up(stopped) == (4, "unit_failed")

    # When the bug is fixed and the dead-letter queue is redriven
    monkeypatch.setattr(imports, "import_member", real)
    redrive_the_dead_letter(importer, "WorkQueue")

    # Then the import completes with every member once and no error left
    done = importer.status(import_id)
    assert (done["status"], done["imported"], done["failed"], done["errors"]) == ("completed", 8, 0, [])
    assert_reconciled()


def test_a_split_that_fails_every_try_is_reported_and_a_redrive_splits_the_file(
        api: Api, importer: Importer, stack, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # Given a members file, and a split that fails every time (the function knows its queue's last try)
    from loyalty.services import imports

    uploads_queue = stack.queues["ImportUploadsQueue"]["RedrivePolicy"]["maxReceiveCount"]
    split_function = stack.functions["ImportSplitFunction"].environment
    assert str(split_function["WORK_MAX_RECEIVES"]) == str(uploads_queue)
    real = imports.split

    def broken(bucket: str, key: str, version: str | None = None) -> None:
        raise RuntimeError("a bug in the split")

    monkeypatch.setattr(imports, "split", broken)
    import_id = importer.start("members", jsonl([member_row(f"s-{n}") for n in range(3)]))

    # When the uploads queue gives the notification up (its last try, then the dead-letter queue)
    importer.drain()

    # Then the import still waits for its file, and says the split stopped, why, and how to finish it
    stopped = importer.status(import_id)
    assert (stopped["status"], stopped["imported"]) == ("awaiting_upload", 0)
    assert given_up(stopped) == (0, "split_failed")

    # When the bug is fixed and the dead-letter queue is redriven
    monkeypatch.setattr(imports, "split", real)
    redrive_the_dead_letter(importer, "ImportUploadsQueue")

    # Then the import completes with every member and no error left
    done = importer.status(import_id)
    assert (done["status"], done["imported"], done["failed"], done["errors"]) == ("completed", 3, 0, [])


def test_a_transactions_file_is_applied_per_member_in_occurred_at_order_across_chunks(
        api: Api, importer: Importer) -> None:
    # Given two imported members
    members = importer.start("members", jsonl([member_row("t-1"), member_row("t-2")]))
    importer.drain()
    assert importer.status(members)["imported"] == 2
    # And a transactions file whose rows of t-1 are out of order and spread over three chunks
    rows = [
        {"member_id": "t-1", "order_id": "o-3", "occurred_at": "2026-09-03T10:00:00Z",
         "total": {"amount": "30.00", "currency": "USD"}, "channel": "online"},
        {"member_id": "t-2", "order_id": "o-9", "occurred_at": "2026-09-05T10:00:00Z",
         "total": {"amount": "10.00", "currency": "USD"}, "channel": "store"},
        {"member_id": "t-1", "order_id": "o-1", "occurred_at": "2026-09-01T10:00:00Z",
         "total": {"amount": "10.00", "currency": "USD"}, "channel": "online"},
        {"member_id": "nobody", "order_id": "o-x", "occurred_at": "2026-09-01T10:00:00Z",
         "total": {"amount": "10.00", "currency": "USD"}, "channel": "online"},
        {"member_id": "t-1", "order_id": "o-2", "occurred_at": "2026-09-02T10:00:00Z",
         "total": {"amount": "20.00", "currency": "USD"}, "channel": "online"},
        {"member_id": "t-1", "order_id": "o-2", "occurred_at": "2026-09-02T11:00:00Z",
         "total": {"amount": "20.00", "currency": "USD"}, "channel": "online"},
        {"member_id": "t-2", "order_id": "o-10", "occurred_at": "not a time",
         "total": {"amount": "10.00", "currency": "USD"}, "channel": "store"},
    ]
    # When it is imported
    import_id = importer.start("transactions", jsonl(rows))
    importer.drain()
    # Then 4 purchases are recorded, the repeated order skipped, the bad rows reported by line
    status = importer.status(import_id)
    assert (status["status"], status["rows"], status["imported"], status["skipped"], status["failed"]) == (
        "completed", 7, 4, 1, 2)
    assert [(error["line"], error["code"]) for error in status["errors"]] == [(4, "member_not_found"),
                                                                             (7, "invalid_row")]
    # And t-1's purchases are in its ledger in occurred_at order, each on its own day
    ledger = api.get("/members/t-1/activity", query={"type": "earn"}, sub="t-1").body["items"]
    earned = sorted(ledger, key=lambda entry: entry["entry_id"])
    assert [entry["source"]["order_id"] for entry in earned] == ["o-1", "o-2", "o-3"]
    assert [entry["occurred_at"][:10] for entry in earned] == ["2026-09-01", "2026-09-02", "2026-09-03"]
    # And the balance is what the purchases earn by the program in force (10 points per USD online)
    assert api.get("/members/t-1", sub="t-1").body["points"]["available"] == 600
    # When the same file is imported again
    again = importer.start("transactions", jsonl(rows))
    importer.drain()
    # Then nothing is recorded twice
    status = importer.status(again)
    assert (status["imported"], status["skipped"], status["failed"]) == (0, 5, 2)
    assert api.get("/members/t-1", sub="t-1").body["points"]["available"] == 600
    assert_reconciled()


def test_a_csv_file_has_the_same_columns_flattened(api: Api, importer: Importer) -> None:
    # Given a CSV members file with lots as points:expires_at and preferences as JSON
    content = ("member_id,email,name,enrolled_at,tier,lots,preferences\n"
               'v-1,v1@example.com,Vee,2025-05-05T00:00:00Z,Silver,300:2027-06-30T00:00:00Z;20,"{""drink"": ""tea""}"\n'
               "v-2,v2@example.com,Vic,2025-05-06T00:00:00Z,,,\n")
    # When it is imported
    import_id = importer.start("members", content, "csv")
    importer.drain()
    # Then both members exist, the lines counted from the header (line 1)
    status = importer.status(import_id)
    assert (status["status"], status["rows"], status["imported"]) == ("completed", 2, 2)
    vee = api.get("/members/v-1", sub="v-1").body
    assert (vee["tier"]["name"], vee["points"]["available"], vee["preferences"]) == ("Silver", 320, {"drink": "tea"})


def test_a_csv_file_without_its_required_columns_fails_whole(importer: Importer) -> None:
    # Given a CSV without the email column
    import_id = importer.start("members", "member_id,name,enrolled_at\nx,X,2025-01-01T00:00:00Z\n", "csv")
    importer.drain()
    # Then the import failed, saying why
    status = importer.status(import_id)
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == "invalid_file" and "email" in status["errors"][0]["detail"]


def test_imports_are_for_admins_and_unknown_ones_are_404(api: Api, importer: Importer) -> None:
    # When a member starts an import, or anyone reads an unknown one
    assert api.post("/admin/imports", {"kind": "members"}, sub="alice").status == 403
    assert api.get("/admin/imports/01HNOTHERE", admin=True).status == 404
    # And a bad kind is a 422
    assert api.post("/admin/imports", {"kind": "rewards"}, admin=True).status == 422


def test_an_apply_page_that_crashes_after_its_write_records_each_purchase_once(
        api: Api, importer: Importer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a member, a transactions file of 5 purchases, and a worker that dies right after the
    # member's purchases were written (before the page's result)
    from loyalty.services import imports

    importer.start("members", jsonl([member_row("k-1")]))
    importer.drain()
    rows = [{"member_id": "k-1", "order_id": f"k-{n}", "occurred_at": f"2026-08-0{n + 1}T10:00:00Z",
             "total": {"amount": "10.00", "currency": "USD"}, "channel": "online"} for n in range(5)]
    real = imports.record_together
    crashes = {"left": 1}

    def crashing(*args: Any) -> None:
        real(*args)
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("worker killed")

    monkeypatch.setattr(imports, "record_together", crashing)
    # When the import runs: the page fails once, then goes through (the rows written count as its own)
    import_id = importer.start("transactions", jsonl(rows))
    importer.drain()
    assert crashes["left"] == 0
    # Then every purchase is recorded once and counted once as imported
    status = importer.status(import_id)
    assert (status["status"], status["imported"], status["skipped"], status["failed"]) == ("completed", 5, 0, 0)
    earned = api.get("/members/k-1/activity", query={"type": "earn"}, sub="k-1").body["items"]
    assert sorted(entry["source"]["order_id"] for entry in earned) == [f"k-{n}" for n in range(5)]
    assert api.get("/members/k-1", sub="k-1").body["points"]["available"] == 500
    assert_reconciled()


def test_purchases_recorded_together_earn_as_one_by_one_across_a_tier_upgrade(api: Api, importer: Importer) -> None:
    # Given a member 100 points short of Silver (1,000 qualifying points) and two purchases to import
    importer.start("members", jsonl([member_row("u-1")]))
    importer.drain()
    rows = [{"member_id": "u-1", "order_id": "u-a", "occurred_at": "2026-10-01T10:00:00Z",
             "total": {"amount": "100.00", "currency": "USD"}, "channel": "online"},
            {"member_id": "u-1", "order_id": "u-b", "occurred_at": "2026-10-02T10:00:00Z",
             "total": {"amount": "100.00", "currency": "USD"}, "channel": "online"}]
    # When they are imported (one transaction for the member)
    import_id = importer.start("transactions", jsonl(rows))
    importer.drain()
    assert importer.status(import_id)["imported"] == 2
    # Then the first makes the member Silver and the second earns with Silver's multiplier, in order
    member = api.get("/members/u-1", sub="u-1").body
    assert member["tier"]["name"] == "Silver"
    activity = api.get("/members/u-1/activity", sub="u-1").body["items"]
    assert [(entry["type"], entry["points"]) for entry in reversed(activity)] == [
        ("import", 0), ("earn", 1000), ("tier_change", 0), ("earn", 1250)]
    assert_reconciled()
