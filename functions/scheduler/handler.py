"""Scheduled jobs: EventBridge passes {"job": "<name>"} (see loyalty.services.jobs.JOBS)."""

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
    result = jobs.run(name)
    count("JobRuns", unit=MetricUnit.Count, value=1)
    if name == "reconcile":
        # The ReconciliationDiscrepancies alarm watches this; ReconciliationMissing, that it ran at all.
        count("ReconciliationDiscrepancies", unit=MetricUnit.Count, value=result["discrepancy_count"])
        count("ReconciliationRuns", unit=MetricUnit.Count, value=1)
        if result["discrepancy_count"]:
            logger.error("reconciliation found discrepancies", extra={"discrepancies": result["discrepancies"][:20]})
    logger.info("job finished", extra={"job": name, "summary": {k: v for k, v in result.items()
                                                                if k != "discrepancies"}})
    return {"job": name, **result}
