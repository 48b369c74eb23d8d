"""Rules of the mechanics: the wheel follows its weights (chi-square), membership periods, vouchers."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from loyalty.domain.mechanics import add_period, choose_voucher, draw
from loyalty.domain.program import SpinPrize, Voucher

PRIZES = [SpinPrize(prize_id="p500", kind="points", points=500, weight=1),
          SpinPrize(prize_id="p50", kind="points", points=50, weight=10),
          SpinPrize(prize_id="tote", kind="reward", reward_id="tote-bag", weight=4),
          SpinPrize(prize_id="nothing", kind="nothing", weight=35)]
# The 0.999 quantile of chi-square with 3 degrees of freedom: a fair wheel exceeds it once in 1,000 runs.
CHI_SQUARE_3_DF_999 = 16.266


def test_the_wheel_draws_in_proportion_to_the_weights() -> None:
    rng = random.Random(20261122)  # injected and seeded: the same draws every run
    spins = 50_000
    seen = Counter(draw(PRIZES, rng).prize_id for _ in range(spins))
    total = sum(prize.weight for prize in PRIZES)
    statistic = sum((seen[prize.prize_id] - spins * prize.weight / total) ** 2 / (spins * prize.weight / total)
                    for prize in PRIZES)
    assert statistic < CHI_SQUARE_3_DF_999, (statistic, seen)


def test_a_loaded_wheel_fails_the_same_test() -> None:
    # The check has teeth: a draw that ignores the weights is caught.
    rng = random.Random(1)
    seen = Counter(rng.choice(PRIZES).prize_id for _ in range(50_000))
    total = sum(prize.weight for prize in PRIZES)
    statistic = sum((seen[p.prize_id] - 50_000 * p.weight / total) ** 2 / (50_000 * p.weight / total) for p in PRIZES)
    assert statistic > CHI_SQUARE_3_DF_999


def test_membership_periods_end_on_the_same_day_next_month_or_year() -> None:
    assert add_period(date(2026, 1, 31), "month") == date(2026, 2, 28)
    assert add_period(date(2026, 11, 22), "month") == date(2026, 12, 22)
    assert add_period(date(2026, 12, 5), "month") == date(2027, 1, 5)
    assert add_period(date(2024, 2, 29), "year") == date(2025, 2, 28)


def test_visit_vouchers_follow_preferences() -> None:
    vouchers = [Voucher(voucher_id="coffee", name="Coffee", tags=["coffee"]),
                Voucher(voucher_id="tea", name="Tea", tags=["tea"]),
                Voucher(voucher_id="cookie", name="Cookie")]
    rng = random.Random(3)
    assert {choose_voucher(vouchers, {"tea"}, rng).voucher_id for _ in range(50)} == {"tea"}
    assert {choose_voucher(vouchers, set(), rng).voucher_id for _ in range(50)} == {"cookie"}
