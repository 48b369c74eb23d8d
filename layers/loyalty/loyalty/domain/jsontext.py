"""JSON text from callers, bounded before it is parsed: Python's `json` recurses once per level of
nesting (a few thousand levels raise RecursionError, not ValueError), and everything downstream (pydantic,
our own walks) recurses too. So the nesting is measured on the text, in one linear pass, first."""

from __future__ import annotations

import json
import re
from typing import Any

# The contract's bound on request bodies (Conventions) and on import rows: deeper is refused.
MAX_DEPTH = 32

_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


class TooDeep(ValueError):
    """Nested beyond the limit (a ValueError, so it is reported as any other unreadable JSON)."""


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets inside strings do not count); stops
    counting and raises TooDeep as soon as it passes `limit`."""
    depth = deepest = 0
    in_string = False
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark[0] == "\\":
            continue  # an escape: inside a string it may be \" (outside one the JSON is invalid anyway)
        if mark == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif mark in "[{":
            depth += 1
            if depth > limit:
                raise TooDeep(f"nested more than {limit} levels deep")
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads_bounded(text: str, limit: int = MAX_DEPTH) -> Any:
    """json.loads for text from outside: ValueError (never RecursionError) for what it cannot take."""
    nesting_depth(text, limit)
    return json.loads(text)
