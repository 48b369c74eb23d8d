"""Finance (contract: "Finance"): the deferred revenue report and its journal, from the stream's daily
counters (never a scan of the ledger on the request). See domain.finance for the method."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

from loyalty.domain import finance as books_of
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.errors import ValidationFailed
from loyalty.domain.money import format_amount, minor_units
from loyalty.domain.program import ProgramConfig
from loyalty.services.context import Caller, Outcome
from loyalty.services.program import config_of
from loyalty.store import aggregates
from loyalty.store import finance as finance_store
from loyalty.store import snapshot as snapshot_store

MONTH = re.compile(r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$")


def _month(month: str | None, today: date) -> tuple[date, date]:
    """The month's first and last days; refused when malformed or in the future."""
    if month is None or not MONTH.match(month):
        raise ValidationFailed("month is YYYY-MM", errors=[{"field": "month", "in": "query",
                                                             "message": "expected YYYY-MM"}])
    first = date.fromisoformat(f"{month}-01")
    if first > today:
        raise ValidationFailed(f"{month} has not begun (program time zone)", errors=[
            {"field": "month", "in": "query", "message": "a month that has begun"}])
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def _window_days(config: ProgramConfig) -> int | None:
    """How long issued points may wait before they expire: the historical rate counts only older cohorts."""
    expiry = config.expiry
    if expiry.policy in ("rolling", "inactivity"):
        return expiry.days
    if expiry.policy == "end_of_period":
        return {"month": 31, "quarter": 92, "year": 366}[str(expiry.period)]
    return None


def _month_end(month: str) -> date:
    first = date.fromisoformat(f"{month}-01")
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _days(config: ProgramConfig, through: date, today: date) -> tuple[list[tuple[str, books_of.Period]],
                                                                         books_of.Books]:
    """The days with finance counters of `through`'s month (and of the months between the latest closed one
    and it), closed in order, and the books after them. A closed month (kept when a report first passes it,
    CLOSE_AFTER_DAYS after its end, when the stream has long caught up) is read as it was closed: its books
    never change again, whatever the config says later."""
    month = through.isoformat()[:7]
    stored = finance_store.closed_month(month)
    if stored is not None:
        return books_of.days_of_json(stored[1]), books_of.books_of_json(stored[0])
    closed = finance_store.latest_closed_before(month)
    books = books_of.books_of_json(closed[1]) if closed else books_of.Books()
    first = (_month_end(closed[0]) + timedelta(days=1)).isoformat() if closed else aggregates.first_day()
    if first is None or first > through.isoformat():
        return [], books
    counters = aggregates.read_days(first, through.isoformat())
    minor = Decimal(1).scaleb(-minor_units(config.currency))
    breakage = config.finance.breakage
    found: list[tuple[str, books_of.Period]] = []
    current, in_month = first[:7], 0  # the month being closed, and where its days start in `found`
    for day in sorted(counters):
        if day[:7] != current:
            _close_if_done(current, books, found[in_month:], today)
            current, in_month = day[:7], len(found)
        flows = books_of.DayFlows.of(day, counters[day])
        if not any((flows.points, flows.issued, flows.unpriced, flows.redeemed, flows.expired)):
            continue
        rate = books_of.breakage_rate(books, day, breakage.method, breakage.rate, _window_days(config))
        found.append((day, books_of.close_day(books, flows, ssp_now=config.ssp_per_point, rate=rate, minor=minor)))
    _close_if_done(current, books, found[in_month:], today)
    return found, books


# A month's books are closed this long after its end: the stream has caught up long before.
CLOSE_AFTER_DAYS = 2


def _close_if_done(month: str, books: books_of.Books, days: list[tuple[str, books_of.Period]], today: date) -> None:
    if today > _month_end(month) + timedelta(days=CLOSE_AFTER_DAYS):
        finance_store.save_closed_month(month, books_of.books_json(books), books_of.days_json(days),
                                        iso_utc(utc_now()))


def _money(value: Decimal, config: ProgramConfig) -> dict[str, str]:
    return {"amount": format_amount(value, config.currency), "currency": config.currency}


def deferred_revenue(caller: Caller, month: str | None) -> Outcome:
    caller.authorize_admin()
    config = config_of(snapshot_store.read_snapshot().program)
    today = local_day(utc_now(), config.zone)
    first, last = _month(month, today)
    days, books = _days(config, last, today)
    inside = [period for day, period in days if day >= first.isoformat()]
    period = books_of.month_of(inside)
    if not inside:  # a month with no movement: it opens and closes where the books stand
        period.points_opening, period.opening = books.points, books.liability
    rate = period.breakage_rate if inside else books_of.breakage_rate(
        books, last.isoformat(), config.finance.breakage.method, config.finance.breakage.rate, _window_days(config))
    return Outcome(200, {
        "month": month, "currency": config.currency, "method": config.finance.breakage.method,
        "breakage_rate": str(rate), "ssp_per_point": _money(config.ssp_per_point, config),
        "points": {"opening": period.points_opening, "issued": period.issued, "redeemed": period.redeemed,
                   "expired": period.expired, "adjusted": period.adjusted, "closing": period.points_closing},
        "deferred_revenue": {"opening": _money(period.opening, config), "deferred": _money(period.deferred, config),
                             "recognized_redemption": _money(period.recognized_redemption, config),
                             "recognized_breakage": _money(period.recognized_breakage, config),
                             "closing": _money(period.closing, config)},
    })


def journal(caller: Caller, month: str | None, as_csv: bool) -> Outcome:
    """The month's postings, day by day: each day balances (debits = credits)."""
    caller.authorize_admin()
    config = config_of(snapshot_store.read_snapshot().program)
    today = local_day(utc_now(), config.zone)
    first, last = _month(month, today)
    lines = [line for day, period in _days(config, last, today)[0] if day >= first.isoformat()
             for line in books_of.journal(day, period)]
    if not as_csv:
        return Outcome(200, {"month": month, "currency": config.currency, "items": [
            {"date": line.day, "account": line.account, "debit": _money(line.debit, config),
             "credit": _money(line.credit, config), "memo": line.memo} for line in lines]})
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["date", "account", "debit", "credit", "currency", "memo"])
    for line in lines:
        writer.writerow([line.day, line.account, format_amount(line.debit, config.currency),
                         format_amount(line.credit, config.currency), config.currency, line.memo])
    return Outcome(200, text.getvalue())

