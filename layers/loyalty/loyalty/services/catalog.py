"""The rewards catalog: admin writes, member reads, availability rules."""

from __future__ import annotations

from datetime import datetime

from loyalty.domain import rewards
from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import Conflict, NotFound, ValidationFailed
from loyalty.domain.holders import Member
from loyalty.domain.ids import new_ulid
from loyalty.domain.program import ProgramConfig
from loyalty.inputs.catalog import RewardRequest
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.program import config_of
from loyalty.services.views import reward_view
from loyalty.services.writes import Plan, execute
from loyalty.store import audit as audit_store
from loyalty.store import catalog
from loyalty.store import snapshot as snapshot_store
from loyalty.store.catalog import Reward
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.snapshot import Snapshot


def reward_closed_reason(reward: Reward, now: datetime) -> str | None:
    """Why nobody can take `reward` now, or None (domain.rewards)."""
    return rewards.closed_reason(reward.data or {}, now)


def reward_unavailable_reason(reward: Reward, member: Member, config: ProgramConfig,
                              now: datetime) -> str | None:
    """Why `member` cannot take `reward` now, or None when it can (domain.rewards)."""
    return rewards.unavailable_reason(
        reward.data or {}, None if reward.stock is None else int(reward.stock), tier=member.tier,
        membership=member.membership, taken=int((member.reward_counts or {}).get(reward.reward_id, 0)),
        config=config, now=now)


def _reward_data(request: RewardRequest) -> dict:
    data = request.model_dump(exclude={"reward_id", "stock"}, mode="json")
    for name in ("starts_at", "ends_at"):
        value = getattr(request, name)
        data[name] = iso_utc(value) if value is not None else None
    return data


def save_reward(caller: Caller, reward_id: str | None, request: RewardRequest,
                idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()
    creating = reward_id is None
    if creating:
        reward_id = request.reward_id or new_ulid()
    elif checked_id(str(reward_id), "reward") and request.reward_id not in (None, reward_id):
        raise ValidationFailed("reward_id in the body differs from the path",
                               errors=[{"field": "reward_id", "message": "must match the path"}])
    assert reward_id is not None
    now = iso_utc(utc_now())

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(reward_definition=reward_id, idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        config = config_of(snapshot.program)
        if request.min_tier is not None and request.min_tier not in {tier.name for tier in config.tiers}:
            raise ValidationFailed("unknown tier",
                                   errors=[{"field": "min_tier", "message": "not a tier of the program"}])
        if creating and snapshot.reward is not None:
            raise Conflict(f"reward {reward_id} already exists", code="reward_exists")
        created_at = snapshot.reward.created_at if snapshot.reward is not None else now
        reward = catalog.new_reward(reward_id, data=_reward_data(request), stock=request.stock,
                                       created_at=created_at, updated_at=now)

        audit = audit_store.new_audit(caller.sub, "reward.created" if creating else "reward.updated",
                                     f"reward:{reward_id}", {"points": request.points, "stock": request.stock})

        def commit(record: IdempotencyRecord | None) -> None:
            catalog.save_reward(reward, record, must_be_new=creating, audit=audit)

        return Plan(201 if creating else 200, reward_view(reward), commit, final_conflicts={
            "reward": Conflict(f"reward {reward_id} already exists", code="reward_exists"),
        })

    return execute(idempotency, read, plan)


def list_rewards(*, limit: int, cursor: str | None) -> Outcome:
    items, next_cursor = catalog.list_rewards(limit=limit, cursor=cursor)
    return Outcome(200, {"items": [reward_view(item) for item in items], "next_cursor": next_cursor})


def get_reward(reward_id: str) -> Outcome:
    reward = catalog.get_reward(checked_id(reward_id, "reward"))
    if reward is None:
        raise NotFound(f"reward {reward_id} does not exist", code="reward_not_found")
    return Outcome(200, reward_view(reward))
