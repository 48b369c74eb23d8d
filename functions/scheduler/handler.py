"""Scheduled jobs: EventBridge passes {"job": "<name>"} (see loyalty.services.jobs.JOBS)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.services import jobs

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    name = str(event.get("job", ""))
    if name not in jobs.JOBS:
        raise ValueError(f"unknown job {name!r}; known: {sorted(jobs.JOBS)}")
    result = jobs.run(name)
    logger.info("job finished", extra={"job": name, "result": result})
    return {"job": name, **result}
