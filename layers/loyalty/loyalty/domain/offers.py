"""Personal offers: a member's preferences matched against what a reward or a voucher is tagged with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def preference_values(preferences: Mapping[str, Any] | None) -> set[str]:
    """Every string a member's preferences hold ({"drink": "tea", "sizes": ["M"]} -> {"tea", "m"})."""
    values: set[str] = set()
    for value in (preferences or {}).values():
        if isinstance(value, str):
            values.add(value.strip().lower())
        elif isinstance(value, list):
            values.update(str(item).strip().lower() for item in value)
    return values


def matches_preferences(tags: list[str], preferences: set[str]) -> bool:
    """A reward with tags is for members who prefer one of them; a reward without tags is for everyone."""
    return not tags or any(tag.strip().lower() in preferences for tag in tags)
