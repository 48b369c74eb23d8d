"""Partner webhooks: registration (the secret shown once), signed deliveries with retries, the log."""

from __future__ import annotations

import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from loyalty.domain.clock import iso_utc, utc_now
from loyalty.domain.errors import NotFound, ValidationFailed
from loyalty.domain.events import signature
from loyalty.domain.ids import new_ulid
from loyalty.services.context import Caller, Outcome, checked_id
from loyalty.services.writes import Plan, execute
from loyalty.store import snapshot
from loyalty.store import webhooks as store
from loyalty.store.idempotency import IdempotencyRecord, IdempotencyRequest
from loyalty.store.snapshot import Snapshot
from loyalty.store.webhooks import Webhook

# A receiver gets this long to connect and then between bytes of its answer; a delivery never waits
# past the time the caller has left (see `deliver`).
TIMEOUT_SECONDS = 3.0
# Below this much time left, no new delivery starts: it is left for the message's next receipt.
MIN_ATTEMPT_SECONDS = 0.5


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Unreachable(ValueError):
    """A URL that must not be called: its host is, or resolves to, an address that is not public."""


def _reachable(scheme: str, address: Address) -> bool:
    """Only the public internet: never loopback, private, link-local (cloud metadata at 169.254.169.254),
    shared, reserved or multicast addresses, whatever name leads there."""
    return address.is_global and not address.is_multicast


def _addresses(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to now (a literal address, in any form getaddrinfo reads, resolves to
    itself; socket.gaierror when the name does not resolve)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def _public_address(url: str) -> tuple[str, int, Address]:
    """(host, port, the address to connect to) of a URL whose host resolves only to public addresses."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = _addresses(host, port)
    except (OSError, ValueError) as exc:
        raise Unreachable(f"{host} does not resolve: {exc}") from exc
    refused = [str(address) for address in addresses if not _reachable(parts.scheme, address)]
    if refused or not addresses:
        raise Unreachable(f"{host} resolves to an address that is not public ({', '.join(refused)})")
    return host, port, addresses[0]


def _check_url(url: str) -> str:
    """A webhook URL: https, to a host that is not (and does not now resolve to) a private address. A name
    that does not resolve yet is taken: every delivery resolves it again and checks the address first."""
    parsed = urlsplit(url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ValidationFailed("webhook URLs must be https",
                               errors=[{"field": "url", "message": "use an https URL"}])
    try:
        _public_address(url)
    except Unreachable as exc:
        if "does not resolve" not in str(exc):
            raise ValidationFailed("the webhook URL points at a private address", errors=[
                {"field": "url", "message": f"must reach a public address: {exc}"}]) from exc
    return url


def webhook_view(hook: Webhook) -> dict[str, Any]:
    return {"webhook_id": hook.webhook_id, "url": hook.url, "description": hook.description,
            "status": hook.status, "created_at": hook.created_at}


def register(caller: Caller, url: str, description: str | None,
             idempotency: IdempotencyRequest | None = None) -> Outcome:
    checked_url = _check_url(url)

    def plan(_: Snapshot) -> Plan:
        webhook_id = new_ulid()
        hook = Webhook(webhook_id=webhook_id, partner_id=str(caller.partner_id), url=checked_url,
                       secret="whsec_" + secrets.token_urlsafe(32), description=description,
                       created_at=iso_utc(utc_now()))

        def commit(record: IdempotencyRecord | None) -> None:
            store.save_webhook(hook, record)

        # The signing secret is shown once: a replay answers without it.
        return Plan(201, {**webhook_view(hook), "secret": hook.secret}, commit,
                    replay_body={**webhook_view(hook), "secret": None})

    return execute(idempotency, lambda: snapshot.read_snapshot(idempotency=idempotency, with_program=False), plan)


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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the name resolves to a moment later."""

    def __init__(self, host: str, port: int, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((str(self.address), self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the URL's host, resolved and checked now (DNS may have changed since registration), at the
    checked address. A redirect is the receiver's answer (a failed delivery), never followed."""
    host, port, address = _public_address(url)
    parts = urlsplit(url)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, address, timeout)
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                           headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the receiver's answer is not kept: read a little so the connection closes
        return int(response.status)
    finally:
        connection.close()


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
        except (OSError, ValueError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ok = status is not None and 200 <= status < 300
        store.log_attempt(str(partner_id), hook.webhook_id, event["id"], event["type"], attempt, ok=ok,
                          http_status=status, error=error)
        all_ok = all_ok and ok
    return all_ok
