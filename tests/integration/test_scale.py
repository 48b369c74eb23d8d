"""Scale: no item that every request or every stream batch shares (see ARCHITECTURE "Scale rules")."""

from __future__ import annotations

from collections import Counter
from typing import Any

from loyalty.store.db import connection
from loyalty.store.models import PROGRAM_REPLICAS
from tests.events import Api
from tests.stream_helpers import ledger_items


def _program_keys_read(api: Api, calls: int) -> Counter[str]:
    """Which program items `calls` purchases read (captured from the requests the client sends)."""
    seen: Counter[str] = Counter()

    def hook(params: dict[str, Any], **_: Any) -> None:
        for spec in params.get("RequestItems", {}).values():
            for key in spec.get("Keys", []):
                if key["pk"]["S"].startswith("PROGRAM"):
                    assert spec.get("ConsistentRead") is True
                    seen[key["pk"]["S"]] += 1

    events = connection().client.meta.events
    events.register("before-parameter-build.dynamodb.BatchGetItem", hook)
    try:
        for number in range(calls):
            assert api.purchase("alice", f"order-{number}", "5.00").status == 201
    finally:
        events.unregister("before-parameter-build.dynamodb.BatchGetItem", hook)
    return seen


def test_the_program_is_read_from_many_replicas_and_a_put_moves_them_all(api: Api, program: dict) -> None:
    # Given a member
    assert api.enroll("alice").status == 201

    # When 200 purchases are recorded
    seen = _program_keys_read(api, 200)

    # Then their program reads spread over the replicas: no replica takes more than a fair share
    assert len(seen) > PROGRAM_REPLICAS // 2
    assert max(seen.values()) < 200 * 4 // PROGRAM_REPLICAS

    # And when the program changes, every replica holds the new version once the PUT has answered
    changed = {**program, "name": "Renamed"}
    assert api.put("/admin/program", changed, admin=True).status == 200
    replicas = [item for item in ledger_items() if str(item["pk"]).startswith("PROGRAM#")]
    assert len(replicas) == PROGRAM_REPLICAS
    assert {int(item["version"]) for item in replicas} == {2}
    assert all('"Renamed"' in item["config"] for item in replicas)
    assert api.get("/program", sub="alice").body["name"] == "Renamed"


def test_scheduled_work_is_indexed_under_many_partition_keys(api: Api, program: dict) -> None:
    # Given 40 members who each earned points that will expire (so each has scheduled work)
    for number in range(40):
        assert api.enroll(f"m{number}").status == 201
        assert api.purchase(f"m{number}", f"o{number}", "5.00").status == 201

    # Then their index keys are spread over many partitions rather than one
    members = [item for item in ledger_items() if item.get("sk") == "PROFILE"]
    keys = Counter(item["gsi2pk"] for item in members if item.get("gsi2pk"))
    assert sum(keys.values()) == 40
    assert len(keys) > 20
    assert all(key.startswith("DUE#") for key in keys)
