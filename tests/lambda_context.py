"""The context object Lambda hands a handler, as far as the handlers read it (no AWS, no emulator)."""

from __future__ import annotations


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000
