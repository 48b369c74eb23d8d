"""Partner brands: onboarding and keys (admin), promotions, codes, partner earn, reports, settlement
(partner API), and members claiming codes."""

from __future__ import annotations

import contextlib
import re
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3

from loyalty.domain.clock import iso_utc, parse_utc, utc_now
from loyalty.domain.earning import purchase_points
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, Gone, LimitReached, NotFound, ServiceUnavailable, ValidationFailed
from loyalty.domain.holders import Order
from loyalty.domain.ids import new_ulid
from loyalty.domain.metrics import PROMOTION_COUNTER, settlement_key
from loyalty.domain.money import format_amount, parse_amount
from loyalty.domain.program import ProgramConfig
from loyalty.domain.promotions import is_eligible, is_running
from loyalty.domain.secrets import new_api_key, new_code, normalize_code
from loyalty.inputs.partners import (
    ClaimRequest,
    CodesRequest,
    KeyRequest,
    PartnerEarnRequest,
    PartnerRequest,
    PromotionRequest,
)
from loyalty.logs import make_logger
from loyalty.observability import count
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.pointschange import Decision, Turn, change_points
from loyalty.services.program import config_of
from loyalty.services.views import entry_view
from loyalty.services.writes import (
    Plan,
    dumps,
    execute,
    key_derived_name,
    key_required,
    recorded_outcome,
)
from loyalty.settings import settings
from loyalty.store import aggregates
from loyalty.store import audit as audit_store
from loyalty.store import checkpoints as checkpoint_store
from loyalty.store import idempotency as idempotency_store
from loyalty.store import partners as store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.audit import AuditRecord
from loyalty.store.changes import PromotionCharge
from loyalty.store.db import ConditionFailed
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest, idempotency_record
from loyalty.store.partners import Partner, Promotion, partner_order_key
from loyalty.store.snapshot import Snapshot

logger = make_logger()

# Brute force: this many failed claims in an hour and the member must wait.
CLAIM_FAILURES_PER_HOUR = 10
CLAIM_FAILURE_WINDOW_MS = 3600 * 1000
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --- admin: onboarding and keys ---------------------------------------------------------------------


def _usage_plan(name: str, partner_id: str) -> dict[str, str] | None:
    """A usage plan and metering key per partner on the partner API (throttling, quota), named `name`.
    Only where the API exists (PARTNER_API_ID). A plan or
    key of that name that an earlier, interrupted attempt created is used, not created again."""
    config = settings()
    api_id = config.partner_api_id
    if not api_id:
        return None
    client = boto3.client("apigateway")
    plan = next((found for page in client.get_paginator("get_usage_plans").paginate()
                 for found in page.get("items", []) if found.get("name") == name), None)
    if plan is None:
        plan = client.create_usage_plan(
            name=name, description=f"Loyalty partner {partner_id}",
            apiStages=[{"apiId": api_id, "stage": config.partner_api_stage}],
            throttle={"rateLimit": config.partner_rate_limit, "burstLimit": config.partner_burst_limit},
            quota={"limit": config.partner_daily_quota, "period": "DAY"},
        )
    key = next((found for found in client.get_api_keys(nameQuery=name, includeValues=True).get("items", [])
                if found.get("name") == name), None)
    if key is None:
        key = client.create_api_key(name=name, enabled=True, generateDistinctId=True)
    linked = {item["id"] for item in client.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", [])}
    if key["id"] not in linked:
        client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"usage_plan_id": plan["id"], "usage_key_id": key["id"], "usage_key": key["value"]}


def _drop_usage_plan(usage: dict[str, str]) -> None:
    """Best effort: the plan and key of an onboarding that failed and that no retry can find again."""
    if not usage:
        return

    client = boto3.client("apigateway")
    steps = (("usage plan key", lambda: client.delete_usage_plan_key(usagePlanId=usage["usage_plan_id"],
                                                                      keyId=usage["usage_key_id"])),
             ("api key", lambda: client.delete_api_key(apiKey=usage["usage_key_id"])),
             ("usage plan", lambda: client.delete_usage_plan(usagePlanId=usage["usage_plan_id"])))
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # the onboarding's own error is the answer; this one must not hide it
            # An orphan left behind is named in the log (and counted) so that it can be removed by hand.
            count("PartnerUsagePlanCleanupFailures")
            logger.error("a failed onboarding's usage plan could not be removed", extra={
                "what": what, "usage_plan_id": usage["usage_plan_id"], "usage_key_id": usage["usage_key_id"],
                "error": f"{type(exc).__name__}: {exc}"[:300]})


def partner_view(partner: Partner) -> dict[str, Any]:
    return {"partner_id": partner.partner_id, "name": partner.name, "contact_email": partner.contact_email,
            "status": partner.status, "created_at": partner.created_at, "key_ids": list(partner.key_ids or []),
            "usage_plan_id": partner.usage_plan_id}


def onboard(caller: Caller, request: PartnerRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()
    # A replay creates nothing outside the table again: answered before any side effect.
    recorded = recorded_outcome(idempotency)
    if recorded is not None:
        return recorded
    partner_id = new_ulid()
    key_id, api_key, secret_hash = new_api_key()
    # With an Idempotency-Key the plan's name comes from the key, so a retry after a crash finds the
    # plan and key that attempt made; without one, nobody can retry into them: dropped on failure.
    plan_name = f"partner-{key_derived_name(idempotency) if idempotency is not None else partner_id}"
    usage = _usage_plan(plan_name, partner_id) or {}
    partner = store.new_partner(partner_id, name=request.name, contact_email=request.contact_email.lower(),
                                created_at=iso_utc(utc_now()), key_ids=[key_id], **usage)
    key = store.new_key(key_id, partner_id, secret_hash)
    view = partner_view(partner)

    audit = audit_store.new_audit(caller.sub, "partner.onboarded", f"partner:{partner_id}",
                                 {"name": request.name, "key_id": key_id})

    def plan(_: Snapshot) -> Plan:
        def commit(record: IdempotencyRecord | None) -> None:
            store.create_partner(partner, key, record, audit)

        # The key is shown once: a replay of this request answers without it.
        return Plan(201, {**view, "api_key": api_key, "key_id": key_id}, commit,
                    replay_body={**view, "api_key": None, "key_id": key_id})

    try:
        outcome = execute(idempotency, lambda: snapshot_store.read_snapshot(idempotency=idempotency,
                                                                        with_program=False), plan)
    except Exception:
        if idempotency is None:
            _drop_usage_plan(usage)
        raise
    if outcome.replayed and usage and outcome.body.get("usage_plan_id") != usage["usage_plan_id"]:
        _drop_usage_plan(usage)  # a concurrent request with the same key won with other resources
    return outcome


def _partner(partner_id: str) -> Partner:
    partner = store.get_partner(checked_id(partner_id, "partner"))
    if partner is None:
        raise NotFound(f"partner {partner_id} does not exist", code="partner_not_found")
    return partner


def list_partners(caller: Caller, *, limit: int, cursor: str | None) -> Outcome:
    caller.authorize_admin()
    items, next_cursor = store.list_partners(limit=limit, cursor=cursor)
    return Outcome(200, {"items": [partner_view(item) for item in items], "next_cursor": next_cursor})


def rotate_key(caller: Caller, partner_id: str, request: KeyRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()
    partner = _partner(partner_id)
    key_id, api_key, secret_hash = new_api_key()
    key = store.new_key(key_id, partner.partner_id, secret_hash)
    old = []
    if request.revoke_others:
        old = [k for k in store.get_keys(list(partner.key_ids or [])) if k.status == "active"]
    partner.key_ids = [*(partner.key_ids or []), key_id]

    audit = audit_store.new_audit(caller.sub, "partner.key_added", f"partner:{partner.partner_id}",
                                 {"key_id": key_id, "revoked": [k.key_id for k in old]})

    def plan(_: Snapshot) -> Plan:
        def commit(record: IdempotencyRecord | None) -> None:
            store.add_key(partner, key, old, record, audit)

        body = {"partner_id": partner.partner_id, "key_id": key_id, "revoked": [k.key_id for k in old]}
        return Plan(201, {**body, "api_key": api_key}, commit, replay_body={**body, "api_key": None})

    return execute(idempotency, lambda: snapshot_store.read_snapshot(idempotency=idempotency, with_program=False), plan)


def revoke_key(caller: Caller, partner_id: str, key_id: str) -> Outcome:
    caller.authorize_admin()
    partner = _partner(partner_id)
    key = store.get_key(checked_id(key_id, "key"))
    if key is None or key.partner_id != partner.partner_id:
        raise NotFound(f"partner {partner_id} has no key {key_id}", code="key_not_found")
    store.revoke_key(key, audit_store.new_audit(caller.sub, "partner.key_revoked", f"partner:{partner.partner_id}",
                                               {"key_id": key_id}))
    return Outcome(200, {"partner_id": partner.partner_id, "key_id": key_id, "status": "revoked"})


# --- partner API: promotions, codes, reports ----------------------------------------------------------


def promotion_view(promotion: Promotion, budget_left: int | None, now: datetime) -> dict[str, Any]:
    data = dict(promotion.data or {})
    starts, ends = parse_utc(data["starts_at"]), parse_utc(data["ends_at"])
    status = "scheduled" if now < starts else "ended" if now >= ends else "active"
    return {"promotion_id": promotion.promotion_id, "partner_id": promotion.partner_id, **data,
            "created_at": promotion.created_at, "status": status, "budget_left": budget_left}


def create_promotion(caller: Caller, request: PromotionRequest, idempotency: IdempotencyRequest | None,
                     audit: AuditRecord | None = None) -> Outcome:
    """`audit`: the program staff's own code batch is an admin write (a partner's promotion is not)."""
    partner_id = str(caller.partner_id)
    promotion_id = new_ulid()
    now = utc_now()
    data = request.model_dump(mode="json", exclude_none=True)
    data["starts_at"], data["ends_at"] = iso_utc(request.starts_at), iso_utc(request.ends_at)

    def plan(snapshot: Snapshot) -> Plan:
        config = config_of(snapshot.program)
        min_tier = (request.audience.min_tier if request.audience else None)
        if min_tier is not None and min_tier not in {tier.name for tier in config.tiers}:
            raise ValidationFailed("unknown tier", errors=[{"field": "audience.min_tier",
                                                            "message": "not a tier of the program"}])
        promotion = Promotion(promotion_id=promotion_id, partner_id=partner_id, data=data, created_at=iso_utc(now))

        def commit(record: IdempotencyRecord | None) -> None:
            store.create_promotion(promotion, request.budget_points, record, audit)

        return Plan(201, promotion_view(promotion, request.budget_points, now), commit)

    return execute(idempotency, lambda: snapshot_store.read_snapshot(idempotency=idempotency), plan)


def _own_promotion(caller: Caller, promotion_id: str) -> tuple[Promotion, store.PromotionUsage]:
    """The caller's promotion; another partner's is indistinguishable from one that does not exist."""
    promotion, usage = store.get_promotion(checked_id(promotion_id, "promotion"))
    if promotion is None or usage is None or promotion.partner_id != caller.partner_id:
        raise NotFound(f"no promotion {promotion_id}", code="promotion_not_found")
    return promotion, usage


def get_promotion(caller: Caller, promotion_id: str) -> Outcome:
    promotion, usage = _own_promotion(caller, promotion_id)
    return Outcome(200, promotion_view(promotion, usage.budget_left, utc_now()))


def list_promotions(caller: Caller, *, limit: int, cursor: str | None) -> Outcome:
    items, next_cursor = store.list_promotions(str(caller.partner_id), limit=limit, cursor=cursor)
    now = utc_now()
    return Outcome(200, {"items": [promotion_view(item, None, now) for item in items],
                         "next_cursor": next_cursor})


def issue_codes(caller: Caller, promotion_id: str, request: CodesRequest,
                idempotency: IdempotencyRequest | None = None, deadline: float | None = None) -> Outcome:
    """Issues `count` codes in chunks of CODES_PER_TRANSACTION, each chunk one transaction with its record.
    With an Idempotency-Key a retry continues the same batch where it stopped (an interrupted batch
    never issues its codes twice) and, once complete, replays its answer. Past `deadline`
    (time.monotonic()) it stops after the chunk in hand and answers 503: 10,000 codes are 103
    transactions, which a slow moment can stretch past the function's timeout."""
    promotion, _ = _own_promotion(caller, promotion_id)
    if promotion.data.get("kind") == "multiplier":
        raise ValidationFailed("codes are for bonus_points and giveaway promotions", errors=[
            {"field": "promotion_id", "message": "a multiplier promotion boosts partner earn; it has no codes"}])
    recorded = recorded_outcome(idempotency)
    if recorded is not None:
        return recorded
    batch_id = key_derived_name(idempotency) if idempotency is not None else new_ulid()
    chunks = store.code_batch(batch_id) if idempotency is not None else []
    for _attempt in range(request.count // store.CODES_PER_TRANSACTION + 20):
        issued = sum(len(chunk) for chunk in chunks)
        if issued >= request.count:
            break
        fresh = [new_code(request.prefix) for _ in range(min(store.CODES_PER_TRANSACTION, request.count - issued))]
        try:
            if store.issue_code_chunk(promotion.promotion_id, promotion.partner_id, batch_id, len(chunks), fresh):
                chunks = [*chunks, fresh]
        except ConditionFailed:
            chunks = store.code_batch(batch_id)  # a concurrent retry wrote this chunk: continue after it
        issued = sum(len(chunk) for chunk in chunks)
        if deadline is not None and issued < request.count and time.monotonic() > deadline:
            raise ServiceUnavailable(_unfinished_batch(issued, request.count, idempotency), retry_after=1)
    else:
        raise ServiceUnavailable("the code batch did not complete; retry with the same Idempotency-Key",
                                 retry_after=1)
    codes = [code for chunk in chunks for code in chunk][:request.count]
    body = {"promotion_id": promotion.promotion_id, "count": len(codes), "codes": codes}
    if idempotency is not None:
        with contextlib.suppress(ConditionFailed):  # a concurrent retry recorded the same batch
            idempotency_store.save_idempotent_result(idempotency_record(idempotency, 201, dumps(body)))
    return Outcome(201, body)


def _unfinished_batch(issued: int, count: int, idempotency: IdempotencyRequest | None) -> str:
    if idempotency is not None:
        return (f"{issued} of {count} codes issued before this call ran out of time; "
                "retry with the same Idempotency-Key to continue the batch")
    return (f"{issued} of {count} codes issued before this call ran out of time and the batch stopped; "
            "send an Idempotency-Key with a large batch so that a retry continues it")


def promotion_report(caller: Caller, promotion_id: str) -> Outcome:
    promotion, usage = _own_promotion(caller, promotion_id)
    return Outcome(200, {
        "promotion_id": promotion.promotion_id,
        "codes_issued": usage.codes_issued,
        "codes_claimed": usage.codes_claimed,
        "points_awarded": usage.points_awarded,
        "partner_earns": usage.earns,
        "members_reached": usage.members_reached,
        "new_members": usage.new_members,
        "budget_left": usage.budget_left,
    })


def settlement(caller: Caller, month: str) -> Outcome:
    if not MONTH.match(month):
        raise ValidationFailed("month is YYYY-MM", errors=[{"field": "month", "in": "query",
                                                             "message": "expected YYYY-MM"}])
    config = config_of(snapshot_store.read_snapshot().program)
    # A settlement keeps plain counters (the core part): 16 keys in one request, not every part's 128.
    key = settlement_key(str(caller.partner_id), month)
    counters = aggregates.read_cores([key])[key]
    funded = counters.get("points_funded", 0)
    by_promotion = sorted(
        ({"promotion_id": name.removeprefix(PROMOTION_COUNTER), "points": value,
          "value": _money(Decimal(value) * config.point_value.value, config)}
         for name, value in counters.items() if name.startswith(PROMOTION_COUNTER)),
        key=lambda row: str(row["promotion_id"]))
    return Outcome(200, {"partner_id": caller.partner_id, "month": month, "points_funded": funded,
                         "value_owed": _money(Decimal(funded) * config.point_value.value, config),
                         "point_value": {"amount": config.point_value.amount, "currency": config.currency},
                         "by_promotion": by_promotion, "entries": counters.get("entries", 0),
                         "checkpoints": _month_roots(month)})


def _month_roots(month: str) -> list[dict[str, str]]:
    """The ledger's signed roots of the month's days checkpointed so far (docs/ledger-proofs.md): a partner can
    have any funded entry proved against them."""
    found, _ = checkpoint_store.checkpoints(f"{month}-01", f"{month}-31", limit=31, cursor=None)
    return [{"date": checkpoint.date, "root": checkpoint.root} for checkpoint in found]


def _money(value: Decimal, config: ProgramConfig) -> dict[str, str]:
    return {"amount": format_amount(value, config.currency), "currency": config.currency}


# --- promotion rules shared by claims and partner earn ------------------------------------------------


def _check_window(data: dict[str, Any], now: datetime) -> None:
    if not is_running(data, now):
        ended = now >= parse_utc(data["ends_at"])
        raise Gone("the promotion has ended" if ended else "the promotion has not started",
                   code="promotion_not_active")


def _charge(snapshot: Snapshot, member_id: str, promotion_id: str, data: dict[str, Any], points: int,
            code: str | None, enrolled_at: str) -> PromotionCharge:
    member_claims = int(snapshot.promotion_member.claims) if snapshot.promotion_member is not None else None
    assert snapshot.promotion_pool is not None  # has_room planned the take on it
    return PromotionCharge(
        promotion_id=promotion_id, member_id=member_id, points=points, pool=snapshot.promotion_pool,
        max_per_member=data.get("max_per_member"), member_claims=member_claims,
        new_member=parse_utc(enrolled_at) >= parse_utc(data["starts_at"]), code=code, by_code=code is not None,
    )


# --- partner earn -------------------------------------------------------------------------------------


def partner_earn(caller: Caller, request: PartnerEarnRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    partner_id = str(caller.partner_id)
    member_id = checked_id(request.member_id, "member")
    idempotency = key_required(idempotency)
    now = utc_now()
    amount = parse_amount(request.total.amount, request.total.currency, "total.amount")

    def decide(turn: Turn) -> Decision:
        member, config, snapshot = turn.member, turn.config, turn.snapshot
        if snapshot.order is not None:
            raise Conflict(f"order {request.order_id} was already recorded", code="order_already_recorded")
        if "partner" not in config.earn_rates:
            raise ValidationFailed("the program has no partner earn rate", errors=[
                {"field": "total", "message": "configure earn_rates.partner"}])
        promotion = snapshot.promotion
        data: dict[str, Any] = {}
        if request.promotion_id is not None:
            if promotion is None or promotion.partner_id != partner_id:
                raise NotFound(f"no promotion {request.promotion_id}", code="promotion_not_found")
            data = dict(promotion.data)
            _check_window(data, now)
        tier_multiplier = config.tier_named(member.tier).multiplier
        base = purchase_points(config=config, amount=amount, currency=request.total.currency, channel="partner",
                               tier_multiplier=tier_multiplier, occurred_at=now)
        points, rows = base.points, [row.as_dict() for row in base.breakdown]
        charge = None
        boosted = promotion is not None and is_eligible(data, member.tier, config)
        if boosted:
            extra_rows: tuple[tuple[str, Decimal, str], ...] = ()
            if data["kind"] == "multiplier":
                extra_rows = (("promotion_multiplier", Decimal(str(data["multiplier"])), data["name"]),)
            boosted_earning = purchase_points(config=config, amount=amount, currency=request.total.currency,
                                              channel="partner", tier_multiplier=tier_multiplier, occurred_at=now,
                                              extra_multipliers=extra_rows)
            extra = boosted_earning.points - base.points + (int(data.get("points") or 0)
                                                            if data["kind"] != "multiplier" else 0)
            if extra > 0 and store.has_room(snapshot.promotion_pool, snapshot.promotion_member, data, extra):
                rows = [row.as_dict() for row in boosted_earning.breakdown]
                if data["kind"] != "multiplier":
                    rows.append({"rule": "promotion_bonus", "points": int(data["points"]), "detail": data["name"]})
                points = base.points + extra
                charge = _charge(snapshot, member_id, str(request.promotion_id), data, extra, None,
                                 member.enrolled_at)
        source = {"channel": "partner", "order_id": request.order_id, "partner_id": partner_id,
                  "promotion_id": request.promotion_id if charge else None}
        entry = turn.change.earn(EntryType.PARTNER_EARN, points, qualifying=points, occurred_at=now, source=source,
                                 breakdown=rows, amount=format_amount(base.amount_in_program_currency, config.currency),
                                 details={"total": {"amount": request.total.amount, "currency": request.total.currency},
                                          "promotion_applied": charge is not None,
                                          "promotion_points": charge.points if charge else 0})
        turn.writes.new_order = Order(
            key=partner_order_key(partner_id, request.order_id), order_id=request.order_id, member_id=member_id,
            entry_id=entry.entry_id, total=request.total.amount, currency=request.total.currency, points=points,
            qualifying=points, earned_day=str(entry.day), lot=next(iter(entry.lots or {"": 0})), channel="partner")
        turn.writes.promotion = charge
        return Decision(201, lambda: entry_view(entry), final_conflicts={
            "order": Conflict(f"order {request.order_id} was already recorded", code="order_already_recorded"),
        })

    return change_points(idempotency, member_id, now, decide,
                         order_key_override=partner_order_key(partner_id, request.order_id),
                         promotion_id=request.promotion_id)


# --- members claim codes --------------------------------------------------------------------------------


def _zone() -> Any:
    """The program's time zone for a failed claim's metrics day (None before any program exists)."""
    program = snapshot_store.read_snapshot().program
    return config_of(program).zone if program is not None else None


def claim_code(caller: Caller, path_id: str, request: ClaimRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_self(path_id)
    now = utc_now()
    since = int(time.time() * 1000) - CLAIM_FAILURE_WINDOW_MS
    if store.recent_claim_failures(member_id, since, CLAIM_FAILURES_PER_HOUR) >= CLAIM_FAILURES_PER_HOUR:
        raise LimitReached("too many failed code claims in the last hour; try again later",
                           code="too_many_attempts")
    code = normalize_code(request.code)

    def failed(error: Exception, reason: str) -> Exception:
        zone = _zone()
        store.record_claim_failure(member_id, reason, now.astimezone(zone).date().isoformat() if zone else None)
        return error

    if code is None:
        raise failed(NotFound("no such code", code="code_not_found"), "malformed")
    found = store.get_code(code)
    if found is None:
        raise failed(NotFound("no such code", code="code_not_found"), "unknown")

    def decide(turn: Turn) -> Decision:
        member, snapshot = turn.member, turn.snapshot
        if snapshot.code is None or snapshot.promotion is None:
            raise NotFound("no such code", code="code_not_found")
        if snapshot.code.status != "issued":
            raise failed(Conflict("this code was already used", code="code_already_used"), "used")
        data = dict(snapshot.promotion.data)
        _check_window(data, now)
        if not is_eligible(data, member.tier, turn.config):
            raise Conflict("this promotion is for higher tiers", code="not_eligible")
        points = int(data.get("points") or 0)
        if not store.has_room(snapshot.promotion_pool, snapshot.promotion_member, data, points):
            raise Conflict("the promotion's budget or per-member limit is used up", code="promotion_exhausted")
        turn.writes.promotion = _charge(snapshot, member_id, str(snapshot.promotion.promotion_id), data, points, code,
                                        member.enrolled_at)
        entry = turn.change.earn(EntryType.PROMO, points, qualifying=0, occurred_at=now,
                                 source={"partner_id": snapshot.promotion.partner_id,
                                         "promotion_id": snapshot.promotion.promotion_id, "code": code},
                                 breakdown=[{"rule": f"promotion:{data['kind']}", "points": points,
                                             "detail": data["name"]}])
        return Decision(201, lambda: entry_view(entry), final_conflicts={
            "code": Conflict("this code was already used", code="code_already_used"),
        })

    return change_points(idempotency, member_id, now, decide, promotion_id=found.promotion_id, code=code)
