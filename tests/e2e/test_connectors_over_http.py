"""The connectors on the local stack: `loyalty-local serve --connectors-url <url>` posts every event as
Segment, Braze and Klaviyo would get it (the template's transformers) to <url>/<tool>."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from loyalty_local.connectors import connectors, transform
from loyalty_local.template import read_stack
from tests.e2e.conftest import running_stack


class ToolReceiver:
    """Stands in for the three tools: keeps (path, body) of every post."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


IDS = {"segment": lambda body: body["messageId"], "braze": lambda body: body["events"][0]["properties"]["event_id"],
       "klaviyo": lambda body: body["data"]["attributes"]["unique_id"]}
MEMBER = {"segment": lambda body: body["userId"], "braze": lambda body: body["events"][0]["external_id"],
          "klaviyo": lambda body: body["data"]["attributes"]["profile"]["data"]["attributes"]["external_id"]}


def test_each_tool_gets_each_event_shaped_by_the_templates_transformer(local_home: Path) -> None:
    receiver = ToolReceiver()

    def cora_bodies() -> dict[str, list[Any]]:
        got: dict[str, list[Any]] = {}
        for path, body in list(receiver.received):
            tool = path.strip("/")
            if MEMBER[tool](body) == "cora":
                got.setdefault(tool, []).append(body)
        return got

    try:
        # Given the local stack started with a connectors URL
        with running_stack(local_home, "--connectors-url", receiver.url) as http:
            # When a member enrolls and buys
            assert http.call("POST", "/members", {"email": "cora@example.com", "name": "Cora"},
                             sub="cora").status_code == 201
            assert http.purchase("cora", "12.00", order_id="cora-1").status_code == 201
            assert http.call("POST", "/local/stream/drain").status_code == 200
            deadline = time.monotonic() + 30
            while True:
                published = http.call("GET", "/local/events?limit=1000", sub="ops", admin=True).json()["items"]
                events = {event["id"]: event for event in published if event["member_id"] == "cora"}
                got = cora_bodies()
                if (len(events) >= 2 and all({IDS[tool](body) for body in got.get(tool, [])} >= set(events)
                                             for tool in IDS)) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    finally:
        receiver.server.shutdown()

    # Then each tool got member.enrolled and points.earned for Cora, once each, each body exactly the template's
    # transform of the event the bus carried
    assert {event["type"] for event in events.values()} >= {"member.enrolled", "points.earned"}
    shapes = {connector.name: connector for connector in connectors(read_stack())}
    assert set(got) == {"segment", "braze", "klaviyo"}
    for tool, bodies in got.items():
        assert sorted(IDS[tool](body) for body in bodies) == sorted(events), tool
        for body in bodies:
            event = events[IDS[tool](body)]
            assert body == transform(shapes[tool], {"source": "loyalty", "detail-type": event["type"], "detail": event})
