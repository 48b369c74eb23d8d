"""Vouchers: VOUCHER#<code> / VOUCHER, issued by code batches and used once.
"""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from loyalty.store import db
from loyalty.store.base import Item, TableMeta
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


def voucher_key(code: str) -> Key:
    return f"VOUCHER#{code}", "VOUCHER"


def use_voucher(voucher: VoucherItem, at: str, idempotency: IdempotencyRecord | None) -> None:
    """ConditionFailed(voucher) when it was used meanwhile, (idempotency) when the key was."""
    txn = Txn()
    txn.update("voucher", voucher, [VoucherItem.status.set("used"), VoucherItem.used_at.set(at)],
               VoucherItem.status == "issued", versioned=False)
    add_idempotency(txn, idempotency)
    db.commit(txn)
