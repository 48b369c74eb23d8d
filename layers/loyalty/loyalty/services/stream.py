"""The stream processor's use case: fold a batch of ledger records into the aggregates, once."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from loyalty.domain.leaderboards import Standing
from loyalty.domain.metrics import ItemKey, PoisonRecord, contributions
from loyalty.services import leaderboard_stream as leaderboards
from loyalty.store import aggregates

UNKNOWN_SHARD = "shard-unknown"


class Batch:
    """Collects what each record adds (in memory); `flush` writes each touched item once."""

    def __init__(self, shard: str | None) -> None:
        # The shard id comes with tumbling-window events (TumblingWindowInSeconds on the mapping).
        self.shard = shard or UNKNOWN_SHARD
        self.pending: dict[ItemKey, list[tuple[int, Counter[str]]]] = {}
        self.records = 0
        self.poisoned = 0
        # Members' standings on the leaderboards, per board (merged into the top lists at the flush).
        self.standings: dict[str, list[tuple[Standing | None, str]]] = {}
        self.top_list_writes = 0

    def add(self, sequence_number: str | None, event_name: str | None, keys: dict[str, Any],
            new_image: dict[str, Any] | None, raw: dict[str, Any], *, old_image: dict[str, Any] | None = None) -> None:
        """Raises PoisonRecord (after keeping the record for inspection) for an unreadable record."""
        try:
            if not sequence_number or not sequence_number.isdigit():
                raise PoisonRecord(f"no usable sequence number: {sequence_number!r}")
            found = contributions(str(event_name or ""), keys, new_image)
            standings, histograms = leaderboards.record_changes(keys, old_image, new_image)
        except PoisonRecord as exc:
            self.poisoned += 1
            aggregates.record_poison(str(sequence_number or "unknown"), str(exc), json.loads(json.dumps(raw,
                                                                                                       default=str)))
            raise
        except (KeyError, TypeError, ValueError) as exc:
            self.poisoned += 1
            aggregates.record_poison(str(sequence_number or "unknown"), f"{type(exc).__name__}: {exc}",
                                     json.loads(json.dumps(raw, default=str)))
            raise PoisonRecord(str(exc)) from exc
        self.records += 1
        sequence = int(sequence_number)
        for key, counters in found.items():
            self.pending.setdefault(key, []).append((sequence, counters))
        for key, moves in histograms.items():
            self.pending.setdefault(key, []).append((sequence, Counter(moves)))
        for board, standing, member_id in standings:
            self.standings.setdefault(board, []).append((standing, member_id))

    def flush(self) -> aggregates.ApplyStats:
        """One ADD per touched partial item of this shard's bucket (more only for a replay); then the
        leaderboards' top lists the batch changed (a replay merges values already there: no write)."""
        applied = aggregates.apply_contributions(self.shard, self.pending)
        self.top_list_writes = leaderboards.apply_standings(self.standings)
        return applied
