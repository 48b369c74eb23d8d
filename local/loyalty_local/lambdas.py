"""Runs the template's functions in-process, the way Lambda does: each concurrent invocation gets its
own warm "instance" (a separate copy of the handler module), so module state is never shared by two
requests at once, while the layer (the `loyalty` package) is shared as it would be code-wise."""

from __future__ import annotations

import importlib.util
import itertools
import queue
import sys
import threading
import time
import uuid
from types import ModuleType
from typing import Any

from loyalty_local.iam import as_function
from loyalty_local.template import Function

_counter = itertools.count()


class LambdaContext:
    def __init__(self, function: Function) -> None:
        self.function_name = function.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function.logical_id}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionPool:
    def __init__(self, function: Function) -> None:
        self.function = function
        self.idle: queue.SimpleQueue[ModuleType] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.instances = 0

    def _new_instance(self) -> ModuleType:
        name = f"_lambda_{self.function.logical_id}_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(name, self.function.module_path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        with self.lock:
            self.instances += 1
        return module

    def invoke(self, event: Any) -> Any:
        try:
            module = self.idle.get_nowait()
        except queue.Empty:
            module = self._new_instance()
        try:
            with as_function(self.function.logical_id):
                return getattr(module, self.function.entry_point)(event, LambdaContext(self.function))
        finally:
            self.idle.put(module)


class Functions:
    def __init__(self, functions: dict[str, Function]) -> None:
        self.pools = {name: FunctionPool(function) for name, function in functions.items()}

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self.pools[logical_id].invoke(event)

    def warm(self) -> None:
        for pool in self.pools.values():
            pool.idle.put(pool._new_instance())
