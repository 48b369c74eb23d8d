"""Partner webhook deliveries, fed by an SQS queue the event bus fills with partner events.

A delivery that fails stays on the queue with an exponential visibility back-off (30 s, 60 s, ... up
to 15 min); after the queue's maxReceiveCount it moves to the dead-letter queue. Every attempt is in
the partner's delivery log.
"""

import json
import time

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.logs import make_logger
from loyalty.observability import count, metrics
from loyalty.services import webhooks
from loyalty.settings import settings

logger = make_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
BACKOFF_SECONDS = settings().webhook_backoff_seconds
# Kept back from the function's remaining time for the back-off calls and the batch response.
RESERVE_SECONDS = 3.0
# A message whose turn did not come in this invocation is visible again after this long.
NOT_TRIED_DELAY_SECONDS = 5
_deadline: float | None = None


class DeliverLater(Exception):
    pass


def _back_off(record: SQSRecord, attempt: int) -> None:
    delay = min(BACKOFF_SECONDS * 2 ** (attempt - 1), 900)
    _visible_again(record, delay)


def _visible_again(record: SQSRecord, delay: int) -> None:
    import boto3

    boto3.client("sqs").change_message_visibility(QueueUrl=settings().webhook_queue_url,
                                                  ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay)


def record_handler(record: SQSRecord) -> None:
    envelope = json.loads(record.body)
    event = envelope.get("detail", envelope)
    attempt = int(record.attributes.approximate_receive_count or 1)
    try:
        delivered = webhooks.deliver(event, attempt, deadline=_deadline)
    except webhooks.OutOfTime:
        # Not a receiver's failure: this invocation ran out of time before the message's turn.
        count("WebhookDeliveriesDeferred")
        _visible_again(record, NOT_TRIED_DELAY_SECONDS)
        raise
    if not delivered:
        count("WebhookDeliveriesFailed")
        _back_off(record, attempt)
        raise DeliverLater(f"event {event.get('id')} not delivered (attempt {attempt})")
    count("WebhookDeliveries")


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    global _deadline
    # Hanging receivers cannot take the batch past the function's timeout: deliveries stop in time,
    # and the messages not tried go back to the queue as failures of this batch only.
    _deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    with processor(records=event.get("Records", []), handler=record_handler, lambda_context=context):
        processor.process()
    return dict(processor.response())
