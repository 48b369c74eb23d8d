"""Lambda SnapStart: what is primed before the snapshot and renewed after each restore.

The HTTP functions are published with SnapStart (template: AutoPublishAlias, SnapStart ApplyOn
PublishedVersions). Lambda initialises a version once and resumes every new instance from that
memory snapshot, so:

- before the snapshot, the expensive once-per-instance work is done: the DynamoDB client and its
  endpoint resolution, the pydantic models behind every route (their validators are built lazily),
  so a restored instance starts with them ready;
- after a restore, everything meant to differ between instances is made new: the `random` state
  (it picks program replicas and allowance shares, and every instance resumed with the same state
  would pick the same keys in the same order) and the ULID generator's last timestamp and randomness.

The hooks come from `snapshot_restore_py`, which the Lambda Python runtime provides. Where it is not
there (a function without SnapStart elsewhere, the tests, the local stack) nothing is registered.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import Any

from loyalty.domain import ids
from loyalty.domain.fields import Body
from loyalty.store.db import connection

try:  # the Lambda runtime's module, present only where SnapStart runs
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    _RUNTIME_HOOKS: tuple[Callable[..., Any], Callable[..., Any]] | None = (
        register_before_snapshot, register_after_restore)
except ImportError:
    _RUNTIME_HOOKS = None

_registered = False


def prime(app: Any) -> None:
    """Build what the first request would otherwise build: the DynamoDB client, the request models
    (deferred at import to keep cold starts short; here they cost nothing to a restored instance)."""
    connection()
    for name, module in list(sys.modules.items()):
        if not name.startswith("loyalty.inputs."):
            continue  # the request bodies of the function's own features are what it imported
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Body) and value is not Body:
                value.model_rebuild(force=True)


def renew_after_restore() -> None:
    """Give this instance its own randomness (the snapshot's is shared by every restored instance)."""
    random.seed()
    ids.reset()


def register(app: Any, hooks: tuple[Callable[..., Any], Callable[..., Any]] | None = None) -> bool:
    """Register the SnapStart hooks once per process; False when the runtime has none."""
    global _registered
    if _registered:
        return True
    if hooks is None:
        if _RUNTIME_HOOKS is None:
            return False
        hooks = _RUNTIME_HOOKS
    before_snapshot, after_restore = hooks
    before_snapshot(lambda: prime(app))
    after_restore(renew_after_restore)
    _registered = True
    return True
