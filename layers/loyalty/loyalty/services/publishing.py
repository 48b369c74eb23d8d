"""Publishing domain events to the EventBridge bus: batched (10 a call), failed entries retried, a
persistent failure raised so the stream batch is retried (the same ids go out again)."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import boto3

from loyalty.domain.events import SOURCE
from loyalty.settings import settings

BATCH = 10  # PutEvents takes at most 10 entries
ATTEMPTS = 5


class PublishFailed(Exception):
    pass


def _client() -> Any:
    return boto3.client("events")


def publish(events: list[dict[str, Any]], bus: str | None = None, client: Any = None,
            pause: float = 0.05) -> int:
    """Puts every event on the bus; returns how many PutEvents calls it took."""
    if not events:
        return 0
    bus = bus or settings().event_bus_name
    if not bus:
        raise PublishFailed("EVENT_BUS_NAME is not set")
    client = client or _client()
    calls = 0
    entries = [{"Source": SOURCE, "DetailType": item["type"], "Detail": json.dumps(item, default=str),
                "EventBusName": bus} for item in events]
    for start in range(0, len(entries), BATCH):
        pending = entries[start:start + BATCH]
        for attempt in range(ATTEMPTS):
            calls += 1
            response = client.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                break
            # Only what failed goes again (entries come back in request order).
            pending = [entry for entry, result in zip(pending, response["Entries"], strict=True)
                       if result.get("ErrorCode")]
            time.sleep(pause * (2 ** attempt) * random.uniform(1, 2))  # noqa: S311 - jitter
        else:
            raise PublishFailed(f"{len(pending)} events could not be published after {ATTEMPTS} attempts")
    return calls
