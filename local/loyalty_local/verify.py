"""Check the ledger's proofs and checkpoints with nothing but Python's standard library and `cryptography`
(docs/ledger-proofs.md shows the same steps): an entry's proof folds to its day's root, the checkpoint is
signed by the ledger's key, and each checkpoint names the one before as its previous root."""

from __future__ import annotations

import base64
import hashlib
import json
from itertools import pairwise
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def leaf_hash(canonical_entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + canonical_entry).digest()


def fold(leaf: bytes, path: list[dict[str, str]]) -> bytes:
    current = leaf
    for step in path:
        sibling = bytes.fromhex(step["hash"])
        pair = sibling + current if step["side"] == "left" else current + sibling
        current = hashlib.sha256(b"\x01" + pair).digest()
    return current


def signature_holds(checkpoint: dict[str, Any], public_key_pem: str) -> bool:
    key = load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    message = f"{checkpoint['date']}|{checkpoint['root']}|{checkpoint['previous_root']}".encode()
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def proof_problems(proof: dict[str, Any], checkpoint: dict[str, Any], public_key_pem: str,
                   entry: dict[str, Any] | None = None) -> list[str]:
    """What is wrong with an entry's proof (nothing: it holds). `entry`: the entry as the caller knows it (its
    activity), whose fields the canonical entry must carry."""
    problems = []
    canonical = str(proof["entry"]).encode()
    if leaf_hash(canonical).hex() != proof["leaf_hash"]:
        problems.append("the leaf hash is not the hash of the canonical entry")
    if entry is not None:
        stated = json.loads(canonical)
        for name, value in entry.items():
            if name in stated and stated[name] != value:
                problems.append(f"the canonical entry's {name} is {stated[name]!r}, not {value!r}")
    if proof["date"] != checkpoint["date"]:
        problems.append(f"the proof is for {proof['date']}, the checkpoint for {checkpoint['date']}")
    if fold(leaf_hash(canonical), proof["path"]).hex() != checkpoint["root"]:
        problems.append("the path does not lead to the checkpoint's root: the entry or the tree changed")
    if not signature_holds(checkpoint, public_key_pem):
        problems.append("the checkpoint's signature does not verify with the public key")
    return problems


def chain_problems(checkpoints: list[dict[str, Any]], public_key_pem: str) -> list[str]:
    """What is wrong with consecutive checkpoints, oldest first: each signed, each naming the one before."""
    problems = []
    for before, after in pairwise(checkpoints):
        if after["previous_root"] != before["root"]:
            problems.append(f"{after['date']} does not name {before['date']}'s root as its previous root")
    for checkpoint in checkpoints:
        if not signature_holds(checkpoint, public_key_pem):
            problems.append(f"{checkpoint['date']}'s signature does not verify with the public key")
    return problems
