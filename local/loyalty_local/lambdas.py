"""Runs the template's functions the way Lambda does: every concurrent invocation gets its own warm
instance, and an instance is a process of its own.

An instance is started from a fork server that has already imported the heavy third-party packages
(never our code, which reads its settings at import); it then takes its function's own environment,
puts the function's code directory first on `sys.path`, imports the handler module by name as Lambda
does, and serves one invocation at a time over a pipe. So module state, class attributes (powertools
keeps the event being resolved on a class) and the environment are per instance, as on AWS, and the
production code needs nothing for the emulator. An invocation that outlives the function's timeout
has its instance killed, as Lambda does.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from loyalty_local.activity import ACTIVITY
from loyalty_local.iam import Grant
from loyalty_local.template import Function

# Imported once by the fork server, so a new instance starts in a fraction of a cold start.
_PRELOAD = ["boto3", "botocore.session", "pydantic", "pynamodb.models", "aws_lambda_powertools",
            "aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.batch", "jwt", "requests"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(_PRELOAD)


class FunctionError(Exception):
    """The function raised, or ran past its timeout (the traceback is in the stack's log)."""


class LambdaContext:
    def __init__(self, function_name: str, timeout: int, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class InstanceSpec:
    """What an instance needs to start: picklable, sent to the new process."""

    logical_id: str
    code_dir: str
    module: str
    entry_point: str
    timeout: int
    memory_mb: int
    environment: dict[str, str]
    grants: list[Grant] | None  # the role's DynamoDB statements; None: not checked


def _serve(spec: InstanceSpec, channel: Connection) -> None:
    """An instance's main loop (in its own process)."""
    os.environ.clear()
    os.environ.update(spec.environment)
    sys.path.insert(0, spec.code_dir)
    from loyalty_local import receivers, timetravel

    timetravel.install()
    if spec.grants is not None:
        from loyalty_local import iam

        iam.Enforcer({spec.logical_id: spec.grants}).install()
        iam.enter_function(spec.logical_id)
    try:
        handler = getattr(importlib.import_module(spec.module), spec.entry_point)
        receivers.allow_local_http()  # webhook receivers on 127.0.0.1 (tests, a developer's machine)
    except BaseException:
        channel.send(("init_error", traceback.format_exc()))
        return
    channel.send(("ready", None))
    while True:
        try:
            event, moment = channel.recv()
        except EOFError:
            return
        timetravel.travel(moment)
        try:
            result = handler(event, LambdaContext(spec.logical_id, spec.timeout, spec.memory_mb))
        except Exception as error:
            # What Lambda reports for an unhandled error: its message (the authorizer's "Unauthorized") and
            # the stack trace.
            channel.send(("error", (str(error), traceback.format_exc())))
            continue
        channel.send(("ok", result))


class Instance:
    def __init__(self, spec: InstanceSpec) -> None:
        self.spec = spec
        self.channel, child = _context.Pipe()
        self.process = _context.Process(target=_serve, args=(spec, child), name=f"lambda-{spec.logical_id}",
                                        daemon=True)
        self.process.start()
        child.close()
        status, detail = self._receive(timeout=60)
        if status != "ready":
            self.stop()
            raise FunctionError(f"{spec.logical_id} failed to start:\n{detail}")

    def _receive(self, timeout: float) -> tuple[str, Any]:
        if not self.channel.poll(timeout):
            self.stop()
            raise FunctionError(f"{self.spec.logical_id}: Task timed out after {self.spec.timeout} seconds")
        try:
            message: tuple[str, Any] = self.channel.recv()
        except EOFError:
            self.stop()
            raise FunctionError(f"{self.spec.logical_id}: the instance exited (Runtime.ExitError)") from None
        return message

    def invoke(self, event: Any, moment: datetime | None) -> Any:
        self.channel.send((event, moment))
        status, detail = self._receive(timeout=self.spec.timeout + 1)
        if status == "error":
            message, trace = detail
            raise FunctionError(message or trace)
        return detail

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.channel.close()


class FunctionPool:
    """One function's warm instances: an idle one serves the next invocation, or a new one starts."""

    def __init__(self, spec: InstanceSpec) -> None:
        self.spec = spec
        self.idle: queue.SimpleQueue[Instance] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.instances: list[Instance] = []

    def _new_instance(self) -> Instance:
        instance = Instance(self.spec)
        with self.lock:
            self.instances.append(instance)
        return instance

    def invoke(self, event: Any) -> Any:
        from loyalty_local import timetravel

        try:
            instance = self.idle.get_nowait()
        except queue.Empty:
            instance = self._new_instance()
        try:
            return instance.invoke(event, timetravel.travelled())
        finally:
            if instance.alive:
                self.idle.put(instance)
            else:
                with self.lock:
                    self.instances.remove(instance)

    def stop(self) -> None:
        with self.lock:
            for instance in self.instances:
                instance.stop()
            self.instances.clear()


class Functions:
    def __init__(self, functions: dict[str, Function], environments: dict[str, dict[str, str]],
                 grants: dict[str, list[Grant]] | None = None) -> None:
        self.pools = {name: FunctionPool(InstanceSpec(
            logical_id=name, code_dir=str(function.code_uri), module=function.handler.rsplit(".", 1)[0],
            entry_point=function.entry_point, timeout=function.timeout, memory_mb=function.memory_mb,
            environment=environments[name], grants=None if grants is None else grants.get(name, [])))
            for name, function in functions.items()}

    def invoke(self, logical_id: str, event: Any) -> Any:
        try:
            return self.pools[logical_id].invoke(event)
        finally:
            ACTIVITY.signal()  # what it wrote may be waiting in a queue or a stream

    def warm(self) -> None:
        """One instance of every function, started side by side (as provisioned, before traffic)."""
        threads = [threading.Thread(target=lambda pool=pool: pool.idle.put(pool._new_instance()))
                   for pool in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.stop()
