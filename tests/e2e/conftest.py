"""The local stack started as a user starts it (`loyalty-local serve`), driven over HTTP."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from loyalty_local import tokens
from loyalty_local.template import read_stack
from tests import contract


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Http:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def token(self, sub: str, *, admin: bool = False, trusted: bool = False) -> str:
        return tokens.issue(sub, admin=admin, scopes=["loyalty/transactions"] if trusted else [])

    def call(self, method: str, path: str, body: Any = None, *, sub: str | None = None, admin: bool = False,
             trusted: bool = False, token: str | None = None, key: str | None = None,
             headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        all_headers = dict(headers or {})
        if token is None and sub is not None:
            token = self.token(sub, admin=admin, trusted=trusted)
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            all_headers["Idempotency-Key"] = key
        response = requests.request(method, self.url + path, json=body, headers=all_headers, timeout=30, **kwargs)
        _check_against_the_documents(method, path, response)
        return response

    def enroll(self, member_id: str | None = None) -> str:
        member_id = member_id or f"m-{uuid.uuid4().hex[:12]}"
        response = self.call("POST", "/members", {"email": f"{member_id}@example.com", "name": "Test"},
                             sub=member_id)
        assert response.status_code == 201, response.text
        return member_id

    def purchase(self, member_id: str, amount: str, order_id: str | None = None) -> requests.Response:
        order_id = order_id or uuid.uuid4().hex
        return self.call("POST", f"/members/{member_id}/purchases",
                         {"order_id": order_id, "total": {"amount": amount, "currency": "USD"}, "channel": "online"},
                         sub="pos", trusted=True, key=f"p-{order_id}")


def _check_against_the_documents(method: str, path: str, response: requests.Response) -> None:
    """Answers over HTTP, the gateway's own included, are what the OpenAPI documents say (routes the
    documents do not have, such as /local/, are the local stack's own)."""
    for route in _ROUTES:
        if route.method == method and route.pattern.match(path.split("?", 1)[0]):
            break
    else:
        return
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    headers = {name.lower(): value for name, value in response.headers.items()}
    contract.check(route.kind, method, route.path, response.status_code, headers, body)


_ROUTES = read_stack().routes


STACK_START_SECONDS = 180


@contextlib.contextmanager
def _one_start_at_a_time() -> Iterator[None]:
    """Stacks start one at a time across the run's workers: a start imports every function and the emulator,
    and two at once on a 2-CPU machine starved one past its deadline. A stack that runs takes little."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    with open(Path(tempfile.gettempdir()) / f"loyalty-e2e-start-{run}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def running_stack(home: Path, *extra: str) -> Iterator[Http]:
    """`loyalty-local serve` in a subprocess, as a user starts it, until the block ends."""
    with _one_start_at_a_time():
        process, http, log = _start(home, extra)
    try:
        yield http
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _start(home: Path, extra: tuple[str, ...]) -> tuple[subprocess.Popen[bytes], Http, Any]:
    port = _free_port()
    # As on a user's machine: no AWS settings at all (the stack brings its own for moto).
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("AWS_", "TABLE_NAME", "METRICS_TABLE_NAME", "POWERTOOLS_"))}
    environment.update({"LOYALTY_LOCAL_HOME": str(home), "PORT": str(port),
                        # Jobs run when a test asks (POST /local/jobs/<job>): every daily job once a minute,
                        # over all the data a session's tests leave, took the CPU of a 2-CPU machine from
                        # the tests' own calls until functions timed out.
                        "LOYALTY_LOCAL_SCHEDULE_SECONDS": "0"})
    os.environ["LOYALTY_LOCAL_HOME"] = str(home)  # the tests' tokens use the server's key
    log = (home / f"server-{port}.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "loyalty_local.cli", "serve", *extra], env=environment,
                               stdout=log, stderr=subprocess.STDOUT)
    http = Http(f"http://127.0.0.1:{port}")
    # A busy machine (the other pytest worker, the session's other stacks) can take a stack well past a minute.
    deadline = time.monotonic() + STACK_START_SECONDS
    while True:
        try:
            if http.call("GET", "/program", sub="probe").status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the local stack did not start:\n" + (home / f"server-{port}.log").read_text())
        time.sleep(0.2)
    return process, http, log


@pytest.fixture(scope="session")
def local_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loyalty-local-home")


@pytest.fixture(scope="session")
def local_stack(local_home: Path) -> Iterator[Http]:
    with running_stack(local_home) as http:
        yield http


@pytest.fixture(scope="session")
def fuzz_stack(local_home: Path) -> Iterator[Http]:
    """A stack of its own: what the fuzzer writes (rewards, erasures) stays out of the other tests, and
    its deliberate authentication failures are not throttled."""
    with running_stack(local_home) as http:
        yield http


@pytest.fixture(scope="session")
def fuzz_partner_key(fuzz_stack: Http) -> str:
    response = fuzz_stack.call("POST", "/admin/partners", {"name": "Fuzz", "contact_email": "fuzz@example.com"},
                                sub="ops", admin=True)
    assert response.status_code == 201
    return str(response.json()["api_key"])
