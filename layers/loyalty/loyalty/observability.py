"""Metrics and tracing for every function: powertools Metrics (CloudWatch EMF business metrics) and,
when TRACING is on, the powertools Tracer (X-Ray subsegments for DynamoDB calls).

The X-Ray SDK costs about 100 ms of cold-start import, so it is imported only when tracing is on
(the template's EnableTracing parameter); Lambda's own active tracing covers invocations either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from loyalty.settings import settings

metrics = Metrics(namespace=settings().metrics_namespace)


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    # With metrics disabled (the local stack, tests) powertools keeps them forever: do not add any.
    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit=unit, value=value)


def tracing_enabled() -> bool:
    return settings().tracing


class _NoTracer:
    def capture_lambda_handler(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        return handler

    def capture_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        return method


class _QuietTracer:
    """The powertools Tracer, never recording what a handler returns or raises: responses carry secrets
    shown once (a partner's API key, a webhook's signing secret) and members' personal data, and X-Ray
    keeps traces for 30 days, out of reach of an erasure. Timings, cold starts and DynamoDB calls are
    traced as before."""

    def __init__(self) -> None:
        self.tracer = Tracer()

    def capture_lambda_handler(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        return self.tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False)

    def capture_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        return self.tracer.capture_method(method, capture_response=False, capture_error=False)  # type: ignore[call-overload]


def make_tracer() -> Any:
    if not tracing_enabled():
        return _NoTracer()
    return _QuietTracer()


tracer = make_tracer()

def record_outcome(body: Any, status: int, replayed: bool) -> None:
    """What an API response says for operations: a replayed request. The business counts (points
    issued, redemptions...) come from the stream processor, which knows each one exactly once."""
    if replayed:
        count("IdempotentReplays")


# Day counters the stream processor folded, and the business metric each one is emitted as.
BUSINESS_METRICS = {
    "points_issued": "PointsIssued",
    "points_redeemed": "PointsRedeemed",
    "redemptions": "Redemptions",
    "purchases": "Purchases",
    "points_expired": "PointsExpired",
    "points_returned": "PointsReturned",
    "points_donated": "PointsDonated",
    "spins": "Spins",
    "visits": "Visits",
}


def record_business(applied: dict[str, int]) -> None:
    """Emit the day counters a stream batch added (only what was applied: a replay adds nothing)."""
    for counter, name in BUSINESS_METRICS.items():
        value = int(applied.get(counter, 0))
        if value > 0:
            count(name, value)


PROBLEM_METRICS = {
    "insufficient_points": "RedemptionsRefusedInsufficientPoints",
    "action_limit_reached": "ActionCapHits",
    "too_many_attempts": "CodeClaimsThrottled",
    "service_unavailable": "ServiceUnavailable",
    "promotion_exhausted": "PromotionExhausted",
}


def record_problem(code: str) -> None:
    name = PROBLEM_METRICS.get(code)
    if name:
        count(name)
