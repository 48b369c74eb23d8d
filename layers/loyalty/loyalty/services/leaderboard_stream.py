"""The stream processor's part of the leaderboards (see domain.leaderboards): what a member record's change
does to the boards, and the top lists a batch changes. Kept apart from services.leaderboards so that the
stream processor imports only the domain and the store modules it needs (its cold start)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from loyalty.domain import leaderboards as boards
from loyalty.domain.metrics import json_attribute
from loyalty.store import aggregates
from loyalty.store import leaderboards as store


def record_changes(keys: Mapping[str, Any], old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[
        list[tuple[str, boards.Standing | None, str]], dict[aggregates.ItemKey, dict[str, int]]]:
    """What a member record's stream record does to the boards: standings per board, histogram counters."""
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    if sk != "PROFILE" or not pk.startswith("MEMBER#") or pk.startswith("MEMBER#household#"):
        return [], {}
    if not (old or {}).get("board") and not (new or {}).get("board"):
        return [], {}

    def image(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if raw is None:
            return None
        # An erased member leaves the boards as one who withdrew its consent does.
        erased = raw.get("status") == "erased"
        consents = {"leaderboard": False} if erased else json_attribute(raw.get("consents"), None)
        return {"member_id": raw.get("member_id") or pk[7:], "name": raw.get("name"), "nickname": raw.get("nickname"),
                "consents": consents, "board": json_attribute(raw.get("board"), None)}

    standings, histogram = boards.changes(image(old), image(new))
    return ([(store.board_name(*board), standing, member_id) for board, standing, member_id in standings],
            {store.histogram_key(store.board_name(*board)): moves for board, moves in histogram.items()})


def apply_standings(found: Mapping[str, list[tuple[boards.Standing | None, str]]]) -> int:
    """Each board's top lists after a batch's standings: the (board, member bucket) lists touched read in
    one request, and only those the batch changes written."""
    by_list: dict[tuple[str, int], list[tuple[boards.Standing | None, str]]] = {}
    for board, updates in found.items():
        for standing, member_id in updates:
            bucket = zlib.crc32(member_id.encode()) % aggregates.BUCKETS
            by_list.setdefault((board, bucket), []).append((standing, member_id))
    return store.merge_into_tops({place: (lambda current, these=updates: boards.merge_top(current, these))
                                  for place, updates in by_list.items()})
