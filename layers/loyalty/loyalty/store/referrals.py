"""Referrals: one item per referred member, listed by status for the back office.

    REFERRAL#<referee id> / REFERRAL    who referred whom, its status and reasons, and the rewards withheld
    GSI1: REFERRALS#<status> / <created_at>#<referee id>   the admin list by status, oldest first

Written with the referee's enrollment (and, when a referee's first purchase is flagged, with that purchase);
a status changes under the condition that it is still the one read. One index partition per status takes
every referred sign-up: far below a partition's 1,000 writes a second at any sign-up rate a program sees.
The use cases hold a plain `Referral`; the item is this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.store.base import Item, TableMeta
from loyalty.store.db import batch_get, decode_cursor, encode_cursor, load, raise_if_transient

PK_PREFIX, SK = "REFERRAL#", "REFERRAL"
LIST_PREFIX = "REFERRALS#"


class ReferralsIndex(GlobalSecondaryIndex["ReferralItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ReferralItem(Item):
    class Meta(TableMeta):
        pass

    listing = ReferralsIndex()
    referral_id = UnicodeAttribute()  # the referee's member id: a member is referred once
    referrer_id = UnicodeAttribute()
    referee_id = UnicodeAttribute()
    status = UnicodeAttribute()  # flagged | pending | rewarded | rejected
    reasons = JSONAttribute(default=list)
    # The referral actions not given while flagged (given once when an admin approves).
    withheld = JSONAttribute(default=list)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()


def referral_key(referee_id: str) -> tuple[str, str]:
    return f"{PK_PREFIX}{referee_id}", SK


@dataclass
class Referral:
    """Who referred whom (the referral's id is the referee's), its status and why, the rewards withheld."""

    referral_id: str
    referrer_id: str
    referee_id: str
    status: str  # flagged | pending | rewarded | rejected
    created_at: str
    reasons: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)
    updated_at: str | None = None
    decision_reason: str | None = None


def referral_of(item: ReferralItem) -> Referral:
    return Referral(str(item.referral_id), str(item.referrer_id), str(item.referee_id), str(item.status),
                    str(item.created_at), list(item.reasons or []), list(item.withheld or []), item.updated_at,
                    item.decision_reason)


def referral_item(referral: Referral) -> ReferralItem:
    """A new referral's item, in the list of its status."""
    return ReferralItem(*referral_key(referral.referee_id), referral_id=referral.referral_id,
                        referrer_id=referral.referrer_id, referee_id=referral.referee_id, status=referral.status,
                        reasons=referral.reasons, withheld=referral.withheld, created_at=referral.created_at,
                        updated_at=referral.updated_at, decision_reason=referral.decision_reason,
                        gsi1pk=f"{LIST_PREFIX}{referral.status}", gsi1sk=f"{referral.created_at}#{referral.referee_id}")


def new_referral(referrer_id: str, referee_id: str, *, status: str, reasons: list[str], withheld: list[str],
                 created_at: str) -> Referral:
    return Referral(referee_id, referrer_id, referee_id, status, created_at, reasons, withheld)


def move_to(referral: Referral, status: str, at: str) -> None:
    """A new status at `at` (its write moves it to that status's list)."""
    referral.status = status
    referral.updated_at = at


def update_actions(referral: Referral) -> list[Action]:
    actions: list[Action] = [ReferralItem.status.set(referral.status),
                             ReferralItem.gsi1pk.set(f"{LIST_PREFIX}{referral.status}"),
                             ReferralItem.reasons.set(referral.reasons), ReferralItem.withheld.set(referral.withheld)]
    for attribute, value in ((ReferralItem.updated_at, referral.updated_at),
                             (ReferralItem.decision_reason, referral.decision_reason)):
        actions.append(attribute.set(value) if value is not None else attribute.remove())
    return actions


def still(status: str) -> Condition:
    """The condition of a status change: the referral is still in the status it was read in."""
    return ReferralItem.status == status


def read_referral(referral_id: str) -> Referral | None:
    key = referral_key(referral_id)
    item = load(ReferralItem, batch_get([key]).get(key))
    return referral_of(item) if item is not None else None


def read_referrals(referral_ids: list[str]) -> list[Referral]:
    """The referrals that exist among `referral_ids` (one batch read)."""
    if not referral_ids:
        return []
    found = batch_get([referral_key(referral_id) for referral_id in referral_ids])
    return [referral_of(item) for key in map(referral_key, referral_ids)
            if (item := load(ReferralItem, found.get(key))) is not None]


def list_referrals(status: str, *, limit: int, cursor: str | None) -> tuple[list[Referral], str | None]:
    start = decode_cursor(cursor, ("pk", "sk", "gsi1pk", "gsi1sk"))
    try:
        query = ReferralItem.listing.query(
            f"{LIST_PREFIX}{status}", limit=limit, page_size=limit,
            last_evaluated_key={name: {"S": value} for name, value in start.items()} if start else None)
        return [referral_of(item) for item in query], encode_cursor(query.last_evaluated_key)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
