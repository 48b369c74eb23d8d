"""Outbound events on the local stack: the event log at GET /admin/events, and signed partner webhooks
delivered with retries to a receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from loyalty.domain.events import verify
from tests.e2e.conftest import Http


class Receiver:
    """A partner's webhook endpoint: answers 500 `failures` times, then 200; keeps what it got."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = 500 if receiver.failures > 0 else 200
                receiver.failures -= 1 if receiver.failures > 0 else 0
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len([r for r in self.received if r[2] == 200]) < count and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


def partner_with_promotion(http: Http, hook_url: str) -> tuple[str, str, list[str]]:
    partner = http.call("POST", "/admin/partners", {"name": "Hooks", "contact_email": "h@example.com"}, sub="ops",
                        admin=True).json()
    key = partner["api_key"]
    headers = {"x-api-key": key}
    webhook = requests.post(http.url + "/partner/webhooks", json={"url": hook_url}, headers=headers, timeout=30)
    assert webhook.status_code == 201, webhook.text
    now = datetime.now(UTC)
    promotion = requests.post(http.url + "/partner/promotions", headers=headers, timeout=30, json={
        "name": "Hooked", "kind": "bonus_points", "points": 10, "budget_points": 1000,
        "starts_at": (now - timedelta(days=1)).isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}).json()
    codes = requests.post(http.url + f"/partner/promotions/{promotion['promotion_id']}/codes", headers=headers,
                          json={"count": 2}, timeout=30).json()["codes"]
    return key, webhook.json()["secret"], codes


def delivery_log(http: Http, key: str, until: Callable[[list[dict]], bool]) -> list[dict]:
    """The partner's delivery log; each delivery is logged after the receiver answers, so poll briefly."""
    deadline = time.monotonic() + 10
    while True:
        items = requests.get(http.url + "/partner/webhooks/deliveries", headers={"x-api-key": key},
                             timeout=30).json()["items"]
        if until(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_a_purchase_that_lifts_a_member_to_silver_shows_in_the_event_log(local_stack: Http) -> None:
    cursor = local_stack.call("GET", "/local/events", sub="ops", admin=True).json()["cursor"]
    member = local_stack.enroll()
    local_stack.purchase(member, "110.00")
    # Events follow the ledger through the stream, as on AWS: let it catch up
    assert local_stack.call("POST", "/local/stream/drain").status_code == 200
    page = local_stack.call("GET", "/admin/events", sub="ops", admin=True, params={"after": cursor}).json()
    mine = [event for event in page["items"] if event["member_id"] == member]
    assert [event["type"] for event in mine] == ["member.enrolled", "points.earned", "tier.changed"]
    assert mine[2]["data"]["to"] == "Silver"
    assert local_stack.call("GET", "/admin/events", sub=member).status_code == 403


def test_a_code_claim_reaches_the_partner_webhook_signed(local_stack: Http, receiver: Receiver) -> None:
    key, secret, codes = partner_with_promotion(local_stack, receiver.url)
    member = local_stack.enroll()
    assert local_stack.call("POST", f"/members/{member}/promo-codes", {"code": codes[0]}, sub=member).status_code == 201
    receiver.wait(1)
    headers, body, _ = next(r for r in receiver.received if r[2] == 200)
    event = json.loads(body)
    assert event["type"] == "promotion.code_claimed" and event["data"]["code"] == codes[0]
    assert headers["loyalty-event-id"] == event["id"]
    assert verify(secret, body, headers["loyalty-signature"], now=int(time.time()))
    assert not verify(secret, body.replace(b"promotion", b"premotion"), headers["loyalty-signature"],
                      now=int(time.time()))
    log = delivery_log(local_stack, key, until=lambda items: any(
        item["event_id"] == event["id"] and item["status"] == "delivered" for item in items))
    assert any(item["event_id"] == event["id"] and item["status"] == "delivered" for item in log)


def test_a_receiver_that_fails_twice_gets_it_on_the_third_try(local_stack: Http) -> None:
    flaky = Receiver(failures=2)
    try:
        key, _, codes = partner_with_promotion(local_stack, flaky.url)
        member = local_stack.enroll()
        local_stack.call("POST", f"/members/{member}/promo-codes", {"code": codes[0]}, sub=member)
        flaky.wait(1, timeout=60)
        statuses = [status for _, _, status in flaky.received]
        assert statuses == [500, 500, 200]
        ids = {json.loads(body)["id"] for _, body, _ in flaky.received}
        assert len(ids) == 1  # the same event each time
        log = delivery_log(local_stack, key, until=lambda items: len(items) >= 3)
        assert [item["status"] for item in reversed(log)] == ["failed", "failed", "delivered"]
        assert [item["attempt"] for item in reversed(log)] == [1, 2, 3]
    finally:
        flaky.server.shutdown()


def test_webhook_urls_must_be_https_except_local_receivers(local_stack: Http) -> None:
    partner = local_stack.call("POST", "/admin/partners", {"name": "Bad", "contact_email": "b@example.com"}, sub="ops",
                               admin=True).json()
    refused = requests.post(local_stack.url + "/partner/webhooks", json={"url": f"http://example.com/{uuid.uuid4()}"},
                            headers={"x-api-key": partner["api_key"]}, timeout=30)
    assert refused.status_code == 422
