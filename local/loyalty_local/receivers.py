"""Webhook receivers on this machine.

A webhook URL must be https and reach a public address (`loyalty.services.webhooks`). The local stack and
the tests run their receivers on 127.0.0.1 over plain http, so here, and only here, such URLs are let
through, at registration and at delivery: the local stack applies this in every function instance it
starts. The production code has no switch for it. https URLs to private addresses stay refused here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _allowing_local_http(check: Callable[[str], str]) -> Callable[[str], str]:
    def check_url(url: str) -> str:
        parsed = urlparse(url)
        if parsed.scheme == "http" and parsed.hostname in LOCAL_HOSTS:
            return url
        return check(url)

    check_url.allows_local_http = True  # type: ignore[attr-defined]
    return check_url


def _allowing_loopback_http(reachable: Callable[[str, Any], bool]) -> Callable[[str, Any], bool]:
    def check_address(scheme: str, address: Any) -> bool:
        return (scheme == "http" and address.is_loopback) or reachable(scheme, address)

    check_address.allows_local_http = True  # type: ignore[attr-defined]
    return check_address


def allow_local_http() -> None:
    """From now on, http://127.0.0.1 (or localhost) webhook URLs are accepted in this process."""
    from loyalty.services import webhooks

    if not getattr(webhooks._check_url, "allows_local_http", False):
        webhooks._check_url = _allowing_local_http(webhooks._check_url)  # type: ignore[assignment]
    if not getattr(webhooks._reachable, "allows_local_http", False):
        webhooks._reachable = _allowing_loopback_http(webhooks._reachable)  # type: ignore[assignment]
