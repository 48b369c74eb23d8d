"""Checkout: points as payment (hold, capture, release), cancelled redemptions, transfers between members.

Each call is one consistent BatchGetItem and one TransactWriteItems, like every points change
(services/pointschange.py): the hold, the redemption or the other member is read with the member.
Holds are not ledger entries: their points leave `available` (and the lots) when held and come back
when released or expired; only a capture writes an entry, the `redeem` the checkout paid with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, LimitReached, NotFound, ValidationFailed
from loyalty.domain.holders import Hold
from loyalty.domain.ids import new_ulid, random_code
from loyalty.domain.member import ClosedHold, MemberChange
from loyalty.inputs.redemptions import (
    CancelRedemptionRequest,
    CaptureRequest,
    HoldRequest,
    ReleaseRequest,
    TransferRequest,
)
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.ledger import REDEMPTION_CODE_LENGTH, redemption_view
from loyalty.services.pointschange import Decision, Turn, change_points
from loyalty.services.views import entry_view, hold_view
from loyalty.services.writes import enrolled_member, key_required
from loyalty.store import audit as audit_store
from loyalty.store import ledger, shares
from loyalty.store import snapshot as snapshot_store
from loyalty.store.audit import AuditRecord
from loyalty.store.idempotency import IdempotencyRequest


def _hold_not_found(hold_id: str) -> NotFound:
    return NotFound(f"no hold {hold_id} of this member", code="hold_not_found")


def place_hold(caller: Caller, path_id: str, request: HoldRequest,
               idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    return hold_from(member_id, request, key_required(idempotency))


def hold_from(holder_id: str, request: HoldRequest, idempotency: IdempotencyRequest,
              check: Callable[[Turn], None] | None = None, **reading: Any) -> Outcome:
    """A hold on a holder of points: a member, or a household's pool (`check`: the spender's right to it,
    asked on each attempt's read)."""
    member_id = holder_id
    now = utc_now()
    hold_id = new_ulid()
    expires_at = iso_utc(now + timedelta(seconds=request.expires_in_seconds))

    def decide(turn: Turn) -> Decision:
        if check is not None:
            check(turn)
        lots = turn.change.hold(request.points, hold_id=hold_id, expires_at=expires_at)
        turn.writes.spend = request.points
        hold = Hold(hold_id=hold_id, member_id=member_id, points=request.points, order_id=request.order_id,
                    description=request.description, expires_at=expires_at, created_at=iso_utc(now),
                    balance_after=turn.change.wallet.available, lots=lots)
        turn.writes.new_hold = hold
        return Decision(201, lambda: hold_view(hold, now))

    return change_points(idempotency, member_id, now, decide, **reading)


def get_hold(caller: Caller, path_id: str, hold_id: str) -> Outcome:
    member_id = caller.authorize_member(path_id)
    checked_id(hold_id, "hold")
    snapshot = snapshot_store.read_snapshot(member_id=member_id, hold_id=hold_id, with_program=False)
    enrolled_member(snapshot, member_id)
    if snapshot.hold is None:
        raise _hold_not_found(hold_id)
    return Outcome(200, hold_view(snapshot.hold, utc_now()))


def list_holds(caller: Caller, path_id: str, *, limit: int, cursor: str | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    holds, next_cursor = ledger.list_holds(member_id, limit=limit, cursor=cursor)
    if not holds and cursor is None:
        enrolled_member(snapshot_store.read_snapshot(member_id=member_id, with_program=False), member_id)
    now = utc_now()
    return Outcome(200, {"items": [hold_view(hold, now) for hold in holds], "next_cursor": next_cursor})


def _open_hold(turn: Turn, hold_id: str) -> Hold:
    """The hold a capture or release names, still open: 404 unknown, 409 hold_expired / hold_not_open."""
    hold = turn.snapshot.hold
    if hold is None:
        raise _hold_not_found(hold_id)
    closed_now = next((closed for closed in turn.writes.closed_holds if closed.hold_id == hold_id), None)
    if closed_now is not None or hold.status == "expired":
        raise Conflict(f"hold {hold_id} expired at {hold.expires_at}; its points are back", code="hold_expired")
    if hold.status != "held" or hold_id not in turn.change.open_holds():
        raise Conflict(f"hold {hold_id} is already {hold.status}", code="hold_not_open")
    return hold


def capture_hold(caller: Caller, path_id: str, hold_id: str, request: CaptureRequest,
                 idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_trusted()
    member_id = caller.authorize_member(path_id)
    checked_id(hold_id, "hold")
    return capture_from(member_id, hold_id, request, key_required(idempotency), source=caller.on_behalf(member_id))


def capture_from(holder_id: str, hold_id: str, request: CaptureRequest, idempotency: IdempotencyRequest, *,
                 source: dict[str, str], check: Callable[[Turn], None] | None = None, **reading: Any) -> Outcome:
    """Capture a hold of a holder of points: a member's, or a household pool's."""
    member_id = holder_id
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        if check is not None:
            check(turn)
        hold = _open_hold(turn, hold_id)
        points = int(hold.points) if request.points is None else request.points
        if points > int(hold.points):
            raise ValidationFailed(f"the hold holds {int(hold.points)} points", errors=[
                {"field": "points", "message": f"at most the {int(hold.points)} points held"}])
        redemption = {"reward_id": None, "code": random_code(REDEMPTION_CODE_LENGTH), "status": "issued",
                      "hold_id": hold_id, "order_id": hold.order_id}
        entry, closed = turn.change.capture(hold_id, points, redemption=redemption, description=hold.description,
                                            source=source)
        turn.writes.closed_holds.append(closed)
        captured = _closed_view(hold, closed)
        return Decision(200, lambda: {**hold_view(captured, now), "balance_after": turn.change.wallet.available,
                                      "entry": entry_view(entry)})

    return change_points(idempotency, member_id, now, decide, hold_id=hold_id, **reading)


def release_hold(caller: Caller, path_id: str, hold_id: str, request: ReleaseRequest,
                 idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_member(path_id)
    checked_id(hold_id, "hold")
    return release_from(member_id, hold_id, key_required(idempotency))


def release_from(holder_id: str, hold_id: str, idempotency: IdempotencyRequest,
                 check: Callable[[Turn], None] | None = None, **reading: Any) -> Outcome:
    """Release a hold of a holder of points: a member's, or a household pool's (`check`: the caller's right)."""
    member_id = holder_id
    now = utc_now()

    def decide(turn: Turn) -> Decision:
        if check is not None:
            check(turn)
        hold = _open_hold(turn, hold_id)
        closed = turn.change.release(hold_id)
        turn.writes.closed_holds.append(closed)
        released = _closed_view(hold, closed)
        return Decision(200, lambda: {**hold_view(released, now), "balance_after": turn.change.wallet.available})

    # Released points were the member's: they go back even to a blocked member.
    return change_points(idempotency, member_id, now, decide, while_blocked=True, hold_id=hold_id, **reading)


def _closed_view(hold: Hold, closed: ClosedHold) -> Hold:
    """The hold as it reads once `closed` is written."""
    return dataclasses.replace(hold, status=closed.status, captured_points=closed.captured_points,
                               closed_id=closed.closed_id, closed_at=closed.closed_at,
                               redemption_id=closed.redemption_id, balance_after=closed.balance_after)


class _StockRedefined(Conflict):
    """The reward's stock was set anew (or made unlimited) since the redemption: no unit goes back."""


def cancel_redemption(caller: Caller, path_id: str, redemption_id: str, request: CancelRedemptionRequest,
                      idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_trusted()
    member_id = caller.authorize_member(path_id)
    checked_id(redemption_id, "redemption")
    idempotency = key_required(idempotency)
    return cancel_from(member_id, redemption_id, request, idempotency, caller, target=f"member:{member_id}")


def cancel_from(holder_id: str, redemption_id: str, request: CancelRedemptionRequest,
                idempotency: IdempotencyRequest, caller: Caller, *, target: str) -> Outcome:
    """Cancel a redemption of a holder of points (a member's, or a household pool's): its points back into
    their lots, its reward's unit back into stock. `target`: what an admin's audit record names."""
    member_id = holder_id
    now = utc_now()
    audit = None
    if caller.is_admin:  # staff's cancellations are audited; a shop's refunds are in the ledger
        audit = audit_store.new_audit(caller.sub, "redemption.cancelled", target,
                                     {"redemption_id": redemption_id, "reason": request.reason})
    try:
        return _cancel(member_id, redemption_id, request, idempotency, now, audit, give_stock_back=True)
    except _StockRedefined:
        return _cancel(member_id, redemption_id, request, idempotency, now, audit, give_stock_back=False)


def _cancel(member_id: str, redemption_id: str, request: CancelRedemptionRequest, idempotency: IdempotencyRequest,
            now: datetime, audit: AuditRecord | None, *, give_stock_back: bool) -> Outcome:
    def decide(turn: Turn) -> Decision:
        redemption = turn.snapshot.entry
        if redemption is None or redemption.type != EntryType.REDEEM:
            raise NotFound(f"no redemption {redemption_id} of this member", code="redemption_not_found")
        if redemption.reversal_id is not None:
            raise Conflict(f"redemption {redemption_id} was already cancelled", code="redemption_not_cancellable")
        reversal = turn.change.give_back(redemption, reason=request.reason)
        details = dict(redemption.redemption or {})
        reward = details.get("reward_id")
        if reward:
            counts = dict(turn.member.reward_counts or {})
            if counts.get(reward, 0) > 0:
                counts[reward] -= 1
            turn.member.reward_counts = counts
            # The unit goes back into the share it came from (recorded by the redemption): no read of it.
            if give_stock_back and details.get("stock_share") is not None:
                turn.writes.stock_given_back = (shares.reward_owner(reward), int(details["stock_share"]),
                                                details.get("stock_set_at"))
        redemption.redemption = {**details, "status": "cancelled", "cancelled_at": reversal.recorded_at}
        redemption.reversal_id = reversal.entry_id
        turn.writes.cancelled_redemption = redemption
        return Decision(200, lambda: {
            **redemption_view(redemption, int(reversal.balance_after)),
            "reversal": entry_view(reversal),
        }, final_conflicts={
            "redemption": Conflict(f"redemption {redemption_id} was already cancelled",
                                   code="redemption_not_cancellable"),
            "stock": _StockRedefined("the reward's stock was redefined"),
        })

    # A refund gives back what was the member's, blocked or not.
    return change_points(idempotency, member_id, now, decide, while_blocked=True, audit=audit, entry_id=redemption_id)


def transfer(caller: Caller, path_id: str, request: TransferRequest,
             idempotency: IdempotencyRequest | None) -> Outcome:
    member_id = caller.authorize_self(path_id)
    idempotency = key_required(idempotency)
    if request.to_member_id == member_id:
        raise ValidationFailed("a member cannot transfer points to itself", errors=[
            {"field": "to_member_id", "message": "must be another member"}])
    now = utc_now()
    transfer_id = new_ulid()

    def decide(turn: Turn) -> Decision:
        sender, config = turn.member, turn.config
        rules = config.transfers
        if rules is None or not rules.enabled:
            raise Conflict("this program does not allow transfers", code="transfer_not_allowed")
        if request.points < rules.min_points:
            raise Conflict(f"a transfer is at least {rules.min_points} points", code="transfer_not_allowed")
        if rules.min_tier is not None and config.tier_rank(sender.tier) < config.tier_rank(rules.min_tier):
            raise Conflict(f"transfers need the {rules.min_tier} tier or higher", code="transfer_not_allowed")
        receiver = turn.snapshot.other_member
        if receiver is None:
            raise NotFound(f"member {request.to_member_id} is not enrolled", code="member_not_found")
        if receiver.status != "active":
            raise Conflict(f"member {request.to_member_id} cannot receive points", code="transfer_not_allowed")
        month = turn.today.isoformat()[:7]
        sent = dict(sender.transfers_sent or {})
        sent_this_month = int(sent.get("points", 0)) if sent.get("month") == month else 0
        if sent_this_month + request.points > rules.max_points_per_month:
            raise LimitReached(f"at most {rules.max_points_per_month} points a month may be transferred; "
                               f"{sent_this_month} already were", code="transfer_limit_reached",
                               limit=rules.max_points_per_month, per="month")
        sender.transfers_sent = {"month": month, "points": sent_this_month + request.points}
        out_entry = turn.change.transfer_out(request.points, to_member_id=receiver.member_id,
                                             transfer_id=transfer_id, message=request.message)
        turn.writes.spend = request.points
        incoming = MemberChange(receiver, config, now)
        turn.writes.closed_holds.extend(incoming.fold_expired_holds())
        in_entry = incoming.transfer_in(request.points, from_member_id=member_id, transfer_id=transfer_id,
                                        message=request.message)
        turn.writes.other_members.append(receiver)
        turn.writes.entries.extend(incoming.finish())
        # The sender sees its own balance, not the receiver's.
        shown_in = entry_view(in_entry)
        if not caller.is_admin:
            shown_in["balance_after"] = None
        return Decision(201, lambda: {"transfer_id": transfer_id, "points": request.points,
                                      "from_entry": entry_view(out_entry), "to_entry": shown_in})

    return change_points(idempotency, member_id, now, decide, other_member_id=request.to_member_id)
