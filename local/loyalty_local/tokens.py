"""Local stand-in for the Cognito user pool: RS256 access tokens the local gateway verifies.

The signing key is created on first use under LOYALTY_LOCAL_HOME (default ~/.loyalty-local), so
`loyalty-local token` and the server agree on it with no set-up. Tokens carry the claims Cognito
puts in access tokens (sub, client_id, scope, cognito:groups, token_use, exp).
"""

from __future__ import annotations

import functools
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://cognito-idp.local.amazonaws.com/local-user-pool"
MEMBER_CLIENT = "local-member-app"
BACKEND_CLIENT = "local-backend"
AUDIENCE = (MEMBER_CLIENT, BACKEND_CLIENT)
KEY_ID = "local-1"
DEFAULT_TTL_SECONDS = 12 * 3600


def home() -> Path:
    return Path(os.environ.get("LOYALTY_LOCAL_HOME") or Path.home() / ".loyalty-local")


def _key_path() -> Path:
    return home() / "jwt-signing-key.pem"


def signing_key() -> rsa.RSAPrivateKey:
    """Load the local signing key, creating it atomically on first use (first writer wins)."""
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        temporary = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
        temporary.write_bytes(pem)
        os.chmod(temporary, 0o600)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    return _parsed(path.read_bytes())


@functools.lru_cache(maxsize=8)
def _parsed(pem: bytes) -> rsa.RSAPrivateKey:
    # Parsing checks the RSA key (about 60 ms); the fuzz tests issue a token per case: once per key.
    loaded = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def issue(sub: str, *, admin: bool = False, scopes: list[str] | None = None,
          ttl_seconds: int = DEFAULT_TTL_SECONDS, now: float | None = None,
          key: rsa.RSAPrivateKey | None = None) -> str:
    issued = int(now if now is not None else time.time())
    scopes = list(scopes or [])
    trusted = "loyalty/transactions" in scopes
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": ISSUER,
        "client_id": BACKEND_CLIENT if trusted and not admin else MEMBER_CLIENT,
        "token_use": "access",
        "scope": " ".join(scopes or ["aws.cognito.signin.user.admin"]),
        "auth_time": issued,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if not trusted or admin:
        claims["username"] = sub
    if admin:
        claims["cognito:groups"] = ["loyalty-admin"]
    return jwt.encode(claims, key or signing_key(), algorithm="RS256", headers={"kid": KEY_ID})


class InvalidToken(Exception):
    pass


@dataclass
class Verifier:
    """Checks what the HTTP API JWT authorizer checks: signature, expiry, issuer, audience/client_id."""

    public_key: Any

    @classmethod
    def local(cls) -> Verifier:
        return cls(signing_key().public_key())

    def verify(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            raise InvalidToken("missing token")
        token = authorization.split(" ", 1)[1] if authorization.lower().startswith("bearer ") else authorization
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(), self.public_key, algorithms=["RS256"], issuer=ISSUER,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        audience = claims.get("aud") or claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(value in AUDIENCE for value in audiences):
            raise InvalidToken("token is for another audience")
        return claims


def gateway_claims(claims: dict[str, Any]) -> tuple[dict[str, str], list[str] | None]:
    """Claims and scopes as API Gateway puts them in the event: scalars as strings, arrays as "[a b]"."""
    shaped: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list):
            shaped[name] = "[" + " ".join(str(item) for item in value) + "]"
        else:
            shaped[name] = str(value)
    scope = claims.get("scope")
    scopes = str(scope).split() if scope else None
    return shaped, scopes
