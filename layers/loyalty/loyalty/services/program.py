"""The program config in force: parsed once per version, read consistently on every request."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from loyalty.domain.allowance import split
from loyalty.domain.errors import Conflict, NotFound, ValidationFailed
from loyalty.domain.program import ProgramConfig
from loyalty.services.context import Caller, Outcome
from loyalty.services.parsed import ParsedOnce
from loyalty.services.writes import Plan, execute
from loyalty.store import audit as audit_store
from loyalty.store import gamification as gamification_store
from loyalty.store import program, shares
from loyalty.store import snapshot as snapshot_store
from loyalty.store.idempotency import IdempotencyRequest
from loyalty.store.program import Program

# Fields a GET /program adds to the config; ignored when sent back.
SERVER_COMPUTED = ("version", "spin_odds")
_parsed: ParsedOnce[tuple[int, str], ProgramConfig] = ParsedOnce()


def config_of(item: Program | None) -> ProgramConfig:
    """The parsed config of the program read in this request (no stale cache: the program is always read)."""
    if item is None:
        raise Conflict("no program is configured yet: PUT /admin/program first", code="program_not_configured")
    # Keyed by version and write time: a re-created table (tests, a new stack) restarts at version 1.
    return _parsed.get((int(item.version), item.updated_at), lambda: ProgramConfig.model_validate_json(item.config))


def program_view(item: Program) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(item.config)
    body["version"] = int(item.version)
    wheel = config_of(item).spin
    if wheel is not None:
        body["spin_odds"] = wheel.odds()  # published, as the wheel's rules require
    return body


def validation_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"])
        errors.append({"field": f"{prefix}{location}" if location else prefix.rstrip(".") or "body",
                       "message": error["msg"], "type": error["type"]})
    return errors


def parse_config(body: Any) -> ProgramConfig:
    try:
        return ProgramConfig.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed("the program config is invalid", errors=validation_errors(exc)) from exc


def _badges_exist(config: ProgramConfig) -> None:
    """The badges the streaks' rewards give must exist (badges are created before the config names them)."""
    named = {f"streaks.{i}.rewards.{j}.badge_id": reward.badge_id for i, streak in enumerate(config.streaks)
             for j, reward in enumerate(streak.rewards) if reward.badge_id is not None}
    if not named:
        return
    found = gamification_store.get_badges(list(named.values()))
    errors = [{"field": field, "in": "body", "message": "no badge has this id"}
              for field, badge_id in named.items() if badge_id not in found]
    if errors:
        raise ValidationFailed("the program config names badges that do not exist", errors=errors)


def get_program() -> Outcome:
    snapshot = snapshot_store.read_snapshot()
    if snapshot.program is None:
        raise Conflict("no program is configured yet", code="program_not_configured")
    return Outcome(200, program_view(snapshot.program))


def put_program(caller: Caller, body: Any, idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()
    if isinstance(body, dict):
        # What a GET adds (readOnly in the document): a GET's answer may be PUT back as it is.
        body = {key: value for key, value in body.items() if key not in SERVER_COMPUTED}
    _badges_exist(parse_config(body))
    config_json = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_decimal_json)
    return _new_version(caller, config_json, idempotency, "program.updated", {})


def _new_version(caller: Caller, config_json: str, idempotency: IdempotencyRequest | None, action: str,
                 details: dict[str, Any]) -> Outcome:
    wheel = ProgramConfig.model_validate_json(config_json).spin
    budget = wheel.budget_points if wheel is not None else None

    def plan(snapshot: snapshot_store.Snapshot) -> Plan:
        current = snapshot.program
        next_version = (int(current.version) if current else 0) + 1
        view = json.loads(config_json)
        view["version"] = next_version
        audit = audit_store.new_audit(caller.sub, action, "program", {**details, "version": next_version})
        # The prize wheel's budget, like a campaign's: its share caps only grow (spin_basis), and a lowered
        # budget burns the room above it, before the answer when the caps stay, after the write otherwise.
        before_wheel = config_of(current).spin if current is not None else None
        budget_before = before_wheel.budget_points if before_wheel is not None else None
        basis_before = int(current.spin_basis) if current is not None and current.spin_basis is not None else None
        change = shares.budget_change(budget_before, basis_before, budget)
        if budget is not None and change.basis is not None and change.caps_kept:
            shares.set_budget(shares.SPIN, list(split(change.basis)), budget)

        def commit(record: Any) -> None:
            program.save_program(current, config_json, caller.sub, record, audit, spin_basis=change.basis)
            if budget is not None and change.basis is not None:
                shares.set_budget(shares.SPIN, list(split(change.basis)), budget)

        return Plan(200, view, commit)

    return execute(idempotency, lambda: snapshot_store.read_snapshot(idempotency=idempotency), plan)


def version_view(item: Program, *, with_config: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"version": int(item.version), "at": item.updated_at, "actor": item.updated_by}
    if with_config:
        view["config"] = json.loads(item.config)
    return view


def version_number(text: str) -> int:
    """A version as a path names it: a positive integer, or no version at all (404)."""
    if not text.isdigit() or not 1 <= int(text) <= 10**8:
        raise NotFound(f"the program has no version {text[:20]!r}", code="version_not_found")
    return int(text)


def list_versions(caller: Caller, *, limit: int, cursor: str | None) -> Outcome:
    caller.authorize_admin()
    items, next_cursor = program.program_versions(limit=limit, cursor=cursor)
    return Outcome(200, {"items": [version_view(item, with_config=False) for item in items],
                         "next_cursor": next_cursor})


def get_version(caller: Caller, version_text: str) -> Outcome:
    caller.authorize_admin()
    version = version_number(version_text)
    item = program.program_version(version)
    if item is None:
        raise NotFound(f"the program has no version {version}", code="version_not_found")
    return Outcome(200, version_view(item, with_config=True))


def rollback(caller: Caller, version: int, idempotency: IdempotencyRequest | None) -> Outcome:
    """A new version whose config equals an old one (the history is never rewritten)."""
    caller.authorize_admin()
    item = program.program_version(version)
    if item is None:
        raise NotFound(f"the program has no version {version}", code="version_not_found")
    return _new_version(caller, item.config, idempotency, "program.rolled_back", {"to_version": version})


def _decimal_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    raise TypeError(f"not JSON serializable: {type(value)}")
