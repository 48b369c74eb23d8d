"""Monotonic ULIDs: 48-bit millisecond time + 80 random bits, Crockford base32.

Within one process, ids created in the same millisecond increment the random part, so ledger
entry ids sort in creation order (the contract orders activity by recorded_at, then entry_id).
"""

from __future__ import annotations

import secrets
import threading
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def reset() -> None:
    """Forget the last id's time and randomness (a SnapStart restore: every instance resumed from the
    same snapshot must not continue the same sequence)."""
    global _last_ms, _last_rand
    with _lock:
        _last_ms, _last_rand = -1, 0


def new_ulid(now_ms: int | None = None) -> str:
    global _last_ms, _last_rand
    with _lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= _last_ms:
            ms = _last_ms
            _last_rand = (_last_rand + 1) & ((1 << 80) - 1)
        else:
            _last_ms = ms
            _last_rand = secrets.randbits(80)
        return _encode(ms, 10) + _encode(_last_rand, 16)


def ulid_time_ms(ulid: str) -> int:
    value = 0
    for char in ulid[:10]:
        value = value * 32 + CROCKFORD.index(char)
    return value


def random_code(length: int, alphabet: str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ") -> str:
    """An unguessable code from an alphabet without look-alike characters (no 0/O, 1/I/L)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def ulid_floor(ms: int) -> str:
    """The smallest ULID of millisecond `ms`: a sort-key bound for "created since"."""
    return _encode(ms, 10) + "0" * 16
