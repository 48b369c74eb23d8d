"""Polls each table's stream in moto and invokes the stream function with real DynamoDB stream events,
as the Lambda event source mapping does: batches in order, partial batch responses (resume from the
lowest failed sequence number), bisect on function error, bounded retries, an on-failure list."""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from loyalty_local.activity import ACTIVITY, IdleWait
from loyalty_local.filtering import passes
from loyalty_local.lambdas import Functions
from loyalty_local.template import StreamSource

log = logging.getLogger("loyalty_local.streams")
REGION = "us-east-1"


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """boto3's AttributeValue (bytes for binary) as Lambda's JSON event has it (base64 strings)."""
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(item).decode() for item in inner]}
    if kind == "M":
        return {"M": {name: _attribute(item) for name, item in inner.items()}}
    if kind == "L":
        return {"L": [_attribute(item) for item in inner]}
    return {kind: inner}


def _image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if image is None else {name: _attribute(value) for name, value in image.items()}


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    data = record["dynamodb"]
    created = data.get("ApproximateCreationDateTime")
    converted: dict[str, Any] = {
        "Keys": _image(data.get("Keys")),
        "SequenceNumber": data["SequenceNumber"],
        "SizeBytes": data.get("SizeBytes", 0),
        "StreamViewType": data.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
        "ApproximateCreationDateTime": created.timestamp() if hasattr(created, "timestamp") else created,
    }
    for name in ("NewImage", "OldImage"):
        if data.get(name) is not None:
            converted[name] = _image(data[name])
    return {
        "eventID": record.get("eventID"),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", REGION),
        "dynamodb": converted,
        "eventSourceARN": stream_arn,
    }


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass
class Chaos:
    """Stream chaos for tests: fail a batch at random, or deliver a batch again after success."""

    failure_rate: float = 0.0
    redelivery_rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)


class StreamPoller:
    def __init__(self, source: StreamSource, functions: Functions, endpoint: str, *,
                 interval: float = 0.25, chaos: Chaos | None = None) -> None:
        self.source = source
        self.functions = functions
        self.interval = interval
        self.chaos = chaos or Chaos()
        config = Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 3, "mode": "standard"})
        self.streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=REGION, config=config)
        self.dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, config=config)
        self.failed: list[dict[str, Any]] = []  # the on-failure destination
        self.delivered = 0
        self.invocations = 0
        self.injected_failures = 0
        self.filtered_out = 0  # records the source's FilterCriteria dropped
        self.redeliveries = 0
        self._stop = threading.Event()
        # Idle means: a poll that began after the waiter asked found nothing (one that began before may
        # have missed the waiter's last writes). Polls are numbered; the number of the latest idle one is kept.
        self._idle = threading.Condition()
        self._polls_begun = 0
        self._idle_poll = 0
        self._flush = threading.Event()
        self._flush_until = 0  # a waiter's flush holds until a poll after this one is idle
        # Records read but not yet delivered, per shard, and when the first of them was read: as the event
        # source mapping, a batch goes when it is full or its batching window has passed.
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._pending_since: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name=f"stream-{source.table}", daemon=True)
        self.stream_arn = ""

    def start(self) -> StreamPoller:
        self.stream_arn = self.dynamodb.describe_table(TableName=self.source.table)["Table"]["LatestStreamArn"]
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        ACTIVITY.signal()
        self._thread.join(timeout=5)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the poller has caught up with the stream (for tests and the simulator); records
        waiting for their batching window go at once."""
        with self._idle:
            asked_after = self._polls_begun
            self._flush_until = max(self._flush_until, asked_after)
            self._flush.set()
        ACTIVITY.signal()  # a poller waiting out an idle spell polls now
        with self._idle:
            return self._idle.wait_for(lambda: self._idle_poll > asked_after, timeout)

    def _run(self) -> None:
        iterators: dict[str, str] = {}
        idle = IdleWait(self.interval)
        while not self._stop.is_set():
            since = ACTIVITY.mark()
            with self._idle:
                self._polls_begun += 1
                this_poll = self._polls_begun
            try:
                busy = self._poll(iterators)
            except Exception:
                log.exception("stream poll failed")
                busy = False
                time.sleep(0.5)
            if busy:
                idle.found_work()
            elif any(self._pending.values()):
                time.sleep(self.interval)  # a batch filling up: its window is watched at the usual pace
            else:
                with self._idle:
                    if this_poll > self._flush_until:
                        self._flush.clear()
                    self._idle_poll = this_poll
                    self._idle.notify_all()
                idle.wait(since, self._stop)

    def _poll(self, iterators: dict[str, str]) -> bool:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in iterators:
                iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON",
                )["ShardIterator"]
        busy = False
        for shard_id, iterator in list(iterators.items()):
            pending = self._pending.setdefault(shard_id, [])
            room = self.source.batch_size - len(pending)
            if room > 0:
                response = self.streams.get_records(ShardIterator=iterator, Limit=room)
                iterators[shard_id] = response.get("NextShardIterator") or iterator
                if not pending:
                    self._pending_since[shard_id] = time.monotonic()
                for record in response.get("Records", []):
                    converted = lambda_record(dict(record), self.stream_arn)
                    if passes(list(self.source.filters), converted):
                        pending.append(converted)
                    else:
                        self.filtered_out += 1
            waited = time.monotonic() - self._pending_since.get(shard_id, 0.0)
            if pending and (len(pending) >= self.source.batch_size or waited >= self.source.batching_window
                            or self._flush.is_set()):
                self._pending[shard_id] = []
                busy = True
                self._deliver(pending, shard_id)
        return busy

    def _deliver(self, records: list[dict[str, Any]], shard_id: str) -> None:
        """Deliver one batch until it is processed, retrying like the event source mapping."""
        batches = [records]
        while batches:
            batch = batches.pop(0)
            attempts = 0
            while batch:
                attempts += 1
                failed_from = self._invoke(batch, shard_id)
                if failed_from is None:
                    self.delivered += len(batch)
                    if self.chaos.redelivery_rate and self.chaos.rng.random() < self.chaos.redelivery_rate:
                        self.redeliveries += 1
                        self._invoke(batch, shard_id)  # at-least-once: the same batch once more
                    break
                if failed_from == -1 and self.source.bisect and len(batch) > 1:
                    middle = len(batch) // 2
                    batches[:0] = [batch[:middle], batch[middle:]]
                    break
                if failed_from > 0:
                    self.delivered += failed_from
                    batch = batch[failed_from:]  # resume from the lowest failed sequence number
                if attempts > self.source.max_retries:
                    log.error("stream batch of %d records sent to the on-failure destination", len(batch))
                    self.failed.append({"records": batch, "attempts": attempts})
                    break
                time.sleep(min(0.05 * attempts, 0.5))

    def event(self, batch: list[dict[str, Any]], shard_id: str) -> dict[str, Any]:
        event: dict[str, Any] = {"Records": batch}
        if self.source.tumbling_window:
            # What Lambda adds for tumbling windows: the shard, the window and the carried state.
            start = time.time() // self.source.tumbling_window * self.source.tumbling_window
            event.update({
                "shardId": shard_id, "eventSourceARN": self.stream_arn, "state": {},
                "window": {"start": _iso(start), "end": _iso(start + self.source.tumbling_window)},
                "isFinalInvokeForWindow": False, "isWindowTerminatedEarly": False,
            })
        return event

    def _invoke(self, batch: list[dict[str, Any]], shard_id: str) -> int | None:
        """None when the batch succeeded; the index of the lowest failed record; -1 if the function failed."""
        self.invocations += 1
        chaos = self.chaos
        if chaos.failure_rate and chaos.rng.random() < chaos.failure_rate / 2:
            self.injected_failures += 1
            return -1  # the function crashed before doing anything
        try:
            result = self.functions.invoke(self.source.function, self.event(batch, shard_id))
        except Exception:
            log.exception("stream function failed")
            return -1
        if chaos.failure_rate and chaos.rng.random() < chaos.failure_rate / 2:
            self.injected_failures += 1
            # Processed, but reported (or timed out) as failed from a random record: a redelivery.
            return chaos.rng.randrange(0, len(batch)) if len(batch) > 1 else -1
        failures = (result or {}).get("batchItemFailures") or [] if self.source.report_item_failures else []
        if not failures:
            return None
        failed = {item.get("itemIdentifier") for item in failures}
        for index, record in enumerate(batch):
            if record["dynamodb"]["SequenceNumber"] in failed:
                return index
        return 0
