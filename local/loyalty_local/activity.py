"""What the local stack's pollers wait on when they find nothing to do.

An idle stack used to ask moto about every queue and stream four times a second (15 requests each time):
about 40% of a CPU with nothing happening, for every stack a test session keeps open. Work reaches a
queue or a stream only through an invocation or a request to the gateway (or, rarely, a file put straight
into a bucket), so the gateway and the functions signal each one here. A poller that found nothing
polls again after its usual interval if anything happened since its poll began, and otherwise waits
longer each time (up to IDLE_MAX_SECONDS, the most an upload's notification waits), until something
happens."""

from __future__ import annotations

import threading

IDLE_MAX_SECONDS = 2.0


class Activity:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    def signal(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def mark(self) -> int:
        """Taken before a poll: `wait` returns at once if anything happens after it."""
        with self._changed:
            return self._count

    def wait(self, since: int, timeout: float) -> bool:
        """Until something happened after `since`, at most `timeout` seconds; whether it did."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count != since, timeout)


ACTIVITY = Activity()


class IdleWait:
    """One poller's wait after a poll that found nothing: its interval, then (unless something happened
    meanwhile) longer each time nothing happens, up to IDLE_MAX_SECONDS."""

    def __init__(self, interval: float, activity: Activity = ACTIVITY) -> None:
        self.interval = interval
        self.activity = activity
        self.longest = max(interval, IDLE_MAX_SECONDS)
        self.current = interval

    def found_work(self) -> None:
        self.current = self.interval

    def wait(self, since: int, stop: threading.Event) -> None:
        if stop.wait(self.interval):
            return
        if self.activity.wait(since, max(0.0, self.current - self.interval)):
            self.current = self.interval
        else:
            self.current = min(self.current * 2, self.longest)
