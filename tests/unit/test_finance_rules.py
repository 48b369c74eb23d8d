"""Deferred revenue's rules without AWS: the identities every day and month keep, breakage in proportion to
redemptions with a changed estimate caught up cumulatively, expired points' remaining value, the journal."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from loyalty.domain import finance

CENT = Decimal("0.01")


def run(days: list[finance.DayFlows], rate: Decimal = Decimal("0.2"), ssp: Decimal = CENT) -> tuple[
        list[finance.Period], finance.Books]:
    books = finance.Books()
    return [finance.close_day(books, day, ssp_now=ssp, rate=rate, minor=CENT) for day in days], books


def issue(day: str, points: int, ssp: str = "0.01") -> finance.DayFlows:
    return finance.DayFlows(day, points=points, issued=points, deferred_e6=int(Decimal(ssp) * points * 10**6))


def test_every_day_keeps_the_identities_and_the_next_opens_where_it_closed() -> None:
    # Given points issued, redeemed, expired, clawed back and corrected over some days
    days = [issue("2026-01-01", 10_000), finance.DayFlows("2026-01-02", points=-2_000, redeemed=2_000),
            finance.DayFlows("2026-01-03", points=-500, expired=500),
            finance.DayFlows("2026-01-04", points=-300),  # a return's claw-back
            issue("2026-01-05", 4_000, "0.02"), finance.DayFlows("2026-01-06", points=-1_000, redeemed=1_000)]
    periods, books = run(days)
    for before, after in pairwise(periods):
        assert after.opening == before.closing and after.points_opening == before.points_closing
    for period in periods:
        assert period.closing == (period.opening + period.deferred - period.recognized_redemption
                                  - period.recognized_breakage)
        assert period.closing >= 0
    # Then the points tie: what is outstanding is what moved
    assert books.points == sum(day.points for day in days) == 10_200
    # And a month is the sum of its days
    month = finance.month_of(periods)
    assert month.closing == periods[-1].closing and month.points_closing == books.points
    assert month.adjusted == -300 and month.issued == 14_000


def test_breakage_is_recognized_in_proportion_and_all_of_it_once_everything_expected_is_redeemed() -> None:
    # Given 10,000 points at a cent (100.00 deferred) with 20% expected breakage
    periods, books = run([issue("2026-01-01", 10_000), finance.DayFlows("2026-01-02", points=-8_000,
                                                                        redeemed=8_000)])
    # When the 80% expected to be redeemed are, Then the whole 100.00 is recognized: 80 redeemed, 20 breakage
    assert periods[1].recognized_redemption == Decimal("80.00")
    assert periods[1].recognized_breakage == Decimal("20.00")
    assert books.liability == 0


def test_a_changed_estimate_is_caught_up_cumulatively() -> None:
    books = finance.Books()
    days = [issue("2026-01-01", 10_000), finance.DayFlows("2026-01-02", points=-4_000, redeemed=4_000)]
    first = [finance.close_day(books, day, ssp_now=CENT, rate=Decimal("0.2"), minor=CENT) for day in days]
    assert first[1].recognized_breakage == Decimal("10.00")  # 40.00 redeemed x 0.2 / 0.8
    # When the estimate falls to 0.1 with the next redemption, Then breakage to date is brought to the new
    # estimate at once: 40.00 + 8.33 redeemed so far (the 6,000 points left carry 50.00), x 0.1 / 0.9 = 5.37,
    # 4.63 less than recognized
    again = finance.close_day(books, finance.DayFlows("2026-01-03", points=-1_000, redeemed=1_000), ssp_now=CENT,
                              rate=Decimal("0.1"), minor=CENT)
    assert again.recognized_breakage < 0
    assert books.breakage_in_proportion.quantize(CENT) == Decimal("5.37")
    assert again.recognized_breakage == Decimal("-4.63")


def test_expired_points_recognize_what_remains_of_theirs() -> None:
    periods, books = run([issue("2026-01-01", 1_000), finance.DayFlows("2026-01-02", points=-1_000,
                                                                       expired=1_000)], rate=Decimal(0))
    assert periods[1].recognized_breakage == Decimal("10.00") and books.liability == 0


def test_the_historical_rate_is_expired_over_issued_before_the_window() -> None:
    books = finance.Books(issued_to_date=[("2025-02-10", 1_000), ("2025-12-20", 5_000)], expired_to_date=250)
    assert finance.breakage_rate(books, "2026-01-31", "historical", None, 365) == Decimal(0)  # none matured
    assert finance.breakage_rate(books, "2026-02-15", "historical", None, 365) == Decimal("0.25")
    assert finance.breakage_rate(books, "2026-02-15", "fixed", Decimal("0.15"), 365) == Decimal("0.15")


def test_each_journal_day_balances() -> None:
    periods, _ = run([issue("2026-01-01", 10_000), finance.DayFlows("2026-01-02", points=-3_000, redeemed=3_000)])
    for number, period in enumerate(periods):
        lines = finance.journal(f"2026-01-0{number + 1}", period)
        assert lines and sum(line.debit for line in lines) == sum(line.credit for line in lines)
        assert {line.account for line in lines} <= set(finance.ACCOUNTS.values())
