"""Idempotency records: IDEM#<scope>#<key> / IDEM, written in the same transaction as the effect
they protect; the answer is kept (deflated when long) for replays.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta

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


def read_idempotency(request: IdempotencyRequest) -> IdempotencyItem | None:
    raw = batch_get([idempotency_key(request.scope, request.key)])
    return load(IdempotencyItem, next(iter(raw.values()), None))


def idempotency_record(request: IdempotencyRequest, status_code: int, body: str) -> IdempotencyItem:
    now = utc_now()
    pk, sk = idempotency_key(request.scope, request.key)
    record = IdempotencyItem(pk, sk, request_hash=request.request_hash, status_code=status_code,
                             created_at=iso_utc(now), expires=now + IDEMPOTENCY_TTL)
    if len(body) > DEFLATE_ANSWERS_OVER:
        record.body_deflated = zlib.compress(body.encode("utf-8"), 6)
    else:
        record.body = body
    return record


def add_idempotency(txn: Txn, record: IdempotencyItem | None) -> None:
    if record is not None:
        txn.put("idempotency", record, IdempotencyItem.pk.does_not_exist())


def save_idempotent_result(idempotency: IdempotencyItem) -> None:
    """For requests that change nothing else: the record alone, first writer wins."""
    txn = Txn()
    add_idempotency(txn, idempotency)
    db.commit(txn)
