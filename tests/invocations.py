"""Concurrent invocations in one test process, each seeing only its own event, as on Lambda.

Lambda runs one invocation at a time per instance, so powertools keeps the event being resolved on a
class (`BaseRouter.current_event`, `BaseRouter.lambda_context`) and the route's arguments on the resolver
(`context`). The in-process tests call handlers from several threads at once to race them; here those
become per thread, so each thread's invocation reads its own event and path, as each would on its own
instance. Production code is untouched."""

from __future__ import annotations

import threading
from abc import ABCMeta
from typing import Any

PER_THREAD = ("current_event", "lambda_context")
_state = threading.local()


class _PerThread:
    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            return getattr(_state, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(_state, self.name, value)


class _PerThreadOfInstance:
    """An instance attribute (the resolver's `context`: the route's arguments) kept per thread too."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _slots(self) -> dict[int, Any]:
        slots: dict[int, Any] | None = getattr(_state, self.name, None)
        if slots is None:
            slots = {}
            setattr(_state, self.name, slots)
        return slots

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return self._slots().setdefault(id(instance), {})

    def __set__(self, instance: Any, value: Any) -> None:
        self._slots()[id(instance)] = value


class _RouterMeta(ABCMeta):
    """Class-level assignment of the per-thread names goes to this thread's slot."""

    def __setattr__(cls, name: str, value: Any) -> None:
        if name in PER_THREAD and isinstance(cls.__dict__.get(name), _PerThread):
            setattr(_state, name, value)
            return
        super().__setattr__(name, value)


def install() -> None:
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if isinstance(BaseRouter, _RouterMeta):
        return
    BaseRouter.__class__ = _RouterMeta
    for name in PER_THREAD:
        type.__setattr__(BaseRouter, name, _PerThread(name))
    type.__setattr__(BaseRouter, "context", _PerThreadOfInstance("router_context"))
