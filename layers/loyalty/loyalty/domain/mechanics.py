"""Rules of the well-known program mechanics: the prize wheel, membership periods, visit vouchers."""

from __future__ import annotations

import calendar
import random
from datetime import date

from loyalty.domain.program import SpinPrize, Voucher


def draw(prizes: list[SpinPrize], rng: random.Random) -> SpinPrize:
    """A prize with probability weight / total weight. Pass secrets.SystemRandom() in production."""
    total = sum(prize.weight for prize in prizes)
    ticket = rng.randrange(total)
    for prize in prizes:
        if ticket < prize.weight:
            return prize
        ticket -= prize.weight
    raise AssertionError("unreachable: the tickets cover the total weight")


def add_period(start: date, period: str, count: int = 1) -> date:
    """The same day `count` months or years later (the 31st becomes the month's last day)."""
    months = count * (12 if period == "year" else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def choose_voucher(vouchers: list[Voucher], preferences: set[str], rng: random.Random) -> Voucher:
    """A voucher the member will like: one whose tags meet its preferences, else one for everyone."""
    liked = [voucher for voucher in vouchers if any(tag.lower() in preferences for tag in voucher.tags)]
    generic = [voucher for voucher in vouchers if not voucher.tags]
    return rng.choice(liked or generic or vouchers)
