"""Campaigns and segments (contract: "Campaigns, segments and what-if"): writing them, their reports, the
members of a segment, and what a campaign gives on a purchase.

A campaign is validated whole on write (the model, then against the program: tiers, currency, the
segment). The running ones (active, not ended) are copied onto every program replica in the write's
transaction, with their segments' conditions, so a purchase evaluates them with no request of its own.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loyalty.domain import campaigns as rules
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, NotFound, ValidationFailed
from loyalty.domain.holders import Member
from loyalty.domain.program import ProgramConfig
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.parsed import ParsedOnce
from loyalty.services.program import config_of
from loyalty.services.writes import Plan, execute
from loyalty.store import aggregates, escrow, members, shares
from loyalty.store import audit as audit_store
from loyalty.store import campaigns as store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.campaigns import StoredCampaign
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.program import Program
from loyalty.store.snapshot import Snapshot

REPORT_SK = "REPORT"
# The running campaigns ride on the program item every request reads (one read unit per 4 KB, and
# DynamoDB's 400 KB item limit): they stay within this.
MAX_RUNNING_BYTES = 48 * 1024
# The running campaigns, their segments' conditions, and per budget: (its shares, what their caps split).
Running = tuple[list[rules.Campaign], dict[str, list[rules.Condition]], dict[str, tuple[int, int | None]]]
_parsed: ParsedOnce[bytes | str, Running] = ParsedOnce()


def report_key(campaign_id: str) -> tuple[str, str]:
    return (f"CAMPAIGN#{campaign_id}", REPORT_SK)


def running(program: Program | None) -> Running:
    """The running campaigns on the program item read in this request (parsed once per list): the
    campaigns, their segments' conditions, and each one's budget shares and what their caps split."""
    raw = store.running_list(program)
    if not raw:
        return [], {}, {}

    def parse() -> Running:
        entries = json.loads(store.running_json(raw))
        return (*rules.parse_running(entries), {
            entry["campaign"]["campaign_id"]: (int(entry.get("shares", store.FIRST_BUDGET_SHARES)), entry.get("basis"))
            for entry in entries})

    return _parsed.get(raw, parse)


def _view(campaign: rules.Campaign) -> dict[str, Any]:
    return campaign.model_dump(mode="json")


def _for_path(campaign: rules.Campaign, campaign_id: str | None) -> rules.Campaign:
    if campaign_id is not None and campaign.campaign_id != campaign_id:
        raise ValidationFailed("the body names another campaign", errors=[
            {"field": "campaign_id", "in": "body", "message": "must be the campaign of the path"}])
    return campaign


def _check_against(campaign: rules.Campaign, config: ProgramConfig) -> list[dict[str, Any]]:
    """What the model cannot know: the program's tiers and currency, the segment."""
    tiers = {tier.name for tier in config.tiers}
    errors = []
    if campaign.audience.min_tier is not None and campaign.audience.min_tier not in tiers:
        errors.append({"field": "audience.min_tier", "message": f"not one of the program's tiers ({', '.join(tiers)})"})
    for index, condition in enumerate(campaign.conditions):
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        if condition.fact == "member.tier" and any(value not in tiers for value in values):
            errors.append({"field": f"conditions.{index}.value", "message": "not one of the program's tiers"})
        if isinstance(condition.value, rules.MoneyValue) and condition.value.currency != config.currency:
            errors.append({"field": f"conditions.{index}.value.currency",
                           "message": f"basket.total is compared in the program currency ({config.currency})"})
    return errors


def save_campaign(caller: Caller, campaign_id: str | None, request: rules.Campaign,
                  idempotency: IdempotencyRequest | None) -> Outcome:
    """POST (campaign_id None: the body's, which must be new) or PUT (create or replace)."""
    caller.authorize_admin()
    if campaign_id is not None:
        checked_id(campaign_id, "campaign")
    campaign = _for_path(request, campaign_id)
    must_be_new = campaign_id is None

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        config = config_of(snapshot.program)
        assert snapshot.program is not None
        errors = _check_against(campaign, config)
        segment_conditions = None
        if campaign.audience.segment is not None:
            segment = store.get_segment(campaign.audience.segment)
            if segment is None:
                errors.append({"field": "audience.segment", "message": "no segment has this id"})
            else:
                segment_conditions = json.loads(segment.definition)["conditions"]
        if errors:
            raise ValidationFailed("the campaign does not fit the program", errors=errors)
        now = utc_now()
        existing = None if must_be_new else store.get_campaign(campaign.campaign_id)
        budget_shares = _budget_share_count(existing, campaign)
        budget_before = json.loads(existing.definition).get("budget_points") if existing is not None else None
        basis_before = None if existing is None or existing.budget_basis is None else int(existing.budget_basis)
        change = shares.budget_change(budget_before, basis_before, campaign.budget_points)
        basis = change.basis
        kept = [entry for entry in json.loads(store.running_json(store.running_list(snapshot.program)))
                if entry["campaign"]["campaign_id"] != campaign.campaign_id
                and entry["campaign"]["active"] and entry["campaign"]["ends_at"] > iso_utc(now)]
        if campaign.active and campaign.ends_at > now:
            kept.append({"campaign": _view(campaign), "segment": segment_conditions,
                         "shares": budget_shares or store.FIRST_BUDGET_SHARES, "basis": basis})
        if len(kept) > rules.MAX_RUNNING:
            raise Conflict(f"at most {rules.MAX_RUNNING} campaigns run at once: end or deactivate one first",
                           code="too_many_campaigns")
        running_json = json.dumps(kept, separators=(",", ":"))
        if len(running_json.encode()) > MAX_RUNNING_BYTES:
            raise Conflict(f"the running campaigns would take {len(running_json.encode()) // 1024} KB of the program "
                           f"item every request reads (at most {MAX_RUNNING_BYTES // 1024} KB): end one or make "
                           "them smaller", code="too_many_campaigns")
        stamp = iso_utc(now)
        item = store.StoredCampaign(campaign.campaign_id, definition=json.dumps(_view(campaign)),
                                    created_at=existing.created_at if existing else stamp, updated_at=stamp,
                                    budget_shares=budget_shares, budget_basis=basis)
        audit = audit_store.new_audit(caller.sub, "campaign.created" if existing is None else "campaign.updated",
                                     f"campaign:{campaign.campaign_id}",
                                     {"name": campaign.name, "active": campaign.active,
                                      "budget_points": campaign.budget_points})
        program = snapshot.program

        # The budget's shares get room for the new budget less what was awarded: cut before the write when the
        # caps stay (a lowered budget holds from the answer on), and set after it (burned room given back when
        # the caps grew: until then the room is smaller than the budget, never past it).
        new_budget = None
        if campaign.budget_points is not None and basis is not None and budget_shares is not None:
            new_budget = (campaign.campaign_id, budget_shares, basis, campaign.budget_points)
            if change.caps_kept:
                store.set_budget(*new_budget)

        def commit(record: IdempotencyRecord | None) -> None:
            store.save_campaign(item, must_be_new=must_be_new, program=program, running_json=running_json,
                                audit=audit, idempotency=record)
            if new_budget is not None:
                store.set_budget(*new_budget)

        return Plan(201 if must_be_new else 200, _view(campaign), commit, final_conflicts={
            "campaign": Conflict(f"campaign {campaign.campaign_id} exists already: PUT it to change it",
                                 code="campaign_exists")})

    return execute(idempotency, read, plan)


def _budget_share_count(existing: StoredCampaign | None, campaign: rules.Campaign) -> int | None:
    """How many shares the campaign's budget has: chosen by its size when it first has one, then fixed
    (its shares' caps are parts of it and their `taken` counts stay); None while it has no budget."""
    if existing is not None and existing.budget_shares is not None:
        return int(existing.budget_shares)
    if existing is not None and json.loads(existing.definition).get("budget_points") is not None:
        return store.FIRST_BUDGET_SHARES  # written before share counts were kept
    return None if campaign.budget_points is None else store.budget_shares(campaign.budget_points)


def _stored_item(campaign_id: str) -> StoredCampaign:
    item = store.get_campaign(checked_id(campaign_id, "campaign"))
    if item is None:
        raise NotFound(f"no campaign has the id {campaign_id!r}", code="campaign_not_found")
    return item


def _stored_campaign(campaign_id: str) -> rules.Campaign:
    return rules.Campaign.model_validate_json(_stored_item(campaign_id).definition)


def get_campaign(caller: Caller, campaign_id: str) -> Outcome:
    caller.authorize_admin()
    return Outcome(200, _view(_stored_campaign(campaign_id)))


def list_campaigns(caller: Caller) -> Outcome:
    caller.authorize_admin()
    return Outcome(200, {"items": [json.loads(item.definition) for item in store.list_campaigns()]})


def report(caller: Caller, campaign_id: str) -> Outcome:
    """What the campaign gave and what its groups bought in its window (from the stream's counters)."""
    caller.authorize_admin()
    item = _stored_item(campaign_id)
    campaign = rules.Campaign.model_validate_json(item.definition)
    config = config_of(snapshot_store.read_snapshot().program)
    counters = aggregates.read_cores([report_key(campaign_id)])[report_key(campaign_id)]

    def group(prefix: str) -> dict[str, Any]:
        revenue = Decimal(counters.get(f"{prefix}_revenue_e4", 0)).scaleb(-4)
        return {"members": counters.get(f"{prefix}_members", 0), "purchases": counters.get(f"{prefix}_purchases", 0),
                "revenue": {"amount": f"{revenue:.2f}", "currency": config.currency}, "_revenue": revenue}

    treated, holdout = group("t"), group("h")
    lift = rules.lift((treated["members"], treated.pop("_revenue")), (holdout["members"], holdout.pop("_revenue")))
    budget_left = None if campaign.budget_points is None else max(
        0, campaign.budget_points - store.awarded(campaign_id, int(item.budget_shares or store.FIRST_BUDGET_SHARES)))
    return Outcome(200, {"campaign_id": campaign_id, "points_awarded": counters.get("points_awarded", 0),
                         "budget_left": budget_left, "members_reached": counters.get("members_reached", 0),
                         "treated": treated, "holdout": holdout, "lift": lift})


# Campaigns /admin/metrics shows (the latest to start among those of the period): each is a read.
METRICS_CAMPAIGNS = 20


def performance(program: Program | None, first: date, last: date, zone: Any) -> list[dict[str, Any]]:
    """The running campaigns (those on the program read) whose window touches [first, last] (local days),
    with their results so far: no read of the campaign list (GET .../report has any campaign's)."""
    campaigns, _segments, _shares = running(program)
    touching = [campaign for campaign in campaigns if campaign.starts_at.astimezone(zone).date() <= last
                and campaign.ends_at.astimezone(zone).date() >= first]
    shown = sorted(touching, key=lambda c: (c.starts_at, c.campaign_id), reverse=True)[:METRICS_CAMPAIGNS]
    reports = aggregates.read_cores([report_key(campaign.campaign_id) for campaign in shown])
    found = []
    for campaign in shown:
        counters = reports[report_key(campaign.campaign_id)]
        found.append({
            "campaign_id": campaign.campaign_id, "name": campaign.name, "active": campaign.active,
            "points_awarded": counters.get("points_awarded", 0), "members_reached": counters.get("members_reached", 0),
            "treated_members": counters.get("t_members", 0), "holdout_members": counters.get("h_members", 0),
            "lift": rules.lift(
                (counters.get("t_members", 0), Decimal(counters.get("t_revenue_e4", 0)).scaleb(-4)),
                (counters.get("h_members", 0), Decimal(counters.get("h_revenue_e4", 0)).scaleb(-4)))})
    return found


# --- segments -------------------------------------------------------------------------------------


def create_segment(caller: Caller, segment: rules.Segment, idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()

    def plan(snapshot: Snapshot) -> Plan:
        config = config_of(snapshot.program)
        tiers = {tier.name for tier in config.tiers}
        for index, condition in enumerate(segment.conditions):
            values = condition.value if isinstance(condition.value, list) else [condition.value]
            if condition.fact == "member.tier" and any(value not in tiers for value in values):
                raise ValidationFailed("the segment does not fit the program", errors=[
                    {"field": f"conditions.{index}.value", "message": "not one of the program's tiers"}])
        view = segment.model_dump(mode="json")
        item = store.StoredSegment(segment.segment_id, definition=json.dumps(view), created_at=iso_utc(utc_now()))
        audit = audit_store.new_audit(caller.sub, "segment.created", f"segment:{segment.segment_id}",
                                     {"name": segment.name})

        def commit(record: IdempotencyRecord | None) -> None:
            store.save_segment(item, audit, record)

        return Plan(201, view, commit, final_conflicts={
            "segment": Conflict(f"segment {segment.segment_id} exists already", code="segment_exists")})

    return execute(idempotency, lambda: snapshot_store.read_snapshot(idempotency=idempotency), plan)


def member_facts(member: Member, config: ProgramConfig, today: date) -> rules.Facts:
    def days_since(day: str | None) -> int | None:
        return (today - date.fromisoformat(day)).days if day else None

    return rules.Facts(tier=member.tier, tiers=tuple(tier.name for tier in config.tiers),
                       preferences=member.preferences or {}, purchases=int(member.purchases or 0),
                       days_since_last_purchase=days_since(member.last_purchase_day),
                       days_since_enrollment=days_since(member.enrolled_day) or 0)


def segment_members(caller: Caller, segment_id: str, *, limit: int, cursor: str | None) -> Outcome:
    """A page of the active members in the segment now: the roster (a keys-only index) walked page by
    page, each page's members read and evaluated. A page may hold fewer than `limit` ids (even none) and
    still have a `next_cursor`: the segment is evaluated as it is read, never stored."""
    caller.authorize_admin()
    item = store.get_segment(checked_id(segment_id, "segment"))
    if item is None:
        raise NotFound(f"no segment has the id {segment_id!r}", code="segment_not_found")
    segment = rules.Segment.model_validate_json(item.definition)
    config = config_of(snapshot_store.read_snapshot().program)
    today = local_day(utc_now(), config.zone)
    keys = [members.roster_key(tier.name, "active", shard) for tier in config.tiers
            for shard in range(members.ROSTER_SHARDS)]
    member_ids, next_cursor = members.roster_page(keys, limit=limit, cursor=cursor)
    found = [member.member_id for member in members.members(member_ids)
             if rules.all_hold(segment.conditions, member_facts(member, config, today), config.currency)]
    return Outcome(200, {"segment_id": segment_id, "items": sorted(found), "next_cursor": next_cursor})


# --- on a purchase ----------------------------------------------------------------------------------


def purchase_awards(program: Program | None, member: Member, config: ProgramConfig, *, channel: str,
                    total: Decimal, basket: dict[str, Any], occurred_at: datetime, today: date,
                    points_per_unit: Decimal, quoting: bool = False) -> Awards:
    """What the running purchase campaigns give on this purchase (see `awards`). `basket`: the lines as
    shares of the total and their scale (ledger.basket). `quoting`: budgets are looked at, not drawn from."""
    return awards(program, member, config, trigger="purchase", at=occurred_at, today=today,
                  basket={"channel": channel, "total": total, **basket}, points_per_unit=points_per_unit,
                  draw=escrow.peek if quoting else escrow.draw)


Awards = tuple[list[dict[str, Any]], list[escrow.Draw], dict[str, list[int]]]


def awards(program: Program | None, member: Member, config: ProgramConfig, *, trigger: str, at: datetime,
           today: date, basket: dict[str, Any] | None = None, points_per_unit: Decimal = Decimal(0),
           draw: Callable[[escrow.Budget, int], escrow.Draw | None] = escrow.draw) -> Awards:
    """What the running campaigns of `trigger` give the member: breakdown rows (`campaign:<id>`), the
    points drawn from their budgets (this instance's chunks: see store.escrow; cancel them if the award is
    not recorded), and the facts the reports count ([group, member new in it, points, first award], per
    campaign). Updates the member's campaign counts."""
    campaigns, segments, budgets = running(program)
    counts = {campaign_id: dict(value) for campaign_id, value in (member.campaign_counts or {}).items()
              if any(campaign.campaign_id == campaign_id for campaign in campaigns)}
    rows: list[dict[str, Any]] = []
    draws: list[escrow.Draw] = []
    facts: dict[str, list[int]] = {}
    if any(campaign.trigger == trigger for campaign in campaigns):
        event_facts = dataclasses.replace(member_facts(member, config, today), **(basket or {}))
        for outcome in rules.evaluate(campaigns, segments, trigger=trigger, member_id=member.member_id, at=at,
                                      facts=event_facts, currency=config.currency, points_per_unit=points_per_unit,
                                      rounding=config.rounding):
            campaign = outcome.campaign
            seen = counts.setdefault(campaign.campaign_id, {})
            group = "h" if outcome.holdout else "t"
            points = outcome.points
            if campaign.max_per_member is not None and int(seen.get("n", 0)) >= campaign.max_per_member:
                points = 0
            if points and campaign.budget_points is not None:
                count, basis = budgets.get(campaign.campaign_id, (store.FIRST_BUDGET_SHARES, None))
                drawn = draw(store.budget(campaign.campaign_id, campaign.budget_points, basis, count), points)
                if drawn is None:
                    points = 0  # the budget cannot cover it: never past the budget
                else:
                    draws.append(drawn)
            facts[campaign.campaign_id] = [1 if group == "t" else 0, 0 if seen.get(group) else 1, points,
                                           1 if points and not seen.get("n") else 0]
            seen[group] = 1
            if points:
                seen["n"] = int(seen.get("n", 0)) + 1
                # The row names the campaign; its name is on the campaign (entries stay small).
                rows.append({"rule": f"campaign:{campaign.campaign_id}", "points": points})
    member.campaign_counts = counts or None
    return rows, draws, facts


def bonus_entry(change: Any, trigger: str, at: datetime, found: Awards) -> Any:
    """The bonus entry of an action or enrollment campaign (None when none gave points, and no group to
    count either)."""
    rows, _pools, facts = found
    if not facts:
        return None
    points = sum(int(row["points"]) for row in rows)
    return change.earn(EntryType.BONUS, points, qualifying=points, occurred_at=at,
                       source={"trigger": trigger}, breakdown=rows, facts={"campaigns": facts})
