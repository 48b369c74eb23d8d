"""The one table's pynamodb base: its name and region, and the base item (pk / sk).

Each kind of item belongs to the store module of its thing, which owns its keys, conditions and queries:

  MEMBER#<id> / PROFILE, / WALLET; GSI2 DUE#, GSI3 ROSTER#                             store.members
  EMAIL#<email>, REFCODE#<code>, PHONE#<digits> (uniqueness guards)                    store.guards
  MEMBER#<id> / ENTRY#<ulid>, / HOLD#<ulid>; ORDER#<order_id> / ORDER                  store.ledger
  IDEM#<scope>#<key> / IDEM                                                            store.idempotency
  AUDIT / <ulid>                                                                       store.audit
  PROGRAM#<nn> / CURRENT, PROGRAM / VERSION#<n>                                        store.program
  REWARD#<id> / REWARD, CATALOG#<nn> / REWARD#<id>                                     store.catalog
  SHARE#<owner>#<nn> / SHARE                                                           store.shares
  PARTNER#, PARTNERKEY#, PROMO#, PROMOCLAIMS#, CODE#, CODEBATCH#, PARTNERORDER#          store.partners
  CAMPAIGNS / <id>, SEGMENTS / <id>                                                    store.campaigns
  BADGES / <id>, CHALLENGES / <id>, MEMBER#<id> / BADGE#<id>, / CHALLENGE#<id>          store.gamification
  LEADERBOARDS / <id> (top lists and histograms in the metrics table)                  store.leaderboards
  REFERRAL#<referee> / REFERRAL                                                        store.referrals
  HOUSEHOLD#<id> / HOUSEHOLD, HHCODE#<sha256> / HHCODE (the pool: MEMBER#household#<id>) store.households
  VOUCHER#<code> / VOUCHER                                                             store.vouchers
  WHATIF#<id> / JOB                                                                    store.whatif
  IMPORT#<id>, IMPORTROWS#, IMPORTSHARD#                                               store.imports
  WEBHOOK#, WEBHOOKLOG#, DELIVERED#                                                    store.webhooks
  JOBRUN#<job>#<run> (GSI2 JOBRUNS while running)                                      store.jobs
  CHECKPOINT#<day>#<nnn>, CHECKPOINTS / <day> (GSI1 LEDGERDAY#: the entries)            store.checkpoints
  FINANCE / MONTH#<YYYY-MM>                                                            store.finance

A points change writes across them in one transaction (store.changes); a request reads what it needs in one
BatchGetItem (store.snapshot). The metrics table is store.aggregates'.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from loyalty.settings import settings

R = TypeVar("R")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


def record_of(cls: type[R], item: Any, **given: Any) -> R:
    """The plain record `cls` (a dataclass) of an item read: each field not `given` is the item's attribute of
    the same name. The one mapping from an item to what the store hands the use cases."""
    return cls(**{name: getattr(item, name) for name in _field_names(cls) if name not in given}, **given)


def table_name() -> str:
    return settings().table_name


def _region() -> str:
    return settings().region


class TableMeta:
    table_name = table_name()
    region = _region()
    # botocore's own retries of throttling and server errors, before a 503 tells the caller to retry.
    max_retry_attempts = settings().dynamodb_max_retries


class Item(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class _Connected(Item):
    """No item of its own: it holds the connection the low-level requests share (store.db.connection). A class
    of its own because pynamodb caches a connection per class and subclasses inherit it: a connection made on
    Item would be every item class's, with Item's schema (no index)."""

    class Meta(TableMeta):
        pass
