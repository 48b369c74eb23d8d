"""Bulk import over HTTP on the local stack: the presigned URL, S3's notification, the queues, the
workers and the progress read, as an integrator's migration script drives them; and the CLI shortcut."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import Http


def finished(http: Http, import_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = http.call("GET", f"/admin/imports/{import_id}", sub="ops", admin=True)
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        if body["status"] in ("completed", "failed"):
            return body
        assert time.monotonic() < deadline, f"the import did not finish: {body}"
        time.sleep(0.5)


def upload(http: Http, kind: str, content: bytes, file_format: str = "jsonl") -> str:
    created = http.call("POST", "/admin/imports", {"kind": kind, "format": file_format}, sub="ops", admin=True)
    assert created.status_code == 201, created.text
    # The URL takes a plain PUT of the bytes, with no headers of ours.
    put = requests.put(created.json()["upload_url"], data=content, timeout=60)
    assert put.status_code == 200, put.text
    return str(created.json()["import_id"])


def test_a_migration_imports_members_then_their_order_history(local_stack: Http) -> None:
    # Given a members file and a transactions file for three new members
    run = uuid.uuid4().hex[:8]
    ids = [f"imp-{run}-{n}" for n in range(3)]
    members = "".join(json.dumps({
        "member_id": member_id, "email": f"{member_id}@example.com", "name": "Imported",
        "enrolled_at": "2025-02-01T12:00:00Z", "tier": "Silver",
        "lots": [{"points": 250, "expires_at": "2027-06-01T00:00:00Z"}]}) + "\n" for member_id in ids)
    orders = "".join(json.dumps({
        "member_id": member_id, "order_id": f"{member_id}-o{day}", "occurred_at": f"2026-10-0{day}T15:00:00Z",
        "total": {"amount": "12.00", "currency": "USD"}, "channel": "store"}) + "\n"
        for day in (3, 1, 2) for member_id in ids)
    # When the members are imported, then the transactions
    imported_members = finished(local_stack, upload(local_stack, "members", members.encode()))
    imported_orders = finished(local_stack, upload(local_stack, "transactions", orders.encode()))
    # Then both completed with every row imported
    assert (imported_members["status"], imported_members["imported"], imported_members["failed"]) == (
        "completed", 3, 0)
    assert (imported_orders["status"], imported_orders["rows"], imported_orders["imported"]) == ("completed", 9, 9)
    # And each member has its tier, its opening lot and three purchases in occurred_at order
    member = local_stack.call("GET", f"/members/{ids[0]}", sub=ids[0]).json()
    assert member["tier"]["name"] == "Silver"
    # Silver earns 5 points per USD in store x 1.25: 75 a purchase
    assert member["points"]["available"] == 250 + 3 * 75
    activity = local_stack.call("GET", f"/members/{ids[0]}/activity?type=earn", sub=ids[0]).json()["items"]
    assert [entry["occurred_at"][:10] for entry in reversed(activity)] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    # When the same transactions file is imported again
    again = finished(local_stack, upload(local_stack, "transactions", orders.encode()))
    # Then every row is skipped
    assert (again["imported"], again["skipped"]) == (0, 9)


def test_the_cli_imports_a_csv_file_into_a_running_stack(local_stack: Http, tmp_path: Path) -> None:
    # Given a CSV members file
    run = uuid.uuid4().hex[:8]
    path = tmp_path / "members.csv"
    path.write_text("member_id,email,name,enrolled_at,lots\n"
                    f"cli-{run},cli-{run}@example.com,Cli,2025-01-01T00:00:00Z,40:2027-01-01T00:00:00Z\n"
                    f"cli-{run}-bad,nope,Bad,2025-01-01T00:00:00Z,\n")
    # When `loyalty-local import members FILE` runs against the stack
    done = subprocess.run([sys.executable, "-m", "loyalty_local.cli", "import", "members", str(path),
                           "--url", local_stack.url], capture_output=True, text=True, timeout=300, check=False)
    # Then it reports the import completed, with the bad row's line, and the member exists
    assert "completed: 1 imported, 0 skipped, 1 failed of 2 rows" in done.stdout, done.stdout + done.stderr
    assert "line 3: invalid_row" in done.stdout
    assert done.returncode == 0
    assert local_stack.call("GET", f"/members/cli-{run}", sub=f"cli-{run}").json()["points"]["available"] == 40
