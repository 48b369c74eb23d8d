"""A compact stored form for {ISO day: integer} maps (a member's lots and qualifying days).

As JSON a day takes about 20 bytes ("2027-11-24": 2500,), so a member who earns every day carries
two maps of ~365 days each, ~15 KB, on the item every points call rewrites. Stored instead as bytes:
a format byte, then varints: the first day (days since 2000-01-01), then per day the gap to the
previous day and the value (zigzag, so negative counts survive); zlib-compressed when that is shorter.
A year of daily lots takes ~1 KB. The code still sees a plain dict.
"""

from __future__ import annotations

import json
import zlib
from datetime import date, timedelta
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.constants import BINARY

EPOCH = date(2000, 1, 1)
PLAIN, DEFLATED = 1, 2


def _varint(value: int, out: bytearray) -> None:
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def _zigzag(value: int) -> int:
    return value * 2 if value >= 0 else -value * 2 - 1


def _unzigzag(value: int) -> int:
    return value // 2 if not value & 1 else -(value + 1) // 2


def encode(days: dict[str, int]) -> bytes:
    body = bytearray()
    previous = None
    for day, count in sorted(days.items()):
        number = (date.fromisoformat(day) - EPOCH).days
        # The first day may precede the epoch (zigzag); the gaps after it never are negative.
        _varint(_zigzag(number) if previous is None else number - previous, body)
        _varint(_zigzag(int(count)), body)
        previous = number
    deflated = zlib.compress(bytes(body), 9)
    return bytes([DEFLATED]) + deflated if len(deflated) < len(body) else bytes([PLAIN]) + bytes(body)


def decode(data: bytes) -> dict[str, int]:
    if not data:
        return {}
    body = zlib.decompress(data[1:]) if data[0] == DEFLATED else data[1:]
    days: dict[str, int] = {}
    position, number = 0, None
    while position < len(body):
        step, position = _read_varint(body, position)
        number = _unzigzag(step) if number is None else number + step
        count, position = _read_varint(body, position)
        days[(EPOCH + timedelta(days=number)).isoformat()] = _unzigzag(count)
    return days


def decode_any(value: Any) -> dict[str, int]:
    """A stored value as a raw read returns it: bytes (this form), or the JSON text/map of older items."""
    if value is None:
        return {}
    if isinstance(value, bytes | bytearray | memoryview):
        return decode(bytes(value))
    if isinstance(value, str):
        return {day: int(count) for day, count in json.loads(value).items()}
    return {day: int(count) for day, count in dict(value).items()}


class DayCountsAttribute(Attribute[dict[str, int]]):
    """{ISO day: int} stored as compact bytes (reads older items stored as JSON text too)."""

    attr_type = BINARY

    def serialize(self, value: dict[str, int]) -> bytes:
        return encode(value or {})

    def get_value(self, value: dict[str, Any]) -> Any:
        # Items written before this form hold the map as JSON text ({"S": ...}): read them as they are.
        if self.attr_type in value:
            return value[self.attr_type]
        return value.get("S")

    def deserialize(self, value: Any) -> dict[str, int]:
        return decode_any(value)
