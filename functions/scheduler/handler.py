"""Scheduled jobs: EventBridge passes {"job": "<name>"} (see loyalty.services.jobs.JOBS). The jobs over
members or the whole table fan out: this invocation is their coordinator."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.logs import make_logger
from loyalty.observability import count, metrics
from loyalty.services import jobs

logger = make_logger()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    name = str(event.get("job", ""))
    if name not in jobs.JOBS:
        raise ValueError(f"unknown job {name!r}; known: {sorted(jobs.JOBS)}")
    # A job that fans out starts its run here and answers at once: its pages go through the job queue, and
    # its merge records the report (and the reconciliation's metrics; see loyalty.services.jobs).
    result = jobs.run(name)
    count("JobRuns", unit=MetricUnit.Count, value=1)
    if result.get("discrepancy_count"):
        logger.error("reconciliation found discrepancies", extra={"discrepancies": result["discrepancies"][:20]})
    logger.info("job started" if result.get("status") == "running" else "job finished", extra={
        "job": name, "summary": {k: v for k, v in result.items() if k != "discrepancies"}})
    return {"job": name, **result}
