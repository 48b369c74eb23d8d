"""GET /admin/metrics and GET /admin/liability: formulas over the aggregates, never a ledger scan."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from loyalty.domain import metrics as m
from loyalty.domain.clock import local_day, utc_now
from loyalty.domain.errors import ValidationFailed
from loyalty.domain.money import format_amount
from loyalty.domain.program import ProgramConfig
from loyalty.services import campaigns
from loyalty.services.context import Caller, Outcome
from loyalty.services.program import config_of
from loyalty.store import aggregates
from loyalty.store import partners as partner_store
from loyalty.store import snapshot as snapshot_store

# The liability report's `expiring_next_30_days` looks this far ahead.
EXPIRING_WITHIN_DAYS = 30


def _money(value: Decimal, config: ProgramConfig) -> dict[str, str]:
    return {"amount": format_amount(value, config.currency), "currency": config.currency}


def _period(first: date | None, last: date | None, today: date) -> m.Period:
    last = last or today
    first = first or last.replace(day=1)
    if first > last:
        raise ValidationFailed("from is after to", errors=[{"field": "from", "in": "query",
                                                             "message": "must not be after to"}])
    if (last - first).days + 1 > m.MAX_PERIOD_DAYS:
        raise ValidationFailed("the period is too long", errors=[{
            "field": "to", "in": "query", "message": f"a period covers at most {m.MAX_PERIOD_DAYS} days"}])
    return m.Period(first, last)


def cumulative_at(day: date, days: dict[str, dict[str, int]], days_from: date | None = None) -> dict[str, int]:
    """Members and tier counts at the end of `day`: the latest snapshot plus the days after it. `days`: the
    day counters already read, every day from `days_from` on (None: none read). Only days that have
    counters are visited: a period far from the program's days costs no more than one near them."""
    snapshot = aggregates.latest_snapshot(day.isoformat())
    totals: dict[str, int] = dict(snapshot[1]) if snapshot else {}
    start = date.fromisoformat(snapshot[0]) + timedelta(days=1) if snapshot else None
    if start is None:
        first = aggregates.first_day()
        start = date.fromisoformat(first) if first else day + timedelta(days=1)
    if start > day:
        return totals
    known = dict(days) if days_from is not None else {}
    read_until = min(day, days_from - timedelta(days=1)) if days_from is not None else day
    if start <= read_until:
        known.update(aggregates.read_days(start.isoformat(), read_until.isoformat()))
    first_key, last_key = start.isoformat(), day.isoformat()
    for key, counters in known.items():
        if first_key <= key <= last_key:
            for name, value in counters.items():
                if name == "new_members" or name.startswith("tier:"):
                    totals[name] = totals.get(name, 0) + value
    return totals


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range(max(0, (last - first).days + 1))]


def summarize(config: ProgramConfig, days: dict[str, dict[str, int]], period: m.Period,
              totals: dict[str, int]) -> dict[str, Any]:
    """The Metrics document of the contract, from the day counters of [first - 89, last]."""
    members = m.retention(days, period)
    retention_rate = m.rate(members["retained"], members["start"])
    churn_rate = None if retention_rate is None else m.rate(
        Decimal(1) - Decimal(retention_rate), Decimal(1))

    def total(name: str) -> int:
        return sum(days.get(d.isoformat(), {}).get(name, 0) for d in _dates(period.first, period.last))

    issued, redeemed = total("points_issued"), total("points_redeemed")
    expired, returned = total("points_expired"), total("points_returned")
    purchases = m.purchase_counts(days, period)
    revenue = Decimal(purchases["revenue_e4"]).scaleb(-4)
    average_order = revenue / purchases["purchases"] if purchases["purchases"] else Decimal(0)
    lifetime_value = m.ltv(average_order, purchases["purchases"], purchases["purchasers"],
                           Decimal(retention_rate) if retention_rate is not None else None, period.days)
    engagement: dict[str, int] = dict.fromkeys(config.actions, 0)
    for d in _dates(period.first, period.last):
        for name, value in days.get(d.isoformat(), {}).items():
            if name.startswith("engagement:"):
                engagement[name.split(":", 1)[1]] = engagement.get(name.split(":", 1)[1], 0) + value
    completions: dict[str, int] = {}
    streak_rewards: dict[str, int] = dict.fromkeys((streak.streak_id for streak in config.streaks), 0)
    for d in _dates(period.first, period.last):
        for name, value in days.get(d.isoformat(), {}).items():
            if name.startswith("challenges:"):
                completions[name.split(":", 1)[1]] = completions.get(name.split(":", 1)[1], 0) + value
            elif name.startswith("streaks:"):
                streak_rewards[name.split(":", 1)[1]] = streak_rewards.get(name.split(":", 1)[1], 0) + value
    tiers = {tier.name: max(0, totals.get(f"tier:{tier.name}", 0)) for tier in config.tiers}
    donations = {cause: {"points": total(f"donations:{cause}"),
                         "value": _money(Decimal(total(f"donations:{cause}")) * config.point_value.value, config)}
                 for cause in config.causes}
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "members": {**members, "total": totals.get("new_members", 0)},
        "retention_rate": retention_rate,
        "churn_rate": churn_rate,
        "points": {"issued": issued, "redeemed": redeemed, "expired": expired, "returned": returned,
                   "adjusted_in": total("points_adjusted_in"), "adjusted_out": total("points_adjusted_out"),
                   "transferred": total("points_transferred"), "campaigns": total("points_campaign")},
        "redemption_rate": m.rate(redeemed, issued) or "0.0",
        "breakage_rate": m.rate(expired, issued) or "0.0",
        "tiers": tiers,
        "engagement": engagement,
        "challenges_completed": dict(sorted(completions.items())),
        "streak_rewards": streak_rewards,
        "nps": m.nps(total("nps:promoters"), total("nps:passives"), total("nps:detractors")),
        "purchases": {"count": purchases["purchases"], "purchasers": purchases["purchasers"],
                      "repeat_purchasers": purchases["repeat_purchasers"],
                      "revenue": _money(revenue, config)},
        "repeat_purchase_rate": m.rate(purchases["repeat_purchasers"], purchases["purchasers"]) or "0.0",
        "upsell_rate": m.rate(purchases["upsell_members"], purchases["purchasers"]) or "0.0",
        "average_order_value": _money(average_order, config),
        "ltv": _money(lifetime_value, config),
        "referrals": {"invited": total("referrals:invited"), "signed_up": total("referrals:signed_up"),
                      "converted": total("referrals:converted")},
        "redemptions": total("redemptions"),
        "redemptions_cancelled": total("redemptions_cancelled"),
        "transfers": total("transfers"),
        "donations": donations,
        "spins": total("spins"),
        "visits": total("visits"),
        "daily": [
            {"date": d.isoformat(),
             "points_issued": days.get(d.isoformat(), {}).get("points_issued", 0),
             "points_redeemed": days.get(d.isoformat(), {}).get("points_redeemed", 0),
             "new_members": days.get(d.isoformat(), {}).get("new_members", 0),
             "active_members": m.active_on(days, d),
             "purchases": days.get(d.isoformat(), {}).get("purchases", 0)}
            for d in _dates(period.first, period.last)
        ],
    }


def get_metrics(caller: Caller, first: date | None, last: date | None) -> Outcome:
    caller.authorize_admin()
    snapshot = snapshot_store.read_snapshot()
    config = config_of(snapshot.program)
    period = _period(first, last, local_day(utc_now(), config.zone))
    window_start = period.first - timedelta(days=m.ACTIVITY_WINDOW_DAYS - 1)
    days = aggregates.read_days(window_start.isoformat(), period.last.isoformat())
    summary = summarize(config, days, period, cumulative_at(period.last, days, window_start))
    summary["partners"] = partner_performance(period)
    summary["campaigns"] = campaigns.performance(snapshot.program, period.first, period.last, config.zone)
    return Outcome(200, summary)


def partner_performance(period: m.Period, limit: int = 100) -> list[dict[str, Any]]:
    """Points each partner funded in the months the period touches (settlement aggregates)."""
    listed, _ = partner_store.list_partners(limit=limit, cursor=None)
    months = sorted({d.isoformat()[:7] for d in _dates(period.first, period.last)})
    # Settlement counters are plain counters (the core part only): every partner's months in one read.
    counters_of = aggregates.read_cores([m.settlement_key(partner.partner_id, month)
                                         for partner in listed for month in months])
    found = []
    for partner in listed:
        funded = 0
        promotions: dict[str, int] = {}
        for month in months:
            counters = counters_of[m.settlement_key(partner.partner_id, month)]
            funded += counters.get("points_funded", 0)
            for name, value in counters.items():
                if name.startswith(m.PROMOTION_COUNTER):
                    promotion_id = name.removeprefix(m.PROMOTION_COUNTER)
                    promotions[promotion_id] = promotions.get(promotion_id, 0) + value
        found.append({"partner_id": partner.partner_id, "name": partner.name, "points_funded": funded,
                      "months": months, "by_promotion": promotions})
    return found


def get_liability(caller: Caller) -> Outcome:
    caller.authorize_admin()
    snapshot = snapshot_store.read_snapshot()
    config = config_of(snapshot.program)
    today = local_day(utc_now(), config.zone)
    totals = aggregates.read_item(m.LIABILITY_KEY)
    horizon = (today + timedelta(days=EXPIRING_WITHIN_DAYS)).isoformat()
    expiring = sum(value for name, value in totals.items()
                   if name.startswith(m.LOT_COUNTER) and name.removeprefix(m.LOT_COUNTER) <= horizon)
    outstanding = totals.get("outstanding", 0)
    issued = totals.get("issued_total", 0)
    return Outcome(200, {
        "outstanding_points": outstanding,
        "outstanding_value": _money(Decimal(outstanding) * config.point_value.value, config),
        "expiring_next_30_days": max(0, expiring),
        "breakage_rate": m.rate(totals.get("expired_total", 0), issued) or "0.0",
        "redeemed_points": totals.get("redeemed_total", 0),
        "issued_points": issued,
        "expired_points": totals.get("expired_total", 0),
        "as_of": today.isoformat(),
        # Purchases whose points exceed what their order's money could earn, as the latest reconciliation
        # found them (None before its first run): points the books hold that nothing paid for.
        "flagged_entries": aggregates.flagged_entries(),
    })
