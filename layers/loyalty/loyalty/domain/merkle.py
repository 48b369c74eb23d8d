"""Merkle trees over the ledger (contract: "Finance", checkpoints; docs/ledger-proofs.md): RFC 6962 hashes,
a day's root built in bounded memory, inclusion proofs that fold with node hashes, and their check.

RFC 6962, section 2.1: leaf hash SHA-256(0x00 || leaf), node hash SHA-256(0x01 || left || right); the tree
of n > 1 leaves splits at k, the largest power of two below n; the empty tree's hash is SHA-256 of nothing.
A day's tree may be built from subtrees (an hour's, or a shard's, entries): their roots are combined by the
same rule, as nodes, so a proof is the entry's path in its subtree followed by the subtree's path in the
day's tree, and folds with node hashes up to the day's root. Everything here is pure (hashlib only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

EMPTY_ROOT = hashlib.sha256(b"").digest()
ZERO_ROOT_HEX = "0" * 64

# The fields of a ledger entry that never change once it is written: what its leaf commits to.
IMMUTABLE_FIELDS = ("entry_id", "member_id", "type", "points", "occurred_at", "recorded_at", "day", "source",
                    "breakdown", "balance_after", "amount", "reason", "expires_at", "ssp")


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    """The bytes a leaf commits to: the JSON of the entry's immutable fields that it has (absent and null
    fields left out), keys sorted, no spaces, UTF-8 (numbers as integers; money as decimal strings)."""
    kept = {name: entry[name] for name in IMMUTABLE_FIELDS if entry.get(name) is not None}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two below n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class TreeBuilder:
    """The RFC 6962 root of a sequence of hashes added one at a time, in O(log n) memory: a stack of the
    perfect subtrees so far (a binary counter); the root folds them from the right. Leaves are added as
    leaf hashes (`add_leaf`), or already hashed subtree roots as nodes (`add_node`: then the sequence of
    roots is the tree's bottom row)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (size, hash), sizes strictly decreasing
        self.count = 0

    def add_node(self, hashed: bytes) -> None:
        size, current = 1, hashed
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, current = left_size + size, node_hash(left, current)
        self._stack.append((size, current))
        self.count += 1

    def add_leaf(self, leaf: bytes) -> None:
        self.add_node(leaf_hash(leaf))

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        current = self._stack[-1][1]
        for _size, left in reversed(self._stack[:-1]):
            current = node_hash(left, current)
        return current


def root_of(hashes: Iterable[bytes]) -> bytes:
    """The root over hashes taken as the bottom row (leaf hashes, or subtree roots)."""
    builder = TreeBuilder()
    for hashed in hashes:
        builder.add_node(hashed)
    return builder.root()


@dataclass(frozen=True)
class Step:
    side: Literal["left", "right"]  # where the sibling is
    hash: bytes


def path_of(hashes: Sequence[bytes], index: int) -> list[Step]:
    """The audit path of the index-th of a bottom row (RFC 6962 PATH(m, D[n])), deepest sibling first."""
    if not 0 <= index < len(hashes):
        raise IndexError(f"no position {index} among {len(hashes)}")
    path: list[Step] = []
    low, high, m = 0, len(hashes), index
    # Walk down from the root, collecting the siblings; they are returned deepest first.
    siblings: list[Step] = []
    while high - low > 1:
        k = _split(high - low)
        if m < k:
            siblings.append(Step("right", root_of(hashes[low + k:high])))
            high = low + k
        else:
            siblings.append(Step("left", root_of(hashes[low:low + k])))
            low, m = low + k, m - k
    path.extend(reversed(siblings))
    return path


def fold(start: bytes, path: Iterable[Step]) -> bytes:
    """The root a path leads to from a leaf hash (or a subtree root)."""
    current = start
    for step in path:
        current = node_hash(step.hash, current) if step.side == "left" else node_hash(current, step.hash)
    return current


def checkpoint_message(day: str, root_hex: str, previous_root_hex: str) -> bytes:
    """What a checkpoint's signature signs: `YYYY-MM-DD|root|previous_root`, roots in lower-case hex."""
    return f"{day}|{root_hex.lower()}|{previous_root_hex.lower()}".encode()
