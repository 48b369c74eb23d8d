"""Program staff: the program config and its versions, the rewards catalog, manual adjustments, partners,
the back office (member search, blocks), the audit log, imports, campaigns and what-if replays. The routes
are in loyalty.api.admin, one Router per subject."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.admin import ROUTERS
from loyalty.api.http import create_app, logger
from loyalty.observability import metrics, tracer

app = create_app()
for router in ROUTERS:
    app.include_router(router)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
