"""The demo program `make run` seeds (the API contract's example config), read from its JSON document:
unit tests do not import the local stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEMO_PROGRAM: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "local" / "loyalty_local" / "demo_program.json").read_text())
