"""The mechanics of well-known programs: paid memberships, spin to win, point donations, visit
vouchers, member-only rewards (in catalog), proof-of-purchase codes (admin code batches)."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from loyalty.domain.actions import count_action
from loyalty.domain.allowance import split
from loyalty.domain.clock import end_of_local_day, iso_utc, utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, Gone, NotFound, ValidationFailed
from loyalty.domain.ids import random_code
from loyalty.domain.mechanics import add_period, choose_voucher, draw
from loyalty.domain.memberships import active_plan, membership_view
from loyalty.domain.money import format_amount
from loyalty.domain.offers import preference_values
from loyalty.domain.program import ActionRule
from loyalty.inputs.catalog import CodeBatchRequest
from loyalty.inputs.engagement import DonationRequest, MembershipRequest, VisitRequest
from loyalty.inputs.partners import CodesRequest, PromotionRequest
from loyalty.services import partners
from loyalty.services.catalog import reward_closed_reason
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.pointschange import Decision, Turn, change_points
from loyalty.services.views import entry_view
from loyalty.services.writes import Plan, execute, key_required, step
from loyalty.store import audit, catalog, vouchers
from loyalty.store import snapshot as snapshot_store
from loyalty.store.catalog import Reward
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.snapshot import Snapshot
from loyalty.store.vouchers import Voucher

# Server-side, cryptographic randomness for prizes and vouchers (tests draw with a seeded generator).
RNG = secrets.SystemRandom()
# Characters of the codes a reward prize and a visit voucher carry (ids.random_code's alphabet).
PRIZE_CODE_LENGTH = 10
VOUCHER_CODE_LENGTH = 10
VOUCHER_KEPT_AFTER_VALIDITY = timedelta(days=30)
# Proof-of-purchase codes without an `ends_at` are claimable this long.
CODE_BATCH_DEFAULT_VALIDITY = timedelta(days=365)


# --- memberships -------------------------------------------------------------------------------------


def record_membership(caller: Caller, path_id: str, request: MembershipRequest,
                      idempotency: IdempotencyRequest | None) -> Outcome:
    """A trusted back end records what the payment provider did: subscribe, renew or cancel."""
    caller.authorize_trusted()
    member_id = caller.authorize_member(path_id)
    idempotency = key_required(idempotency)
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        member, config, today = turn.member, turn.config, turn.today
        definition = config.memberships.get(request.plan_id)
        if definition is None:
            raise ValidationFailed("unknown plan",
                                   errors=[{"field": "plan_id", "message": "not a plan of the program"}])
        current = active_plan(member.membership, today)
        membership = dict(member.membership or {})
        if request.action == "subscribe":
            if current is not None:
                raise Conflict("the member already has an active plan; renew or cancel it",
                               code="membership_active")
            membership = {"plan_id": request.plan_id, "status": "active", "started_on": today.isoformat(),
                          "current_period_end": (add_period(today, definition.period) - timedelta(days=1)).isoformat(),
                          "cancel_at_period_end": False}
        elif request.action == "renew":
            if membership.get("plan_id") != request.plan_id:
                raise Conflict("the member has no such plan to renew", code="membership_not_found")
            previous_end = date.fromisoformat(membership["current_period_end"])
            start = max(previous_end + timedelta(days=1), today)
            membership.update({"status": "active", "cancel_at_period_end": False,
                               "current_period_end": (add_period(start, definition.period)
                                                      - timedelta(days=1)).isoformat()})
        else:
            if current is None or current["plan_id"] != request.plan_id:
                raise Conflict("the member has no active plan to cancel", code="membership_not_found")
            membership["cancel_at_period_end"] = True
        membership["payment_reference"] = request.payment_reference
        member.membership = membership
        entry = turn.change.note(EntryType.MEMBERSHIP, details={
            "action": request.action, "plan_id": request.plan_id, "payment_reference": request.payment_reference,
            "current_period_end": membership["current_period_end"],
            "price": {"amount": definition.price.amount, "currency": definition.price.currency}})
        return Decision(201, lambda: {"member_id": member_id,
                                      "membership": membership_view(member.membership, config, today),
                                      "entry_id": entry.entry_id})

    return change_points(idempotency, member_id, now, decide)


# --- spin to win -------------------------------------------------------------------------------------


def reward_can_be_a_prize(reward: Reward | None, now: datetime) -> bool:
    """A wheel's reward prize is given while the reward exists, is active, in its window and in stock.
    Tier, plan and per-member limits do not apply: it is a prize, not a redemption."""
    if reward is None or reward_closed_reason(reward, now):
        return False
    return reward.stock is None or int(reward.stock) >= 1


def spin(caller: Caller, path_id: str, idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_self(path_id)
    idempotency = key_required(idempotency)
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        member = turn.member
        wheel = turn.config.spin
        if wheel is None:
            raise Conflict("the program has no prize wheel", code="no_spin")
        # The per-member limit is counted under the member's version: concurrent spins cannot both pass.
        member.action_counts = count_action(ActionRule(points=0, limit=wheel.limit), "__spin",
                                            dict(member.action_counts or {}), turn.today)
        prize = draw(wheel.prizes, RNG)
        points = prize.points or 0 if prize.kind == "points" else 0
        outcome = prize.kind
        budget = turn.snapshot.spin_pool
        assert budget is not None
        # The caps split the highest budget the wheel had (a lowered one burned the room above it).
        basis = turn.snapshot.program.spin_basis if turn.snapshot.program is not None else None
        budget.caps = split(wheel.budget_points if basis is None else int(basis))
        if points and not budget.take(points):
            points, outcome = 0, "nothing"  # the prize budget is spent: the wheel lands on nothing
        prize_stock = None
        if outcome == "reward":
            # Read only on this rarer branch; a reward prize takes one from the reward's stock like a redemption.
            prize_reward, prize_stock = catalog.claimable_reward(str(prize.reward_id))
            if not reward_can_be_a_prize(prize_reward, now) or not prize_stock.take(1):
                outcome, prize_stock = "nothing", None
        details: dict[str, Any] = {"prize_id": prize.prize_id, "kind": outcome, "label": prize.label}
        if outcome == "reward":
            details.update({"reward_id": prize.reward_id, "code": random_code(PRIZE_CODE_LENGTH)})
        source = {"prize_id": prize.prize_id}
        if points:
            entry = turn.change.earn(EntryType.SPIN, points, qualifying=0, occurred_at=now, source=source,
                                     details=details,
                                     breakdown=[{"rule": "spin", "points": points, "detail": prize.prize_id}])
        else:
            entry = turn.change.note(EntryType.SPIN, details=details, source=source)
        turn.writes.spin_budget = budget if points else None
        turn.writes.reward_taken = prize_stock
        return Decision(201, lambda: {"spin_id": entry.entry_id, "prize": details, "points": points,
                                      "balance_after": int(entry.balance_after)})

    return change_points(idempotency, member_id, now, decide, spin=True)


# --- donations ---------------------------------------------------------------------------------------


def donate(caller: Caller, path_id: str, request: DonationRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_self(path_id)
    idempotency = key_required(idempotency)
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        config = turn.config
        cause = config.causes.get(request.cause_id)
        if cause is None:
            raise ValidationFailed("unknown cause",
                                   errors=[{"field": "cause_id", "message": "not a cause of the program"}])
        value = Decimal(request.points) * config.point_value.value
        entry = turn.change.spend(EntryType.DONATION, request.points, source={"cause_id": request.cause_id},
                                  description=f"Donation to {cause.name}",
                                  details={"cause_id": request.cause_id, "cause": cause.name,
                                           "value": {"amount": format_amount(value, config.currency),
                                                     "currency": config.currency}})
        turn.writes.spend = request.points
        return Decision(201, lambda: entry_view(entry))

    return change_points(idempotency, member_id, now, decide)


# --- visits and vouchers -----------------------------------------------------------------------------


def visit(caller: Caller, path_id: str, request: VisitRequest, idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        member, config, today = turn.member, turn.config, turn.today
        rewards = config.visit_rewards
        if rewards is None:
            raise Conflict("the program has no visit rewards", code="no_visit_rewards")
        member.action_counts = count_action(ActionRule(points=0, limit=rewards.limit), "__visit",
                                            dict(member.action_counts or {}), today)
        voucher = choose_voucher(list(rewards.vouchers), preference_values(member.preferences), RNG)
        code = random_code(VOUCHER_CODE_LENGTH)
        valid_until = iso_utc(end_of_local_day(today + timedelta(days=rewards.valid_days - 1), config.zone))
        entry = turn.change.note(EntryType.VISIT, source={"store_id": request.store_id}, details={
            "voucher_id": voucher.voucher_id, "name": voucher.name, "code": code, "valid_until": valid_until})
        # The voucher item outlives its validity a while, so a late scan answers "expired", not "unknown".
        turn.writes.new_voucher = Voucher(
            code=code, member_id=member_id, voucher_id=voucher.voucher_id,
            name=voucher.name, valid_until=valid_until,
            expires=datetime.fromisoformat(valid_until.replace("Z", "+00:00")) + VOUCHER_KEPT_AFTER_VALIDITY)
        return Decision(201, lambda: {"visit_id": entry.entry_id, "voucher": {
            "code": code, "voucher_id": voucher.voucher_id, "name": voucher.name, "valid_until": valid_until,
            "status": "issued"}})

    return change_points(idempotency, member_id, now, decide)


def use_voucher(caller: Caller, path_id: str, code: str, idempotency: IdempotencyRequest | None) -> Outcome:
    """The till takes the voucher: single use, the member's own, before it runs out. With an
    Idempotency-Key a till's retry replays the first answer instead of answering voucher_used."""
    caller.authorize_trusted()
    member_id = caller.authorize_member(path_id)
    checked_id(code, "voucher")
    now = utc_now()

    def plan(snapshot: Snapshot) -> Plan:
        voucher = snapshot.voucher
        if voucher is None or voucher.member_id != member_id:
            raise NotFound("no such voucher for this member", code="voucher_not_found")
        if voucher.status != "issued":
            raise Conflict("the voucher was already used", code="voucher_used")
        if now.isoformat() > voucher.valid_until.replace("Z", "+00:00"):
            raise Gone("the voucher has run out", code="voucher_expired")

        def commit(record: IdempotencyRecord | None) -> None:
            vouchers.use_voucher(voucher, iso_utc(now), record)

        return Plan(200, {"code": code, "voucher_id": voucher.voucher_id, "name": voucher.name, "status": "used",
                          "used_at": iso_utc(now)}, commit,
                    final_conflicts={"voucher": Conflict("the voucher was already used", code="voucher_used")})

    return execute(idempotency, lambda: snapshot_store.read_snapshot(
        idempotency=idempotency, voucher_code=code, with_program=False), plan)


# --- proof-of-purchase codes ----------------------------------------------------------------------------


PROGRAM_PARTNER = "program"  # codes the program issues itself (Disney Movie Insiders' codes in the box)


def code_batch(caller: Caller, request: CodeBatchRequest, idempotency: IdempotencyRequest | None,
               deadline: float | None = None) -> Outcome:
    """A promotion of the program's own and its codes. With an Idempotency-Key a retry replays both steps
    (and finishes a batch a crash interrupted) rather than issuing a second batch."""
    caller.authorize_admin()
    starts = request.starts_at or utc_now()
    ends = request.ends_at or starts + CODE_BATCH_DEFAULT_VALIDITY
    if ends <= starts:
        raise ValidationFailed("the codes would expire before they start",
                               errors=[{"field": "ends_at", "message": "must be after starts_at (default: now)"}])
    as_program = Caller(sub="program", partner_id=PROGRAM_PARTNER)
    promotion = partners.create_promotion(as_program, PromotionRequest(
        name=request.name, kind="bonus_points", points=request.points, starts_at=starts, ends_at=ends,
        budget_points=request.points * request.count, max_per_member=request.max_per_member,
        description="proof-of-purchase codes"), step(idempotency, "promotion"),
        audit=audit.new_audit(caller.sub, "code_batch.issued", "program",
                                   {"name": request.name, "count": request.count, "points": request.points})).body
    issued = partners.issue_codes(as_program, promotion["promotion_id"],
                                  CodesRequest(count=request.count, prefix=request.prefix),
                                  step(idempotency, "codes"), deadline=deadline).body
    return Outcome(201, {"promotion_id": promotion["promotion_id"], "name": request.name, "points": request.points,
                         "starts_at": promotion["starts_at"], "ends_at": promotion["ends_at"],
                         "count": issued["count"], "codes": issued["codes"]})
