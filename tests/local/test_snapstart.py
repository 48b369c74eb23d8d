"""SnapStart: the hooks prime before the snapshot and give each restored instance its own randomness."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from loyalty import snapstart
from loyalty.domain import ids


def test_restored_instances_do_not_share_the_snapshot_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the hooks registered as the Lambda runtime would take them
    monkeypatch.setattr(snapstart, "_registered", False)
    registered: dict[str, Callable[[], Any]] = {}
    app = object()
    assert snapstart.register(app, hooks=(lambda hook: registered.__setitem__("before", hook),
                                          lambda hook: registered.__setitem__("after", hook)))

    # When the snapshot is taken (priming), then two instances are restored from the same memory state
    registered["before"]()
    random.seed(42)
    ids.new_ulid()
    snapshot_state = random.getstate()
    picks = []
    for _ in range(2):
        random.setstate(snapshot_state)  # every restored instance resumes with the snapshot's state
        registered["after"]()
        picks.append([random.randrange(32) for _ in range(8)])

    # Then they pick different replicas and shares, and the ULID sequence starts afresh
    assert picks[0] != picks[1]
    assert ids._last_ms == -1


def test_without_the_runtime_hooks_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no snapshot_restore_py (tests, the local stack, a runtime without SnapStart)
    monkeypatch.setattr(snapstart, "_registered", False)

    # When a function's app registers, then nothing happens and the app works as before
    assert snapstart.register(object()) is False


def test_the_http_functions_are_published_with_snapstart() -> None:
    from loyalty_local.iam import transformed_template
    from loyalty_local.template import load_template

    # Given the template and what the SAM transform makes of it
    resources = load_template()["Resources"]
    routed = {name for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"
              and any(event["Type"] in ("HttpApi", "Api")
                      for event in (resource["Properties"].get("Events") or {}).values())}
    output = transformed_template()["Resources"]

    # Then every function behind an API route is published with SnapStart behind an alias
    assert routed
    for name in routed:
        properties = resources[name]["Properties"]
        assert properties["AutoPublishAlias"] == "live" and properties["SnapStart"] == {
            "ApplyOn": "PublishedVersions"}, name
        assert f"{name}Aliaslive" in output, name
