"""The ledger's Merkle trees without AWS: RFC 6962 hashes (the Certificate Transparency test vectors), a
root built in bounded memory, inclusion proofs that fold up to the root, through subtrees too."""

from __future__ import annotations

import hashlib

import pytest

from loyalty.domain import merkle

# RFC 6962 test leaves and the roots of their first n (certificate-transparency's merkle tree tests).
LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
          bytes(range(0x60, 0x70))]
ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 section 2.1 writes it (recursive)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_are_rfc_6962s(n: int) -> None:
    # When the first n test leaves are added one at a time, Then the root is the published one
    builder = merkle.TreeBuilder()
    for leaf in LEAVES[:n]:
        builder.add_leaf(leaf)
    assert builder.root().hex() == ROOTS[n - 1] == reference_root(LEAVES[:n]).hex()


def test_the_empty_tree_and_bounded_memory() -> None:
    assert merkle.TreeBuilder().root() == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    # Given a million and some leaves' worth of hashes, Then the builder keeps one subtree per bit of the count
    builder = merkle.TreeBuilder()
    for number in range(5000):
        builder.add_leaf(number.to_bytes(4, "big"))
        assert len(builder._stack) == bin(builder.count).count("1")
    assert builder.root() == reference_root([number.to_bytes(4, "big") for number in range(5000)])


def test_every_leafs_proof_folds_to_the_root_and_a_changed_leaf_does_not() -> None:
    for n in range(1, 40):
        leaves = [f"entry-{number}".encode() for number in range(n)]
        hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
        root = reference_root(leaves)
        for index in range(n):
            path = merkle.path_of(hashes, index)
            assert merkle.fold(hashes[index], path) == root
            assert merkle.fold(merkle.leaf_hash(b"tampered"), path) != root
    with pytest.raises(IndexError):
        merkle.path_of([merkle.leaf_hash(b"x")], 1)


def test_a_days_root_over_hourly_subtrees_proves_an_entry_through_both() -> None:
    # Given a day's entries in three hours' subtrees of uneven sizes
    hours = [[f"h{hour}-{number}".encode() for number in range(size)] for hour, size in enumerate((5, 1, 12))]
    subroots = [reference_root(leaves) for leaves in hours]
    day_root = merkle.root_of(subroots)
    # When an entry's proof is its path in its hour followed by its hour's path in the day
    hashes = [merkle.leaf_hash(leaf) for leaf in hours[2]]
    proof = merkle.path_of(hashes, 7) + merkle.path_of(subroots, 2)
    # Then it folds with node hashes up to the day's root
    assert merkle.fold(hashes[7], proof) == day_root


def test_the_canonical_entry_is_sorted_compact_json_of_the_immutable_fields() -> None:
    entry = {"type": "earn", "entry_id": "01J", "member_id": "ann", "points": 120, "status": "pending",
             "source": {"order_id": "o-1", "channel": "online"}, "reason": None, "balance_after": 120}
    assert merkle.canonical_entry(entry) == (b'{"balance_after":120,"entry_id":"01J","member_id":"ann","points":120,'
                                             b'"source":{"channel":"online","order_id":"o-1"},"type":"earn"}')
    assert merkle.checkpoint_message("2026-12-06", "AB" * 32, merkle.ZERO_ROOT_HEX) == (
        b"2026-12-06|" + b"ab" * 32 + b"|" + b"0" * 64)
