"""Starts the whole local stack: moto, tables from the template, functions, gateway, stream pollers."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from loyalty_local import iam, openapi, queues, timetravel, tokens
from loyalty_local.connectors import ConnectorSender
from loyalty_local.demo import DEMO_PROGRAM, DEMO_REWARDS
from loyalty_local.gateway import Gateway
from loyalty_local.http_server import threaded_server
from loyalty_local.lambdas import Functions
from loyalty_local.motoserver import FAULTS_PATH, MotoProcess
from loyalty_local.scheduler import Scheduler
from loyalty_local.streams import Chaos, StreamPoller
from loyalty_local.template import PROJECT_ROOT, Function, Stack, local_value, read_stack

# Pollers per SQS event source on the local stack (at most its MaximumConcurrency): jobs that fan out get
# several workers at once, as on Lambda.
LOCAL_QUEUE_WORKERS = 4

log = logging.getLogger("loyalty_local")
REGION = "us-east-1"


LOCAL_PARAMETERS = {"LogLevel": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"), "EnableTracing": "false",
                    "AllowedOrigins": "*"}
# Static pages, served as S3 would serve them (no build step): the metrics page and the back office.
STATIC_SITES = ("dashboard", "console")
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript", ".css": "text/css",
                ".md": "text/markdown", ".json": "application/json"}


def static_site(path: str) -> str | None:
    """The static site a path belongs to, if any."""
    return next((site for site in STATIC_SITES if path == f"/{site}" or path.startswith(f"/{site}/")), None)


def static_file(site: str, path: str) -> Response:
    if path == f"/{site}":
        return Response(status=301, headers={"Location": f"/{site}/"})
    root = PROJECT_ROOT / site
    relative = path.removeprefix(f"/{site}/") or "index.html"
    target = (root / relative).resolve()
    if root.resolve() not in target.parents or not target.is_file():
        return Response(json.dumps({"error": "not found"}), status=404, content_type="application/json")
    return Response(target.read_bytes(), content_type=STATIC_TYPES.get(target.suffix, "application/octet-stream"))


def local_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }


def create_tables(stack: Stack, endpoint: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    existing = set(client.list_tables()["TableNames"])
    for logical_id, table in stack.tables.items():
        if logical_id in existing:
            continue
        properties = table.properties
        request: dict[str, Any] = {
            "TableName": logical_id,
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if properties.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        stream = properties.get("StreamSpecification")
        if stream:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        client.create_table(**request)
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(TableName=logical_id, TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": True,
            })


def function_environment(function: Function, refs: dict[str, str], local: dict[str, str]) -> dict[str, str]:
    """What one function's instances see in os.environ: the runtime's variables, the function's own from the
    template (references resolved), and the local settings (endpoints, log level), which win."""
    inherited = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH")
                 if name in os.environ}
    runtime = {"AWS_LAMBDA_FUNCTION_NAME": function.logical_id, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb), "LAMBDA_TASK_ROOT": str(function.code_uri),
               "_HANDLER": function.handler, "TZ": ":UTC"}
    own = {name: str(local_value(value, refs)) for name, value in function.environment.items()}
    return {**inherited, **runtime, **own, **local}


class LocalStack:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 3000, seed_demo: bool = True,
                 chaos: Chaos | None = None, stream_interval: float = 0.25,
                 schedule_interval: float = 60.0, connectors_url: str | None = None) -> None:
        self.host = host
        self.port = port
        self.seed_demo = seed_demo
        self.chaos = chaos
        self.stream_interval = stream_interval
        self.schedule_interval = schedule_interval
        # Where the connectors' bodies go (<url>/segment, /braze, /klaviyo); None: nowhere.
        self.connectors_url = connectors_url
        self.scheduler: Scheduler | None = None
        self.stack = read_stack()
        self.moto: MotoProcess | None = None
        self.server: BaseWSGIServer | None = None
        self.pollers: list[StreamPoller] = []
        self.queue_pollers: list[queues.QueuePoller] = []
        self.event_log: queues.EventLog | None = None
        self.functions: Functions | None = None
        self.gateway: Gateway | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.port}"

    def start(self) -> LocalStack:
        self.moto = MotoProcess().start()
        environment = local_environment(self.moto.url)
        os.environ.update(environment)
        create_tables(self.stack, self.moto.url)
        refs, arns = queues.create(self.stack, self.moto.url)
        # Template parameters take their defaults, but locally: quiet logs and no X-Ray SDK.
        for name, parameter in (self.stack.template.get("Parameters") or {}).items():
            refs.setdefault(name, str(LOCAL_PARAMETERS.get(name, parameter.get("Default", ""))))
        local_only = {
            # Partner usage plans go to moto's API Gateway, against a REST API standing in for PartnerApi.
            "PARTNER_API_ID": self._partner_api(self.moto.url),
            "WEBHOOK_BACKOFF_SECONDS": os.environ.get("WEBHOOK_BACKOFF_SECONDS", "1"),
        }
        environments = {logical_id: function_environment(function, refs, {**environment, **local_only})
                        for logical_id, function in self.stack.functions.items()}
        # Each function's DynamoDB requests are checked against its role, as IAM would (see iam.py).
        grants = iam.function_grants(iam.transformed_template(self.stack.template))
        self.functions = Functions(self.stack.functions, environments, grants)
        self.functions.warm()
        self.scheduler = Scheduler(self.stack.schedules, self.functions, self.schedule_interval)
        self.gateway = Gateway(self.stack.routes, self.functions, tokens.Verifier.local(), extra=self.local_routes,
                               rest_authorizers=self.stack.rest_authorizers)
        if self.seed_demo:
            self.seed()
        for source in self.stack.streams:
            self.pollers.append(StreamPoller(source, self.functions, self.moto.url, interval=self.stream_interval,
                                             chaos=self.chaos).start())
        listeners = [ConnectorSender(self.stack, self.connectors_url)] if self.connectors_url else []
        self.event_log = queues.EventLog(self.stack, self.moto.url, listeners).start()
        for queue_source in self.stack.queue_sources:
            # As Lambda scales an SQS event source (up to its MaximumConcurrency), a few pollers at once here.
            for _ in range(min(queue_source.max_concurrency or 1, LOCAL_QUEUE_WORKERS)):
                self.queue_pollers.append(queues.QueuePoller(queue_source, refs[queue_source.queue],
                                                             arns[queue_source.queue], self.functions,
                                                             self.moto.url).start())
        self.scheduler.start()
        self.server = threaded_server(self.host, self.port, self.gateway)
        return self

    @staticmethod
    def _partner_api(endpoint: str) -> str:
        client = boto3.client("apigateway", endpoint_url=endpoint, region_name=REGION)
        api = client.create_rest_api(name="PartnerApi")
        return str(api["id"])

    def serve_in_thread(self) -> threading.Thread:
        assert self.server is not None
        thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        thread.start()
        return thread

    def serve_forever(self) -> None:
        assert self.server is not None
        self.server.serve_forever()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        for poller in self.pollers:
            poller.stop()
        for queue_poller in self.queue_pollers:
            queue_poller.stop()
        if self.event_log is not None:
            self.event_log.stop()
        if self.server is not None:
            self.server.shutdown()
        if self.functions is not None:
            self.functions.stop()
        if self.moto is not None:
            self.moto.stop()

    def status(self) -> dict[str, Any]:
        return {"streams": [{"table": poller.source.table, "delivered": poller.delivered,
                             "invocations": poller.invocations, "failed_batches": len(poller.failed),
                             "injected_failures": poller.injected_failures, "redeliveries": poller.redeliveries,
                             "filtered_out": poller.filtered_out}
                            for poller in self.pollers],
                "jobs": sorted(self.scheduler.names()) if self.scheduler else [],
                # Where the emulated AWS answers (for the AWS CLI or boto3: --endpoint-url).
                "aws_endpoint": self.moto.url if self.moto else None}

    def local_routes(self, request: Request) -> Response | None:
        """Developer endpoints of the local stack only (never deployed): docs, status, jobs, stream drain."""
        if request.method == "GET" and request.path in ("/openapi.json", "/partner-openapi.json"):
            document = openapi.MEMBER_DOCUMENT if request.path == "/openapi.json" else openapi.PARTNER_DOCUMENT
            return Response(document.read_bytes(), content_type="application/json")
        if request.method == "GET" and request.path in ("/docs", "/docs/"):
            return Response(openapi.SWAGGER_UI, content_type="text/html; charset=utf-8")
        if request.method == "GET" and request.path.startswith("/docs/"):
            asset = openapi.swagger_asset(request.path.rsplit("/", 1)[1])
            if asset is not None:
                kind = "text/css" if request.path.endswith(".css") else "application/javascript"
                return Response(asset, content_type=kind)
        site = static_site(request.path) if request.method == "GET" else None
        if site is not None:
            return static_file(site, request.path)
        # The bus's log: /local/events (a local-only route); /admin/events as the contract first named it.
        if request.method == "GET" and request.path in ("/local/events", "/admin/events"):
            return self.admin_events(request)
        if not request.path.startswith("/local/"):
            return None
        if request.path == "/local/clock" and request.method == "POST":
            # The traffic simulator travels in time: every request after this sees `now` (null: the real clock).
            from loyalty.domain.clock import iso_utc, parse_utc, utc_now

            moment = (request.get_json(silent=True) or {}).get("now")
            timetravel.travel(parse_utc(moment) if moment else None)  # sent along with every invocation
            return Response(json.dumps({"now": iso_utc(utc_now()), "frozen": bool(moment)}),
                            content_type="application/json")
        if request.path == "/local/status" and request.method == "GET":
            return Response(json.dumps(self.status()), content_type="application/json")
        if request.path == "/local/stream/drain" and request.method == "POST":
            drained = all(poller.wait_idle(timeout=30) for poller in self.pollers)
            return Response(json.dumps({"drained": drained, **self.status()}), status=200 if drained else 504,
                            content_type="application/json")
        if request.path == "/local/faults" and request.method == "POST":
            # DynamoDB as unkind as AWS (conflicts, throttling, slow answers) on chosen keys or at a rate:
            # a JSON list of rules (loyalty_local.faults.Rule); [] clears them.
            import requests as http

            assert self.moto is not None
            answered = http.post(f"{self.moto.url}{FAULTS_PATH}", data=request.get_data(), timeout=10)
            return Response(answered.content, status=answered.status_code, content_type="application/json")
        if request.path.startswith("/local/jobs/") and request.method == "POST":
            name = request.path.rsplit("/", 1)[1]
            assert self.scheduler is not None
            if name not in self.scheduler.names():
                return Response(json.dumps({"error": f"unknown job {name}"}), status=404,
                                content_type="application/json")
            # As on AWS, a job does not wait for the stream (POST /local/stream/drain does, when wanted). A job
            # that fans out answers once its run is complete (its pages go through the job queue meanwhile).
            result = self.scheduler.run(name)
            if isinstance(result, dict) and result.get("status") == "running" and result.get("run_id"):
                result = self.wait_for_run(str(result.get("job", name)), str(result["run_id"]))
            return Response(json.dumps(result, default=str), content_type="application/json")
        return Response(json.dumps({"error": "unknown local route"}), status=404, content_type="application/json")

    def wait_for_run(self, job: str, run_id: str, timeout: float = 600.0) -> dict[str, Any]:
        """A fanned-out run's report once it is complete (its pages run on the job queue's pollers)."""
        from loyalty.store import jobs as job_store

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = job_store.get_run(job, run_id)
            if run is not None and run.status == "complete":
                # How the run was cut and worked, for a developer to see the fan-out (not part of its report).
                done = {"units": len(run.units), "pages": sum(1 for _ in job_store.pages(job, run_id))}
                return {"job": job, "run_id": run_id, "fan_out": done, **(run.report or {})}
            time.sleep(0.1)
        return {"job": job, "run_id": run_id, "status": "running", "error": "not complete in time"}

    def admin_events(self, request: Request) -> Response:
        """GET /local/events?after=<cursor>: what was published on the bus (the local stack only)."""
        from loyalty_local.gateway import gateway_error, problem
        from loyalty_local.tokens import InvalidToken

        assert self.gateway is not None and self.event_log is not None
        try:
            claims = self.gateway.verifier.verify(request.headers.get("Authorization"))
        except InvalidToken:
            return gateway_error(401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
        if "loyalty-admin" not in (claims.get("cognito:groups") or []):
            return problem(403, "forbidden", "Forbidden", "this call needs the loyalty-admin group")
        # What the bus got so far: events lag the ledger by the stream's delay, as on AWS.
        try:
            after = int(request.args.get("after", "0") or 0)
            limit = min(max(int(request.args.get("limit", "100")), 1), 1000)
        except ValueError:
            return problem(400, "invalid_cursor", "Bad request", "after and limit are numbers")
        return Response(json.dumps(self.event_log.page(max(after, 0), limit)), content_type="application/json")

    def call(self, method: str, path: str, body: Any = None, *, sub: str = "local-admin",
             admin: bool = True, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """An in-process request through the gateway (used to seed the demo)."""
        assert self.gateway is not None
        token = tokens.issue(sub, admin=admin)
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        response = Client(self.gateway).open(path, method=method, data=data, headers=all_headers)
        text = response.get_data(as_text=True)
        return response.status_code, json.loads(text) if text else None

    def seed(self) -> None:
        status, _ = self.call("GET", "/program")
        if status == 200:
            return  # a program exists: never overwrite it
        status, body = self.call("PUT", "/admin/program", DEMO_PROGRAM)
        if status != 200:
            raise RuntimeError(f"seeding the demo program failed: {status} {body}")
        for reward in DEMO_REWARDS:
            self.call("POST", "/admin/rewards", reward)
