"""Checkout over HTTP on the local stack: holds under concurrency, capture, release, cancel, transfers,
and the events they announce."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import Http


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def transfers_enabled(local_stack: Http) -> Iterator[None]:
    config = local_stack.call("GET", "/program", sub="ops", admin=True).json()
    config.pop("version", None)
    config.pop("spin_odds", None)
    enabled = {**config, "transfers": {"enabled": True, "min_points": 100, "max_points_per_month": 5000}}
    assert local_stack.call("PUT", "/admin/program", enabled, sub="ops", admin=True).status_code == 200
    yield
    assert local_stack.call("PUT", "/admin/program", config, sub="ops", admin=True).status_code == 200


def test_ten_concurrent_holds_of_sixty_percent_of_a_balance_hold_it_once(local_stack: Http) -> None:
    # Given a member with 1,000 points
    member = local_stack.enroll()
    assert local_stack.purchase(member, "100.00").status_code == 201

    # When ten checkouts hold 600 points each at the same moment
    def place(_: int) -> int:
        return local_stack.call("POST", f"/members/{member}/holds", {"points": 600}, sub=member,
                                key=key()).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(place, range(10)))
    # Then exactly one holds them, and the member shows 400 available and 600 held
    assert sorted(statuses) == [201] + [409] * 9
    points = local_stack.call("GET", "/members/me", sub=member).json()["points"]
    assert (points["available"], points["held"]) == (400, 600)


def test_reserve_capture_release_cancel_and_their_events(local_stack: Http) -> None:
    cursor = local_stack.call("GET", "/local/events", sub="ops", admin=True).json()["cursor"]
    member = local_stack.enroll()
    local_stack.purchase(member, "50.00")
    held = local_stack.call("POST", f"/members/{member}/holds", {"points": 300, "order_id": "b-1"}, sub=member,
                            key=key())
    assert held.status_code == 201, held.text
    hold_id = held.json()["hold_id"]
    captured = local_stack.call("POST", f"/members/{member}/holds/{hold_id}/capture", {"points": 200}, sub="pos",
                                trusted=True, key=key())
    assert captured.status_code == 200 and captured.json()["captured_points"] == 200
    again = local_stack.call("POST", f"/members/{member}/holds/{hold_id}/release", {}, sub=member, key=key())
    assert (again.status_code, again.json()["code"]) == (409, "hold_not_open")
    cancelled = local_stack.call("POST", f"/members/{member}/redemptions/{captured.json()['redemption_id']}/cancel",
                                 {"reason": "refund"}, sub="pos", trusted=True, key=key())
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert local_stack.call("GET", "/members/me", sub=member).json()["points"]["available"] == 500
    assert local_stack.call("POST", "/local/stream/drain").status_code == 200
    page = local_stack.call("GET", "/admin/events", sub="ops", admin=True, params={"after": cursor}).json()
    mine = sorted(event["type"] for event in page["items"] if event["member_id"] == member)
    # (Records of one transaction carry no order between them: compared as a set of events.)
    assert mine == ["member.enrolled", "points.earned", "points.held", "points.redeemed", "points.released",
                    "redemption.cancelled"]


def test_a_transfer_over_http(local_stack: Http, transfers_enabled: None) -> None:
    sender, receiver = local_stack.enroll(), local_stack.enroll()
    local_stack.purchase(sender, "50.00")
    sent = local_stack.call("POST", f"/members/{sender}/transfers", {"to_member_id": receiver, "points": 200},
                            sub=sender, key=key())
    assert sent.status_code == 201, sent.text
    assert sent.json()["to_entry"]["balance_after"] is None
    assert local_stack.call("GET", "/members/me", sub=receiver).json()["points"]["available"] == 200
    assert local_stack.call("GET", "/members/me", sub=sender).json()["points"]["available"] == 300
    unknown = local_stack.call("POST", f"/members/{sender}/transfers", {"to_member_id": "nobody-here",
                                                                        "points": 100}, sub=sender, key=key())
    assert unknown.status_code == 404
