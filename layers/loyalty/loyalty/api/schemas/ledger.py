"""Shapes of the verifiable ledger's answers: checkpoints, inclusion proofs, the public key (contract:
"Finance"; docs/ledger-proofs.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loyalty.api.schemas.common import Out

Hex = Field(pattern="^[0-9a-f]{64}$", description="a SHA-256 hash, lower-case hex")


class CheckpointOut(Out):
    date: str = Field(description="the day (program time zone), YYYY-MM-DD")
    entries: int = Field(description="the ledger entries recorded that day")
    root: str = Hex
    previous_root: str = Field(pattern="^[0-9a-f]{64}$", description="the previous day's root (the first "
                                                                     "checkpoint's: 64 zeros)")
    signature: str = Field(description="ECDSA_SHA_256 over `date|root|previous_root` (UTF-8), DER, base64")
    key_id: str = Field(description="the signing key (its ARN)")


class CheckpointPage(Out):
    items: list[CheckpointOut]
    next_cursor: str | None = None


class ProofStep(Out):
    side: Literal["left", "right"] = Field(description="where the sibling hash goes: left: "
                                                       "SHA-256(0x01 || hash || current), right: "
                                                       "SHA-256(0x01 || current || hash)")
    hash: str = Hex


class ProofOut(Out):
    entry_id: str
    date: str = Field(description="the day whose checkpoint holds the entry")
    leaf_hash: str = Field(pattern="^[0-9a-f]{64}$", description="SHA-256(0x00 || the canonical entry), of the "
                                                                 "entry as it is now")
    path: list[ProofStep] = Field(description="from the leaf up: folding it gives `root` unless the entry changed")
    root: str = Field(pattern="^[0-9a-f]{64}$", description="the day's checkpoint root")
    entry: str = Field(description="the canonical entry the leaf hashes (docs/ledger-proofs.md)")


class PublicKeyOut(Out):
    key_id: str
    algorithm: Literal["ECDSA_SHA_256"]
    public_key_pem: str = Field(description="the ECC_NIST_P256 public key, SubjectPublicKeyInfo PEM")
