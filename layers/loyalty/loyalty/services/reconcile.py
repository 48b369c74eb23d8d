"""Reconciliation: every invariant checked from the ledger, the slow and obvious way.

A scheduled job (and a local command), never a request path. It reads the table page by page (a
Scan returns each partition key's items together), so it holds one member's items at a time, plus
running totals per day, promotion and partner: its memory does not grow with the number of members.
Per member it recomputes the balance, lots, debt, pending and lifetime points, the qualifying days
and the balance_after chain (less what its holds kept out of the balance meanwhile); a household's pool
likewise, from its own entries and its contributors' pooled earns (read from their partitions); globally, the
member count, every aggregate the stream processor keeps
(by folding every ledger item through the same contributions, as if each were delivered once), the
promotions' budgets and counters, and the orders' refunds.

The aggregates lag the ledger by the stream's delay, and a Scan is no snapshot. So records newer than
RECONCILE_STREAM_LAG_MINUTES (15 by default) may or may not be folded yet: an aggregate counter they
touch is accepted anywhere between "none of them folded" and "all of them folded". A member whose
checks fail is read again, consistently, before it is reported (it may have changed under the Scan).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from loyalty.domain import ceilings, households
from loyalty.domain import metrics as m
from loyalty.domain.campaigns import Campaign
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.entries import LOT_CREDITING_TYPES, POOL_PREFIX, is_pool
from loyalty.domain.ids import ulid_time_ms
from loyalty.domain.program import ProgramConfig
from loyalty.domain.tiers import window_start
from loyalty.services import checkpoints
from loyalty.services.program import config_of
from loyalty.settings import settings
from loyalty.store import aggregates, daycounts, program, snapshot
from loyalty.store import campaigns as campaign_store
from loyalty.store.aggregates import metrics_table_name
from loyalty.store.base import table_name
from loyalty.store.db import query_partition, scan, scan_segment

PAGE_SIZE = 200  # items a Scan page holds: what the job keeps in memory besides one member


def stream_lag() -> timedelta:
    return timedelta(minutes=settings().reconcile_stream_lag_minutes)


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    return json.loads(value) if isinstance(value, str) else value


class Report:
    def __init__(self) -> None:
        self.discrepancies: list[dict[str, Any]] = []
        self.count = 0
        self.checked: Counter[str] = Counter()

    def expect(self, what: str, subject: str, expected: Any, actual: Any) -> None:
        self.checked[what] += 1
        if expected != actual:
            self.count += 1
            if len(self.discrepancies) < 200:
                self.discrepancies.append({"check": what, "subject": subject, "expected": expected,
                                           "actual": actual})

    def as_dict(self) -> dict[str, Any]:
        return {"clean": not self.count, "discrepancies": self.discrepancies, "discrepancy_count": self.count,
                "checked": dict(self.checked)}


# Entries over their money listed in the report (and on /admin/liability): the rest are only counted.
MAX_FLAGGED_LISTED = 50


class Flagged:
    """Purchases whose points exceed what their money could earn (see domain.ceilings)."""

    def __init__(self) -> None:
        self.count = 0
        self.excess_points = 0
        self.entries: list[dict[str, Any]] = []

    def add(self, member_id: str, entry: dict[str, Any], excess: ceilings.Excess) -> None:
        self.count += 1
        self.excess_points += max(0, excess.points - excess.ceiling)
        if len(self.entries) < MAX_FLAGGED_LISTED:
            self.entries.append({"member_id": member_id, "entry_id": str(entry["entry_id"]),
                                 "order_id": _json(entry.get("source"), {}).get("order_id"),
                                 "points": excess.points, "ceiling": excess.ceiling, "reason": excess.reason})

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "excess_points": self.excess_points, "entries": self.entries}


def earning_rules(config: ProgramConfig) -> ceilings.Rules:
    """The rules any purchase was earned under: every version of the program, every campaign ever written."""
    configs = [ProgramConfig.model_validate_json(item.config) for item in program.all_program_versions()]
    campaigns = [Campaign.model_validate_json(item.definition) for item in campaign_store.list_campaigns()]
    return ceilings.rules_of(configs or [config], campaigns)


def check_money(report: Report, flagged: Flagged, member_id: str, entries: Iterable[dict[str, Any]],
                rules: ceilings.Rules) -> None:
    """Every purchase's points within what its order's money could earn (the ledger agrees with itself
    whatever it holds: this is the check against the outside)."""
    for entry in entries:
        source = _json(entry.get("source"), {})
        if entry.get("type") != "earn" or not source.get("order_id") or not entry.get("amount"):
            continue
        report.checked["purchase points within what its money can earn"] += 1
        excess = ceilings.over_money(int(entry["points"]), _json(entry.get("breakdown"), []),
                                     Decimal(str(entry["amount"])),
                                     datetime.fromisoformat(str(entry["occurred_at"]).replace("Z", "+00:00")), rules)
        if excess is not None:
            flagged.add(member_id, entry, excess)
            report.expect("purchase points within what its money can earn", f"member {member_id}",
                          {"entry_id": entry["entry_id"], "at_most": excess.ceiling},
                          {"entry_id": entry["entry_id"], "points": excess.points, "reason": excess.reason})


def _held_at(holds: list[dict[str, Any]], entry_id: str) -> int:
    """Points held when the entry was written: holds placed before it and not yet closed (a capture closes
    its hold at its own redeem entry)."""
    return sum(int(hold["points"]) for hold in holds
               if str(hold["hold_id"]) < entry_id and (not hold.get("closed_id") or str(hold["closed_id"]) > entry_id))


def _member_checks(report: Report, member: dict[str, Any], entries: list[dict[str, Any]], today: date,
                   window_days: int, holds: list[dict[str, Any]] | None = None,
                   cold: dict[str, Any] | None = None) -> None:
    subject = f"member {member['member_id']}"
    entries = sorted(entries, key=lambda entry: entry["entry_id"])
    holds = holds or []
    available = lifetime = pending = 0
    lots: Counter[str] = Counter()
    qualifying: Counter[str] = Counter()
    broken_chain = 0
    for entry in entries:
        points = int(entry["points"])
        if entry.get("status") == "pending":
            pending += points
        else:
            # An earn pooled to the member's household: its lots (pooled_points) are the pool's.
            pooled = entry.get("pooled_to") is not None
            available += points - (int(entry.get("pooled_points") or 0) if pooled else 0)
            if entry["type"] in LOT_CREDITING_TYPES and points > 0:
                lifetime += points
            if entry["type"] == "import":
                lifetime += int(_json(entry.get("details"), {}).get("lifetime_earned", points))
            if entry["type"] == "release":
                pending -= points
            sign = 1 if points >= 0 else -1
            for lot, amount in ({} if pooled else _json(entry.get("lots"), {})).items():
                lots[lot] += sign * int(amount)
            if int(entry["balance_after"]) != available - _held_at(holds, str(entry["entry_id"])):
                broken_chain += 1
        if int(entry.get("qualifying") or 0) and entry.get("qualifying_day"):
            qualifying[entry["qualifying_day"]] += int(entry["qualifying"])
    debt = int(member.get("debt") or 0)
    try:
        wallet_days = daycounts.wallet_days_of(member, cold)
    except daycounts.WalletMismatch:
        report.expect("the WALLET item is the one the member names", subject, member.get("cold_rev"),
                      (cold or {}).get("rev"))
        return
    stored_lots = wallet_days.lots
    open_holds: dict[str, Any] = _json(member.get("holds"), {})
    held_lots: Counter[str] = Counter()
    for hold in open_holds.values():
        held_lots.update({lot: int(amount) for lot, amount in hold["lots"].items()})
    held = sum(int(hold["points"]) for hold in open_holds.values())
    report.expect("available + held = sum of entries", subject, available, int(member.get("available") or 0) + held)
    report.expect("available = lots - debt", subject, sum(stored_lots.values()) - debt,
                  int(member.get("available") or 0))
    report.expect("lots + held lots = lot movements of entries", subject, {k: v for k, v in lots.items() if v},
                  {k: v for k, v in (Counter(stored_lots) + held_lots).items() if v})
    report.expect("open holds = hold items still held", subject, sorted(open_holds),
                  sorted(str(hold["hold_id"]) for hold in holds if hold.get("status") == "held"))
    report.expect("a hold's lots hold its points", subject, 0, sum(
        1 for hold in open_holds.values() if sum(int(amount) for amount in hold["lots"].values()) != hold["points"]))
    report.expect("pending = pending entries - releases", subject, pending, int(member.get("pending") or 0))
    report.expect("lifetime = points earned", subject, lifetime, int(member.get("lifetime_earned") or 0))
    report.expect("balance_after follows the ledger", subject, 0, broken_chain)
    first = window_start(today, window_days).isoformat()
    stored_days = {day: points for day, points in wallet_days.qualifying.items()
                   if day >= first}
    expected_days = {day: points for day, points in qualifying.items() if day >= first and points}
    report.expect("qualifying days = qualifying entries in the window", subject, expected_days,
                  {day: points for day, points in stored_days.items() if points})


def _pooled_into(pool_id: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A household pool's credits kept on its contributors' ledgers (every member its `household` entries
    say joined): each pooled earn as the pool saw it, lots and qualifying points in, its balance after."""
    household_id = pool_id.removeprefix(POOL_PREFIX)
    notes = [(str(_json(entry.get("details"), {}).get("member_id")), str(_json(entry.get("details"), {}).get("action")),
              str(entry.get("recorded_at"))) for entry in sorted(entries, key=lambda entry: str(entry["entry_id"]))
             if entry.get("type") == "household"]
    credits = []
    # Each member's ledger within its tenure only (a long history from before it joined is not read).
    for member_id, since, until in households.windows(households.tenure_of(notes)):
        window = (f"ENTRY#{since}", f"ENTRY#{until}" if until else "ENTRY#~")
        for item in query_partition(table_name(), f"MEMBER#{member_id}", sk_between=window):
            if str(item.get("sk", "")).startswith("ENTRY#") and item.get("pooled_to") == household_id:
                credits.append({"entry_id": item["entry_id"], "type": "household_in", "status": "available",
                                "points": item["pooled_points"], "lots": item.get("lots"),
                                "balance_after": item["pooled_balance_after"], "qualifying": item.get("qualifying"),
                                "qualifying_day": item.get("qualifying_day")})
    return credits


def _partitions(items: Iterable[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The Scan's items grouped by partition key (a Scan returns a partition's items together)."""
    current: str | None = None
    group: list[dict[str, Any]] = []
    for item in items:
        if item["pk"] != current:
            if current is not None:
                yield current, group
            current, group = str(item["pk"]), []
        group.append(item)
    if current is not None:
        yield current, group


class Totals:
    """What the whole ledger adds up to, kept while the Scan goes by: per aggregate, promotion, order."""

    def __init__(self, cutoff: datetime, rules: ceilings.Rules) -> None:
        self.rules = rules
        self.flagged = Flagged()
        self.cutoff = iso_utc(cutoff)
        self.cutoff_ms = int(cutoff.timestamp() * 1000)
        self.expected: dict[m.ItemKey, Counter[str]] = {}
        # Contributions of records newer than the cutoff: the aggregates may hold any part of them.
        self.recent_up: dict[m.ItemKey, Counter[str]] = {}
        self.recent_down: dict[m.ItemKey, Counter[str]] = {}
        self.members = 0
        self.budgets: dict[str, int] = {}
        self.shares: dict[str, Counter[str]] = defaultdict(Counter)
        self.awarded: Counter[str] = Counter()
        self.claims: Counter[str] = Counter()
        self.reached: Counter[str] = Counter()
        self.claimed_codes: Counter[str] = Counter()

    def _recent(self, item: dict[str, Any]) -> bool:
        if str(item["pk"]).startswith("CLAIMFAIL#"):
            return ulid_time_ms(str(item["sk"])) >= self.cutoff_ms
        moment = item.get("recorded_at") or item.get("enrolled_at")
        return bool(moment) and str(moment) >= self.cutoff

    def fold(self, item: dict[str, Any]) -> None:
        contributions = m.contributions("INSERT", {"pk": item["pk"], "sk": item["sk"]}, item)
        if not self._recent(item):
            m.merge(self.expected, contributions)
            return
        for key, counters in contributions.items():
            for name, value in counters.items():
                target = self.recent_up if value > 0 else self.recent_down
                target.setdefault(key, Counter())[name] += value


def _member_partition(report: Report, totals: Totals, member_id: str, group: list[dict[str, Any]],
                      today: date, window_days: int) -> None:
    profile = next((item for item in group if item.get("sk") == "PROFILE"), None)
    cold = next((item for item in group if item.get("sk") == "WALLET"), None)
    entries = [item for item in group if str(item.get("sk", "")).startswith("ENTRY#")]
    holds = [item for item in group if str(item.get("sk", "")).startswith("HOLD#")]
    if profile is None:
        report.expect("every entry belongs to a member", f"member {member_id}", 0, len(entries))
        return
    pool = is_pool(member_id)
    totals.members += 0 if pool else 1  # a household's pool: no member of the count
    pooled = _pooled_into(member_id, entries) if pool else []
    trial = Report()
    _member_checks(trial, profile, entries + pooled, today, window_days, holds, cold)
    if trial.count:
        # The Scan read the member and its entries at different moments: read them again together.
        fresh = query_partition(table_name(), f"MEMBER#{member_id}")
        profile = next((item for item in fresh if item.get("sk") == "PROFILE"), profile)
        cold = next((item for item in fresh if item.get("sk") == "WALLET"), None)
        entries = [item for item in fresh if str(item.get("sk", "")).startswith("ENTRY#")]
        holds = [item for item in fresh if str(item.get("sk", "")).startswith("HOLD#")]
        pooled = _pooled_into(member_id, entries) if pool else []
    _member_checks(report, profile, entries + pooled, today, window_days, holds, cold)
    check_money(report, totals.flagged, member_id, entries, totals.rules)
    # The aggregates: the enrollment as its record had it (the tier before any change), then each entry.
    changes = sorted((entry for entry in entries if entry.get("type") == "tier_change"),
                     key=lambda entry: entry["entry_id"])
    enrolled = dict(profile)
    if changes:
        enrolled["tier"] = str(_json(changes[0].get("details"), {}).get("from"))
    totals.fold(enrolled)
    reached: set[str] = set()
    for entry in entries:
        totals.fold(entry)
        promotion = _json(entry.get("source"), {}).get("promotion_id")
        if not promotion:
            continue
        if entry["type"] == "promo":
            totals.awarded[promotion] += int(entry["points"])
            totals.claims[promotion] += 1
            reached.add(promotion)
        elif entry["type"] == "partner_earn":
            totals.awarded[promotion] += int(_json(entry.get("details"), {}).get("promotion_points") or 0)
            reached.add(promotion)
    totals.reached.update(reached)


def _other_partition(report: Report, totals: Totals, pk: str, group: list[dict[str, Any]]) -> None:
    for item in group:
        if pk.startswith("CLAIMFAIL#"):
            totals.fold(item)
        elif pk.startswith("PROMO#") and item["sk"] == "COUNTERS":
            totals.budgets[pk.removeprefix("PROMO#")] = int(item["budget_points"])
        elif pk.startswith("SHARE#PROMO#") and item["sk"] == "SHARE":
            promotion = pk.removeprefix("SHARE#PROMO#").rsplit("#", 1)[0]
            for name in ("taken", "left", "codes_claimed", "members_reached"):
                totals.shares[promotion][name] += int(item.get(name) or 0)
        elif pk.startswith("CODE#") and item.get("status") == "claimed":
            totals.claimed_codes[str(item["promotion_id"])] += 1
        elif item.get("sk") == "ORDER":
            subject = f"order {pk}"
            report.expect("order refunds within the total", subject, True,
                          Decimal(str(item.get("refunded") or "0")) <= Decimal(str(item["total"])))
            report.expect("order returns within its points", subject, True,
                          int(item.get("points_returned") or 0) <= int(item["points"]))


def _aggregate_checks(report: Report, totals: Totals, stored: dict[m.ItemKey, dict[str, int]]) -> None:
    for key in sorted(set(totals.expected) | set(stored) | set(totals.recent_up) | set(totals.recent_down)):
        want = {name: value for name, value in (totals.expected.get(key) or Counter()).items() if value}
        have = stored.get(key, {})
        up, down = totals.recent_up.get(key) or Counter(), totals.recent_down.get(key) or Counter()
        subject = f"{key[0]}/{key[1]}"
        if not up and not down:
            report.expect("aggregate = recomputation from the ledger", subject, want, have)
            continue
        # Records newer than the cutoff may not be folded yet: each counter lies between none and all.
        outside = {name: {"folded_at_least": want.get(name, 0) + down.get(name, 0),
                          "folded_at_most": want.get(name, 0) + up.get(name, 0), "stored": have.get(name, 0)}
                   for name in set(want) | set(have) | set(up) | set(down)
                   if not want.get(name, 0) + down.get(name, 0) <= have.get(name, 0)
                   <= want.get(name, 0) + up.get(name, 0)}
        report.expect("aggregate = recomputation from the ledger (recent records may lag)", subject, {}, outside)


def _promotion_checks(report: Report, totals: Totals) -> None:
    for promotion in sorted(set(totals.budgets) | set(totals.shares)):
        item = totals.shares[promotion]
        subject = f"promotion {promotion}"
        budget = totals.budgets.get(promotion, 0)
        report.expect("promotion within budget", subject, True, item["taken"] <= budget)
        report.expect("budget shares: given + left = budget", subject, budget, item["taken"] + item["left"])
        report.expect("promotion points = ledger", subject, totals.awarded[promotion], item["taken"])
        report.expect("codes claimed = promo entries", subject, totals.claims[promotion], item["codes_claimed"])
        report.expect("codes claimed = claimed codes", subject, totals.claimed_codes[promotion],
                      item["codes_claimed"])
        report.expect("members reached = distinct members", subject, totals.reached[promotion],
                      item["members_reached"])


def _start(now: datetime | None) -> tuple[Any, datetime, date, Report, Totals]:
    config = config_of(snapshot.read_snapshot().program)
    moment = now or utc_now()
    totals = Totals(moment - stream_lag(), earning_rules(config))
    return config, moment, local_day(moment, config.zone), Report(), totals


def _fold(report: Report, totals: Totals, pk: str, group: list[dict[str, Any]], today: date,
          window_days: int) -> int:
    """One partition's items folded into the report and the totals; the ledger entries it held."""
    if pk.startswith("MEMBER#"):
        _member_partition(report, totals, pk.removeprefix("MEMBER#"), group, today, window_days)
        return sum(1 for item in group if str(item.get("sk", "")).startswith("ENTRY#"))
    _other_partition(report, totals, pk, group)
    return 0


def reconcile(now: datetime | None = None) -> dict[str, Any]:
    """Reconciliation in one pass over the table (a small program, the tests). A large one fans out: see
    `reconcile_page` and `merge` (services/jobs.py runs them through the job queue)."""
    config, moment, today, report, totals = _start(now)
    entries = 0
    for pk, group in _partitions(scan(table_name(), page_size=PAGE_SIZE)):
        entries += _fold(report, totals, pk, group, today, config.tier_window_days)
    for unit in checkpoints.verify_units(today):
        cursor: dict[str, Any] | None = None
        while True:
            found, cursor, checked = checkpoints.verify_page(unit, cursor, time.monotonic() + 60)
            _add_checkpoint_findings(report, found, checked)
            if cursor is None:
                break
    return _finish(report, totals, entries, moment)


CHECKPOINT_CHECK = "ledger entry matches its checkpoint"


def _add_checkpoint_findings(report: Report, found: list[dict[str, Any]], checked: int) -> None:
    report.checked[CHECKPOINT_CHECK] += checked
    report.count += len(found)
    report.discrepancies.extend(found[:max(0, 200 - len(report.discrepancies))])


def checkpoint_partial(found: list[dict[str, Any]], checked: int, now: datetime) -> dict[str, Any]:
    """A partial result holding only what re-hashing a checkpointed shard found (services.checkpoints)."""
    _config, _moment, _today, report, totals = _start(now)
    _add_checkpoint_findings(report, found, checked)
    return _partial(report, totals, 0, 0, None)[2]


def _finish(report: Report, totals: Totals, entries: int, moment: datetime) -> dict[str, Any]:
    """The checks across the whole ledger, once every partition is folded: the aggregates, the member count,
    the promotions; the flagged purchases saved for /admin/liability."""
    stored = aggregates.combine(scan(metrics_table_name(), page_size=PAGE_SIZE))
    new_members = sum(counters.get("new_members", 0) for key, counters in stored.items() if key[0] == m.DAYS_PK)
    recent_new = sum(counters.get("new_members", 0) for key, counters in totals.recent_up.items()
                     if key[0] == m.DAYS_PK)
    if not recent_new:
        report.expect("member count = new members aggregated", "members", totals.members, new_members)
    else:  # enrollments newer than the cutoff may not be counted yet
        report.expect("member count = new members aggregated (recent ones may lag)", "members", True,
                      totals.members - recent_new <= new_members <= totals.members)
    _aggregate_checks(report, totals, stored)
    _promotion_checks(report, totals)
    flagged = totals.flagged.as_dict()
    aggregates.save_flagged_entries({**flagged, "checked_at": iso_utc(moment)})
    return {"members": totals.members, "entries": entries, **report.as_dict(), "flagged": flagged}


# --- fanned out: one page of one Scan segment at a time, then the merge --------------------------------

# A page reads at most about this many items (more only to finish the partition it is in), and stops sooner
# at its time budget: every page writes its unit's running totals, so pages are long.
PAGE_ITEMS = 500_000


def reconcile_page(segment: int, total_segments: int, cursor: dict[str, str] | None, *, now: datetime,
                   until: float) -> tuple[dict[str, int], dict[str, str] | None, dict[str, Any]]:
    """One page of one segment: whole partitions from just after `cursor`, until PAGE_ITEMS items or the
    monotonic time `until`, folded into partial totals. Returns (counts, where the next page starts (None:
    the segment is done), the partial result for `merge`). A page done again folds the same partitions."""
    config, _moment, today, report, totals = _start(now)
    entries = items = 0
    group: list[dict[str, Any]] = []
    last: dict[str, str] | None = None
    for item in scan_segment(table_name(), segment, total_segments, cursor, page_size=PAGE_SIZE):
        if group and item["pk"] != group[0]["pk"]:
            entries += _fold(report, totals, str(group[0]["pk"]), group, today, config.tier_window_days)
            items += len(group)
            last = {"pk": str(group[-1]["pk"]), "sk": str(group[-1]["sk"])}
            group = []
            if items >= PAGE_ITEMS or time.monotonic() >= until:
                return _partial(report, totals, entries, items, last)
        group.append(item)
    if group:
        entries += _fold(report, totals, str(group[0]["pk"]), group, today, config.tier_window_days)
        items += len(group)
    counts, _, partial = _partial(report, totals, entries, items, None)
    return counts, None, partial


def _partial(report: Report, totals: Totals, entries: int, items: int,
             next_cursor: dict[str, str] | None) -> tuple[dict[str, int], dict[str, str] | None, dict[str, Any]]:
    def keyed(found: dict[m.ItemKey, Counter[str]]) -> list[list[Any]]:
        return [[key[0], key[1], dict(counters)] for key, counters in found.items() if counters]

    partial = {
        "expected": keyed(totals.expected), "recent_up": keyed(totals.recent_up),
        "recent_down": keyed(totals.recent_down), "members": totals.members, "entries": entries,
        "budgets": totals.budgets, "shares": {name: dict(found) for name, found in totals.shares.items()},
        "awarded": dict(totals.awarded), "claims": dict(totals.claims), "reached": dict(totals.reached),
        "claimed_codes": dict(totals.claimed_codes), "discrepancies": report.discrepancies,
        "discrepancy_count": report.count, "checked": dict(report.checked), "flagged": totals.flagged.as_dict(),
    }
    return {"items": items, "entries": entries, "members": totals.members}, next_cursor, partial


def combine(first: dict[str, Any] | None, second: dict[str, Any]) -> dict[str, Any]:
    """Two partial results as one (pages of a segment carry their running sum forward in this form)."""
    if first is None:
        return second
    found: dict[str, Any] = {}
    for name in ("expected", "recent_up", "recent_down"):
        keyed: dict[tuple[str, str], Counter[str]] = {}
        for pk, sk, counters in (*first[name], *second[name]):
            keyed.setdefault((pk, sk), Counter()).update(counters)
        found[name] = [[pk, sk, dict(counters)] for (pk, sk), counters in keyed.items() if counters]
    for name in ("members", "entries", "discrepancy_count"):
        found[name] = int(first[name]) + int(second[name])
    found["budgets"] = {**first["budgets"], **second["budgets"]}
    shares: dict[str, Counter[str]] = defaultdict(Counter)
    for source in (first["shares"], second["shares"]):
        for name, counters in source.items():
            shares[name].update(counters)
    found["shares"] = {name: dict(counters) for name, counters in shares.items()}
    for name in ("awarded", "claims", "reached", "claimed_codes", "checked"):
        found[name] = dict(Counter(first[name]) + Counter(second[name]))
    found["discrepancies"] = (first["discrepancies"] + second["discrepancies"])[:200]
    found["flagged"] = {"count": int(first["flagged"]["count"]) + int(second["flagged"]["count"]),
                        "excess_points": int(first["flagged"]["excess_points"])
                        + int(second["flagged"]["excess_points"]),
                        "entries": (first["flagged"]["entries"] + second["flagged"]["entries"])[:MAX_FLAGGED_LISTED]}
    return found


def merge(partials: Iterable[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Every segment's partial result added up, then the checks across the whole ledger: the same report as
    one pass over the same data."""
    _config, moment, _today, report, totals = _start(now)
    whole: dict[str, Any] | None = None
    for partial in partials:
        whole = combine(whole, partial)
    if whole is None:
        return _finish(report, totals, 0, moment)
    for name, target in (("expected", totals.expected), ("recent_up", totals.recent_up),
                         ("recent_down", totals.recent_down)):
        for pk, sk, counters in whole[name]:
            target[(pk, sk)] = Counter(counters)
    totals.members = int(whole["members"])
    totals.budgets.update(whole["budgets"])
    for name, found in whole["shares"].items():
        totals.shares[name].update(found)
    for name in ("awarded", "claims", "reached", "claimed_codes"):
        getattr(totals, name).update(whole[name])
    report.count = int(whole["discrepancy_count"])
    report.checked.update(whole["checked"])
    report.discrepancies.extend(whole["discrepancies"])
    totals.flagged.count = int(whole["flagged"]["count"])
    totals.flagged.excess_points = int(whole["flagged"]["excess_points"])
    totals.flagged.entries.extend(whole["flagged"]["entries"])
    return _finish(report, totals, int(whole["entries"]), moment)
