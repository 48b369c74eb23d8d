"""Uniqueness guards: EMAIL#<email> and REFCODE#<code> point at the one member they belong to; PHONE#<digits>
holds one item per member (a phone number may be shared), for the back office's search. A member's writes put
and move them in the member's own transaction (store.members); a request reads them with the rest of what it
needs (store.snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import UnicodeAttribute

from loyalty.store.base import Item, TableMeta
from loyalty.store.db import batch_get, load, query_page


class UniqueItem(Item):
    """EMAIL#<email> and REFCODE#<code>: uniqueness guards pointing at a member; PHONE#<digits> too,
    one item per member (a phone number may be shared)."""

    class Meta(TableMeta):
        pass

    member_id = UnicodeAttribute()


@dataclass(frozen=True)
class Taken:
    """A uniqueness guard read: the member an email or a referral code belongs to."""

    member_id: str


def taken_of(item: UniqueItem | None) -> Taken | None:
    return None if item is None else Taken(str(item.member_id))


def email_key(email: str) -> tuple[str, str]:
    return f"EMAIL#{email}", "EMAIL"


def phone_key(phone: str, member_id: str) -> tuple[str, str]:
    return f"PHONE#{phone_digits(phone)}", f"MEMBER#{member_id}"


def phone_digits(phone: str) -> str:
    """A phone number as searched: its digits (a leading + and separators dropped)."""
    return "".join(character for character in phone if character.isdigit())


def referral_code_key(code: str) -> tuple[str, str]:
    return f"REFCODE#{code}", "REFCODE"


def member_id_by(kind: str, value: str) -> str | None:
    """The member an email or a referral code belongs to (their uniqueness guards), or None."""
    key = email_key(value) if kind == "email" else referral_code_key(value)
    raw = batch_get([key])
    found = load(UniqueItem, next(iter(raw.values()), None))
    return None if found is None else str(found.member_id)


def member_ids_by_phone(phone: str, limit: int) -> list[str]:
    pk, _ = phone_key(phone, "")
    items, _ = query_page(UniqueItem, pk, UniqueItem.sk.startswith("MEMBER#"), limit, None, forward=True)
    return [str(item.member_id) for item in items]
