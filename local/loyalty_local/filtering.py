"""Lambda event filtering (an event source mapping's FilterCriteria), as the local stack applies it to the
stream records it polls: a record goes to the function when any filter's pattern matches it; the others
are dropped before the batch is made, as on AWS (they never count toward a batch, nor reach the function).

The pattern syntax is EventBridge's; the local stack knows the rules the template uses (exact values,
`prefix`, `exists`) and refuses any other, so that a pattern it cannot judge is never judged wrongly.
"""

from __future__ import annotations

import json
from typing import Any

SUPPORTED_RULES = ("prefix", "exists")


def parse_filters(filter_criteria: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The template's `FilterCriteria` as patterns (each checked for rules the local stack supports)."""
    patterns = [json.loads(item["Pattern"]) for item in (filter_criteria or {}).get("Filters") or []]
    for pattern in patterns:
        _check(pattern)
    return patterns


def _check(pattern: dict[str, Any]) -> None:
    for rule in pattern.values():
        if isinstance(rule, dict):
            _check(rule)
            continue
        if not isinstance(rule, list):
            raise ValueError(f"a filter pattern's leaves are lists of values or rules, not {rule!r}")
        for option in rule:
            if isinstance(option, dict) and (len(option) != 1 or next(iter(option)) not in SUPPORTED_RULES):
                raise ValueError(f"filter rule {option!r} is not supported by the local stack")


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Every field of the pattern holds for the event (fields the pattern does not name are free)."""
    for name, rule in pattern.items():
        value = event.get(name) if isinstance(event, dict) else None
        if isinstance(rule, dict):
            if not matches(rule, value):
                return False
        elif not any(_holds(option, value) for option in rule):
            return False
    return True


def _holds(option: Any, value: Any) -> bool:
    if isinstance(option, dict):
        if "prefix" in option:
            return isinstance(value, str) and value.startswith(option["prefix"])
        return (value is not None) == bool(option["exists"])
    return bool(value == option)


def passes(patterns: list[dict[str, Any]], event: dict[str, Any]) -> bool:
    """No filters: every record; else those any filter matches."""
    return not patterns or any(matches(pattern, event) for pattern in patterns)
