"""SQS and EventBridge on moto, driven by the template: queues, buses and rules are created as
declared, and SQS event sources are polled and handed to their functions as Lambda does (partial batch
responses: what failed stays on the queue and comes back once its visibility timeout ends)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from loyalty_local.activity import ACTIVITY, IdleWait
from loyalty_local.lambdas import Functions
from loyalty_local.template import QueueSource, Stack

log = logging.getLogger("loyalty_local.queues")
REGION = "us-east-1"
# An empty queue is asked again after this long (a receive is not free in moto: it walks the queue). A
# queue with messages is drained without waiting; /local/events drains before it answers.
IDLE_POLL_SECONDS = 0.25
LOCAL_LOG_QUEUE = "local-event-log"


def _resolve(value: Any, arns: dict[str, str]) -> Any:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return arns.get(value["Fn::GetAtt"][0], "")
    if isinstance(value, dict):
        return {key: _resolve(item, arns) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, arns) for item in value]
    return value


def create_keys(stack: Stack, endpoint: str) -> dict[str, str]:
    """The template's KMS keys in moto's KMS, each reached through the alias `alias/<logical id>` (what Ref
    gives locally: IAM's local check names the key by its logical id, as the template's ARNs do)."""
    kms = boto3.client("kms", endpoint_url=endpoint, region_name=REGION)
    refs: dict[str, str] = {}
    existing = {alias["AliasName"] for alias in kms.list_aliases().get("Aliases", [])}
    for name, properties in stack.keys.items():
        alias = f"alias/{name}"
        if alias not in existing:
            key = kms.create_key(KeySpec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
                                 KeyUsage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
                                 Description=str(properties.get("Description", name)))
            kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
        refs[name] = alias
    return refs


def create(stack: Stack, endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """Creates queues, buses, rules and buckets (with their notifications to queues); returns (refs:
    logical id -> what Ref gives, arns)."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
    events = boto3.client("events", endpoint_url=endpoint, region_name=REGION)
    refs: dict[str, str] = {name: name for name in stack.tables}
    arns: dict[str, str] = {}
    # Dead-letter queues first: other queues' redrive policies name them.
    ordered = sorted(stack.queues, key=lambda name: "RedrivePolicy" in stack.queues[name])
    for name in ordered:
        properties = stack.queues[name]
        attributes = {}
        if "VisibilityTimeout" in properties:
            attributes["VisibilityTimeout"] = str(properties["VisibilityTimeout"])
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = json.dumps(_resolve(properties["RedrivePolicy"], arns))
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        refs[name] = url
        arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for name in stack.buses:
        # (created already by an earlier call on the same emulator)
        with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
            events.create_event_bus(Name=name)
        refs[name] = name
    refs.update(create_keys(stack, endpoint))
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    for name, properties in stack.buckets.items():
        bucket = f"local-{name.lower()}"
        s3.create_bucket(Bucket=bucket)
        if (properties.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        refs[name] = bucket
        notifications = _resolve(properties.get("NotificationConfiguration") or {}, arns)
        queue_configurations = [{
            "QueueArn": queue["Queue"], "Events": [queue["Event"]],
            **({"Filter": {"Key": {"FilterRules": queue["Filter"]["S3Key"]["Rules"]}}} if "Filter" in queue else {}),
        } for queue in notifications.get("QueueConfigurations") or []]
        if queue_configurations:
            # S3 tells the queue of every new object, as on AWS (moto sends the notification itself).
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": queue_configurations})
    for name, properties in stack.rules.items():
        bus = str(properties.get("EventBusName", {}).get("Ref", "default"))
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(properties["EventPattern"]))
        targets = [{"Id": target["Id"], "Arn": _resolve(target["Arn"], arns)} for target in properties["Targets"]]
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return refs, arns


class EventLog:
    """Every event published on the bus, kept in order: GET /admin/events serves it locally."""

    def __init__(self, stack: Stack, endpoint: str,
                 listeners: Sequence[Callable[[dict[str, Any]], None]] = ()) -> None:
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        events = boto3.client("events", endpoint_url=endpoint, region_name=REGION)
        # Called with each event as the bus holds it (the connectors' local copy).
        self.listeners = list(listeners)
        self.url = self.sqs.create_queue(QueueName=LOCAL_LOG_QUEUE)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for bus in stack.buses:
            events.put_rule(Name="local-event-log", EventBusName=bus, EventPattern=json.dumps({"source": [
                {"prefix": ""}]}))
            events.put_targets(Rule="local-event-log", EventBusName=bus, Targets=[{"Id": "log", "Arn": arn}])
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="event-log", daemon=True)

    def start(self) -> EventLog:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        ACTIVITY.signal()

    def _run(self) -> None:
        idle = IdleWait(IDLE_POLL_SECONDS)
        while not self._stop.is_set():
            since = ACTIVITY.mark()
            try:
                self.drain()
            except Exception:
                log.exception("event log poll failed")
            idle.wait(since, self._stop)

    def drain(self) -> None:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            envelopes = [json.loads(message["Body"]) for message in messages]
            with self.lock:
                for envelope in envelopes:
                    self.events.append(envelope.get("detail", envelope))
            for envelope in envelopes:
                for listener in self.listeners:
                    try:
                        listener(envelope)
                    except Exception:  # a listener's failure never costs the log an event
                        log.exception("event listener failed")
            handles = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                       for index, message in enumerate(messages)]
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=handles)

    def page(self, after: int, limit: int) -> dict[str, Any]:
        self.drain()
        with self.lock:
            items = self.events[after:after + limit]
            total = len(self.events)
        end = after + len(items)
        return {"items": items, "next_cursor": str(end) if end < total else None, "cursor": str(end)}


class QueuePoller:
    """An SQS event source mapping: receive, invoke with an SQS event, delete what succeeded."""

    def __init__(self, source: QueueSource, url: str, arn: str, functions: Functions, endpoint: str) -> None:
        self.source = source
        self.url = url
        self.arn = arn
        self.functions = functions
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"sqs-{source.queue}", daemon=True)
        self.invocations = 0

    def start(self) -> QueuePoller:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        ACTIVITY.signal()

    def _run(self) -> None:
        idle = IdleWait(IDLE_POLL_SECONDS)
        while not self._stop.is_set():
            since = ACTIVITY.mark()
            try:
                if self.poll():
                    idle.found_work()
                else:
                    idle.wait(since, self._stop)
            except Exception:
                log.exception("queue poll failed")
                time.sleep(0.5)

    def poll(self) -> bool:
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=min(self.source.batch_size, 10),
                                            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return False
        records = [{
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message.get("Attributes", {}), "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody"), "eventSource": "aws:sqs", "eventSourceARN": self.arn,
            "awsRegion": REGION} for message in messages]
        self.invocations += 1
        try:
            result = self.functions.invoke(self.source.function, {"Records": records}) or {}
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        except Exception:
            log.exception("queue function failed")
            return True  # nothing deleted: the whole batch comes back after its visibility timeout
        done = [record for record in records if record["messageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(index), "ReceiptHandle": record["receiptHandle"]} for index, record in enumerate(done)])
        return True
