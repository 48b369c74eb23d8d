"""The local stack runs every function instance as a process of its own, as Lambda does: module and
class state, the environment and the clock's travel are per instance, and a timeout kills the instance.

powertools keeps the event being resolved on a class attribute (right on Lambda: one request per
process at a time); with instances as threads of one process, two concurrent requests would read each
other's caller. No code under layers/ works around that: the instances are processes."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from loyalty_local import timetravel
from loyalty_local.lambdas import FunctionError, Functions
from loyalty_local.template import Function

HANDLER = '''
import os
import time

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from loyalty.domain.clock import iso_utc, utc_now

app = APIGatewayHttpResolver()


@app.get("/whoami")
def whoami():
    before = app.current_event.request_context.authorizer.jwt_claim["sub"]
    time.sleep(0.5)  # the other request is being resolved meanwhile
    after = app.current_event.request_context.authorizer.jwt_claim["sub"]
    return {"before": before, "after": after, "pid": os.getpid(), "mine": os.environ.get("ONLY_MINE"),
            "parent": os.environ.get("SET_IN_THE_PARENT"), "now": iso_utc(utc_now())}


def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return app.resolve(event, context)
'''


def whoami(sub: str, **extra: Any) -> dict[str, Any]:
    return {"version": "2.0", "routeKey": "GET /whoami", "rawPath": "/whoami", "rawQueryString": "",
            "headers": {"host": "localhost"}, "isBase64Encoded": False,
            "requestContext": {"http": {"method": "GET", "path": "/whoami", "sourceIp": "127.0.0.1"},
                               "stage": "$default", "authorizer": {"jwt": {"claims": {"sub": sub}, "scopes": None}}},
            **extra}


@pytest.fixture
def functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "handler.py").write_text(HANDLER)
    monkeypatch.setenv("SET_IN_THE_PARENT", "leak")
    defined = {name: Function(logical_id=name, code_uri=tmp_path, handler="handler.lambda_handler",
                              environment={}, timeout=timeout)
               for name, timeout in (("WhoFunction", 10), ("OtherFunction", 10), ("QuickFunction", 1))}
    environments = {name: {"PATH": os.environ.get("PATH", ""), "ONLY_MINE": name} for name in defined}
    running = Functions(defined, environments)
    yield running
    running.stop()


def answer(result: dict[str, Any]) -> dict[str, Any]:
    import json

    assert result["statusCode"] == 200, result
    return dict(json.loads(result["body"]))


def test_concurrent_requests_run_in_separate_instances_and_each_sees_its_own_caller(functions: Functions) -> None:
    # Given a function whose handler reads the caller twice, pausing in between
    answers: dict[str, dict[str, Any]] = {}
    both = threading.Barrier(2, timeout=10)

    def invoke(sub: str) -> None:
        both.wait()
        answers[sub] = answer(functions.invoke("WhoFunction", whoami(sub)))

    # When alice and bob call at the same time
    threads = [threading.Thread(target=invoke, args=(sub,)) for sub in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each request saw its own caller throughout, in an instance (a process) of its own
    assert {sub: (seen["before"], seen["after"]) for sub, seen in answers.items()} == {
        "alice": ("alice", "alice"), "bob": ("bob", "bob")}
    assert answers["alice"]["pid"] != answers["bob"]["pid"] != os.getpid()


def test_each_function_sees_its_own_environment_only(functions: Functions) -> None:
    # When two functions with the same code are invoked
    who = answer(functions.invoke("WhoFunction", whoami("alice")))
    other = answer(functions.invoke("OtherFunction", whoami("alice")))
    # Then each sees its own variables, and nothing of the process that runs the stack
    assert (who["mine"], other["mine"]) == ("WhoFunction", "OtherFunction")
    assert who["parent"] is None


def test_time_travel_reaches_the_instances(functions: Functions) -> None:
    # Given the stack's clock moved to a day in the past
    try:
        timetravel.travel(datetime(2025, 6, 1, 12, tzinfo=UTC))
        # When a function runs
        seen = answer(functions.invoke("WhoFunction", whoami("alice")))
    finally:
        timetravel.travel(None)
    # Then its clock reads that moment
    assert seen["now"] == "2025-06-01T12:00:00.000Z"
    # And back on the real clock, so does the instance
    assert answer(functions.invoke("WhoFunction", whoami("alice")))["now"].startswith(str(datetime.now(UTC).year))


def test_an_invocation_past_the_timeout_is_killed_and_the_next_one_gets_a_new_instance(
        functions: Functions) -> None:
    # Given a function with a 1 s timeout that is already warm
    first = answer(functions.invoke("QuickFunction", whoami("alice")))
    # When an invocation runs for 3 s
    with pytest.raises(FunctionError, match="timed out"):
        functions.invoke("QuickFunction", whoami("alice", sleep=3))
    # Then its instance is gone and the next invocation runs in a new one
    second = answer(functions.invoke("QuickFunction", whoami("alice")))
    assert second["pid"] != first["pid"]
