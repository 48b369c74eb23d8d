"""Partner API keys and promo codes: unguessable, checkable, stored only as hashes.

An API key reads `lk_<key id>_<secret>`: the key id finds the stored record, the secret (256 random
bits) is compared in constant time with the SHA-256 kept there. The key itself is shown once.

A promo code is `[PREFIX-]` + 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L) and
a check character, so a mistyped code is refused before any database read. 31^12 possibilities:
about 59 bits, far beyond brute force at 10 failed claims an hour.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from loyalty.domain.ids import new_ulid

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
PREFIX_RE = re.compile(r"^[A-Z0-9]{1,8}$")
KEY_RE = re.compile(r"^lk_(?P<key_id>[0-9A-Z]{26})_(?P<secret>[A-Za-z0-9_-]{43})$")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """(key id, the full key to show once, the hash to store)."""
    key_id = new_ulid()
    secret = secrets.token_urlsafe(32)
    return key_id, f"lk_{key_id}_{secret}", hash_secret(secret)


def parse_api_key(key: str | None) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    found = KEY_RE.match(key or "")
    return (found.group("key_id"), found.group("secret")) if found else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def check_character(body: str) -> str:
    """A weighted sum modulo the alphabet size: catches any single wrong character and most swaps."""
    total = sum((index + 1) * CODE_ALPHABET.index(char) for index, char in enumerate(body))
    return CODE_ALPHABET[total % len(CODE_ALPHABET)]


def new_code(prefix: str | None = None) -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    code = body + check_character(body)
    return f"{prefix}-{code}" if prefix else code


def normalize_code(raw: str) -> str | None:
    """The canonical code if `raw` is well formed (case, spaces and dashes inside forgiven), else None."""
    text = re.sub(r"\s+", "", raw or "").upper()
    prefix = None
    if "-" in text:
        prefix, _, text = text.rpartition("-")
        prefix = prefix.replace("-", "")
        if not PREFIX_RE.match(prefix):
            return None
    if len(text) != CODE_LENGTH + 1 or any(char not in CODE_ALPHABET for char in text):
        return None
    if check_character(text[:-1]) != text[-1]:
        return None
    return f"{prefix}-{text}" if prefix else text
