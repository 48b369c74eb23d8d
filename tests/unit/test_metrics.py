"""Metrics formulas over the daily aggregates, fed through the same per-record contributions."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from loyalty.domain import metrics as m


class Ledger:
    """Builds stream images the way the API writes them and folds them into day counters."""

    def __init__(self) -> None:
        self.aggregates: dict[m.ItemKey, Counter[str]] = {}
        self.last_activity: dict[str, str] = {}
        self.purchase_days: dict[str, list[str]] = {}
        self.sku_days: dict[str, dict[str, str]] = {}
        self.sequence = 0

    def _fold(self, sk: str, member: str, image: dict) -> None:
        self.sequence += 1
        m.merge(self.aggregates, m.contributions("INSERT", {"pk": f"MEMBER#{member}", "sk": sk}, image))

    def enroll(self, member: str, day: date, tier: str = "Bronze") -> None:
        self._fold("PROFILE", member, {"enrolled_day": day.isoformat(), "tier": tier})
        self.last_activity[member] = day.isoformat()

    def activity(self, member: str, day: date, kind: str = "action", points: int = 10, **extra: object) -> None:
        image = {"type": kind, "points": Decimal(points), "day": day.isoformat(),
                 "previous_activity_day": self.last_activity.get(member), "source": json.dumps(extra.pop("source", {})),
                 **extra}
        self._fold(f"ENTRY#{self.sequence}", member, image)
        self.last_activity[member] = max(self.last_activity.get(member, ""), day.isoformat())

    def purchase(self, member: str, day: date, skus: list[str], amount: str = "10.00") -> None:
        facts, self.purchase_days[member], self.sku_days[member] = m.purchase_facts(
            self.purchase_days.get(member, []), self.sku_days.get(member, {}), day.isoformat(), skus)
        self.activity(member, day, "earn", 100, source={"order_id": f"o{self.sequence}"}, amount=amount,
                      facts=json.dumps(facts.as_dict()))

    @property
    def days(self) -> dict[str, dict[str, int]]:
        return {key[1]: dict(counters) for key, counters in self.aggregates.items() if key[0] == m.DAYS_PK}


F = date(2026, 3, 1)
T = date(2026, 3, 31)


def test_seed_example_retention_is_point_88() -> None:
    # Given 150 members active at the start of March, 18 of whom lapse, and 30 who join during March
    ledger = Ledger()
    for number in range(132):
        ledger.enroll(f"stay{number}", date(2025, 12, 1))
        ledger.activity(f"stay{number}", F - timedelta(days=10))
    for number in range(18):
        ledger.enroll(f"lapse{number}", date(2025, 12, 1))
        ledger.activity(f"lapse{number}", date(2025, 12, 15))
    for number in range(30):
        ledger.enroll(f"new{number}", date(2026, 3, 10))
    # When March is summarized
    members = m.retention(ledger.days, m.Period(F, T))
    # Then start 150, end 162, 30 new, 132 retained: (162 - 30) / 150 = 0.88
    assert members == {"start": 150, "end": 162, "new": 30, "retained": 132}
    assert m.rate(members["retained"], members["start"]) == "0.88"


def test_seed_example_churn() -> None:
    ledger = Ledger()
    for number in range(550):
        ledger.enroll(f"stay{number}", date(2025, 12, 1))
        ledger.activity(f"stay{number}", F - timedelta(days=10))
    for number in range(50):
        ledger.enroll(f"gone{number}", date(2025, 12, 1))
        ledger.activity(f"gone{number}", date(2025, 12, 15))
    members = m.retention(ledger.days, m.Period(F, T))
    assert (members["start"], members["end"], members["new"]) == (600, 550, 0)
    retention = Decimal(m.rate(members["retained"], members["start"]) or 0)
    assert 1 - retention == Decimal(m.rate(50, 600) or 0)  # (600 - 550) / 600


def test_a_member_who_comes_back_is_not_retained() -> None:
    ledger = Ledger()
    ledger.enroll("back", date(2025, 10, 1))  # last active long before the window of 1 March
    ledger.activity("back", F + timedelta(days=5))
    ledger.enroll("steady", date(2026, 2, 20))
    members = m.retention(ledger.days, m.Period(F, T))
    assert members == {"start": 1, "end": 2, "new": 0, "retained": 1}


def test_active_members_per_day_count_each_member_once() -> None:
    ledger = Ledger()
    ledger.enroll("a", date(2026, 1, 1))
    for offset in range(0, 200, 7):
        ledger.activity("a", date(2026, 1, 1) + timedelta(days=offset))
    assert all(m.active_on(ledger.days, date(2026, 1, 1) + timedelta(days=d)) == 1 for d in range(0, 280, 13))
    assert m.active_on(ledger.days, date(2026, 1, 1) + timedelta(days=196 + 90)) == 0


def test_purchasers_repeat_buyers_and_upsell() -> None:
    ledger = Ledger()
    for member in ("one", "two", "three", "four"):
        ledger.enroll(member, date(2026, 1, 1))
    ledger.purchase("one", F + timedelta(days=1), ["A"])
    ledger.purchase("one", F + timedelta(days=2), ["B"])  # repeat and upsell
    ledger.purchase("two", F - timedelta(days=5), ["A"])
    ledger.purchase("two", F + timedelta(days=3), ["B"])  # one purchase in March: neither
    ledger.purchase("three", F + timedelta(days=4), ["A", "B"])  # one purchase, two SKUs: upsell only
    ledger.purchase("four", F + timedelta(days=4), ["A"])
    ledger.purchase("four", F + timedelta(days=9), ["A"])
    ledger.purchase("four", F + timedelta(days=20), ["A"])  # repeat, one SKU
    counts = m.purchase_counts(ledger.days, m.Period(F, T))
    assert counts["purchases"] == 7
    assert counts["purchasers"] == 4
    assert counts["repeat_purchasers"] == 2
    assert counts["upsell_members"] == 2
    assert counts["revenue_e4"] == 7 * 100000


@pytest.mark.parametrize(("image", "why"), [
    ({"type": "earn", "points": "abc", "day": "2026-03-01"}, "points not a number"),
    ({"type": "earn", "points": Decimal(5), "day": "yesterday"}, "day not a date"),
    ({"points": Decimal(5), "day": "2026-03-01"}, "no type"),
    ({"type": "earn", "points": Decimal(5), "day": "2026-03-01", "lots": "{broken"}, "broken JSON"),
])
def test_unreadable_entries_are_poison(image: dict, why: str) -> None:
    with pytest.raises(m.PoisonRecord):
        m.contributions("INSERT", {"pk": "MEMBER#x", "sk": "ENTRY#1"}, image)


def test_records_that_are_not_ledger_inserts_add_nothing() -> None:
    assert m.contributions("MODIFY", {"pk": "MEMBER#x", "sk": "PROFILE"}, {"tier": "Gold"}) == {}
    assert m.contributions("INSERT", {"pk": "ORDER#1", "sk": "ORDER"}, {"points": 5}) == {}
    assert m.contributions("REMOVE", {"pk": "MEMBER#x", "sk": "ENTRY#1"}, None) == {}


def test_ltv_nps_and_rates() -> None:
    assert m.rate(0, 10) == "0.0"
    assert m.rate(1, 3) == "0.3333"
    assert m.rate(5, 0) is None
    assert m.nps(6, 2, 2) == {"responses": 10, "promoters": 6, "passives": 2, "detractors": 2, "score": 40.0}
    # 20.00 per order, 2 orders per member in a 365-day period, half the members stay: 2 years
    assert m.ltv(Decimal(20), 200, 100, Decimal("0.5"), 365) == Decimal(80)
    assert m.ltv(Decimal(20), 0, 0, None, 30) == 0


def test_keeping_two_skus_gives_the_facts_a_full_sku_history_gives() -> None:
    # Given random purchase histories (with back-dated purchases), replayed once against an unbounded
    # SKU history computed here and once through purchase_facts, which keeps two SKUs
    import random
    from datetime import timedelta as days_after

    rng = random.Random(9)
    for _ in range(200):
        full: dict[str, str] = {}
        kept: dict[str, str] = {}
        purchase_days: list[str] = []
        moment = date(2026, 1, 1)
        for _ in range(rng.randrange(1, 30)):
            moment += days_after(days=rng.choice([0, 1, 3, 40, 400]))
            day = (moment - days_after(days=rng.choice([0, 0, 0, 5]))).isoformat()
            skus = rng.sample(["a", "b", "c", "d", "e"], rng.randrange(1, 4))
            before = sorted(full.values(), reverse=True)
            for sku in skus:
                full[sku] = max(full.get(sku, ""), day)
            after = sorted(full.values(), reverse=True)
            # When the purchase is recorded
            facts, purchase_days, kept = m.purchase_facts(purchase_days, kept, day, skus)
            # Then the upsell facts equal the unbounded history's, up to the horizon, and two SKUs are kept
            horizon = (date.fromisoformat(day) - days_after(days=m.MAX_PERIOD_DAYS + 1)).isoformat()

            def seen(values: list[str], horizon: str = horizon) -> str | None:
                second = values[1] if len(values) > 1 else None
                return second if second is not None and second >= horizon else None

            def within(value: str | None, horizon: str = horizon) -> str | None:
                return value if value is not None and value >= horizon else None

            assert within(facts.upsell_day) == seen(after)
            assert within(facts.previous_upsell_day) == seen(before)
            assert len(kept) <= m.SKUS_KEPT
