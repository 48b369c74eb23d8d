"""The local stack runs concurrent invocations as threads of one process; powertools keeps the event it
resolves on a class attribute (one request per Lambda process). Each request must still see its own event."""

from __future__ import annotations

import json
import threading
from typing import Any

from loyalty.api.http import caller, create_app


def event_for(sub: str) -> dict[str, Any]:
    return {
        "version": "2.0", "routeKey": "GET /whoami", "rawPath": "/whoami", "rawQueryString": "",
        "headers": {"host": "localhost"},
        "requestContext": {"http": {"method": "GET", "path": "/whoami", "sourceIp": "127.0.0.1"},
                           "stage": "$default", "authorizer": {"jwt": {"claims": {"sub": sub}, "scopes": []}}},
        "isBase64Encoded": False,
    }


def test_two_concurrent_requests_each_see_their_own_caller() -> None:
    # Given two function instances whose handlers pause between two reads of the caller
    both_inside = threading.Barrier(2, timeout=10)
    apps = [create_app(), create_app()]
    for app in apps:
        def whoami(app: Any = app) -> dict[str, str]:
            before = caller(app).sub
            both_inside.wait()  # the other request has been resolved meanwhile
            return {"before": before, "after": caller(app).sub}
        app.get("/whoami")(whoami)
    answers: dict[str, dict[str, str]] = {}

    def invoke(app: Any, sub: str) -> None:
        answers[sub] = json.loads(app.resolve(event_for(sub), None)["body"])

    # When alice and bob call at the same time
    threads = [threading.Thread(target=invoke, args=(app, sub))
               for app, sub in zip(apps, ["alice", "bob"], strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each request saw its own identity throughout
    assert answers == {"alice": {"before": "alice", "after": "alice"}, "bob": {"before": "bob", "after": "bob"}}
