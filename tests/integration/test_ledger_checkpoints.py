"""The verifiable ledger (issue 35, contract "Finance"): a closed day's entries hashed into a signed, chained
Merkle checkpoint; an entry's proof folds to its root; a tampered entry is reported and its proof fails."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from loyalty.domain.clock import local_day, utc_now
from loyalty.services import jobs
from loyalty.services import reconcile as checks
from loyalty_local import cli
from loyalty_local.motoserver import MotoServer
from tests.events import Api

ZONE = ZoneInfo("America/New_York")


def after_day_closed(days: int = 1) -> datetime:
    """A moment some hours after today (program time zone) has closed, `days` days on."""
    today = local_day(utc_now(), ZONE)
    return datetime(today.year, today.month, today.day, 3, tzinfo=ZONE) + timedelta(days=days)


def fold(leaf_hex: str, path: list[dict[str, str]]) -> str:
    current = bytes.fromhex(leaf_hex)
    for step in path:
        sibling = bytes.fromhex(step["hash"])
        pair = sibling + current if step["side"] == "left" else current + sibling
        current = hashlib.sha256(b"\x01" + pair).digest()
    return current.hex()


def signed(api: Api, checkpoint: dict[str, Any]) -> bool:
    key = api.get("/ledger/public-key", sub="ann")
    assert key.status == 200 and key.body["algorithm"] == "ECDSA_SHA_256", key.body
    public = load_pem_public_key(key.body["public_key_pem"].encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    message = f"{checkpoint['date']}|{checkpoint['root']}|{checkpoint['previous_root']}".encode()
    try:
        public.verify(base64.b64decode(checkpoint["signature"]), message, ec.ECDSA(hashes.SHA256()))
    except Exception:  # any failure: not signed by this key
        return False
    return True


def second_day(day: str) -> str:
    from datetime import date
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def entries_of(api: Api, member_id: str) -> list[dict[str, Any]]:
    found = api.get(f"/members/{member_id}/activity", sub=member_id)
    assert found.status == 200, found.body
    return list(found.body["items"])


def test_a_closed_days_entries_are_checkpointed_signed_chained_and_each_proves_its_place(
        api: Api, program: dict, tmp_path: Path) -> None:
    # Given members who bought today (several entries, in several ledger shards)
    for member_id in ("ann", "bob", "cy", "dee"):
        assert api.enroll(member_id).status == 201
        for number in range(3):
            assert api.purchase(member_id, f"{member_id}-{number}", "12.50").status == 201
    entries = {member_id: entries_of(api, member_id) for member_id in ("ann", "bob", "cy", "dee")}
    total = sum(len(found) for found in entries.values())
    # And before the day has closed, there is no checkpoint to read or to prove against
    today = local_day(utc_now(), ZONE).isoformat()
    assert api.get(f"/admin/ledger/checkpoints/{today}", admin=True).body["code"] == "day_not_closed"
    first = entries["ann"][0]["entry_id"]
    assert api.get(f"/members/ann/activity/{first}/proof", sub="ann").body["code"] in (
        "checkpoint_pending", "day_not_closed")
    # When the day has closed and the hourly job runs (twice: the second finds nothing more to do)
    report = jobs.run("ledger_checkpoint", now=after_day_closed())
    assert report["checkpointed"] == today and report["entries"] == total, report
    assert jobs.run("ledger_checkpoint", now=after_day_closed()) == {"checkpointed": None}
    # Then the day's checkpoint counts every entry, is the first of the chain and is signed by the ledger's key
    checkpoint = api.get(f"/admin/ledger/checkpoints/{today}", admin=True)
    assert checkpoint.status == 200, checkpoint.body
    assert checkpoint.body["entries"] == total and checkpoint.body["previous_root"] == "0" * 64
    assert signed(api, checkpoint.body)
    # And every entry's proof folds from the hash of its canonical entry up to the day's root
    for member_id, found in entries.items():
        for entry in found:
            proof = api.get(f"/members/{member_id}/activity/{entry['entry_id']}/proof", sub=member_id)
            assert proof.status == 200, proof.body
            assert proof.body["leaf_hash"] == hashlib.sha256(b"\x00" + proof.body["entry"].encode()).hexdigest()
            assert fold(proof.body["leaf_hash"], proof.body["path"]) == checkpoint.body["root"]
            assert f'"entry_id":"{entry["entry_id"]}"' in proof.body["entry"]
    # And `loyalty-local verify` checks a proof, its checkpoint's signature and the entry as its member knows it
    proof = api.get(f"/members/ann/activity/{first}/proof", sub="ann").body
    files = {"key": api.get("/ledger/public-key", sub="ann").body, "proof": proof, "checkpoint": checkpoint.body,
             "entry": {"entry_id": first, "points": entries["ann"][0]["points"]}}
    for name, body in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(body))
    arguments = ["verify", "--public-key", str(tmp_path / "key.json"), "--proof", str(tmp_path / "proof.json"),
                 "--checkpoint", str(tmp_path / "checkpoint.json"), "--entry", str(tmp_path / "entry.json")]
    assert cli.main(arguments) == 0
    (tmp_path / "entry.json").write_text(json.dumps({"entry_id": first, "points": 1}))
    assert cli.main(arguments) == 1
    # And a member may not read another's proof; an admin may
    assert api.get(f"/members/ann/activity/{first}/proof", sub="bob").status == 403
    assert api.get(f"/members/ann/activity/{first}/proof", admin=True).status == 200
    # When the next day closes with nothing recorded, Then its checkpoint is the empty tree's, chained to today's
    jobs.run("ledger_checkpoint", now=after_day_closed(2))
    listed = api.get("/admin/ledger/checkpoints", admin=True, query={"from": today})
    assert listed.status == 200, listed.body
    assert [item["date"] for item in listed.body["items"]] == [today, second_day(today)]
    second = listed.body["items"][1]
    assert second["entries"] == 0 and second["root"] == hashlib.sha256(b"").hexdigest()
    assert second["previous_root"] == checkpoint.body["root"] and signed(api, second)
    (tmp_path / "chain.json").write_text(json.dumps(listed.body))
    chain = ["verify", "--public-key", str(tmp_path / "key.json"), "--chain", str(tmp_path / "chain.json")]
    assert cli.main(chain) == 0
    # And reconcile finds every checkpointed entry as it was
    clean = checks.reconcile(after_day_closed(2))
    assert clean["checked"].get("ledger entry matches its checkpoint") == total
    assert not [found for found in clean["discrepancies"] if found["check"] == "ledger entry matches its checkpoint"]


def test_an_entry_changed_after_its_day_closed_is_reported_and_its_proof_fails(
        api: Api, program: dict, tables: MotoServer) -> None:
    # Given a checkpointed day
    assert api.enroll("ann").status == 201
    assert api.purchase("ann", "a-1", "40.00").status == 201
    assert api.purchase("ann", "a-2", "10.00").status == 201
    jobs.run("ledger_checkpoint", now=after_day_closed())
    today = local_day(utc_now(), ZONE).isoformat()
    root = api.get(f"/admin/ledger/checkpoints/{today}", admin=True).body["root"]
    entry_id = entries_of(api, "ann")[0]["entry_id"]
    # When someone with access to the table changes an entry's points afterwards
    table = boto3.client("dynamodb", endpoint_url=tables.url, region_name="us-east-1")
    table.update_item(TableName="LoyaltyTable", Key={"pk": {"S": "MEMBER#ann"}, "sk": {"S": f"ENTRY#{entry_id}"}},
                      UpdateExpression="SET points = :p", ExpressionAttributeValues={":p": {"N": "99999"}})
    # Then its proof no longer folds to the day's root
    proof = api.get(f"/members/ann/activity/{entry_id}/proof", sub="ann").body
    assert fold(proof["leaf_hash"], proof["path"]) != root
    # And reconcile reports that entry, changed
    report = checks.reconcile(after_day_closed())
    found = [item for item in report["discrepancies"] if item["check"] == "ledger entry matches its checkpoint"]
    assert found == [{"check": "ledger entry matches its checkpoint", "subject": f"entry:{entry_id}",
                      "expected": f"as checkpointed on {today}", "actual": "changed"}]
    # And the same through the fanned-out job
    fanned = jobs.run("reconcile", now=after_day_closed() + timedelta(hours=1))
    assert any(item["subject"] == f"entry:{entry_id}" for item in fanned["discrepancies"]), fanned


def test_bad_dates_and_unknown_entries_are_refused(api: Api, program: dict) -> None:
    assert api.enroll("ann").status == 201
    assert api.get("/admin/ledger/checkpoints/2026-13-01", admin=True).status == 422
    assert api.get("/admin/ledger/checkpoints/2099-01-01", admin=True).body["code"] == "day_not_closed"
    assert api.get("/admin/ledger/checkpoints/2001-01-01", admin=True).status == 404
    assert api.get("/admin/ledger/checkpoints", admin=True,
                   query={"from": "2026-02-01", "to": "2026-01-01"}).status == 400
    assert api.get("/admin/ledger/checkpoints/2001-01-01", sub="ann").status == 403
    assert api.get("/members/ann/activity/01NOSUCHENTRY/proof", sub="ann").status == 404


def test_a_reader_may_read_the_public_key_but_not_sign(api: Api, program: dict) -> None:
    import pytest

    from loyalty.domain.errors import ServiceUnavailable
    from loyalty.store import signing
    from loyalty_local.iam import as_function

    # Given the reports function's role (it answers GET /ledger/public-key)
    with as_function("ReportsFunction"):
        assert signing.public_key()[1].startswith("-----BEGIN PUBLIC KEY-----")
        # When it tries to sign, Then KMS refuses it, as IAM would
        with pytest.raises(ServiceUnavailable, match="AccessDenied"):
            signing.sign(b"2026-01-01|" + b"0" * 64)
    # And the scheduler's role may sign
    with as_function("SchedulerFunction"):
        assert signing.sign(b"2026-01-01|" + b"0" * 64)[0]


def test_a_page_or_a_merge_done_again_changes_nothing(api: Api, program: dict) -> None:
    from loyalty.services import checkpoints

    # Given entries of a day, and the day's checkpoint made page by page (as the job queue's workers do)
    for member_id in ("ann", "bob"):
        assert api.enroll(member_id).status == 201
        assert api.purchase(member_id, f"{member_id}-1", "30.00").status == 201
    now = after_day_closed()
    day = checkpoints.next_day(now)
    assert day == local_day(utc_now(), ZONE).isoformat()
    results = []
    for unit in checkpoints.units(day):
        counts, cursor, result = checkpoints.build_page(unit, None, now, 0)
        # When a worker dies after its page and the page is done again (its message comes back)
        again = checkpoints.build_page(unit, None, now, 0)
        # Then it hashes the same entries into the same chunks
        assert again == (counts, cursor, result)
        results.append(result)
    first = checkpoints.merge([], results, now)
    # And a merge done again keeps the checkpoint (and signature) written first
    kept = api.get(f"/admin/ledger/checkpoints/{day}", admin=True).body
    assert checkpoints.merge([], results, now) == first
    assert api.get(f"/admin/ledger/checkpoints/{day}", admin=True).body == kept
    assert first["entries"] == 2 and first["root"] == kept["root"]
