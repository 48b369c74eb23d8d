"""Reconciliation: every invariant checked from the ledger, the slow and obvious way.

Reads both tables whole (a scheduled job and a local command, never a request path) and recomputes,
per member, the balance, lots, debt, pending and lifetime points, the qualifying days and the
balance_after chain; globally, the member count, every aggregate the stream processor keeps (by
folding every ledger item through the same contributions, as if each were delivered once), the
promotions' budgets and counters, and the orders' refunds.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from loyalty.domain import metrics as m
from loyalty.domain.clock import local_day, utc_now
from loyalty.domain.tiers import window_start
from loyalty.services.program import config_of
from loyalty.store import aggregates, daycounts, repository
from loyalty.store.aggregates import metrics_table_name
from loyalty.store.db import scan
from loyalty.store.models import table_name

EARNING_TYPES = {"earn", "action", "release", "adjust", "partner_earn", "promo", "birthday", "referral", "bonus",
                 "spin"}


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    return json.loads(value) if isinstance(value, str) else value


class Report:
    def __init__(self) -> None:
        self.discrepancies: list[dict[str, Any]] = []
        self.checked: Counter[str] = Counter()

    def expect(self, what: str, subject: str, expected: Any, actual: Any) -> None:
        self.checked[what] += 1
        if expected != actual:
            self.discrepancies.append({"check": what, "subject": subject, "expected": expected, "actual": actual})

    def as_dict(self) -> dict[str, Any]:
        return {"clean": not self.discrepancies, "discrepancies": self.discrepancies[:200],
                "discrepancy_count": len(self.discrepancies), "checked": dict(self.checked)}


def _member_checks(report: Report, member: dict[str, Any], entries: list[dict[str, Any]], today: date,
                   window_days: int) -> None:
    subject = f"member {member['member_id']}"
    entries = sorted(entries, key=lambda entry: entry["entry_id"])
    available = lifetime = pending = 0
    lots: Counter[str] = Counter()
    qualifying: Counter[str] = Counter()
    broken_chain = 0
    for entry in entries:
        points = int(entry["points"])
        if entry.get("status") == "pending":
            pending += points
        else:
            available += points
            if entry["type"] in EARNING_TYPES and points > 0:
                lifetime += points
            if entry["type"] == "release":
                pending -= points
            sign = 1 if points >= 0 else -1
            for lot, amount in _json(entry.get("lots"), {}).items():
                lots[lot] += sign * int(amount)
            if int(entry["balance_after"]) != available:
                broken_chain += 1
        if int(entry.get("qualifying") or 0) and entry.get("qualifying_day"):
            qualifying[entry["qualifying_day"]] += int(entry["qualifying"])
    debt = int(member.get("debt") or 0)
    stored_lots = daycounts.decode_any(member.get("lots"))
    report.expect("available = sum of entries", subject, available, int(member.get("available") or 0))
    report.expect("available = lots - debt", subject, sum(stored_lots.values()) - debt,
                  int(member.get("available") or 0))
    report.expect("lots = lot movements of entries", subject, {k: v for k, v in lots.items() if v},
                  {k: v for k, v in stored_lots.items() if v})
    report.expect("pending = pending entries - releases", subject, pending, int(member.get("pending") or 0))
    report.expect("lifetime = points earned", subject, lifetime, int(member.get("lifetime_earned") or 0))
    report.expect("balance_after follows the ledger", subject, 0, broken_chain)
    first = window_start(today, window_days).isoformat()
    stored_days = {day: points for day, points in daycounts.decode_any(member.get("qualifying_days")).items()
                   if day >= first}
    expected_days = {day: points for day, points in qualifying.items() if day >= first and points}
    report.expect("qualifying days = qualifying entries in the window", subject, expected_days,
                  {day: points for day, points in stored_days.items() if points})


def _enrolled_tiers(items: list[dict[str, Any]]) -> dict[str, str]:
    """Each member's tier when it enrolled: the `from` of its first tier change, if it ever changed."""
    first: dict[str, tuple[str, str]] = {}
    for item in items:
        if item.get("type") == "tier_change" and str(item.get("sk", "")).startswith("ENTRY#"):
            member = item["member_id"]
            if member not in first or item["entry_id"] < first[member][0]:
                first[member] = (item["entry_id"], str(_json(item.get("details"), {}).get("from")))
    return {member: tier for member, (_, tier) in first.items()}


def _aggregate_checks(report: Report, items: list[dict[str, Any]], metrics_items: list[dict[str, Any]]) -> None:
    expected: dict[m.ItemKey, Counter[str]] = {}
    enrolled_tiers = _enrolled_tiers(items)
    for item in items:
        keys = {"pk": item["pk"], "sk": item["sk"]}
        if item.get("sk") == "PROFILE" and item.get("member_id") in enrolled_tiers:
            item = {**item, "tier": enrolled_tiers[item["member_id"]]}  # as the enrollment record had it
        if str(item["pk"]).startswith(("MEMBER#", "CLAIMFAIL#")):
            m.merge(expected, m.contributions("INSERT", keys, item))
    stored = aggregates.combine(metrics_items)
    for key in sorted(set(expected) | set(stored)):
        want = {name: value for name, value in (expected.get(key) or Counter()).items() if value}
        report.expect("aggregate = recomputation from the ledger", f"{key[0]}/{key[1]}", want, stored.get(key, {}))


def _promotion_checks(report: Report, items: list[dict[str, Any]]) -> None:
    budgets = {item["pk"][6:]: int(item["budget_points"]) for item in items
               if str(item["pk"]).startswith("PROMO#") and item["sk"] == "COUNTERS"}
    # Claims count in the budget's shares (SHARE#PROMO#<id>#<nn>): summed per promotion.
    counters: dict[str, Counter[str]] = {promotion: Counter() for promotion in budgets}
    for item in items:
        if str(item["pk"]).startswith("SHARE#PROMO#") and item["sk"] == "SHARE":
            promotion = str(item["pk"]).removeprefix("SHARE#PROMO#").rsplit("#", 1)[0]
            for name in ("taken", "left", "codes_claimed", "members_reached"):
                counters.setdefault(promotion, Counter())[name] += int(item.get(name) or 0)
    awarded: Counter[str] = Counter()
    claims: Counter[str] = Counter()
    reached: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if not str(item["sk"]).startswith("ENTRY#"):
            continue
        source = _json(item.get("source"), {})
        promotion = source.get("promotion_id")
        if not promotion:
            continue
        if item["type"] == "promo":
            awarded[promotion] += int(item["points"])
            claims[promotion] += 1
            reached[promotion].add(item["member_id"])
        elif item["type"] == "partner_earn":
            awarded[promotion] += int(_json(item.get("details"), {}).get("promotion_points") or 0)
            reached[promotion].add(item["member_id"])
    claimed_codes = Counter(item["promotion_id"] for item in items
                            if str(item["pk"]).startswith("CODE#") and item.get("status") == "claimed")
    for promotion, item in counters.items():
        subject = f"promotion {promotion}"
        budget = budgets.get(promotion, 0)
        report.expect("promotion within budget", subject, True, item["taken"] <= budget)
        report.expect("budget shares: given + left = budget", subject, budget, item["taken"] + item["left"])
        report.expect("promotion points = ledger", subject, awarded[promotion], item["taken"])
        report.expect("codes claimed = promo entries", subject, claims[promotion], item["codes_claimed"])
        report.expect("codes claimed = claimed codes", subject, claimed_codes[promotion], item["codes_claimed"])
        report.expect("members reached = distinct members", subject, len(reached[promotion]),
                      item["members_reached"])


def _order_checks(report: Report, items: list[dict[str, Any]]) -> None:
    from decimal import Decimal

    for item in items:
        if item.get("sk") != "ORDER":
            continue
        subject = f"order {item['pk']}"
        report.expect("order refunds within the total", subject, True,
                      Decimal(str(item.get("refunded") or "0")) <= Decimal(str(item["total"])))
        report.expect("order returns within its points", subject, True,
                      int(item.get("points_returned") or 0) <= int(item["points"]))


def reconcile() -> dict[str, Any]:
    program = repository.read_snapshot().program
    config = config_of(program)
    today = local_day(utc_now(), config.zone)
    items = list(scan(table_name()))
    metrics_items = list(scan(metrics_table_name()))
    report = Report()
    members = {item["member_id"]: item for item in items if item.get("sk") == "PROFILE"
               and str(item["pk"]).startswith("MEMBER#")}
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        if str(item.get("sk", "")).startswith("ENTRY#"):
            entries[item["member_id"]].append(item)
    for member_id, member in members.items():
        _member_checks(report, member, entries.get(member_id, []), today, config.tier_window_days)
    report.expect("every entry belongs to a member", "ledger", set(), set(entries) - set(members))
    new_members = sum(counters.get("new_members", 0) for key, counters in aggregates.combine(metrics_items).items()
                      if key[0] == m.DAYS_PK)
    report.expect("member count = new members aggregated", "members", len(members), new_members)
    _aggregate_checks(report, items, metrics_items)
    _promotion_checks(report, items)
    _order_checks(report, items)
    return {"members": len(members), "entries": sum(len(v) for v in entries.values()), **report.as_dict()}
