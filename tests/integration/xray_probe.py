"""Run as a script by test_tracing.py: the handlers with tracing on, as on Lambda, sending their trace
segments to a fake X-Ray daemon (UDP); prints every datagram the daemon received, as JSON lines."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
received: list[bytes] = []


def listen() -> None:
    while True:
        try:
            data, _ = daemon.recvfrom(65535)
        except OSError:
            return
        received.append(data)


threading.Thread(target=listen, daemon=True).start()
url = sys.argv[1]  # the test's moto server, its tables made
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url,
    "AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "TABLE_NAME": "LoyaltyTable", "METRICS_TABLE_NAME": "MetricsTable", "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "loyalty", "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
    # Tracing on, as the template deploys it, inside a sampled Lambda invocation
    "TRACING": "true", "POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "probe", "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
})

import importlib  # noqa: E402

from loyalty_local.demo import DEMO_PROGRAM  # noqa: E402
from loyalty_local.template import read_stack  # noqa: E402
from tests.events import Api  # noqa: E402

stack = read_stack()
names = ["members", "purchases", "redemptions", "catalog", "admin", "engagement", "reports", "partner", "mechanics"]
api = Api(stack, {name: importlib.import_module(f"functions.{name}.handler") for name in names})
assert api.put("/admin/program", DEMO_PROGRAM, admin=True).status == 200
secrets = []
enrolled = api.post("/members", {"email": "grace.hopper@example.org", "name": "Grace Hopper",
                                 "phone": "+1 202 555 0173"}, sub="grace")
assert enrolled.status == 201, enrolled.body
secrets += ["grace.hopper@example.org", "Grace Hopper", "555 0173"]
partner = api.post("/admin/partners", {"name": "Brew", "contact_email": "ops@brew.example"}, admin=True)
assert partner.status == 201, partner.body
secrets += [partner.body["api_key"], "ops@brew.example"]
hook = api.post("/partner/webhooks", {"url": "https://hooks.example.com/x"}, partner=partner.body["partner_id"])
assert hook.status == 201, hook.body
secrets.append(hook.body["secret"])
# An error whose message names the member's email
taken = api.post("/members", {"email": "grace.hopper@example.org", "name": "Other"}, sub="other")
assert taken.status == 409
import time  # noqa: E402

time.sleep(0.5)  # the SDK sends over UDP as segments close
daemon.close()
print(json.dumps({"secrets": secrets, "datagrams": [data.decode(errors="replace") for data in received]}))
