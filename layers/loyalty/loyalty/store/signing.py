"""The ledger's signing key (KMS, ECC_NIST_P256 / ECDSA_SHA_256; moto's KMS locally): only the checkpoint job
signs; readers get the public key. The key is the template's LedgerSigningKey (LEDGER_KEY_ID)."""

from __future__ import annotations

import base64
import functools
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from loyalty.domain.errors import ServiceUnavailable
from loyalty.settings import settings

ALGORITHM = "ECDSA_SHA_256"


@functools.lru_cache(maxsize=1)
def _client(region: str) -> Any:
    return boto3.client("kms", region_name=region)


def _key_id() -> str:
    key_id = settings().ledger_key_id
    if not key_id:
        raise ServiceUnavailable("no ledger signing key is configured (LEDGER_KEY_ID)", retry_after=60)
    return key_id


def sign(message: bytes) -> tuple[str, str]:
    """The message's signature (DER, base64) and the key's id (its ARN)."""
    try:
        signed = _client(settings().region).sign(KeyId=_key_id(), Message=message, MessageType="RAW",
                                                 SigningAlgorithm=ALGORITHM)
    except (ClientError, BotoCoreError) as exc:
        raise ServiceUnavailable(f"the ledger signing key could not sign: {exc}", retry_after=60) from exc
    return base64.b64encode(signed["Signature"]).decode(), str(signed["KeyId"])


def _public_key(key_id: str) -> tuple[str, str]:
    try:
        found = _client(settings().region).get_public_key(KeyId=key_id)
    except (ClientError, BotoCoreError) as exc:
        raise ServiceUnavailable(f"the ledger's public key could not be read: {exc}", retry_after=60) from exc
    body = base64.encodebytes(found["PublicKey"]).decode().replace("\n", "")
    lines = [body[start:start + 64] for start in range(0, len(body), 64)]
    pem = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
    return str(found["KeyId"]), pem


def public_key() -> tuple[str, str]:
    """The key's id (its ARN) and its public key as PEM (SubjectPublicKeyInfo)."""
    return _public_key(_key_id())
