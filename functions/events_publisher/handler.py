"""LoyaltyTable stream -> domain events on the EventBridge bus (the stream's second reader).

Event ids come from the ledger entries, so a redelivered batch publishes the same ids again and
consumers de-duplicate. A record that cannot be read is reported as a batch item failure.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.domain.events import events_of
from loyalty.logs import make_logger
from loyalty.observability import count, metrics
from loyalty.services.publishing import publish

logger = make_logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    found: list[dict] = []

    def record_handler(record: DynamoDBRecord) -> None:
        stream = record.dynamodb
        assert stream is not None
        found.extend(events_of(str(record.raw_event.get("eventName")), stream.keys, stream.new_image))

    with processor(records=event.get("Records", []), handler=record_handler, lambda_context=context):
        processor.process()
    calls = publish(found)  # raises when the bus keeps refusing: the whole batch comes again
    count("EventsPublished", unit=MetricUnit.Count, value=len(found))
    count("PutEventsCalls", unit=MetricUnit.Count, value=calls)
    return dict(processor.response())
