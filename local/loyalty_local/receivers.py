"""Webhook receivers on this machine.

A webhook URL must be https (`loyalty.services.webhooks`). The local stack and the tests run their
receivers on 127.0.0.1 over plain http, so here, and only here, such URLs are let through: the local
stack applies this in every function instance it starts. The production code has no switch for it.
"""

from __future__ import annotations

from collections.abc import Callable
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


def allow_local_http() -> None:
    """From now on, http://127.0.0.1 (or localhost) webhook URLs are accepted in this process."""
    from loyalty.services import webhooks

    if not getattr(webhooks._check_url, "allows_local_http", False):
        webhooks._check_url = _allowing_local_http(webhooks._check_url)  # type: ignore[assignment]
