"""Leaderboards (contract: "Gamification"): writing them, a member's values kept by its points changes, the
stream's top lists and histograms, and the board a member reads (see domain.leaderboards)."""

from __future__ import annotations

import json
from datetime import date

from loyalty.domain import leaderboards as boards
from loyalty.domain.clock import iso_utc, local_day, utc_now
from loyalty.domain.entries import ISSUING_TYPES, EntryType
from loyalty.domain.errors import Conflict, NotFound
from loyalty.domain.holders import Member
from loyalty.domain.member import Entry
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.parsed import ParsedOnce
from loyalty.services.program import config_of
from loyalty.services.writes import Plan, execute
from loyalty.store import audit as audit_store
from loyalty.store import leaderboards as store
from loyalty.store import snapshot as snapshot_store
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.program import Program
from loyalty.store.snapshot import Snapshot

# Leaderboards at most: their definitions ride on every program read.
MAX_LEADERBOARDS = 20
_parsed: ParsedOnce[str, list[boards.Leaderboard]] = ParsedOnce()


def defined(program: Program | None) -> list[boards.Leaderboard]:
    raw = store.running_json(program)
    if raw == "[]":
        return []
    return _parsed.get(raw, lambda: [boards.Leaderboard.model_validate(entry) for entry in json.loads(raw)])


# --- admin ------------------------------------------------------------------------------------------------


def create_leaderboard(caller: Caller, leaderboard: boards.Leaderboard,
                       idempotency: IdempotencyRequest | None) -> Outcome:
    caller.authorize_admin()

    def read() -> Snapshot:
        return snapshot_store.read_snapshot(idempotency=idempotency)

    def plan(snapshot: Snapshot) -> Plan:
        config_of(snapshot.program)  # 409 before any program exists
        program = snapshot.program
        assert program is not None
        every = [entry.model_dump(mode="json") for entry in defined(program)
                 if entry.leaderboard_id != leaderboard.leaderboard_id]
        every.append(leaderboard.model_dump(mode="json"))
        if len(every) > MAX_LEADERBOARDS:
            raise Conflict(f"at most {MAX_LEADERBOARDS} leaderboards", code="too_many_leaderboards")
        stamp = iso_utc(utc_now())
        audit = audit_store.new_audit(caller.sub, "leaderboard.created", f"leaderboard:{leaderboard.leaderboard_id}",
                                      {"name": leaderboard.name, "metric": leaderboard.metric})

        def commit(record: IdempotencyRecord | None) -> None:
            store.save_leaderboard(leaderboard.leaderboard_id, json.dumps(leaderboard.model_dump(mode="json")), stamp,
                                   program=program, every=json.dumps(every, separators=(",", ":")), audit=audit,
                                   idempotency=record)

        return Plan(201, leaderboard.model_dump(mode="json"), commit, final_conflicts={
            "leaderboard": Conflict(f"leaderboard {leaderboard.leaderboard_id} exists already",
                                    code="leaderboard_exists")})

    return execute(idempotency, read, plan)


def list_leaderboards(caller: Caller) -> Outcome:
    caller.authorize_admin()
    program = snapshot_store.read_snapshot().program
    return Outcome(200, {"items": [entry.model_dump(mode="json") for entry in defined(program)],
                         "next_cursor": None})


# --- a points change keeps the member's values ------------------------------------------------------------


def added_by(entries: list[Entry], member_id: str) -> dict[str, dict[str, int]]:
    """What a change's entries add to the member's ranked metrics, by the day they happened (available
    points issued, purchases, challenges completed; pending points count when released)."""
    by_day: dict[str, dict[str, int]] = {}
    for entry in entries:
        if entry.member_id != member_id or entry.status == "pending":
            continue
        added = by_day.setdefault(entry.day, {"points_earned": 0, "purchases": 0, "challenges_completed": 0})
        if entry.type in ISSUING_TYPES and entry.points > 0:
            added["points_earned"] += entry.points
        if entry.type == EntryType.EARN and (entry.source or {}).get("order_id"):
            added["purchases"] += 1
        if entry.type == EntryType.CHALLENGE:
            added["challenges_completed"] += 1
    return {day: added for day, added in by_day.items() if any(added.values())}


def keep_values(program: Program | None, member: Member, entries: list[Entry]) -> None:
    """The member's values on what the leaderboards rank, after a change's entries, in the periods the
    facts happened in (nothing when no leaderboard exists: no byte more on the member)."""
    tracked = sorted({(entry.metric, entry.period) for entry in defined(program)})
    before = member.board
    if tracked:
        for day, added in sorted(added_by(entries, member.member_id).items()):
            member.board = boards.add_to_board(member.board, date.fromisoformat(day), tracked, added)
    # Only a change of the board passes the stream processor's filter (a redemption's does not).
    member.board_changed_at = iso_utc(utc_now()) if member.board != before else None


def shown_changed(member: Member) -> None:
    """A write of what a board shows of the member besides its values (name, nickname, consent, erasure)."""
    if member.board:
        member.board_changed_at = iso_utc(utc_now())


# --- a member reads a board ---------------------------------------------------------------------------------


def get_board(caller: Caller, leaderboard_id: str, period: str) -> Outcome:
    """The board's top entries for the current or the previous period, and the caller's own standing."""
    checked_id(leaderboard_id, "leaderboard")
    snapshot = snapshot_store.read_snapshot(member_id=caller.sub if not caller.is_admin else None)
    config = config_of(snapshot.program)
    board = next((entry for entry in defined(snapshot.program) if entry.leaderboard_id == leaderboard_id), None)
    if board is None:
        raise NotFound(f"no leaderboard has the id {leaderboard_id!r}", code="leaderboard_not_found")
    today = local_day(utc_now(), config.zone)
    key = boards.period_key(today, board.period) if period == "current" else boards.previous_key(today, board.period)
    name = store.board_name(boards.METRIC_CODES[board.metric], board.period, key)
    tops = store.read_tops(name)
    entries = boards.ranked_entries(tops, board.size)
    histogram = store.read_histogram(name)
    me = None
    member = snapshot.member
    if member is not None and member.status != "erased" and boards.ranked(member.consents):
        value = boards.value_in(member.board, board.metric, board.period, key)
        listed = next((entry for entry in entries if entry["member_id"] == member.member_id), None)
        if listed is not None:
            me = {"rank": listed["rank"], "value": listed["value"], "rank_is_estimate": False}
        elif value <= 0:
            # Not ranked: after every member with a value (all of whom the histogram counts).
            me = {"rank": 1 + boards.members_ranked(histogram), "value": 0, "rank_is_estimate": False}
        else:
            rank, is_estimate = boards.standing_beyond(tops, histogram, member.member_id, value)
            me = {"rank": rank, "value": value, "rank_is_estimate": is_estimate}
    first, last = boards.period_bounds(key, board.period)
    return Outcome(200, {"leaderboard_id": leaderboard_id, "name": board.name, "metric": board.metric,
                         "period": {"from": first.isoformat(), "to": last.isoformat()},
                         "entries": [{"rank": entry["rank"], "display_name": entry["display_name"],
                                      "value": entry["value"]} for entry in entries],
                         "members_ranked": boards.members_ranked(histogram), "me": me})
