"""A moto server whose requests are serialized, so each DynamoDB request is atomic as on AWS: in-process
(the tests, which inject faults into it) or as a process of its own (the local stack, so that moto's
work does not share one interpreter lock with the gateway and the stream pollers)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from botocore.httpsession import URLLib3Session
from moto.core.botocore_stubber import MockRawResponse
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer
from werkzeug.test import EnvironBuilder, run_wsgi_app

from loyalty_local import moto_patches
from loyalty_local.faults import Chaos, Rule, dynamodb_request
from loyalty_local.http_server import threaded_server

# Where the local stack sends the rules of an emulator as unkind as AWS (see faults.py).
FAULTS_PATH = "/_loyalty/faults"


class SerializedApp:
    """moto is not thread-safe and has no per-item locking: one lock around every request."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        # Fault injection for tests: a callable(operation_target) -> None or (status, body).
        self.fault: Callable[[str], tuple[int, str] | None] | None = None
        # DynamoDB as unkind as AWS, on chosen keys or at a rate (faults.py): off until rules are set.
        self.chaos = Chaos()
        # `make bench` counts what was served (to check its model saw every request): a callable(environ).
        self.tap: Callable[[dict[str, Any]], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == FAULTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            rules = json.loads(environ["wsgi.input"].read(length) or b"[]")
            self.chaos.set([Rule.parse(rule) for rule in rules])
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"rules": len(rules)}).encode()]
        if self.tap is not None:
            self.tap(environ)
        if self.fault is not None:
            injected = self.fault(environ.get("HTTP_X_AMZ_TARGET", ""))
            if injected is not None:
                status, body = injected
                start_response(f"{status} Injected", [("Content-Type", "application/x-amz-json-1.0")])
                return [body.encode()]
        if self.chaos.rules:
            request = dynamodb_request(environ)
            answered = self.chaos.answer(*request) if request is not None else None
            if answered is not None:
                status, body = answered
                start_response(f"{status} Injected", [("Content-Type", "application/x-amz-json-1.0")])
                return [body.encode()]
        with self.lock:
            # Materialize the body inside the lock: moto builds it lazily in some paths.
            return list(self.app(environ, start_response))


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        moto_patches.apply()
        self.app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self.server: BaseWSGIServer = threaded_server(host, port, self.app)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)
        self.over_the_socket = False

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def start(self) -> MotoServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @contextlib.contextmanager
    def in_process(self) -> Iterator[MotoServer]:
        """botocore's requests to this server handed to its app in this process, without the socket and the
        HTTP server (the tests: a third of a request's cost here). The same app answers them, behind the same
        lock, faults and tap; botocore signs, serializes, checks (IAM hooks) and parses as over HTTP. Other
        clients (requests, a stack's subprocesses) still reach it over HTTP."""
        prefix, send = self.url, URLLib3Session.send

        def handed_over(session: URLLib3Session, request: Any) -> AWSResponse:
            if self.over_the_socket or not request.url.startswith(prefix):
                return send(session, request)
            return _answer(self.app, request)

        URLLib3Session.send = handed_over  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            URLLib3Session.send = send  # type: ignore[method-assign]

    @contextlib.contextmanager
    def over_http(self) -> Iterator[None]:
        """Requests over the socket again for a while (inside `in_process`): a test that measures the code's own
        memory keeps the emulator's work out of its thread."""
        self.over_the_socket = True
        try:
            yield
        finally:
            self.over_the_socket = False


def _answer(app: SerializedApp, request: Any) -> AWSResponse:
    url = urlsplit(request.url)
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    headers = [(name, value.decode() if isinstance(value, bytes) else value) for name, value in request.headers.items()]
    environ = EnvironBuilder(path=url.path or "/", query_string=url.query, method=request.method, headers=headers,
                             data=body.encode() if isinstance(body, str) else (body or b""),
                             base_url=f"{url.scheme}://{url.netloc}").get_environ()
    answer, status, answer_headers = run_wsgi_app(app, environ)
    try:
        content = b"".join(answer)
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    return AWSResponse(request.url, int(status.split(" ", 1)[0]), cast(Any, dict(answer_headers.items())),
                       MockRawResponse(content))


class MotoProcess:
    """`python -m loyalty_local.motoserver` as a child process; it exits when its parent does."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.url = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> MotoProcess:
        self.process = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
            [sys.executable, "-m", "loyalty_local.motoserver", "--host", self.host, "--port", str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        announced = self.process.stdout.readline().strip()
        if not announced.startswith("http://"):
            self.stop()
            raise RuntimeError(f"moto did not start: {announced!r}")
        self.url = announced
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _exit_with_parent() -> None:
    """The parent holds our stdin open: end of file means it is gone (even if it was killed)."""
    sys.stdin.read()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="A serialized moto server (the local stack's AWS).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = MotoServer(args.host, args.port)
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()
    print(server.url, flush=True)
    server.server.serve_forever()


if __name__ == "__main__":
    main()
