"""Drive the background work in-process: the uploads and work queues drained by invoking the work
function's handlers with SQS events, under their roles, as the Lambda event source mappings would; a
message whose invocation fails comes back, as after its visibility timeout, until the queue's redrive
policy moves it to the dead-letter queue. Bulk imports and what-if steps both go through it. Used by the
integration tests and by `make bench`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import requests

from loyalty_local.iam import as_function
from tests.events import Api, LambdaContext

REGION = "us-east-1"


class Importer:
    def __init__(self, api: Api, refs: dict[str, str], arns: dict[str, str], endpoint: str) -> None:
        import functions.work.handler as handler

        self.api = api
        self.handler = handler
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        self.queues = {"ImportUploadsQueue": (refs["ImportUploadsQueue"], "ImportSplitFunction", handler.on_upload),
                       "WorkQueue": (refs["WorkQueue"], "WorkFunction", handler.on_work)}
        self.arns = arns
        self.refs = refs
        self.invocations = 0

    def start(self, kind: str, content: str, file_format: str = "jsonl") -> str:
        created = self.api.post("/admin/imports", {"kind": kind, "format": file_format}, admin=True)
        assert created.status == 201, created.body
        assert created.body["status"] == "awaiting_upload"
        # A plain HTTP PUT of the bytes, no headers: what an integrator's script does with the URL.
        uploaded = requests.put(created.body["upload_url"], data=content.encode(), timeout=30)
        assert uploaded.status_code == 200, uploaded.text
        return str(created.body["import_id"])

    def drain(self, *, fail: Callable[[dict[str, Any]], bool] = lambda message: False, limit: int = 10_000) -> None:
        """Run the queues until both are empty. `fail(message)` True: that invocation crashes (the message
        comes back)."""
        for _ in range(limit):
            progressed = False
            for name, (url, function, handle) in self.queues.items():
                messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1,
                                                    AttributeNames=["All"]).get("Messages", [])
                for message in messages:
                    progressed = True
                    body = json.loads(message["Body"])
                    record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                              "body": message["Body"], "attributes": message.get("Attributes", {}),
                              "messageAttributes": {}, "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                              "eventSourceARN": self.arns[name], "awsRegion": REGION}
                    self.invocations += 1
                    failed = True
                    if not fail(body):
                        with as_function(function):
                            result = handle({"Records": [record]}, LambdaContext())
                        failed = bool(result.get("batchItemFailures"))
                    if failed:  # back on the queue at once (its visibility timeout, shortened)
                        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"],
                                                           VisibilityTimeout=0)
                    else:
                        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if not progressed:
                return
        raise AssertionError("the import queues did not drain")

    def status(self, import_id: str) -> dict[str, Any]:
        found = self.api.get(f"/admin/imports/{import_id}", admin=True)
        assert found.status == 200, found.body
        return dict(found.body)
