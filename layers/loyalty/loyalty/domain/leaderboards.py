"""Leaderboards (contract: "Gamification"): members ranked by a metric over a week or a month.

No item is written by every purchase. A member's own values for the current and the previous period ride
on its member item (written by the points change anyway), for the metrics some leaderboard ranks. The
stream processor reads them from the member's records and keeps, per metric and period:
  - a top list per stream bucket (the best TOP_KEPT members it saw, each at its highest value): written
    only when a batch changes it; a read merges the buckets' lists, and the global top N is always among
    them (each bucket keeps its own top N);
  - a histogram of the ranked members' values (exact counters, added once per stream record like every
    aggregate): the caller's rank beyond the listed entries is estimated from it.
Values only grow within a period (returns take nothing back), so merging by the highest value is exact and
a replayed record changes nothing. Everything here is pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt

from loyalty.domain.campaigns import CampaignId, Name, _Model

Metric = Literal["points_earned", "purchases", "challenges_completed"]
Period = Literal["week", "month"]
METRIC_CODES: dict[str, str] = {"points_earned": "pe", "purchases": "pu", "challenges_completed": "cc"}
# Each bucket's top list keeps this many members (the largest `size` a leaderboard may have).
TOP_KEPT = 100
# Histogram buckets: exact values below EXACT_BELOW, then buckets 1% wide.
EXACT_BELOW = 1000
_STEP = math.log(1.01)


class Leaderboard(_Model):
    leaderboard_id: CampaignId
    name: Name
    metric: Metric
    period: Period
    size: Annotated[StrictInt, Field(ge=3, le=100)] = 10


# --- periods -------------------------------------------------------------------------------------------


def period_key(day: date, period: str) -> str:
    """The period a day is in: its Monday (weeks) or its month, as text."""
    if period == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()[:7]


def previous_key(day: date, period: str) -> str:
    if period == "week":
        return period_key(day - timedelta(days=7), period)
    first = day.replace(day=1)
    return period_key(first - timedelta(days=1), period)


def period_bounds(key: str, period: str) -> tuple[date, date]:
    """The first and the last day of a period."""
    if period == "week":
        first = date.fromisoformat(key)
        return first, first + timedelta(days=6)
    first = date.fromisoformat(key + "-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


# --- a member's values -----------------------------------------------------------------------------------


def board_slot(period: str) -> str:
    return "w" if period == "week" else "m"


def add_to_board(board: Mapping[str, Any] | None, day: date, tracked: Iterable[tuple[str, str]],
                 added: Mapping[str, int]) -> dict[str, Any] | None:
    """The member's values after a change that added `added` (per metric) on `day` (when the facts happened).
    `tracked`: the (metric, period) pairs some leaderboard ranks. Slots: {"w": [week key, {code: value}],
    "pw": the previous week's, "m", "pm" the same for months}. A later period rolls the current one over to
    the previous; a fact of the previous period counts there; an older one counts nowhere."""
    kept = dict(board or {})
    changed = False
    for period in sorted({period for _metric, period in tracked}):
        slot, key = board_slot(period), period_key(day, period)
        current, previous = kept.get(slot), kept.get("p" + slot)
        found: list[Any]
        if current is None or key > current[0]:
            if current is not None and current[0] == previous_key(day, period):
                kept["p" + slot] = current
            elif current is not None:
                kept.pop("p" + slot, None)
            target, found = slot, [key, {}]
        elif key == current[0]:
            target, found = slot, current
        elif key == previous_key(period_bounds(current[0], period)[0], period):
            target, found = "p" + slot, previous if previous is not None and previous[0] == key else [key, {}]
        else:
            continue  # older than the previous period: on no board any more
        values: dict[str, int] = {str(code): int(amount) for code, amount in found[1].items()}
        for metric, tracked_period in tracked:
            if tracked_period == period and added.get(metric):
                code = METRIC_CODES[metric]
                values[code] = int(values.get(code, 0)) + int(added[metric])
        if [key, values] != kept.get(target):
            kept[target] = [key, values]
            changed = True
    return kept if changed else (dict(board) if board else None)


def value_in(board: Mapping[str, Any] | None, metric: str, period: str, key: str) -> int:
    """The member's value of `metric` in the period `key` (0 when it has none)."""
    for slot in (board_slot(period), "p" + board_slot(period)):
        found = (board or {}).get(slot)
        if found and found[0] == key:
            return int(found[1].get(METRIC_CODES[metric], 0))
    return 0


def display_name(nickname: str | None, name: str | None) -> str:
    """The nickname, else the first name and the initial of the last name ("Ann B.")."""
    if nickname:
        return nickname
    words = (name or "").split()
    if not words:
        return "?"
    return words[0] if len(words) == 1 else f"{words[0]} {words[-1][0]}."


def ranked(consents: Mapping[str, Any] | None) -> bool:
    """Whether a member may be listed: unless its consents say leaderboard: false."""
    return (consents or {}).get("leaderboard") is not False


# --- what a member's record tells the stream processor ----------------------------------------------------


@dataclass(frozen=True)
class Standing:
    member_id: str
    display_name: str
    value: int


def bucket_of(value: int) -> int:
    """The histogram bucket of a value: the value itself below EXACT_BELOW, then buckets 1% wide."""
    if value < EXACT_BELOW:
        return value
    return EXACT_BELOW + int(math.log(value / EXACT_BELOW) / _STEP)


def bucket_floor(bucket: int) -> int:
    """The smallest value in a bucket."""
    if bucket < EXACT_BELOW:
        return bucket
    return math.ceil(EXACT_BELOW * math.exp((bucket - EXACT_BELOW) * _STEP))


def _values(board: Mapping[str, Any] | None) -> dict[tuple[str, str, str], int]:
    """(metric code, period, key) -> value for every value on a member's board."""
    found: dict[tuple[str, str, str], int] = {}
    for slot, period in (("w", "week"), ("pw", "week"), ("m", "month"), ("pm", "month")):
        current = (board or {}).get(slot)
        if current:
            for code, value in current[1].items():
                if int(value) > 0:
                    found[(code, period, current[0])] = int(value)
    return found


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[
        list[tuple[tuple[str, str, str], Standing | None, str]], dict[tuple[str, str, str], dict[str, int]]]:
    """What a member record's change (old and new images, plain) does to the boards: for each (metric code,
    period, key) it ranks in, its standing now (None: it left the board, by consent) and its member id; and
    the histogram's counter changes ({"h<bucket>": +1 / -1})."""
    member_id = str((new or old or {}).get("member_id") or "")
    was = _values((old or {}).get("board")) if old and ranked(old.get("consents")) else {}
    now = _values((new or {}).get("board")) if new and ranked(new.get("consents")) else {}
    name = display_name((new or {}).get("nickname"), (new or {}).get("name"))
    standings: list[tuple[tuple[str, str, str], Standing | None, str]] = []
    histogram: dict[tuple[str, str, str], dict[str, int]] = {}
    for board in sorted(set(was) | set(now)):
        before, after = was.get(board), now.get(board)
        if after is not None:
            standings.append((board, Standing(member_id, name, after), member_id))
        elif before is not None:
            standings.append((board, None, member_id))
        moves: dict[str, int] = {}
        if before is not None:
            moves[f"h{bucket_of(before)}"] = moves.get(f"h{bucket_of(before)}", 0) - 1
        if after is not None:
            moves[f"h{bucket_of(after)}"] = moves.get(f"h{bucket_of(after)}", 0) + 1
        moves = {name_: count for name_, count in moves.items() if count}
        if moves:
            histogram[board] = moves
    return standings, histogram


def merge_top(current: list[dict[str, Any]], updates: Iterable[tuple[Standing | None, str]]) -> list[dict[str, Any]]:
    """A bucket's top list after some standings: each member at its highest value (a consent withdrawn
    takes it off), the best TOP_KEPT kept, highest first (then the member id, for a stable order)."""
    by_member = {str(entry["m"]): dict(entry) for entry in current}
    for standing, member_id in updates:
        if standing is None:
            by_member.pop(member_id, None)
            continue
        kept = by_member.get(member_id)
        if kept is None or standing.value >= int(kept["v"]):
            by_member[member_id] = {"m": member_id, "n": standing.display_name,
                                    "v": max(standing.value, int(kept["v"]) if kept else 0)}
    ordered = sorted(by_member.values(), key=lambda entry: (-int(entry["v"]), str(entry["m"])))
    return ordered[:TOP_KEPT]


def ranked_entries(lists: Iterable[list[dict[str, Any]]], size: int) -> list[dict[str, Any]]:
    """The buckets' lists merged: the best `size` members, ties sharing a rank."""
    best: dict[str, dict[str, Any]] = {}
    for top in lists:
        for entry in top:
            kept = best.get(str(entry["m"]))
            if kept is None or int(entry["v"]) > int(kept["v"]):
                best[str(entry["m"])] = entry
    merged = sorted(best.values(), key=lambda entry: (-int(entry["v"]), str(entry["m"])))[:size]
    shown: list[dict[str, Any]] = []
    for index, entry in enumerate(merged):
        rank = shown[-1]["rank"] if shown and shown[-1]["value"] == int(entry["v"]) else index + 1
        shown.append({"rank": rank, "display_name": entry["n"], "value": int(entry["v"]), "member_id": entry["m"]})
    return shown


def estimated_rank(histogram: Mapping[str, int], value: int) -> int:
    """1 + the members above `value` by the histogram alone: exact below EXACT_BELOW; above it the members of
    the value's own bucket are counted as half above (the estimate is off by at most half that bucket)."""
    own = bucket_of(value)
    above = sum(count for name, count in histogram.items() if int(name[1:]) > own and count > 0)
    if own >= EXACT_BELOW:
        above += max(0, histogram.get(f"h{own}", 0) - 1) // 2
    return 1 + above


def standing_beyond(lists: Iterable[list[dict[str, Any]]], histogram: Mapping[str, int], member_id: str,
                    value: int) -> tuple[int, bool]:
    """A member's rank (1 + the members with a higher value) from the stream buckets' top lists and the
    histogram, and whether it is an estimate. Exact when every list is either not full or reaches down to
    the value: then every member above it is listed (so on any board of a few hundred members, and for the
    top ~TOP_KEPT x buckets of any board). Otherwise the listed members above are counted exactly, the
    unlisted ones of higher histogram buckets exactly (so the rank is exact below EXACT_BELOW, where a bucket
    is one value), and the unlisted ones of its own bucket as half above: off by at most half the unlisted
    members of its bucket."""
    listed: dict[str, int] = {}
    complete = True
    for top in lists:
        values = [int(entry["v"]) for entry in top]
        if len(values) >= TOP_KEPT and min(values) > value:
            complete = False  # members between the list's last value and this one are not listed
        for entry in top:
            if str(entry["m"]) != member_id:
                listed[str(entry["m"])] = max(int(entry["v"]), listed.get(str(entry["m"]), 0))
    listed_above = sum(1 for other in listed.values() if other > value)
    if complete:
        return 1 + listed_above, False
    own = bucket_of(value)
    in_higher_buckets = sum(count for name, count in histogram.items() if int(name[1:]) > own and count > 0)
    listed_in_higher = sum(1 for other in listed.values() if bucket_of(other) > own)
    unlisted_above = max(0, in_higher_buckets - listed_in_higher)
    if own < EXACT_BELOW:
        return 1 + listed_above + unlisted_above, False  # its bucket is its value: nobody in it is above
    listed_in_own = sum(1 for other in listed.values() if bucket_of(other) == own)
    # The member itself is in its bucket's count; the listed ones of the bucket are counted exactly.
    within = max(0, histogram.get(f"h{own}", 0) - 1 - listed_in_own) // 2
    return 1 + listed_above + unlisted_above + within, True


def members_ranked(histogram: Mapping[str, int]) -> int:
    return sum(count for count in histogram.values() if count > 0)
