"""Webhook deliveries against receivers that misbehave: one that never answers, one that redirects."""

from __future__ import annotations

import importlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from loyalty.services import webhooks
from loyalty_local.iam import as_function
from loyalty_local.receivers import allow_local_http
from tests.events import Api


class Received(BaseHTTPRequestHandler):
    """Answers 200 to posts on /hook and 302 (to /elsewhere) on /moved; keeps the paths it was asked."""

    paths: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Received.paths.append(self.path)
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def receivers() -> Iterator[tuple[str, str]]:
    """(a receiver that works, the address of one that accepts connections and never answers)."""
    Received.paths = []
    working = ThreadingHTTPServer(("127.0.0.1", 0), Received)
    threading.Thread(target=working.serve_forever, daemon=True).start()
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(64)  # the kernel accepts the connections; nobody ever reads or answers
    yield f"http://127.0.0.1:{working.server_address[1]}", f"http://127.0.0.1:{hanging.getsockname()[1]}/hook"
    working.shutdown()
    hanging.close()


class ShortContext:
    function_name = "webhook-delivery"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:webhook-delivery"
    aws_request_id = "test"

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.until - time.monotonic()) * 1000)


def _partner_with_webhook(api: Api, name: str, url: str) -> str:
    partner = api.post("/admin/partners", {"name": name, "contact_email": "ops@example.com"}, sub="ops",
                       admin=True).body["partner_id"]
    registered = api.post("/partner/webhooks", {"url": url}, partner=partner)
    assert registered.status == 201, registered.body
    return str(partner)


def _sqs_record(number: int, partner: str) -> dict[str, Any]:
    """An SQS record as EventBridge puts a partner event on the queue (sam local generate-event sqs shape)."""
    event = {"id": f"evt-{number}", "type": "promotion.code_claimed", "partner_id": partner, "data": {}}
    body = {"version": "0", "id": f"eb-{number}", "detail-type": event["type"], "source": "loyalty",
            "detail": event}
    return {"messageId": f"msg-{number}", "receiptHandle": f"handle-{number}", "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                           "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1700000000000"},
            "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhooks", "awsRegion": "us-east-1"}


def test_a_hanging_receiver_cannot_take_the_batch_past_the_function_timeout(
        api: Api, program: dict, receivers: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given one partner whose webhook never answers and another whose webhook works
    monkeypatch.setattr(webhooks, "_check_url", webhooks._check_url)  # undone after the test
    monkeypatch.setattr(webhooks, "_reachable", webhooks._reachable)
    allow_local_http()
    working, hanging = receivers
    stuck = _partner_with_webhook(api, "Stuck", hanging)
    fine = _partner_with_webhook(api, "Fine", f"{working}/hook")
    handler = importlib.import_module("functions.webhook_delivery.handler")
    delays: dict[str, int] = {}
    monkeypatch.setattr(handler, "_visible_again", lambda record, delay: delays.__setitem__(record.message_id, delay))

    # When a batch of 10 (the template's batch size) alternates their events, with 10 s left to run
    records = [_sqs_record(number, stuck if number % 2 == 0 else fine) for number in range(10)]
    started = time.monotonic()
    with as_function("WebhookDeliveryFunction"):
        response = handler.lambda_handler({"Records": records}, ShortContext(10))
    elapsed = time.monotonic() - started

    # Then the invocation ends in time (before the 10 s, with the reserve kept)
    assert elapsed < 10 - handler.RESERVE_SECONDS + 1, elapsed
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    # And only this batch's undelivered messages fail: every stuck partner's message, and the fine
    # partner's messages whose turn did not come; the fine partner's tried messages were delivered
    assert {f"msg-{n}" for n in range(0, 10, 2)} <= failed
    delivered = {f"msg-{n}" for n in range(1, 10, 2)} - failed
    assert delivered and len(Received.paths) == len(delivered)
    # And every failed message is made visible again after a delay: back-off for the receiver that
    # timed out, a short delay for the messages never tried
    assert set(delays) == failed
    assert all(delay > 0 for delay in delays.values())


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(
        api: Api, program: dict, receivers: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a partner whose webhook answers with a redirect
    monkeypatch.setattr(webhooks, "_check_url", webhooks._check_url)  # undone after the test
    monkeypatch.setattr(webhooks, "_reachable", webhooks._reachable)
    allow_local_http()
    working, _ = receivers
    partner = _partner_with_webhook(api, "Moved", f"{working}/moved")
    handler = importlib.import_module("functions.webhook_delivery.handler")
    monkeypatch.setattr(handler, "_visible_again", lambda record, delay: None)

    # When an event is delivered
    with as_function("WebhookDeliveryFunction"):
        response = handler.lambda_handler({"Records": [_sqs_record(1, partner)]}, ShortContext(30))

    # Then it failed (to be retried later) and the redirect's target was never called
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == ["msg-1"]
    assert Received.paths == ["/moved"]
    log = api.get("/partner/webhooks/deliveries", partner=partner).body["items"]
    assert [(item["status"], item["http_status"]) for item in log] == [("failed", 302)]


@pytest.mark.parametrize("url", [
    "https://127.0.0.1:9001/x", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.8/hook",
    "https://192.168.1.20/hook", "https://localhost/hook", "https://2130706433/hook", "https://0.0.0.0/hook",
    "https://100.64.0.1/hook", "https://172.16.0.1:8443/hook",
])
def test_a_webhook_to_a_private_address_is_refused_at_registration(api: Api, program: dict, url: str) -> None:
    # Given a partner
    partner = api.post("/admin/partners", {"name": "Probe", "contact_email": "ops@example.com"},
                       admin=True).body["partner_id"]
    # When it registers a URL whose host is (or resolves to) a loopback, private, link-local or metadata address
    refused = api.post("/partner/webhooks", {"url": url}, partner=partner)
    # Then it is a 422 naming the url, and nothing was registered
    assert refused.status == 422 and refused.body["errors"][0]["field"] == "url", refused.body
    assert api.get("/partner/webhooks", partner=partner).body["items"] == []


def test_a_name_that_resolves_to_a_private_address_at_delivery_is_not_called(
        api: Api, program: dict, receivers: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a partner whose webhook's name resolved to a public address when it was registered
    import ipaddress

    public = [ipaddress.ip_address("93.184.216.34")]
    monkeypatch.setattr(webhooks, "_addresses", lambda host, port: public)
    partner = _partner_with_webhook(api, "Rebinder", "https://hooks.rebind.example/x")
    # When its DNS answer changes to this machine before the event is delivered
    monkeypatch.setattr(webhooks, "_addresses", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    handler = importlib.import_module("functions.webhook_delivery.handler")
    monkeypatch.setattr(handler, "_visible_again", lambda record, delay: None)
    Received.paths.clear()
    with as_function("WebhookDeliveryFunction"):
        response = handler.lambda_handler({"Records": [_sqs_record(7, partner)]}, ShortContext(30))
    # Then nothing was called, the delivery failed, and the log says why
    assert response["batchItemFailures"] and Received.paths == []
    log = api.get("/partner/webhooks/deliveries", partner=partner).body["items"]
    assert log[0]["status"] == "failed" and "not public" in log[0]["error"]
