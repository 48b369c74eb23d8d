"""LoyaltyTable stream -> exactly-once daily aggregates in MetricsTable.

Each record is read on its own (powertools BatchProcessor, partial batch responses: an unreadable
record is reported as a batch item failure and kept in MetricsTable POISON items); the batch's
contributions are then added once to each partial item of the shard's bucket, guarded by per-shard
sequence watermarks (see loyalty.store.aggregates).
A failed write raises, so the whole batch is retried (and bisected) by the event source mapping.
"""

import time

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.logs import make_logger
from loyalty.observability import count, metrics, record_business
from loyalty.services.stream import Batch

logger = make_logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    batch = Batch(event.get("shardId"))
    created = [float(record["dynamodb"]["ApproximateCreationDateTime"]) for record in event.get("Records", [])
               if (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")]

    def record_handler(record: DynamoDBRecord) -> None:
        stream = record.dynamodb
        assert stream is not None
        batch.add(stream.sequence_number, record.raw_event.get("eventName"), stream.keys, stream.new_image,
                  record.raw_event, old_image=stream.old_image)

    with processor(records=event.get("Records", []), handler=record_handler, lambda_context=context):
        processor.process()
    applied = batch.flush()
    writes = applied.writes + batch.top_list_writes
    record_business(applied.applied)
    count("StreamRecords", unit=MetricUnit.Count, value=batch.records)
    count("StreamPoisonRecords", unit=MetricUnit.Count, value=batch.poisoned)
    count("MetricsItemWrites", unit=MetricUnit.Count, value=writes)
    if created:
        # How far behind the ledger the aggregates are (the oldest record of the batch).
        count("StreamLagSeconds", unit=MetricUnit.Seconds, value=max(0.0, time.time() - min(created)))
    if batch.poisoned:
        logger.error("unreadable stream records reported as failures", extra={"count": batch.poisoned})
    response: dict = dict(processor.response())
    if "window" in event:
        response["state"] = {}  # tumbling windows are used for the shard id only; state lives in MetricsTable
    return response
