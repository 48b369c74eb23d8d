"""The demo program `make run` seeds: the example config of the API contract, and a small catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The program as a JSON document (demo_program.json): the unit tests read the same file without importing
# the local stack.
DEMO_PROGRAM: dict[str, Any] = json.loads((Path(__file__).parent / "demo_program.json").read_text())

DEMO_REWARDS: list[dict[str, Any]] = [
    {"reward_id": "free-coffee", "name": "Free coffee", "description": "Any size", "points": 40,
     "tags": ["coffee"]},
    {"reward_id": "free-tea", "name": "Free tea", "description": "Any blend", "points": 40, "tags": ["tea"]},
    {"reward_id": "five-off", "name": "$5 off", "description": "On any order", "points": 500},
    {"reward_id": "gold-lounge", "name": "Lounge access", "description": "Gold members and above",
     "points": 2000, "min_tier": "Gold"},
    {"reward_id": "tote-bag", "name": "Limited tote bag", "description": "While stock lasts", "points": 800,
     "stock": 10, "per_member_limit": 1},
]
