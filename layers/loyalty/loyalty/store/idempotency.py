"""Idempotency records: IDEM#<scope>#<key> / IDEM, written in the same transaction as the effect
they protect; the answer is kept (deflated when long) for replays. The use cases hold an
`IdempotencyRecord` (plain); the item is this module's.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import BinaryAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.store import db
from loyalty.store.base import Item, TableMeta
from loyalty.store.db import Txn, batch_get, load


class IdempotencyItem(Item):
    class Meta(TableMeta):
        pass

    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    # The answer to replay: as text when short, deflated when that keeps the record under fewer 1 KB
    # write units (a 50-SKU purchase's answer is 2 KB as text, well under 1 KB deflated).
    body = UnicodeAttribute(null=True)
    body_deflated = BinaryAttribute(null=True, legacy_encoding=False)
    created_at = UnicodeAttribute()
    expires = TTLAttribute(null=True)

    def answer(self) -> str:
        if self.body_deflated is not None:
            return zlib.decompress(self.body_deflated).decode("utf-8")
        return self.body or ""


def idempotency_key(scope: str, key: str) -> tuple[str, str]:
    return f"IDEM#{scope}#{key}", "IDEM"


IDEMPOTENCY_TTL = timedelta(days=7)


# Answers longer than this are stored deflated in their idempotency record (a few hundred bytes fit any
# record in one write unit as they are; deflating them would only cost CPU).
DEFLATE_ANSWERS_OVER = 600


@dataclass(frozen=True)
class IdempotencyRequest:
    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class IdempotencyRecord:
    """A request's answer as recorded (or to record) under its key: what a replay returns."""

    scope: str
    key: str
    request_hash: str
    status_code: int
    body: str
    created_at: str
    expires: datetime | None = None

    def answer(self) -> str:
        return self.body


def _record_of(item: IdempotencyItem) -> IdempotencyRecord:
    scope, _, key = str(item.pk).removeprefix("IDEM#").partition("#")
    return IdempotencyRecord(scope, key, str(item.request_hash), int(item.status_code), item.answer(),
                             str(item.created_at), item.expires)


def idempotency_record_of(item: IdempotencyItem | None) -> IdempotencyRecord | None:
    """The record of an item read (store.snapshot reads it with the rest of a request)."""
    return None if item is None else _record_of(item)


def _item_of(record: IdempotencyRecord) -> IdempotencyItem:
    item = IdempotencyItem(*idempotency_key(record.scope, record.key), request_hash=record.request_hash,
                           status_code=record.status_code, created_at=record.created_at, expires=record.expires)
    if len(record.body) > DEFLATE_ANSWERS_OVER:
        item.body_deflated = zlib.compress(record.body.encode("utf-8"), 6)
    else:
        item.body = record.body
    return item


def read_idempotency(request: IdempotencyRequest) -> IdempotencyRecord | None:
    raw = batch_get([idempotency_key(request.scope, request.key)])
    return idempotency_record_of(load(IdempotencyItem, next(iter(raw.values()), None)))


def idempotency_record(request: IdempotencyRequest, status_code: int, body: str) -> IdempotencyRecord:
    now = utc_now()
    return IdempotencyRecord(request.scope, request.key, request.request_hash, status_code, body, iso_utc(now),
                             now + IDEMPOTENCY_TTL)


def add_idempotency(txn: Txn, record: IdempotencyRecord | None) -> None:
    if record is not None:
        txn.put("idempotency", _item_of(record), IdempotencyItem.pk.does_not_exist())


def save_idempotent_result(idempotency: IdempotencyRecord) -> None:
    """For requests that change nothing else: the record alone, first writer wins."""
    txn = Txn()
    add_idempotency(txn, idempotency)
    db.commit(txn)
