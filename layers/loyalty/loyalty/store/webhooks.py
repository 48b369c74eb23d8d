"""Partner webhooks and their delivery log. The use cases hold a plain `Webhook`; the items are this
module's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.ids import new_ulid
from loyalty.store import db
from loyalty.store.base import Item, TableMeta, record_of
from loyalty.store.db import Txn, batch_get, decode_cursor, encode_cursor, load, raise_if_transient
from loyalty.store.idempotency import IdempotencyRecord, add_idempotency


class WebhookItem(Item):
    class Meta(TableMeta):
        pass

    webhook_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    url = UnicodeAttribute()
    # The HMAC key must be usable to sign, so it is kept (encrypted at rest by the table's SSE).
    secret = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()


class DeliveryItem(Item):
    """WEBHOOKLOG#<partner> / <ulid>: one delivery attempt; DELIVERED#<webhook>#<event> / DELIVERED marks success."""

    class Meta(TableMeta):
        pass

    webhook_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    event_type = UnicodeAttribute(null=True)
    attempt = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    http_status = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    at = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)



LOG_TTL = timedelta(days=30)


@dataclass
class Webhook:
    """A partner's webhook: where its events go and the key they are signed with."""

    webhook_id: str
    partner_id: str
    url: str
    secret: str
    created_at: str
    description: str | None = None
    status: str = "active"




def save_webhook(webhook: Webhook, idempotency: IdempotencyRecord | None) -> None:
    """The webhook and the idempotency record of its registration, in one transaction."""
    txn = Txn()
    txn.put("webhook", WebhookItem(f"WEBHOOK#{webhook.partner_id}", webhook.webhook_id,
                                   **dataclasses.asdict(webhook)), WebhookItem.pk.does_not_exist())
    add_idempotency(txn, idempotency)
    db.commit(txn)


def webhooks(partner_id: str) -> list[Webhook]:
    try:
        return [record_of(Webhook, hook)
                for hook in WebhookItem.query(f"WEBHOOK#{partner_id}") if hook.status == "active"]
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


def remove_webhook(partner_id: str, webhook_id: str) -> bool:
    key = (f"WEBHOOK#{partner_id}", webhook_id)
    found = load(WebhookItem, batch_get([key]).get(key))
    if found is None:
        return False
    found.delete()
    return True


def delivered(webhook_id: str, event_id: str) -> bool:
    key = (f"DELIVERED#{webhook_id}#{event_id}", "DELIVERED")
    return key in batch_get([key])


def log_attempt(partner_id: str, webhook_id: str, event_id: str, event_type: str, attempt: int, *,
                ok: bool, http_status: int | None, error: str | None) -> None:
    now = utc_now()
    try:
        DeliveryItem(f"WEBHOOKLOG#{partner_id}", new_ulid(), webhook_id=webhook_id, event_id=event_id,
                     event_type=event_type, attempt=attempt, status="delivered" if ok else "failed",
                     http_status=http_status, error=error, at=iso_utc(now), expires=LOG_TTL).save()
        if ok:
            DeliveryItem(f"DELIVERED#{webhook_id}#{event_id}", "DELIVERED", at=iso_utc(now), expires=LOG_TTL).save()
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt of an event to a webhook."""

    webhook_id: str | None
    event_id: str | None
    event_type: str | None
    attempt: int | None
    status: str | None
    http_status: int | None
    error: str | None
    at: str | None




def delivery_log(partner_id: str, *, limit: int, cursor: str | None) -> tuple[list[Delivery], str | None]:
    start = decode_cursor(cursor, ("pk", "sk"))
    try:
        query = DeliveryItem.query(f"WEBHOOKLOG#{partner_id}", scan_index_forward=False, limit=limit, page_size=limit,
                                   last_evaluated_key={k: {"S": v} for k, v in start.items()} if start else None)
        items = list(query)
    except PynamoDBException as exc:
        raise_if_transient(exc)
        raise
    return ([record_of(Delivery, item) for item in items],
            encode_cursor(query.last_evaluated_key) if len(items) >= limit else None)
