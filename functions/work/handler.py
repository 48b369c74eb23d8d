"""Background work, fed by SQS queues: bulk imports (loyalty.services.imports), what-if replays
(loyalty.services.whatif) and the pages of jobs that fan out (loyalty.services.jobs, `on_job`).

`on_upload`: S3 notifies the uploads queue of a file; the file is split into chunks sent to the work
queue. `on_work`: a chunk of a file, a page of a shard's staged transactions, or a step of a what-if.
A message that fails goes back to its queue (partial batch response) and is tried again: every unit is
idempotent. After the queue's maxReceiveCount it moves to the dead-letter queue. An import unit failing
on that last try says so on its import first (which unit, why, and that a redrive finishes it); a what-if
step fails its job (`failed`, with why).
"""

import json
import time
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.logs import make_logger
from loyalty.observability import count, metrics
from loyalty.services import imports, jobs, whatif, work_queue
from loyalty.settings import settings

logger = make_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def upload_record(record: SQSRecord) -> None:
    notification = json.loads(record.body)
    # S3 sends a test event when the notification is configured: it has no records.
    for s3_record in notification.get("Records") or []:
        bucket = s3_record["s3"]["bucket"]["name"]
        key = unquote_plus(s3_record["s3"]["object"]["key"])
        # In a bucket that keeps versions S3 names the version this notification is about.
        version = s3_record["s3"]["object"].get("versionId")
        logger.info("import file uploaded", extra={"bucket": bucket, "key": key, "version": version})
        try:
            imports.split(bucket, key, version)
        except Exception as exc:
            attempts = int(record.attributes.approximate_receive_count)
            if attempts >= settings().work_max_receives:  # the last try: the import says so
                count("ImportSplitsGivenUp")
                imports.give_up_split(key, attempts, type(exc).__name__)
            raise
        count("ImportFilesSplit")


def work_record(record: SQSRecord) -> None:
    message = json.loads(record.body)
    what_if = message.get("step") == "what_if"
    try:
        if what_if:
            whatif.run_step(str(message["job_id"]), int(message["n"]))
        else:
            imports.work(message)
    except Exception as exc:
        attempts = int(record.attributes.approximate_receive_count)
        if attempts >= settings().work_max_receives:  # the last try: say so where the caller looks
            count("WorkUnitsGivenUp")
            if what_if:
                whatif.give_up(str(message["job_id"]), int(message["n"]), attempts, type(exc).__name__)
            else:
                imports.give_up(message, attempts, type(exc).__name__)
        raise
    count("WhatIfStepsDone" if what_if else "ImportUnitsDone")


@metrics.log_metrics
@logger.inject_lambda_context
def on_upload(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=upload_record, processor=processor,
                                    context=context)


@metrics.log_metrics
@logger.inject_lambda_context
def on_work(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=work_record, processor=processor,
                                    context=context)


def job_record(record: SQSRecord) -> None:
    """A page of a job that fans out; its next page is sent on before the message is let go."""
    message = json.loads(record.body)
    next_page = jobs.work_page(message, _until)
    if next_page is not None:
        work_queue.send([next_page], settings().job_queue_url)
    count("JobPagesDone")


# A page stops after its share of the invocation's time: the rest goes to its next page's message.
_until = 0.0


@metrics.log_metrics
@logger.inject_lambda_context
def on_job(event: dict, context: LambdaContext) -> dict:
    global _until
    _until = time.monotonic() + min(jobs.PAGE_SECONDS, context.get_remaining_time_in_millis() / 1000 / 3)
    return process_partial_response(event=event, record_handler=job_record, processor=processor, context=context)
