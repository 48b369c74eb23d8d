"""Vouchers: VOUCHER#<code> / VOUCHER, issued by code batches and used once. The use cases hold a plain
`Voucher`; the item is this module's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from loyalty.store import db
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import Key, Txn
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency


class VoucherItem(Item):
    """VOUCHER#<code> / VOUCHER: a personal single-use voucher from a visit."""

    class Meta(TableMeta):
        pass

    code = UnicodeAttribute()
    member_id = UnicodeAttribute()
    voucher_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="issued")
    valid_until = UnicodeAttribute()
    used_at = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


@dataclass
class Voucher:
    """A personal single-use voucher from a visit (`expires`: when the store may forget it)."""

    code: str
    member_id: str
    voucher_id: str
    name: str
    valid_until: str
    status: str = "issued"
    used_at: str | None = None
    expires: datetime | None = None




def voucher_of(item: VoucherItem | None) -> Voucher | None:
    return None if item is None else record_of(Voucher, item)


def voucher_item(voucher: Voucher) -> VoucherItem:
    return VoucherItem(*voucher_key(voucher.code), **dataclasses.asdict(voucher))


def voucher_key(code: str) -> Key:
    return f"VOUCHER#{code}", "VOUCHER"


def use_voucher(voucher: Voucher, at: str, idempotency: IdempotencyRecord | None) -> None:
    """ConditionFailed(voucher) when it was used meanwhile, (idempotency) when the key was."""
    txn = Txn()
    txn.update("voucher", VoucherItem(*voucher_key(voucher.code)),
               [VoucherItem.status.set("used"), VoucherItem.used_at.set(at)],
               VoucherItem.status == "issued", versioned=False)
    add_idempotency(txn, idempotency)
    db.commit(txn)
