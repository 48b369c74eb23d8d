"""Partner webhooks: registration (the secret shown once), signed deliveries with retries, the log."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import NotFound, ValidationFailed
from loyalty.domain.events import signature
from loyalty.domain.ids import new_ulid
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.writes import Plan, execute
from loyalty.store import repository
from loyalty.store import webhooks as store
from loyalty.store.models import IdempotencyItem, WebhookItem
from loyalty.store.repository import IdempotencyRequest, Snapshot

# A receiver gets this long to connect and then between bytes of its answer; a delivery never waits
# past the time the caller has left (see `deliver`).
TIMEOUT_SECONDS = 3.0
# Below this much time left, no new delivery starts: it is left for the message's next receipt.
MIN_ATTEMPT_SECONDS = 0.5


def _check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return url
    raise ValidationFailed("webhook URLs must be https", errors=[{"field": "url", "message": "use an https URL"}])


def webhook_view(hook: WebhookItem) -> dict[str, Any]:
    return {"webhook_id": hook.webhook_id, "url": hook.url, "description": hook.description,
            "status": hook.status, "created_at": hook.created_at}


def register(caller: Caller, url: str, description: str | None,
             idempotency: IdempotencyRequest | None = None) -> Outcome:
    checked_url = _check_url(url)

    def plan(_: Snapshot) -> Plan:
        webhook_id = new_ulid()
        hook = WebhookItem(f"WEBHOOK#{caller.partner_id}", webhook_id, webhook_id=webhook_id,
                           partner_id=str(caller.partner_id), url=checked_url,
                           secret="whsec_" + secrets.token_urlsafe(32), description=description,
                           created_at=iso_utc(utc_now()))

        def commit(record: IdempotencyItem | None) -> None:
            store.save_webhook(hook, record)

        # The signing secret is shown once: a replay answers without it.
        return Plan(201, {**webhook_view(hook), "secret": hook.secret}, commit,
                    replay_body={**webhook_view(hook), "secret": None})

    return execute(idempotency, lambda: repository.read_snapshot(idempotency=idempotency, with_program=False), plan)


def list_webhooks(caller: Caller) -> Outcome:
    return Outcome(200, {"items": [webhook_view(hook) for hook in store.webhooks(str(caller.partner_id))]})


def remove(caller: Caller, webhook_id: str) -> Outcome:
    if not store.remove_webhook(str(caller.partner_id), checked_id(webhook_id, "webhook")):
        raise NotFound(f"no webhook {webhook_id}", code="webhook_not_found")
    return Outcome(200, {"webhook_id": webhook_id, "status": "deleted"})


def deliveries(caller: Caller, *, limit: int, cursor: str | None) -> Outcome:
    items, next_cursor = store.delivery_log(str(caller.partner_id), limit=limit, cursor=cursor)
    return Outcome(200, {"items": [{"webhook_id": item.webhook_id, "event_id": item.event_id,
                                    "event_type": item.event_type, "attempt": int(item.attempt or 0),
                                    "status": item.status, "http_status": item.http_status, "error": item.error,
                                    "at": item.at} for item in items], "next_cursor": next_cursor})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A receiver's redirect is its answer (a failed delivery), never followed to a URL nobody checked."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - checked URL
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


class OutOfTime(Exception):
    """The caller's time ran out before every webhook of an event was tried."""


def deliver(event: dict[str, Any], attempt: int, deadline: float | None = None) -> bool:
    """Deliver one domain event to each of its partner's webhooks not yet served; True when all took it.

    `deadline` (time.monotonic()) bounds the whole call: each post waits at most what is left, and a
    post that cannot start in time raises OutOfTime (what was delivered stays delivered)."""
    partner_id = event.get("partner_id")
    if not partner_id:
        return True
    body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    all_ok = True
    for hook in store.webhooks(str(partner_id)):
        if store.delivered(hook.webhook_id, event["id"]):
            continue  # a retry of the message: this receiver already has it
        left = TIMEOUT_SECONDS if deadline is None else deadline - time.monotonic()
        if left < MIN_ATTEMPT_SECONDS:
            raise OutOfTime(f"no time left to deliver event {event['id']}")
        headers = {"Content-Type": "application/json", "User-Agent": "loyalty-webhooks/1",
                   "Loyalty-Signature": signature(hook.secret, body, int(time.time())),
                   "Loyalty-Event-Id": event["id"], "Loyalty-Event-Type": event["type"]}
        status, error = None, None
        try:
            status = _post(hook.url, body, headers, timeout=min(TIMEOUT_SECONDS, left))
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ok = status is not None and 200 <= status < 300
        store.log_attempt(str(partner_id), hook.webhook_id, event["id"], event["type"], attempt, ok=ok,
                          http_status=status, error=error)
        all_ok = all_ok and ok
    return all_ok
