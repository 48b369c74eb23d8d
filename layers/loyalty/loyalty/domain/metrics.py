"""Aggregated metrics: what each ledger record adds to the daily aggregates, and the period formulas.

Everything is additive integer counters, so a batch can be pre-aggregated in memory and written once
per metric key, and any period is a sum of days. Counts of distinct members over an arbitrary period
(active, retained, purchasers, repeat buyers, upsell) come from histograms of "the member's previous
such day" that the API path records on each entry:

* active on day D = members whose first activity inside the 90-day window [D-89, D] happened there:
  sum over days d in the window of events whose previous activity day is before D-89.
* purchasers in [F, T] = purchases in the period whose previous purchase day is before F; repeat buyers
  = purchases whose previous purchase is in the period, minus those whose second-previous one is; upsell
  (more than one distinct SKU in the period) likewise from the day the member's second most recent SKU
  was bought, before and after the purchase.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from loyalty.domain.entries import ACTIVITY_TYPES, ISSUING_TYPES, is_pool

ACTIVITY_WINDOW_DAYS = 90
# The longest period GET /admin/metrics answers; purchase histograms keep exact days this far back.
MAX_PERIOD_DAYS = 366
NONE = "none"
# How many of a member's most recently bought SKUs the member item keeps (see purchase_facts).
SKUS_KEPT = 2
OLD = "old"

DAYS_PK = "DAYS"
LIABILITY_KEY = ("GLOBAL", "LIABILITY")
# Counter names with a key in them: outstanding points by lot (expiry day), points funded by promotion.
LOT_COUNTER = "lot:"
PROMOTION_COUNTER = "promotion:"

ItemKey = tuple[str, str]


def settlement_key(partner_id: str, month: str) -> ItemKey:
    """The logical item of what a partner funds in a month (YYYY-MM of the program's time zone)."""
    return f"PARTNER#{partner_id}", f"MONTH#{month}"


class PoisonRecord(ValueError):
    """A stream record the processor cannot understand: reported, never retried into the aggregates."""


# --- the API side: facts each purchase records for the period histograms ---------------------------


@dataclass(frozen=True)
class PurchaseFacts:
    previous_purchase: str | None
    second_previous_purchase: str | None
    upsell_day: str | None
    previous_upsell_day: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"p1": self.previous_purchase, "p2": self.second_previous_purchase,
                "u1": self.upsell_day, "u0": self.previous_upsell_day}


def _second_latest(days: dict[str, str]) -> str | None:
    """The day the member's second most recently bought SKU was last bought (None with fewer than 2)."""
    ordered = sorted(days.values(), reverse=True)
    return ordered[1] if len(ordered) > 1 else None


def purchase_facts(purchase_days: list[str], sku_days: dict[str, str], day: str,
                   skus: list[str]) -> tuple[PurchaseFacts, list[str], dict[str, str]]:
    """The facts of a purchase on `day` and the member's updated purchase days and SKU days."""
    previous = sorted(purchase_days, reverse=True)
    updated_skus = dict(sku_days)
    for sku in skus:
        if updated_skus.get(sku, "") < day:
            updated_skus[sku] = day
    horizon = (date.fromisoformat(day) - timedelta(days=MAX_PERIOD_DAYS + 1)).isoformat()
    # Only the two most recently bought SKUs are kept: the facts need the second latest day alone, and
    # after any later purchase the two latest are still among these two and the SKUs of that purchase
    # (a SKU not kept was last bought no later than both kept ones). So the member item stays bounded.
    updated_skus = dict(sorted(
        ((sku, seen) for sku, seen in updated_skus.items() if seen >= horizon), key=lambda kv: (kv[1], kv[0]),
        reverse=True,
    )[:SKUS_KEPT])
    facts = PurchaseFacts(
        previous_purchase=previous[0] if previous else None,
        second_previous_purchase=previous[1] if len(previous) > 1 else None,
        upsell_day=_second_latest(updated_skus),
        previous_upsell_day=_second_latest(sku_days),
    )
    return facts, sorted([*previous, day], reverse=True)[:2], updated_skus


# --- the stream side: what a record adds ------------------------------------------------------------


def _bucket(previous: str | None, day: str, keep_days: int) -> str:
    if not previous:
        return NONE
    if previous < (date.fromisoformat(day) - timedelta(days=keep_days - 1)).isoformat():
        return OLD
    return previous


def json_attribute(value: Any, default: Any) -> Any:
    """A record's JSON attribute, plain (`default` when absent); unreadable text makes the record poison."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise PoisonRecord(f"unreadable JSON attribute: {value[:80]!r}") from exc
    return value


def _int(value: Any, name: str) -> int:
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:
        raise PoisonRecord(f"{name} is not a number: {value!r}") from exc
    if number != number.to_integral_value():
        raise PoisonRecord(f"{name} is not an integer: {value!r}")
    return int(number)


def _day(value: Any, name: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise PoisonRecord(f"{name} is not a day: {value!r}") from exc


def contributions(event_name: str, keys: dict[str, Any], new: dict[str, Any] | None) -> dict[ItemKey, Counter[str]]:
    """What one stream record adds to which aggregate item. Raises PoisonRecord for records that
    claim to be members or ledger entries but cannot be read."""
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    if event_name != "INSERT" or not new:
        return {}
    if pk.startswith("CLAIMFAIL#") and new.get("day"):
        return {(DAYS_PK, _day(new["day"], "day")): Counter({"code_claim_failures": 1})}
    if not pk.startswith("MEMBER#"):
        return {}
    if sk == "PROFILE":
        return {} if is_pool(pk.removeprefix("MEMBER#")) else _enrollment(new)
    if sk.startswith("ENTRY#"):
        return _entry(new, pool=is_pool(pk.removeprefix("MEMBER#")))
    return {}


def _enrollment(member: dict[str, Any]) -> dict[ItemKey, Counter[str]]:
    day = _day(member.get("enrolled_day") or str(member.get("enrolled_at", ""))[:10], "enrolled_day")
    counters: Counter[str] = Counter({"new_members": 1, f"act:{NONE}": 1, f"tier:{member.get('tier')}": 1})
    if member.get("referred_by"):
        counters["referrals:signed_up"] += 1
    return {(DAYS_PK, day): counters}


def _entry(entry: dict[str, Any], *, pool: bool = False) -> dict[ItemKey, Counter[str]]:
    kind = str(entry.get("type", ""))
    if not kind:
        raise PoisonRecord("ledger entry without a type")
    points = _int(entry.get("points", 0), "points")
    day = _day(entry.get("day"), "day")
    recorded_day = _day(entry.get("recorded_day") or day, "recorded_day")
    source = json_attribute(entry.get("source"), {})
    counters: Counter[str] = Counter()
    liability: Counter[str] = Counter()
    pending = entry.get("status") == "pending"
    if pending:
        # Points held for pending_days: not spendable, not issued until their release entry.
        counters["points_pending"] += points
        liability["pending"] += points
        if kind == "return":
            counters["returns"] += 1
    elif kind in ISSUING_TYPES:
        counters["points_issued"] += points
        liability["issued_total"] += points
    elif kind == "redeem":
        counters["points_redeemed"] += -points
        counters["redemptions"] += 1
        liability["redeemed_total"] += -points
    elif kind == "expire":
        counters["points_expired"] += -points
        liability["expired_total"] += -points
    elif kind == "redeem_reversal":
        # A cancelled redemption: redeemed net of it; points whose lot expired meanwhile count as expired.
        details = json_attribute(entry.get("details"), {}) or {}
        lapsed = _int(details.get("points_not_returned", 0), "points_not_returned")
        counters["points_redeemed"] -= points + lapsed
        counters["redemptions"] -= 1
        counters["redemptions_cancelled"] += 1
        counters["points_expired"] += lapsed
        liability["redeemed_total"] -= points + lapsed
        liability["expired_total"] += lapsed
    elif kind == "import":
        # A migrated opening balance: outstanding (below), but not issued by the program.
        counters["points_imported"] += points
        liability["imported_total"] += points
    elif kind == "transfer_out":
        counters["points_transferred"] += -points
        counters["transfers"] += 1
    elif kind == "return":
        counters["points_returned"] += -points
        counters["returns"] += 1
    elif kind == "adjust":
        counters["points_adjusted_in" if points > 0 else "points_adjusted_out"] += abs(points)
    if not pending:
        liability["outstanding"] += points
        for lot, amount in (json_attribute(entry.get("lots"), {}) or {}).items():
            liability[f"{LOT_COUNTER}{lot}"] += _int(amount, "lots") * (1 if points >= 0 else -1)
    finance = _finance(entry, kind, points, pending)
    if kind == "earn" and source.get("order_id"):
        counters["purchases"] += 1
        try:
            amount = Decimal(str(entry.get("amount") or "0"))
        except ArithmeticError as exc:
            raise PoisonRecord(f"amount is not a decimal: {entry.get('amount')!r}") from exc
        # Revenue in ten-thousandths of the program currency: exact for every minor unit in use.
        revenue_e4 = int(amount.scaleb(4).to_integral_value(ROUND_HALF_EVEN))
        counters["revenue_e4"] += revenue_e4
        facts = json_attribute(entry.get("facts"), {}) or {}
        counters[f"p1:{_bucket(facts.get('p1'), day, MAX_PERIOD_DAYS + 1)}"] += 1
        counters[f"p2:{_bucket(facts.get('p2'), day, MAX_PERIOD_DAYS + 1)}"] += 1
        counters[f"u1:{_bucket(facts.get('u1'), day, MAX_PERIOD_DAYS + 1)}"] += 1
        counters[f"u0:{_bucket(facts.get('u0'), day, MAX_PERIOD_DAYS + 1)}"] += 1
        if facts.get("referral_conversion"):
            counters["referrals:converted"] += 1
    if kind == "action" and source.get("action"):
        counters[f"engagement:{source['action']}"] += 1
    if kind == "donation":
        counters["points_donated"] += -points
        counters[f"donations:{source.get('cause_id')}"] += -points
    if kind == "challenge" and source.get("challenge_id"):
        counters[f"challenges:{source['challenge_id']}"] += 1
    if kind == "streak" and source.get("streak_id"):
        counters[f"streaks:{source['streak_id']}"] += 1
    if kind == "spin":
        counters["spins"] += 1
    if kind == "visit":
        counters["visits"] += 1
    if kind == "membership":
        counters[f"memberships:{json_attribute(entry.get('details'), {}).get('action')}"] += 1
    if kind == "referral_invite":
        counters["referrals:invited"] += _int(json_attribute(entry.get("details"), {}).get("count", 1), "count")
    if kind == "return" and not pending:
        refund = (json_attribute(entry.get("details"), {}) or {}).get("refund") or {}
        counters["refunds"] += 1 if refund else 0
    if kind == "feedback":
        score = _int(json_attribute(entry.get("details"), {}).get("score"), "score")
        bucket = "promoters" if score >= 9 else "passives" if score >= 7 else "detractors"
        counters[f"nps:{bucket}"] += 1
    if kind == "tier_change" and pool:
        return {}  # a household pool's tier: no member moved between tiers
    if kind == "tier_change":
        details = json_attribute(entry.get("details"), {})
        tier_counters: Counter[str] = Counter({f"tier:{details.get('to')}": 1, f"tier:{details.get('from')}": -1})
        tier_counters["tier_changes"] += 1
        result = {(DAYS_PK, day): counters, (DAYS_PK, recorded_day): Counter()}
        result[(DAYS_PK, recorded_day)].update(tier_counters)
        return {key: value for key, value in result.items() if value}
    if kind in ACTIVITY_TYPES and not pool:  # a household's pool is no member: its spends are nobody's activity
        previous = entry.get("previous_activity_day")
        counters[f"act:{_bucket(previous, day, ACTIVITY_WINDOW_DAYS)}"] += 1
        if previous and previous < (date.fromisoformat(day) - timedelta(days=ACTIVITY_WINDOW_DAYS - 1)).isoformat():
            counters[f"react:{_day(previous, 'previous_activity_day')}"] += 1
    result = {(DAYS_PK, day): counters}
    # The finance counters go on the day the entry was recorded: a closed month's books never change.
    if recorded_day == day:
        counters.update(finance)
    elif finance:
        result[(DAYS_PK, recorded_day)] = finance
    if liability:
        result[LIABILITY_KEY] = liability
    purchase = kind == "earn" and bool(source.get("order_id"))
    if purchase or kind == "bonus":
        reports = _campaign_reports((json_attribute(entry.get("facts"), {}) or {}).get("campaigns") or {},
                                    _revenue_e4(entry) if purchase else 0, purchase=purchase)
        for campaign_id, report in reports.items():
            result[(f"CAMPAIGN#{campaign_id}", "REPORT")] = report
        counters["points_campaign"] += sum(int(report["points_awarded"]) for report in reports.values())
    partner_id = source.get("partner_id")
    if partner_id and kind in ("partner_earn", "promo") and not pending:
        # Settlement: what each partner funds per month (of the program's time zone).
        funded: Counter[str] = Counter({"points_funded": points, "entries": 1})
        if source.get("promotion_id"):
            funded[f"{PROMOTION_COUNTER}{source['promotion_id']}"] += points
        result[settlement_key(partner_id, day[:7])] = funded
    return {key: value for key, value in result.items() if value}


# Deferred revenue (domain.finance): points that moved, by kind, on the day they were recorded, and the revenue
# the issued ones deferred at their recorded SSP, in millionths of the program currency.
FINANCE_COUNTERS = ("fin_points", "fin_issued", "fin_unpriced", "fin_redeemed", "fin_expired", "fin_deferred_e6")


def _finance(entry: dict[str, Any], kind: str, points: int, pending: bool) -> Counter[str]:
    found: Counter[str] = Counter()
    if pending:
        return found  # not outstanding until released (the release entry issues them)
    found["fin_points"] += points
    if points > 0 and (kind in ISSUING_TYPES or kind == "import"):
        ssp = entry.get("ssp")
        if ssp is None:
            found["fin_unpriced"] += points  # written before SSPs were recorded: valued at today's
        else:
            found["fin_issued"] += points
            try:
                found["fin_deferred_e6"] += int((Decimal(str(ssp)) * points).scaleb(6).to_integral_value(
                    ROUND_HALF_EVEN))
            except ArithmeticError as exc:
                raise PoisonRecord(f"ssp is not a decimal: {ssp!r}") from exc
    elif kind == "redeem":
        found["fin_redeemed"] += -points
    elif kind == "expire":
        found["fin_expired"] += -points
    elif kind == "redeem_reversal":
        lapsed = _int((json_attribute(entry.get("details"), {}) or {}).get("points_not_returned", 0),
                      "points_not_returned")
        found["fin_redeemed"] -= points + lapsed
        found["fin_expired"] += lapsed
    return Counter({name: value for name, value in found.items() if value})


def _revenue_e4(entry: dict[str, Any]) -> int:
    try:
        return int(Decimal(str(entry.get("amount") or "0")).scaleb(4).to_integral_value(ROUND_HALF_EVEN))
    except ArithmeticError as exc:
        raise PoisonRecord(f"amount is not a decimal: {entry.get('amount')!r}") from exc


def _campaign_reports(campaigns: dict[str, Any], revenue_e4: int, *, purchase: bool = True) -> dict[str, Counter[str]]:
    """A purchase's part in each matching campaign's report: its group's purchases, revenue and new
    members (g: 1 treated, 0 holdout; m: the member's first purchase in that group), the points awarded
    and the members reached (a: the member's first award)."""
    reports: dict[str, Counter[str]] = {}
    for campaign_id, fact in campaigns.items():
        # [g, m, p, a] as entries record it; {"g":..} as entries written before did.
        g, m, p, a = (fact if isinstance(fact, list) else [fact.get(name, default) for name, default in (
            ("g", 1), ("m", 0), ("p", 0), ("a", 0))])[:4]
        group = "t" if _int(g, "g") else "h"
        reports[str(campaign_id)] = Counter({
            f"{group}_purchases": 1 if purchase else 0, f"{group}_revenue_e4": revenue_e4,
            f"{group}_members": _int(m, "m"), "points_awarded": _int(p, "p"), "members_reached": _int(a, "a")})
    return reports


def merge(into: dict[ItemKey, Counter[str]], more: dict[ItemKey, Counter[str]]) -> None:
    for key, counters in more.items():
        into.setdefault(key, Counter()).update(counters)


# --- the read side: formulas over days -----------------------------------------------------------


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]


def active_on(days: dict[str, dict[str, int]], day: date) -> int:
    """Members active on `day`: first activity inside the window [day-89, day]."""
    start = day - timedelta(days=ACTIVITY_WINDOW_DAYS - 1)
    total = 0
    for key in _days(start, day):
        for name, count in days.get(key, {}).items():
            if name.startswith("act:"):
                bucket = name.removeprefix("act:")
                if bucket in (OLD, NONE) or bucket < start.isoformat():
                    total += count
    return total


def _sum(days: dict[str, dict[str, int]], first: date, last: date, name: str) -> int:
    return sum(days.get(key, {}).get(name, 0) for key in _days(first, last))


def _count_at_least(days: dict[str, dict[str, int]], first: date, last: date, prefix: str, since: str) -> int:
    total = 0
    for key in _days(first, last):
        for name, count in days.get(key, {}).items():
            if name.startswith(prefix):
                bucket = name[len(prefix):]
                if bucket not in (OLD, NONE) and bucket >= since:
                    total += count
    return total


def rate(numerator: int | Decimal, denominator: int | Decimal) -> str | None:
    if not denominator:
        return None
    value = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def retention(days: dict[str, dict[str, int]], period: Period) -> dict[str, int]:
    """start, end, new, retained: exact for periods up to the 90-day activity window (see module doc)."""
    first, last = period.first, period.last
    start = active_on(days, first)
    end = active_on(days, last)
    new = _sum(days, first, last, "new_members")
    joined_after_start = _sum(days, first + timedelta(days=1), last, "new_members") if last > first else 0
    inactive_at_start = (first - timedelta(days=ACTIVITY_WINDOW_DAYS - 1)).isoformat()
    came_back = 0
    for key in _days(first + timedelta(days=1), last) if last > first else []:
        for name, count in days.get(key, {}).items():
            if name.startswith("react:") and name[6:] < inactive_at_start:
                came_back += count
    retained = max(0, min(start, end - joined_after_start - came_back))
    return {"start": start, "end": end, "new": new, "retained": retained}


def purchase_counts(days: dict[str, dict[str, int]], period: Period) -> dict[str, int]:
    since = period.first.isoformat()
    purchases = _sum(days, period.first, period.last, "purchases")
    returning = _count_at_least(days, period.first, period.last, "p1:", since)
    second = _count_at_least(days, period.first, period.last, "p2:", since)
    upsold = _count_at_least(days, period.first, period.last, "u1:", since)
    upsold_before = _count_at_least(days, period.first, period.last, "u0:", since)
    return {
        "purchases": purchases,
        "purchasers": purchases - returning,
        "repeat_purchasers": returning - second,
        "upsell_members": upsold - upsold_before,
        "revenue_e4": _sum(days, period.first, period.last, "revenue_e4"),
    }


def ltv(average_order: Decimal, purchases: int, purchasers: int, retention_rate: Decimal | None,
        period_days: int, max_years: int = 10) -> Decimal:
    """AOV x purchases per member per year x expected lifetime in years (1 / yearly churn, capped)."""
    if not purchasers:
        return Decimal(0)
    per_year = Decimal(purchases) / Decimal(purchasers) * Decimal(365) / Decimal(period_days)
    if retention_rate is None:
        years = Decimal(1)
    else:
        yearly_retention = Decimal(str(float(retention_rate) ** (365 / period_days)))
        churn = Decimal(1) - min(yearly_retention, Decimal(1))
        years = Decimal(max_years) if churn <= 0 else min(Decimal(max_years), Decimal(1) / churn)
    return average_order * per_year * years


def nps(promoters: int, passives: int, detractors: int) -> dict[str, Any]:
    responses = promoters + passives + detractors
    score = None
    if responses:
        score = float((Decimal(promoters - detractors) * 100 / responses).quantize(Decimal("0.1")))
    return {"responses": responses, "promoters": promoters, "passives": passives, "detractors": detractors,
            "score": score}
