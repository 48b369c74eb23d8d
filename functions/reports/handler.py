"""Program metrics, points liability and campaign reports for program staff, from MetricsTable aggregates."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from loyalty.api.http import caller, create_app, logger, respond
from loyalty.api.schemas import CampaignReportOut, LiabilityOut, MetricsOut, responses
from loyalty.api.schemas.finance import DeferredRevenueOut, JournalOut
from loyalty.api.schemas.gamification import BoardOut
from loyalty.api.schemas.ledger import CheckpointOut, CheckpointPage, ProofOut, PublicKeyOut
from loyalty.domain.fields import Day
from loyalty.observability import metrics, tracer
from loyalty.services import campaigns, leaderboards, reports

app = create_app()


@app.get("/admin/metrics", operation_id="getMetrics", responses=responses(200, MetricsOut),
         tags=["admin"], summary="Program metrics over a period (days in the program's zone)")
def get_metrics(
    from_day: Annotated[Day | None, Query(alias="from", description=(
        "first day, YYYY-MM-DD (default: the first day of `to`'s month); not after `to`, and the period "
        "covers at most 366 days"))] = None,
    to_day: Annotated[Day | None, Query(alias="to", description="last day, YYYY-MM-DD (default: today)")] = None,
):
    who = caller(app)
    return respond(reports.get_metrics(who, from_day, to_day))


@app.get("/leaderboards/<leaderboard_id>", operation_id="getLeaderboard", responses=responses(200, BoardOut),
         tags=["gamification"], summary="A leaderboard: its top members this or last period, and your own standing")
def get_leaderboard(leaderboard_id: str,
                    period: Annotated[Literal["current", "previous"], Query()] = "current"):
    return respond(leaderboards.get_board(caller(app), leaderboard_id, period))


@app.get("/admin/liability", operation_id="getLiability", responses=responses(200, LiabilityOut),
         tags=["admin"], summary="Outstanding points and their value")
def get_liability():
    who = caller(app)
    return respond(reports.get_liability(who))


@app.get("/admin/campaigns/<campaign_id>/report", operation_id="getCampaignReport",
         responses=responses(200, CampaignReportOut), tags=["campaigns"],
         summary="What a campaign awarded, and its treated and holdout groups' purchases, revenue and lift")
def campaign_report(campaign_id: str):
    return respond(campaigns.report(caller(app), campaign_id))


MonthQuery = Annotated[str, Query(pattern=r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$",
                                  description="the month, YYYY-MM (program time zone), one that has begun")]


@app.get("/admin/finance/deferred-revenue", operation_id="getDeferredRevenue",
         responses=responses(200, DeferredRevenueOut), tags=["finance"],
         summary="A month's points liability as deferred revenue (IFRS 15 / ASC 606), with breakage")
def get_deferred_revenue(month: MonthQuery):
    from loyalty.services import finance  # rare calls: kept out of the cold start

    return respond(finance.deferred_revenue(caller(app), month))


@app.get("/admin/finance/journal", operation_id="getJournal", responses=responses(200, JournalOut, csv=True),
         tags=["finance"], summary="A month's journal of deferred revenue, day by day (JSON, or CSV with "
                                   "Accept: text/csv)")
def get_journal(month: MonthQuery):
    as_csv = "text/csv" in (app.current_event.headers.get("accept") or "")
    from loyalty.services import finance

    outcome = finance.journal(caller(app), month, as_csv)
    if as_csv:
        return Response(status_code=200, content_type="text/csv; charset=utf-8", body=str(outcome.body))
    return respond(outcome)


@app.get("/ledger/public-key", operation_id="getLedgerPublicKey", responses=responses(200, PublicKeyOut),
         tags=["ledger"], summary="The key the ledger's daily checkpoints are signed with")
def get_public_key():
    from loyalty.services import checkpoints  # rare calls: kept out of the cold start

    return respond(checkpoints.public_key(caller(app)))


@app.get("/admin/ledger/checkpoints", operation_id="listCheckpoints", responses=responses(200, CheckpointPage),
         tags=["ledger"], summary="The ledger's signed daily checkpoints, oldest first")
def list_checkpoints(
    from_day: Annotated[Day | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    to_day: Annotated[Day | None, Query(alias="to", description="last day, YYYY-MM-DD")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
):
    from loyalty.services import checkpoints  # rare calls: kept out of the cold start

    return respond(checkpoints.list_checkpoints(caller(app), from_day.isoformat() if from_day else None,
                                                to_day.isoformat() if to_day else None, limit, cursor))


DAY_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


@app.get("/admin/ledger/checkpoints/<day>", operation_id="getCheckpoint", responses=responses(200, CheckpointOut),
         tags=["ledger"], summary="A day's signed checkpoint")
def get_checkpoint(day: Annotated[str, Path(pattern=DAY_PATTERN, description="the day, YYYY-MM-DD")]):
    from loyalty.services import checkpoints  # rare calls: kept out of the cold start

    return respond(checkpoints.get_checkpoint(caller(app), day))


@app.get("/members/<member_id>/activity/<entry_id>/proof", operation_id="getEntryProof",
         responses=responses(200, ProofOut), tags=["ledger"],
         summary="An entry's inclusion proof in its day's signed checkpoint (the member itself or an admin)")
def get_entry_proof(member_id: str, entry_id: str):
    from loyalty.services import checkpoints  # rare calls: kept out of the cold start

    return respond(checkpoints.proof(caller(app), member_id, entry_id))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
