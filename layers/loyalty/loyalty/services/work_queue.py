"""The work queue (WorkQueue in the template): background units of work for the work function, bulk
import chunks and pages and what-if steps alike."""

from __future__ import annotations

import functools
import json
from typing import Any

import boto3

from loyalty.settings import settings

SEND_BATCH = 10  # SQS SendMessageBatch takes at most 10 messages


@functools.cache
def _sqs() -> Any:
    return boto3.client("sqs")


def send(messages: list[dict[str, Any]], queue_url: str | None = None) -> None:
    """Each message as JSON, 10 to a request; a message SQS refuses raises (the caller's unit is retried).
    To the work queue, or to `queue_url` (the job queue)."""
    url = queue_url or settings().work_queue_url
    if not url:
        raise RuntimeError("WORK_QUEUE_URL is not set")
    for start in range(0, len(messages), SEND_BATCH):
        batch = messages[start:start + SEND_BATCH]
        answer = _sqs().send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(index), "MessageBody": json.dumps(message)} for index, message in enumerate(batch)])
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} work messages were not sent: {answer['Failed'][:3]}")
