"""Referral safeguards: a referee that is its referrer under another name earns the referrer nothing.

A sign-up is flagged, with its reasons, when the referee shares with its referrer a mailbox (spelled
differently: case, and dots and `+tag` in the local part where the provider ignores them), a phone number,
a device or a payment fingerprint the program lists in `referrals.block_same`, or when the referrer is past
`referrals.max_per_week` sign-ups this week. Device ids and payment fingerprints are kept hashed only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

# Providers that deliver `name+tag@` to `name@`, and those that also ignore dots in the local part.
PLUS_TAG_PROVIDERS = frozenset({"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com",
                                "icloud.com", "me.com", "protonmail.com", "proton.me", "fastmail.com"})
DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})
# How many device and payment hashes a member keeps (its most recent ones): the item stays small.
MAX_HASHES = 5
STATUSES = ("flagged", "pending", "rewarded", "rejected")


def mailbox(email: str) -> str:
    """The mailbox an address delivers to: `J.Doe+promo@GoogleMail.com` is `jdoe@gmail.com`."""
    local, _, domain = email.strip().lower().rpartition("@")
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in PLUS_TAG_PROVIDERS:
        local = local.split("+", 1)[0]
    if domain in DOTLESS_PROVIDERS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def phone_number(phone: str) -> str:
    """A phone number as E.164 digits: `+1 (415) 555-0100` and `+14155550100` are one number. A number
    without a country code (no `+` or `00`) is compared as written, digits only."""
    text = phone.strip()
    digits = "".join(char for char in text if char.isdigit())
    if text.startswith("00"):
        digits = digits[2:]
    return ("+" if text.startswith(("+", "00")) else "") + digits


def hashed(value: str) -> str:
    """What is kept of a device id or a payment fingerprint: enough to compare, nothing to read back."""
    return hashlib.sha256(b"loyalty-referral-fingerprint:" + value.strip().encode()).hexdigest()[:32]


def remember(hashes: list[str] | None, value: str | None) -> list[str]:
    """A member's hashes with `value`'s added (most recent last, at most MAX_HASHES)."""
    kept = [item for item in hashes or [] if value is None or item != hashed(value)]
    if value is not None:
        kept.append(hashed(value))
    return kept[-MAX_HASHES:]


@dataclass(frozen=True)
class Identity:
    """What the safeguards compare of a member: its address, phone, device and payment hashes."""

    email: str | None = None
    phone: str | None = None
    devices: frozenset[str] = field(default_factory=frozenset)
    payments: frozenset[str] = field(default_factory=frozenset)


def shared(referee: Identity, referrer: Identity, block_same: tuple[str, ...]) -> list[str]:
    """What the referee shares with its referrer among `block_same` (the reasons, in the config's order)."""
    same = {
        "email": bool(referee.email and referrer.email and mailbox(referee.email) == mailbox(referrer.email)),
        "phone": bool(referee.phone and referrer.phone
                      and phone_number(referee.phone) == phone_number(referrer.phone)),
        "device_id": bool(referee.devices & referrer.devices),
        "payment_fingerprint": bool(referee.payments & referrer.payments),
    }
    return [check for check in block_same if same[check]]


def week_of(day: date) -> str:
    """The ISO week a sign-up counts in (the program's local day): `2026-W49`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def past_weekly_limit(max_per_week: int | None, week: str, counted_week: str | None, counted: int) -> bool:
    """Whether one more sign-up this week goes past `max_per_week` (the referrer's count, kept per week)."""
    if max_per_week is None:
        return False
    return (counted if counted_week == week else 0) >= max_per_week
