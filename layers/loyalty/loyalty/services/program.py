"""The program config in force: parsed once per version, read consistently on every request."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from loyalty.domain.errors import Conflict, ValidationFailed
from loyalty.domain.program import ProgramConfig
from loyalty.services.context import Caller, Outcome
from loyalty.services.writes import Plan, execute
from loyalty.store import repository
from loyalty.store.models import ProgramItem
from loyalty.store.repository import IdempotencyRequest

# Fields a GET /program adds to the config; ignored when sent back.
SERVER_COMPUTED = ("version", "spin_odds")
_cache_lock = threading.Lock()
_parsed: dict[tuple[int, str], ProgramConfig] = {}


def config_of(item: ProgramItem | None) -> ProgramConfig:
    """The parsed config of the item read in this request (no stale cache: the item is always read)."""
    if item is None:
        raise Conflict("no program is configured yet: PUT /admin/program first", code="program_not_configured")
    # Keyed by version and write time: a re-created table (tests, a new stack) restarts at version 1.
    version = (int(item.version), item.updated_at)
    parsed = _parsed.get(version)
    if parsed is None:
        parsed = ProgramConfig.model_validate_json(item.config)
        with _cache_lock:
            if len(_parsed) > 8:
                _parsed.clear()
            _parsed[version] = parsed
    return parsed


def program_view(item: ProgramItem) -> dict[str, Any]:
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


def get_program() -> Outcome:
    snapshot = repository.read_snapshot()
    if snapshot.program is None:
        raise Conflict("no program is configured yet", code="program_not_configured")
    return Outcome(200, program_view(snapshot.program))


def put_program(caller: Caller, body: Any, idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()
    if isinstance(body, dict):
        # What a GET adds (readOnly in the document): a GET's answer may be PUT back as it is.
        body = {key: value for key, value in body.items() if key not in SERVER_COMPUTED}
    parse_config(body)
    config_json = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_decimal_json)

    def plan(snapshot: repository.Snapshot) -> Plan:
        next_version = (int(snapshot.program.version) if snapshot.program else 0) + 1
        view = json.loads(config_json)
        view["version"] = next_version

        def commit(record: Any) -> None:
            repository.save_program(snapshot.program, config_json, caller.sub, record)

        return Plan(200, view, commit)

    return execute(idempotency, lambda: repository.read_snapshot(idempotency=idempotency), plan)


def _decimal_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    raise TypeError(f"not JSON serializable: {type(value)}")
