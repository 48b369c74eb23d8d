"""Runs the template's Schedule events locally: every job on a short interval (they are idempotent),
and on demand through POST /local/jobs/<job>."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from loyalty_local.lambdas import Functions
from loyalty_local.template import Schedule

log = logging.getLogger("loyalty_local.scheduler")


class Scheduler:
    def __init__(self, schedules: list[Schedule], functions: Functions, interval: float) -> None:
        self.schedules = schedules
        self.functions = functions
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def payload(self, schedule: Schedule) -> Any:
        return json.loads(schedule.payload) if isinstance(schedule.payload, str) else (schedule.payload or {})

    def names(self) -> dict[str, Schedule]:
        """Jobs by the name in their payload ({"job": ...}), else by the event name."""
        named = {}
        for schedule in self.schedules:
            payload = self.payload(schedule)
            named[str(payload.get("job", schedule.name)) if isinstance(payload, dict) else schedule.name] = schedule
        return named

    def run(self, name: str) -> Any:
        schedule = self.names()[name]
        with self._lock:  # one job at a time, as the reserved concurrency of 1 would do
            return self.functions.invoke(schedule.function, self.payload(schedule))

    def start(self) -> Scheduler:
        if self.interval > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for name in self.names():
                try:
                    self.run(name)
                except Exception:
                    log.exception("scheduled job %s failed", name)
