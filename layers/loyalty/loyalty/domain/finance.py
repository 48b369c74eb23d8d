"""Deferred revenue for points (IFRS 15 / ASC 606 customer options; contract: "Finance"; docs/finance.md).

From the stream's daily counters (domain.metrics._finance: points issued with the revenue their recorded SSP
deferred, redeemed, expired, and every other movement), day after day from the program's first:

  carrying value per outstanding point  c = (deferred opening + deferred issued) / (points opening + issued)
  deferred        = value issued + adjusted points x c        (a return or correction moves points at c)
  recognized_redemption = redeemed x c
  recognized_breakage   = expected breakage, in proportion to redemptions, caught up cumulatively:
                          (redeemed value to date x b / (1 - b)) - (what earlier days recognized so)
                          + expired x c                         (what remains of the points that expired)
  closing         = opening + deferred - recognized_redemption - recognized_breakage   (never below zero)

with b the breakage rate in force that day: fixed, or historical (points expired to date over points issued
before the expiry window, once there are such points). Money is kept exact (Decimal) and rounded to the
currency's minor unit once per column per day, so a month's columns are sums of its days and next month's
opening is this month's closing. Everything here is pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

E6 = Decimal("0.000001")

ACCOUNTS = {
    "liability": "Contract liability - loyalty points",
    "sales": "Revenue - sales (allocated to points)",
    "redemption": "Revenue - points redeemed",
    "breakage": "Revenue - breakage",
}


@dataclass(frozen=True)
class DayFlows:
    """One day's counters, as the stream aggregated them."""

    day: str
    points: int = 0  # every outstanding point that moved, signed
    issued: int = 0  # points issued with a recorded SSP
    unpriced: int = 0  # points issued before SSPs were recorded (valued at the SSP in force now)
    redeemed: int = 0
    expired: int = 0
    deferred_e6: int = 0  # their deferred revenue, in millionths

    @staticmethod
    def of(day: str, counters: Mapping[str, int]) -> DayFlows:
        return DayFlows(day, int(counters.get("fin_points", 0)), int(counters.get("fin_issued", 0)),
                        int(counters.get("fin_unpriced", 0)), int(counters.get("fin_redeemed", 0)),
                        int(counters.get("fin_expired", 0)), int(counters.get("fin_deferred_e6", 0)))

    @property
    def adjusted(self) -> int:
        """What moved besides issuing, redeeming and expiring: returns, corrections, transfers (net zero)."""
        return self.points - self.issued - self.unpriced + self.redeemed + self.expired


@dataclass
class Period:
    """The points and money columns of a day or a month."""

    points_opening: int = 0
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    adjusted: int = 0
    opening: Decimal = Decimal(0)
    deferred: Decimal = Decimal(0)
    recognized_redemption: Decimal = Decimal(0)
    recognized_breakage: Decimal = Decimal(0)
    breakage_rate: Decimal = Decimal(0)

    @property
    def points_closing(self) -> int:
        return self.points_opening + self.issued - self.redeemed - self.expired + self.adjusted

    @property
    def closing(self) -> Decimal:
        return self.opening + self.deferred - self.recognized_redemption - self.recognized_breakage


@dataclass
class Books:
    """The running state from the program's first day: the liability, and the breakage's running sums."""

    points: int = 0
    liability: Decimal = Decimal(0)
    issued_to_date: list[tuple[str, int]] = field(default_factory=list)  # (day, points issued), for historical
    expired_to_date: int = 0
    redeemed_value_to_date: Decimal = Decimal(0)  # redeemed x c, summed: what breakage is proportional to
    breakage_in_proportion: Decimal = Decimal(0)  # what the proportional part recognized so far


def books_json(books: Books) -> str:
    return json.dumps({"points": books.points, "liability": str(books.liability),
                       "issued": books.issued_to_date, "expired": books.expired_to_date,
                       "redeemed_value": str(books.redeemed_value_to_date),
                       "in_proportion": str(books.breakage_in_proportion)}, separators=(",", ":"))


def books_of_json(text: str) -> Books:
    state = json.loads(text)
    return Books(int(state["points"]), Decimal(state["liability"]), [(str(day), int(points))
                                                                     for day, points in state["issued"]],
                 int(state["expired"]), Decimal(state["redeemed_value"]), Decimal(state["in_proportion"]))


def days_json(days: list[tuple[str, Period]]) -> str:
    return json.dumps([[day, {"points_opening": period.points_opening, "issued": period.issued,
                              "redeemed": period.redeemed, "expired": period.expired, "adjusted": period.adjusted,
                              "opening": str(period.opening), "deferred": str(period.deferred),
                              "recognized_redemption": str(period.recognized_redemption),
                              "recognized_breakage": str(period.recognized_breakage),
                              "breakage_rate": str(period.breakage_rate)}] for day, period in days],
                      separators=(",", ":"))


def days_of_json(text: str) -> list[tuple[str, Period]]:
    return [(str(day), Period(int(found["points_opening"]), int(found["issued"]), int(found["redeemed"]),
                              int(found["expired"]), int(found["adjusted"]), Decimal(found["opening"]),
                              Decimal(found["deferred"]), Decimal(found["recognized_redemption"]),
                              Decimal(found["recognized_breakage"]), Decimal(found["breakage_rate"])))
            for day, found in json.loads(text)]


def breakage_rate(books: Books, day: str, method: str, rate: Decimal | None, window_days: int | None) -> Decimal:
    """The rate in force: fixed; or historical, expired to date over issued before the expiry window (the
    cohorts that had all their time to be redeemed), `rate` (else 0) while there are none."""
    fallback = rate if rate is not None else Decimal(0)
    if method != "historical" or not window_days:
        return fallback
    cutoff = (date.fromisoformat(day) - timedelta(days=window_days)).isoformat()
    matured = sum(points for issued_day, points in books.issued_to_date if issued_day < cutoff)
    if matured <= 0:
        return fallback
    return min(Decimal("0.9999"), (Decimal(books.expired_to_date) / Decimal(matured)).quantize(Decimal("0.0001")))


def close_day(books: Books, flows: DayFlows, *, ssp_now: Decimal, rate: Decimal, minor: Decimal) -> Period:
    """One day's columns, and the books moved on past it."""
    def money(value: Decimal) -> Decimal:
        return value.quantize(minor, ROUND_HALF_EVEN)

    period = Period(points_opening=books.points, issued=flows.issued + flows.unpriced, redeemed=flows.redeemed,
                    expired=flows.expired, adjusted=flows.adjusted, opening=books.liability, breakage_rate=rate)
    value_issued = Decimal(flows.deferred_e6) * E6 + Decimal(flows.unpriced) * ssp_now
    points_after_issue = books.points + period.issued
    carrying = (books.liability + value_issued) / points_after_issue if points_after_issue > 0 else ssp_now
    period.deferred = money(value_issued + Decimal(period.adjusted) * carrying)
    available = max(period.opening + period.deferred, Decimal(0))
    period.recognized_redemption = min(available, money(Decimal(flows.redeemed) * carrying))
    # Expected breakage in proportion to redemptions, at today's rate over every redemption so far (a changed
    # estimate is caught up at once), and what remains of the points that expired today.
    books.redeemed_value_to_date += Decimal(flows.redeemed) * carrying
    target = books.redeemed_value_to_date * rate / (Decimal(1) - rate)
    proportional = money(target - books.breakage_in_proportion)
    expired = money(Decimal(flows.expired) * carrying)
    # Never more than the liability holds: what could not be recognized is caught up on a later day.
    period.recognized_breakage = min(proportional + expired, available - period.recognized_redemption)
    books.breakage_in_proportion += period.recognized_breakage - expired
    books.points = period.points_closing
    books.liability = period.closing
    if period.issued:
        books.issued_to_date.append((flows.day, period.issued))
    books.expired_to_date += flows.expired
    return period


def month_of(days: Iterable[Period]) -> Period:
    """A month's columns from its days' (in order)."""
    found = list(days)
    month = Period(points_opening=found[0].points_opening if found else 0,
                   opening=found[0].opening if found else Decimal(0),
                   breakage_rate=found[-1].breakage_rate if found else Decimal(0))
    for day in found:
        month.issued += day.issued
        month.redeemed += day.redeemed
        month.expired += day.expired
        month.adjusted += day.adjusted
        month.deferred += day.deferred
        month.recognized_redemption += day.recognized_redemption
        month.recognized_breakage += day.recognized_breakage
    return month


@dataclass(frozen=True)
class JournalLine:
    day: str
    account: str
    debit: Decimal
    credit: Decimal
    memo: str


def journal(day: str, period: Period) -> list[JournalLine]:
    """A day's postings: every movement as a debit and a credit of the same amount (each day balances)."""
    lines: list[JournalLine] = []
    zero = Decimal(0)

    def post(debit: str, credit: str, amount: Decimal, memo: str) -> None:
        if amount > 0:
            lines.append(JournalLine(day, ACCOUNTS[debit], amount, zero, memo))
            lines.append(JournalLine(day, ACCOUNTS[credit], zero, amount, memo))
        elif amount < 0:
            post(credit, debit, -amount, memo + " (reversal)")

    post("sales", "liability", period.deferred, "points issued: revenue deferred")
    post("liability", "redemption", period.recognized_redemption, "points redeemed: revenue recognized")
    post("liability", "breakage", period.recognized_breakage, "expected breakage and expired points recognized")
    return lines
