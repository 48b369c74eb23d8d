"""The layer's settings: every environment variable it reads, in one model validated once per
instance, at init (a wrong value fails the cold start with the variable named, never a request).

As the handler cookbook does, code asks `settings()` rather than `os.environ`. The model is validated
when the layer's store module is imported (every function's init), and again only if one of the
variables changes (tests change them; a Lambda instance never does)."""

from __future__ import annotations

import functools
import os

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: str = Field("LoyaltyTable", alias="TABLE_NAME", min_length=3)
    metrics_table_name: str = Field("MetricsTable", alias="METRICS_TABLE_NAME", min_length=3)
    region: str = Field("us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    # botocore's own retries of throttling and server errors, before a 503 tells the caller to retry.
    dynamodb_max_retries: int = Field(3, alias="DYNAMODB_MAX_RETRIES", ge=0, le=10)
    event_bus_name: str | None = Field(None, alias="EVENT_BUS_NAME")
    # The partner REST API whose usage plans meter partners (none: no plans, e.g. in unit tests).
    partner_api_id: str | None = Field(None, alias="PARTNER_API_ID")
    partner_api_stage: str = Field("v1", alias="PARTNER_API_STAGE")
    partner_rate_limit: float = Field(50, alias="PARTNER_RATE_LIMIT", gt=0)
    partner_burst_limit: int = Field(100, alias="PARTNER_BURST_LIMIT", gt=0)
    partner_daily_quota: int = Field(200_000, alias="PARTNER_DAILY_QUOTA", gt=0)
    # How far the stream may lag behind the ledger before reconciliation counts a difference.
    reconcile_stream_lag_minutes: float = Field(15, alias="RECONCILE_STREAM_LAG_MINUTES", ge=0)
    # Webhook delivery: the queue it re-schedules failed messages on, and the first retry's delay.
    webhook_queue_url: str | None = Field(None, alias="WEBHOOK_QUEUE_URL")
    webhook_backoff_seconds: int = Field(30, alias="WEBHOOK_BACKOFF_SECONDS", ge=1, le=900)
    # Bulk imports: the bucket files are uploaded to, the queue their chunks and pages go through, and
    # how many rows one chunk holds (one worker invocation's share of a file).
    import_bucket: str | None = Field(None, alias="IMPORT_BUCKET")
    # Jobs that fan out (member maintenance, reconcile): the queue their pages go through (none: a job runs
    # its units in the process that started it, as the tests and `loyalty-local` do).
    job_queue_url: str | None = Field(None, alias="JOB_QUEUE_URL")
    work_queue_url: str | None = Field(None, alias="WORK_QUEUE_URL")
    import_chunk_rows: int = Field(500, alias="IMPORT_CHUNK_ROWS", ge=1, le=10_000)
    # The maxReceiveCount of the queue feeding the function: a unit or split failing on its last receive
    # is reported on its import.
    work_max_receives: int = Field(5, alias="WORK_MAX_RECEIVES", ge=1, le=1000)
    # Campaign budgets taken in chunks (store.escrow): a chunk is what this instance gave in this many
    # seconds (0: exactly each award, one request each).
    campaign_budget_hold_seconds: float = Field(10, alias="CAMPAIGN_BUDGET_HOLD_SECONDS", ge=0, le=300)
    # A catalog page shows a stocked reward's stock as this instance read it at most this long ago (a
    # reward's own page and every claim read it exactly).
    catalog_stock_seconds: float = Field(5, alias="CATALOG_STOCK_SECONDS", ge=0, le=300)
    # The ledger's checkpoints: the KMS key that signs them; how long after a day ends its checkpoint waits
    # (an hourly job's entries carry the hour it started); how many checkpointed days reconcile re-checks.
    ledger_key_id: str | None = Field(None, alias="LEDGER_KEY_ID")
    checkpoint_lag_minutes: float = Field(120, alias="CHECKPOINT_LAG_MINUTES", ge=0)
    checkpoint_verify_days: int = Field(7, alias="CHECKPOINT_VERIFY_DAYS", ge=0, le=400)
    tracing: bool = Field(False, alias="TRACING")
    metrics_namespace: str = Field("Loyalty", alias="POWERTOOLS_METRICS_NAMESPACE")
    service_name: str = Field("loyalty", alias="POWERTOOLS_SERVICE_NAME")


# Every variable the model reads (its aliases).
_NAMES = ("TABLE_NAME", "METRICS_TABLE_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "DYNAMODB_MAX_RETRIES",
          "EVENT_BUS_NAME", "PARTNER_API_ID", "PARTNER_API_STAGE", "PARTNER_RATE_LIMIT", "PARTNER_BURST_LIMIT",
          "PARTNER_DAILY_QUOTA", "RECONCILE_STREAM_LAG_MINUTES", "WEBHOOK_QUEUE_URL", "WEBHOOK_BACKOFF_SECONDS",
          "IMPORT_BUCKET", "WORK_QUEUE_URL", "JOB_QUEUE_URL", "IMPORT_CHUNK_ROWS", "WORK_MAX_RECEIVES", "TRACING",
          "CAMPAIGN_BUDGET_HOLD_SECONDS", "CATALOG_STOCK_SECONDS", "LEDGER_KEY_ID", "CHECKPOINT_LAG_MINUTES",
          "CHECKPOINT_VERIFY_DAYS",
          "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_SERVICE_NAME")


def settings() -> Settings:
    return _validated(tuple(os.environ.get(name) for name in _NAMES))


@functools.lru_cache(maxsize=8)
def _validated(values: tuple[str | None, ...]) -> Settings:
    return Settings.model_validate({name: value for name, value in zip(_NAMES, values, strict=True)
                                    if value is not None})
