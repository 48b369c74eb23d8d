"""Parse once: what rides on every request's program read (the config, the running campaigns, challenges and
leaderboards) is parsed once per distinct version in a warm Lambda, not on every request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Parsed = TypeVar("Parsed")


class ParsedOnce(Generic[Key, Parsed]):
    """What `parse()` gave for a key, the last few keys kept (a new version replaces the old ones)."""

    def __init__(self, kept: int = 8) -> None:
        self._kept = kept
        self._found: dict[Key, Parsed] = {}
        self._lock = threading.Lock()

    def get(self, key: Key, parse: Callable[[], Parsed]) -> Parsed:
        found = self._found.get(key)
        if found is None:
            found = parse()
            with self._lock:
                if len(self._found) > self._kept:
                    self._found.clear()
                self._found[key] = found
        return found
