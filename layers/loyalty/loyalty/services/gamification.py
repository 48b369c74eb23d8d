"""Gamification (contract: "Gamification"): badges, challenges, and the progress facts make on them.

A challenge is validated whole on write (the model, then against the program: tiers, currency, segment,
badge). The running ones (active, not ended) are copied onto every program replica in the write's
transaction, with their segments' conditions, so a purchase or an action evaluates them with no request of
its own; one that advances nothing writes nothing more. Progress is kept on the member and committed with
the fact (see domain.gamification); a completion adds a `challenge` ledger entry, the member's completion
record and the badge to the same transaction.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty.domain import campaigns as rules
from loyalty.domain import gamification as game
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.entries import EntryType
from loyalty.domain.errors import Conflict, NotFound, ValidationFailed
from loyalty.domain.program import ProgramConfig
from loyalty.services.campaigns import member_facts
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.parsed import ParsedOnce
from loyalty.services.pointschange import Turn
from loyalty.services.program import config_of
from loyalty.services.writes import Plan, enrolled_member, execute
from loyalty.store import audit as audit_store
from loyalty.store import campaigns as campaign_store
from loyalty.store import gamification as store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.program import Program
from loyalty.store.snapshot import Snapshot

# The running challenges ride on the program item every request reads (deflated, like the campaigns).
MAX_RUNNING_BYTES = 32 * 1024
Running = tuple[list[game.Challenge], dict[str, list[rules.Condition]]]
_parsed: ParsedOnce[str, Running] = ParsedOnce()


def running(program: Program | None) -> Running:
    """The running challenges on the program item read in this request (parsed once per list), with their
    segments' conditions."""
    raw = store.running_json(program)
    if raw == "[]":
        return [], {}

    def parse() -> Running:
        challenges, segments = [], {}
        for stored in json.loads(raw):
            challenge = game.Challenge.model_validate(stored["challenge"])
            challenges.append(challenge)
            if stored.get("segment") is not None and challenge.audience.segment:
                segments[challenge.audience.segment] = [rules.Condition.model_validate(c) for c in stored["segment"]]
        return challenges, segments

    return _parsed.get(raw, parse)


# --- badges ---------------------------------------------------------------------------------------------


def _badge_view(badge: game.Badge) -> dict[str, Any]:
    return badge.model_dump(mode="json")


def create_badge(caller: Caller, badge: game.Badge, idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(idempotency=idempotency, with_program=False)

    def plan(_snapshot: Snapshot) -> Plan:
        created_at = iso_utc(utc_now())
        audit = audit_store.new_audit(caller.sub, "badge.created", f"badge:{badge.badge_id}", {"name": badge.name})

        def commit(record: IdempotencyRecord | None) -> None:
            store.create_badge(badge.badge_id, json.dumps(_badge_view(badge)), created_at, audit, record)

        return Plan(201, _badge_view(badge), commit, final_conflicts={
            "badge": Conflict(f"badge {badge.badge_id} exists already", code="badge_exists")})

    return execute(idempotency, read, plan)


def list_badges(caller: Caller) -> Outcome:
    del caller  # any authenticated caller (the handler checked the token)
    return Outcome(200, {"items": [json.loads(definition) for definition in store.list_badges()],
                         "next_cursor": None})


def _badge_names(badge_ids: list[str]) -> dict[str, str]:
    return {badge_id: json.loads(definition)["name"] for badge_id, definition in store.get_badges(badge_ids).items()}


def award_badge(caller: Caller, member_id: str, badge_id: str, reason: str,
                idempotency: IdempotencyRequest | None) -> Outcome:
    """A badge given by hand (audited, with its reason)."""
    caller.authorize_admin()
    checked_id(member_id, "member")

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(idempotency=idempotency, with_program=False)

    def plan(_snapshot: Snapshot) -> Plan:
        names = _badge_names([badge_id])
        if badge_id not in names:
            raise ValidationFailed("no badge has this id", errors=[
                {"field": "badge_id", "in": "body", "message": "no badge has this id"}])
        at = iso_utc(utc_now())
        award = game.BadgeAward(member_id, badge_id, at, "admin")
        audit = audit_store.new_audit(caller.sub, "badge.awarded", f"member:{member_id}",
                                      {"badge_id": badge_id, "reason": reason})

        def commit(record: IdempotencyRecord | None) -> None:
            store.award_badge(award, audit, record)

        return Plan(201, {"member_id": member_id, "badge_id": badge_id, "name": names[badge_id],
                          "reason": reason, "awarded_at": at}, commit,
                    final_conflicts={"member": NotFound(f"member {member_id} is not enrolled",
                                                        code="member_not_found")})

    return execute(idempotency, read, plan)


def member_badges(caller: Caller, path_id: str) -> Outcome:
    member_id = caller.authorize_member(path_id)
    enrolled_member(snapshot_store.read_snapshot(member_id=member_id, with_program=False), member_id)
    earned = sorted(store.member_badges(member_id), key=lambda badge: badge.badge_id)
    names = _badge_names([badge.badge_id for badge in earned]) if earned else {}
    return Outcome(200, {"items": [{"badge_id": badge.badge_id, "name": names.get(badge.badge_id, badge.badge_id),
                                    "earned_at": badge.earned_at, "last_earned_at": badge.last_earned_at,
                                    "times": badge.times} for badge in earned]})


# --- challenges -----------------------------------------------------------------------------------------


def _view(challenge: game.Challenge) -> dict[str, Any]:
    return challenge.model_dump(mode="json")


def _check_against(challenge: game.Challenge, config: ProgramConfig) -> list[dict[str, Any]]:
    """What the model cannot know: the program's tiers and currency, the badge (the segment is read later)."""
    tiers = {tier.name for tier in config.tiers}
    errors: list[dict[str, Any]] = []
    if challenge.audience.min_tier is not None and challenge.audience.min_tier not in tiers:
        errors.append({"field": "audience.min_tier", "message": f"not one of the program's tiers ({', '.join(tiers)})"})
    amount = challenge.goal.amount
    if amount is not None and amount.currency != config.currency:
        errors.append({"field": "goal.amount.currency",
                       "message": f"an amount goal counts in the program currency ({config.currency})"})
    for index, condition in enumerate(challenge.goal.conditions):
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        if condition.fact == "member.tier" and any(value not in tiers for value in values):
            errors.append({"field": f"goal.conditions.{index}.value", "message": "not one of the program's tiers"})
        if isinstance(condition.value, rules.MoneyValue) and condition.value.currency != config.currency:
            errors.append({"field": f"goal.conditions.{index}.value.currency",
                           "message": f"basket.total is compared in the program currency ({config.currency})"})
    action = challenge.goal.event.removeprefix("action:")
    if challenge.goal.event != "purchase" and action not in config.actions:
        errors.append({"field": "goal.event", "message": f"{action} is not an action of this program"})
    badge_id = challenge.reward.badge_id
    if badge_id is not None and not store.get_badges([badge_id]):
        errors.append({"field": "reward.badge_id", "message": "no badge has this id"})
    return errors


def save_challenge(caller: Caller, challenge_id: str | None, challenge: game.Challenge,
                   idempotency: IdempotencyRequest | None) -> Outcome:
    """POST (challenge_id None: the body's, which must be new) or PUT (create or replace)."""
    caller.authorize_admin()
    if challenge_id is not None:
        checked_id(challenge_id, "challenge")
        if challenge.challenge_id != challenge_id:
            raise ValidationFailed("the body names another challenge", errors=[
                {"field": "challenge_id", "in": "body", "message": "must be the challenge of the path"}])
    must_be_new = challenge_id is None

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        config = config_of(snapshot.program)
        program = snapshot.program
        assert program is not None
        errors = _check_against(challenge, config)
        segment_conditions = None
        if challenge.audience.segment is not None:
            segment = campaign_store.get_segment(challenge.audience.segment)
            if segment is None:
                errors.append({"field": "audience.segment", "message": "no segment has this id"})
            else:
                segment_conditions = json.loads(segment.definition)["conditions"]
        if errors:
            raise ValidationFailed("the challenge does not fit the program", errors=errors)
        now = utc_now()
        stamp = iso_utc(now)
        kept = [entry for entry in json.loads(store.running_json(program))
                if entry["challenge"]["challenge_id"] != challenge.challenge_id
                and entry["challenge"]["active"] and entry["challenge"]["ends_at"] > stamp]
        if challenge.active and challenge.ends_at > now:
            kept.append({"challenge": _view(challenge), "segment": segment_conditions})
        if len(kept) > game.MAX_RUNNING_CHALLENGES:
            raise Conflict(f"at most {game.MAX_RUNNING_CHALLENGES} challenges run at once: end or deactivate one "
                           "first", code="too_many_challenges")
        running_list = json.dumps(sorted(kept, key=lambda entry: entry["challenge"]["challenge_id"]),
                                  separators=(",", ":"))
        if len(running_list.encode()) > MAX_RUNNING_BYTES:
            raise Conflict(f"the running challenges would take {len(running_list.encode()) // 1024} KB of the "
                           f"program item every request reads (at most {MAX_RUNNING_BYTES // 1024} KB)",
                           code="too_many_challenges")
        audit = audit_store.new_audit(caller.sub, "challenge.created" if must_be_new else "challenge.saved",
                                      f"challenge:{challenge.challenge_id}",
                                      {"name": challenge.name, "active": challenge.active})
        definition = json.dumps(_view(challenge))

        def commit(record: IdempotencyRecord | None) -> None:
            store.save_challenge(challenge.challenge_id, definition, stamp, must_be_new=must_be_new, program=program,
                                 running=running_list, audit=audit, idempotency=record)

        return Plan(201 if must_be_new else 200, _view(challenge), commit, final_conflicts={
            "challenge": Conflict(f"challenge {challenge.challenge_id} exists already: PUT it to change it",
                                  code="challenge_exists")})

    return execute(idempotency, read, plan)


def get_challenge(caller: Caller, challenge_id: str) -> Outcome:
    caller.authorize_admin()
    definition = store.get_challenge(checked_id(challenge_id, "challenge"))
    if definition is None:
        raise NotFound(f"no challenge has the id {challenge_id!r}", code="challenge_not_found")
    return Outcome(200, json.loads(definition))


def list_challenges(caller: Caller) -> Outcome:
    caller.authorize_admin()
    return Outcome(200, {"items": [json.loads(definition) for definition in store.list_challenges()],
                         "next_cursor": None})


def _shown(value: int | Decimal, amount: bool) -> int | str:
    return str(value) if amount else int(value)


def member_challenges(caller: Caller, path_id: str) -> Outcome:
    """The running challenges open to the member now (its audience), and those it completed."""
    member_id = caller.authorize_member(path_id)
    snapshot = snapshot_store.read_snapshot(member_id=member_id)
    member = enrolled_member(snapshot, member_id)
    config = config_of(snapshot.program)
    now = utc_now()
    challenges, segments = running(snapshot.program)
    facts = member_facts(member, config, local_day(now, config.zone))
    states = dict(member.challenge_progress or {})
    completed = {record.challenge_id: record for record in store.member_completions(member_id)}
    items: dict[str, dict[str, Any]] = {}
    for challenge in challenges:
        if not challenge.active or now < challenge.starts_at or now >= challenge.ends_at:
            continue
        state = states.get(challenge.challenge_id)
        times = game.times_completed(challenge, state)
        if not times and not game.in_audience(challenge, facts, segments, config.currency):
            continue
        amount = challenge.goal.amount is not None
        done = bool(times) and not challenge.repeatable
        items[challenge.challenge_id] = {
            "challenge_id": challenge.challenge_id, "name": challenge.name, "description": challenge.description,
            "starts_at": iso_utc(challenge.starts_at), "ends_at": iso_utc(challenge.ends_at),
            "target": _shown(challenge.target(), amount),
            "progress": _shown(challenge.target() if done else game.progress_of(challenge, state), amount),
            "status": "completed" if done else "in_progress",
            "completed_at": (state or {}).get("at") if times else None, "times_completed": times,
            "repeatable": challenge.repeatable}
    for challenge_id, record in completed.items():
        if challenge_id in items:
            continue
        summary = record.summary
        items[challenge_id] = {
            "challenge_id": challenge_id, "name": summary.get("name"), "description": summary.get("description"),
            "starts_at": summary.get("starts_at"), "ends_at": summary.get("ends_at"),
            "target": summary.get("target"), "progress": summary.get("target"), "status": "completed",
            "completed_at": record.completed_at, "times_completed": record.times,
            "repeatable": bool(summary.get("repeatable", False))}
    return Outcome(200, {"items": [items[key] for key in sorted(items)], "next_cursor": None})


# --- on a purchase or an action -------------------------------------------------------------------------


def advance(turn: Turn, event: str, at: datetime, basket: dict[str, Any] | None = None) -> None:
    """What a purchase or an action (`event`: purchase, action:<name>) does to the running challenges:
    the member's progress, and for each challenge it completes a `challenge` entry with its points, the
    member's completion record and its badge, all in the change's transaction. Nothing when no running
    challenge is of this event (no request, no write beyond what the change writes anyway)."""
    challenges, segments = running(turn.snapshot.program)
    of_event = [challenge for challenge in challenges if challenge.goal.event == event]
    member, config = turn.member, turn.config
    states = game.kept_states(member.challenge_progress, challenges)
    if of_event:
        facts = member_facts(member, config, turn.today)
        if basket is not None:
            facts = dataclasses.replace(facts, **basket)
        fact = game.Fact(event, at, local_day(at, config.zone), facts)
        for challenge in of_event:
            state, done = game.advance(challenge, states.get(challenge.challenge_id), fact, segments=segments,
                                       currency=config.currency)
            if state is None:
                continue
            states[challenge.challenge_id] = state
            if done:
                _complete(turn, challenge, int(state["n"]), at)
    if states != (member.challenge_progress or {}):
        member.challenge_progress = states or None
    _advance_streaks(turn, event, at)


def _advance_streaks(turn: Turn, event: str, at: datetime) -> None:
    """The program's streaks of this event: the member's run, and each reward it reaches now (a `streak`
    entry, and its badge), in the change's transaction."""
    member, config = turn.member, turn.config
    streaks = [streak for streak in config.streaks if streak.event == event]
    if not streaks and not member.streak_progress:
        return
    states = game.kept_streaks(member.streak_progress, config.streaks)
    day = local_day(at, config.zone)
    for streak in streaks:
        state, reached = game.streak_step(streak, states.get(streak.streak_id), day)
        if state is None:
            continue
        states[streak.streak_id] = state
        for reward in reached:
            _streak_reward(turn, streak, reward, at)
    if states != (member.streak_progress or {}):
        member.streak_progress = states or None


def _streak_reward(turn: Turn, streak: game.Streak, reward: game.StreakReward, at: datetime) -> None:
    turn.change.earn(
        EntryType.STREAK, reward.points, qualifying=reward.points, occurred_at=at,
        source={"streak_id": streak.streak_id},
        breakdown=[{"rule": f"streak:{streak.streak_id}", "points": reward.points}],
        details={"name": streak.name, "length": reward.length,
                 **({"badge_id": reward.badge_id} if reward.badge_id else {})})
    if reward.badge_id is not None:
        turn.writes.badges.append(game.BadgeAward(turn.member.member_id, reward.badge_id, iso_utc(turn.change.now),
                                                  f"streak:{streak.streak_id}"))


def member_streaks(caller: Caller, path_id: str) -> Outcome:
    """The member's run on each of the program's streaks, as of today (program time zone)."""
    member_id = caller.authorize_member(path_id)
    snapshot = snapshot_store.read_snapshot(member_id=member_id)
    member = enrolled_member(snapshot, member_id)
    config = config_of(snapshot.program)
    today = local_day(utc_now(), config.zone)
    states = dict(member.streak_progress or {})
    return Outcome(200, {"items": [game.streak_view(streak, states.get(streak.streak_id), today)
                                   for streak in config.streaks]})


def _complete(turn: Turn, challenge: game.Challenge, times: int, at: datetime) -> None:
    points = int(challenge.reward.points or 0)
    stamp = iso_utc(turn.change.now)
    turn.change.earn(
        EntryType.CHALLENGE, points, qualifying=points, occurred_at=at,
        source={"challenge_id": challenge.challenge_id},
        breakdown=[{"rule": f"challenge:{challenge.challenge_id}", "points": points}],
        details={"name": challenge.name, "times_completed": times,
                 **({"badge_id": challenge.reward.badge_id} if challenge.reward.badge_id else {})})
    member_id = turn.member.member_id
    turn.writes.completions.append(game.Completion(member_id, challenge.challenge_id, stamp,
                                                   {**game.summary(challenge), "repeatable": challenge.repeatable}))
    if challenge.reward.badge_id is not None:
        turn.writes.badges.append(game.BadgeAward(member_id, challenge.reward.badge_id, stamp,
                                                  f"challenge:{challenge.challenge_id}"))

