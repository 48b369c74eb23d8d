"""The powertools Logger every function uses, with personal data masked in whatever it writes."""

from __future__ import annotations

import logging
import re

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from loyalty.settings import settings

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# JSON fields that hold personal data, wherever they appear in a log line (extra keys, event dumps).
PERSONAL = re.compile(
    r'"(email|name|phone|birthday|comment|contact_email|preferences)":\s*("(?:[^"\\]|\\.)*"|\{[^}]*\})'
)


def mask(text: str) -> str:
    return EMAIL.sub("***@***", PERSONAL.sub(r'"\1": "***"', text))


class MaskingFormatter(LambdaPowertoolsFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def make_logger() -> Logger:
    return Logger(service=settings().service_name, logger_formatter=MaskingFormatter())
