"""Privacy: export, erasure that keeps the books right, no personal data in idempotency records or logs."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from loyalty.store import db, members
from tests.events import Api
from tests.stream_helpers import assert_reconciled, ledger_items

EMAIL = "ada.lovelace@example.org"
NAME = "Ada Lovelace"


@pytest.fixture
def ada(api: Api, program: dict) -> str:
    enrolled = api.post("/members", {"email": EMAIL, "name": NAME, "phone": "+44 20 7946 0000",
                                     "birthday": "1815-12-10", "preferences": {"drink": "tea"}},
                        sub="ada", headers={"Idempotency-Key": "enroll-ada"})
    assert enrolled.status == 201
    api.purchase("ada", "o-1", "25.00")
    api.post("/members/ada/feedback", {"score": 10, "comment": f"Thanks, signed {NAME}"}, sub="ada")
    return "ada"


def test_export_holds_everything_about_the_member(api: Api, ada: str) -> None:
    # Given a badge Ada was given
    assert api.post("/admin/badges", {"badge_id": "pioneer", "name": "Pioneer"}, admin=True).status == 201
    assert api.post("/admin/members/ada/badges", {"badge_id": "pioneer", "reason": "first"},
                    admin=True).status == 201
    exported = api.get("/members/me/export", sub=ada).body
    assert [(badge["badge_id"], badge["times"]) for badge in exported["badges"]] == [("pioneer", 1)]
    assert exported["challenges_completed"] == []
    assert exported["member"]["email"] == EMAIL and exported["member"]["name"] == NAME
    assert [entry["type"] for entry in exported["activity"]] == ["earn", "feedback", "action"]
    assert api.get("/members/ada/export", sub="someone-else").status == 403


def test_erasure_removes_personal_data_and_keeps_the_ledger(api: Api, ada: str) -> None:
    erased = api.request("DELETE", "/members/me", sub=ada)
    assert erased.status == 200 and erased.body["ledger_entries_kept"] == 3
    everything = json.dumps(ledger_items(), default=str)
    assert EMAIL not in everything and NAME not in everything and "7946" not in everything
    assert api.get("/members/me", sub=ada).status == 410
    # The same email can enroll again, as a new member
    again = api.post("/members", {"email": EMAIL, "name": NAME}, sub="ada-new-account")
    assert again.status == 201 and again.body["member_id"] == "ada-new-account"
    # And the books and metrics still add up
    assert_reconciled()


def test_an_erased_member_earns_and_spends_nothing_more(api: Api, ada: str) -> None:
    # Given Ada erased her account
    assert api.request("DELETE", "/members/me", sub=ada).status == 200
    entries_before = len([item for item in ledger_items() if str(item["sk"]).startswith("ENTRY#")])

    # When anyone still tries to change her points
    attempts = [
        api.post("/members/ada/actions", {"action": "social_share"}, sub=ada),
        api.post("/members/ada/actions", {"action": "review"}, sub="pos", scopes=["loyalty/transactions"]),
        api.post("/members/ada/feedback", {"score": 9}, sub=ada),
        api.purchase("ada", "o-after-erasure", "10.00"),
        api.redeem("ada", {"points": 1, "description": "after erasure"}, sub=ada),
        api.post("/admin/members/ada/adjustments", {"points": 5, "reason": "goodwill"}, sub="ops", admin=True,
                 headers={"Idempotency-Key": "adj-after-erasure"}),
    ]

    # Then every one is refused as gone, and no ledger entry is written
    assert [attempt.status for attempt in attempts] == [410] * len(attempts), [a.body for a in attempts]
    assert {attempt.body["code"] for attempt in attempts} == {"member_erased"}
    assert len([item for item in ledger_items() if str(item["sk"]).startswith("ENTRY#")]) == entries_before


def test_idempotency_records_keep_no_personal_data(api: Api, ada: str) -> None:
    records = [item for item in ledger_items() if str(item["pk"]).startswith("IDEM#")]
    stored = json.dumps(records, default=str)
    assert records and EMAIL not in stored and NAME not in stored
    replayed = api.post("/members", {"email": EMAIL, "name": NAME, "phone": "+44 20 7946 0000",
                                     "birthday": "1815-12-10", "preferences": {"drink": "tea"}},
                        sub="ada", headers={"Idempotency-Key": "enroll-ada"})
    assert replayed.status == 201 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.body["email"] == EMAIL  # rebuilt from the member, not stored


def test_logs_of_a_full_request_hold_no_email_or_name(api: Api, program: dict, handlers: dict,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalty.api.http import logger

    # What the function writes to its log stream (CloudWatch on AWS): the powertools handler's output.
    handler = logging.getLogger("loyalty").powertools_handler  # type: ignore[attr-defined]
    written = io.StringIO()
    monkeypatch.setattr(handler, "stream", written)

    api.post("/members", {"email": EMAIL, "name": NAME}, sub="ada")
    api.post("/members", {"email": "not-an-email", "name": NAME}, sub="bob")
    logger.warning("a log line with personal data in it", extra={"email": EMAIL, "member": {"name": NAME}})

    def failing(*_: object, **__: object) -> None:
        raise RuntimeError(f"could not write the member {EMAIL}")

    monkeypatch.setattr(members, "update_member", failing)
    crashed = api.patch("/members/me", {"phone": "+1 555 0100"}, sub="ada")
    assert crashed.status == 500
    logs = written.getvalue()
    assert "could not write the member" in logs  # the error was logged...
    leaked = [line[:300] for line in logs.splitlines() if EMAIL in line or NAME in line]
    assert not leaked  # ...without the personal data


def test_an_erasure_that_fails_midway_is_finished_by_the_retry(api: Api, ada: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Ada's erasure fails (the database is busy) at its second write
    from loyalty.domain.errors import ServiceUnavailable

    real_commit = db.commit
    writes: list[int] = []
    this_request = threading.get_ident()

    def busy_on_the_second_write(txn: object) -> None:
        # Only the erasure's own writes count (a stream or job thread of the test stack may commit too).
        if threading.get_ident() == this_request:
            writes.append(1)
            if len(writes) == 2:
                raise ServiceUnavailable("the database is busy; retry")
        real_commit(txn)

    monkeypatch.setattr(db, "commit", busy_on_the_second_write)
    first = api.request("DELETE", "/members/me", sub=ada)
    assert first.status == 503

    # When she retries
    retried = api.request("DELETE", "/members/me", sub=ada)

    # Then the retry finishes the erasure: no personal data and no comment is left anywhere
    assert retried.status == 200, retried.body
    everything = json.dumps(ledger_items(), default=str)
    assert EMAIL not in everything and NAME not in everything and "7946" not in everything
    assert api.get("/members/me", sub=ada).status == 410
