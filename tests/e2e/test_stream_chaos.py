"""Stream chaos: the local poller fails and redelivers batches at random; the aggregates still come out
exactly right (reconciliation against the ledger is clean)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.conftest import Http, running_stack


@pytest.fixture(scope="module")
def chaotic_stack(local_home: Path) -> Iterator[Http]:
    with running_stack(local_home, "--stream-chaos", "0.3") as http:
        yield http


def test_random_stream_failures_and_redeliveries_leave_the_books_clean(chaotic_stack: Http) -> None:
    members = [chaotic_stack.enroll() for _ in range(8)]

    def shop(member: str) -> None:
        for number in range(6):
            order = uuid.uuid4().hex
            assert chaotic_stack.purchase(member, f"{number + 1}7.50", order).status_code == 201
        chaotic_stack.call("POST", f"/members/{member}/redemptions", {"points": 100, "description": "treat"},
                           sub=member, key=uuid.uuid4().hex)
        chaotic_stack.call("POST", f"/members/{member}/actions", {"action": "social_share"}, sub=member)
        chaotic_stack.call("POST", f"/members/{member}/returns",
                           {"order_id": "missing", "refund": {"amount": "1.00", "currency": "USD"}},
                           sub="pos", trusted=True, key=uuid.uuid4().hex)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(shop, members))
    # The stream's batches wait up to a second to fill (as on AWS), so the traffic above may be only a few
    # batches: more purchases, each drained as a batch of its own, until the chaos has struck both ways.
    for number in range(60):
        stream = chaotic_stack.call("GET", "/local/status").json()["streams"][0]
        if stream["injected_failures"] > 0 and stream["redeliveries"] > 0:
            break
        assert chaotic_stack.purchase(members[number % len(members)], "12.00").status_code == 201
        assert chaotic_stack.call("POST", "/local/stream/drain").status_code == 200
    assert chaotic_stack.call("POST", "/local/stream/drain").status_code == 200
    result = chaotic_stack.call("POST", "/local/jobs/reconcile").json()
    assert result["clean"], result["discrepancies"][:5]
    assert result["members"] >= 8 and result["entries"] >= 8 * 8
    # The chaos really happened, and no batch was given up on
    stream = chaotic_stack.call("GET", "/local/status").json()["streams"][0]
    assert stream["injected_failures"] > 0 and stream["redeliveries"] > 0
    assert stream["failed_batches"] == 0
