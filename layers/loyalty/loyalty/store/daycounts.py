"""A compact stored form for {ISO day: integer} maps (a member's lots and qualifying days).

As JSON a day takes about 20 bytes ("2027-11-24": 2500,), so a member who earns every day carries
two maps of ~365 days each, ~15 KB, on the item every points call rewrites. Stored instead as bytes:
a format byte, then varints: the first day (days since 2000-01-01), then per day the gap to the
previous day and the value (zigzag, so negative counts survive); zlib-compressed when that is shorter.
A year of daily lots takes ~1 KB. The code still sees a plain dict.

A member item stores its two maps together as one value (formats 3 and 4, see encode_pair), so one
deflate stream finds what they have in common; items written before hold them apart (formats 1 and 2,
or JSON), and are read as they are until their next points change rewrites them.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.constants import BINARY

EPOCH = date(2000, 1, 1)
PLAIN, DEFLATED = 1, 2
PAIR_PLAIN, PAIR_DEFLATED = 3, 4


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


def _body(days: dict[str, int]) -> bytearray:
    body = bytearray()
    previous = None
    for day, count in sorted(days.items()):
        number = (date.fromisoformat(day) - EPOCH).days
        # The first day may precede the epoch (zigzag); the gaps after it never are negative.
        _varint(_zigzag(number) if previous is None else number - previous, body)
        _varint(_zigzag(int(count)), body)
        previous = number
    return body


def _days(body: bytes) -> dict[str, int]:
    days: dict[str, int] = {}
    position, number = 0, None
    while position < len(body):
        step, position = _read_varint(body, position)
        number = _unzigzag(step) if number is None else number + step
        count, position = _read_varint(body, position)
        days[(EPOCH + timedelta(days=number)).isoformat()] = _unzigzag(count)
    return days


def _framed(plain_format: int, body: bytes) -> bytes:
    deflated = zlib.compress(body, 9)
    return bytes([plain_format + 1]) + deflated if len(deflated) < len(body) else bytes([plain_format]) + body


def encode(days: dict[str, int]) -> bytes:
    return _framed(PLAIN, bytes(_body(days)))


def decode(data: bytes) -> dict[str, int]:
    if not data:
        return {}
    return _days(zlib.decompress(data[1:]) if data[0] == DEFLATED else data[1:])


def encode_pair(lots: dict[str, int], qualifying: dict[str, int]) -> bytes:
    """A member's lots and qualifying days as one value: one deflate stream over both. Each day's lot
    usually holds what that day earned and its qualifying day the same amount (points that all
    qualify, a lot expiring a fixed number of days after its day), so the stream finds the second
    map's run in the first, and a year of daily purchases stores in about half the bytes of the two
    maps apart (measured in `make bench`, purchase_day_365)."""
    first, second = _body(lots), _body(qualifying)
    length = bytearray()
    _varint(len(first), length)
    return _framed(PAIR_PLAIN, bytes(length + first + second))


def decode_pair(data: bytes) -> tuple[dict[str, int], dict[str, int]]:
    if not data:
        return {}, {}
    body = zlib.decompress(data[1:]) if data[0] == PAIR_DEFLATED else data[1:]
    length, position = _read_varint(body, 0)
    return _days(body[position:position + length]), _days(body[position + length:])


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


@dataclass
class WalletDays:
    """A member's lots ({last valid day: points}) and qualifying days ({day: qualifying points})."""

    lots: dict[str, int] = field(default_factory=dict)
    qualifying: dict[str, int] = field(default_factory=dict)


class WalletMismatch(ValueError):
    """A member item read raw with a WALLET item that is not the one it names (read at another moment)."""


def wallet_days_of(raw: dict[str, Any], cold: dict[str, Any] | None = None) -> WalletDays:
    """The whole lots and qualifying days of a member item read raw (plain values), with its WALLET item
    if it has one: stored together, or apart as items written before the two were one value hold them."""
    packed = raw.get("wallet_days")
    if packed is not None:
        hot = WalletDays(*decode_pair(bytes(packed)))
    else:
        hot = WalletDays(decode_any(raw.get("lots")), decode_any(raw.get("qualifying_days")))
    if raw.get("cold_rev") is None:
        return hot
    if cold is None or int(cold["rev"]) != int(raw["cold_rev"]):
        raise WalletMismatch(f"{raw.get('pk')}: its WALLET item is missing or does not go with it")
    older = WalletDays(*decode_pair(bytes(cold["days"])))
    return WalletDays(merged_lots(older.lots, int(raw.get("cold_consumed") or 0), hot.lots),
                      merged_qualifying(older.qualifying, raw.get("cold_floor"), hot.qualifying))


class WalletDaysAttribute(Attribute[WalletDays]):
    """Both maps of a WalletDays in one binary value (see encode_pair)."""

    attr_type = BINARY

    def serialize(self, value: WalletDays) -> bytes:
        return encode_pair(value.lots, value.qualifying)

    def deserialize(self, value: Any) -> WalletDays:
        return WalletDays(*decode_pair(bytes(value)))


# --- a member's wallet split in a hot part (on the member item) and a cold one (its WALLET item) ----------
#
# A member who earns every day would carry a year of lots and qualifying days on the item every points call
# rewrites. Instead the older days move, now and then, to a cold item that points calls read but do not
# write: the member item keeps the recent days, plus what changed since on the cold days (signed), plus
# how many points spends and expiries took from the cold lots' front (they always take the soonest-expiring
# first), plus a floor below which the cold qualifying days no longer count (pruned out of the tier window).
# The code still sees the whole maps: `merged_*` builds them, `split_*` stores a new whole map as the part
# that differs from the cold one.


def consumed_front(cold: dict[str, int], consumed: int) -> dict[str, int]:
    """The cold lots with `consumed` points taken from their soonest days first."""
    out: dict[str, int] = {}
    left = consumed
    for day in sorted(cold):
        amount = cold[day]
        take = min(left, max(amount, 0))
        left -= take
        if amount - take:
            out[day] = amount - take
    return out


def _summed(*parts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for day, amount in part.items():
            total[day] = total.get(day, 0) + amount
    return {day: amount for day, amount in total.items() if amount}


def merged_lots(cold: dict[str, int], consumed: int, hot: dict[str, int]) -> dict[str, int]:
    return _summed(consumed_front(cold, consumed), hot)


def split_lots(cold: dict[str, int], consumed: int, lots: dict[str, int]) -> tuple[dict[str, int], int]:
    """(hot, consumed) that merge with `cold` into `lots`: what was taken from the cold front counts as
    consumed (so a spend or an expiry writes no day on the member item), any other change stays on hot."""
    effective = consumed_front(cold, consumed)
    difference = _summed(lots, {day: -amount for day, amount in effective.items()})
    for day in sorted(effective):
        have = effective[day]
        short = -difference.get(day, 0)
        if have <= 0 or short <= 0:
            break
        take = min(short, have)
        consumed += take
        difference[day] = difference.get(day, 0) + take
        if take < have:
            break
    return {day: amount for day, amount in difference.items() if amount}, consumed


NO_FLOOR_LEFT = "9999-12-31"


def merged_qualifying(cold: dict[str, int], floor: str | None, hot: dict[str, int]) -> dict[str, int]:
    return _summed({day: amount for day, amount in cold.items() if floor is None or day >= floor}, hot)


def split_qualifying(cold: dict[str, int], floor: str | None,
                     days: dict[str, int]) -> tuple[dict[str, int], str | None]:
    """(hot, floor) that merge with `cold` into `days`. Every day below the earliest of `days` is zero or
    pruned out of the window, so the floor rises to it and the cold days below it stop counting."""
    lowest = min(days) if days else NO_FLOOR_LEFT
    new_floor = lowest if floor is None else max(floor, lowest)
    if not cold:
        return {day: amount for day, amount in days.items() if amount}, None
    visible = {day: amount for day, amount in cold.items() if day >= new_floor}
    return _summed(days, {day: -amount for day, amount in visible.items()}), new_floor


def compacted(lots: dict[str, int], qualifying: dict[str, int], keep: int) -> tuple[WalletDays, WalletDays]:
    """(cold, hot): whole maps split so the hot part keeps the `keep` latest days of each."""
    def parts(days: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
        ordered = sorted(day for day, amount in days.items() if amount)
        recent = set(ordered[-keep:]) if keep else set()
        return ({day: days[day] for day in ordered if day not in recent},
                {day: days[day] for day in ordered if day in recent})

    cold_lots, hot_lots = parts(lots)
    cold_days, hot_days = parts(qualifying)
    return WalletDays(cold_lots, cold_days), WalletDays(hot_lots, hot_days)
