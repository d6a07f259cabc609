"""The Merkle tree against the published Certificate Transparency vectors (RFC 6962/9162).

The leaves, roots and proofs are those of certificate-transparency's merkle_tree_test.cc, also
used by transparency-dev's Go verifier tests: a tree no other implementation agrees with would
prove nothing to anyone.
"""

from __future__ import annotations

import pytest

from hostwatch.model.merkle import (
    EMPTY_ROOT,
    CompactTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path), indices 0-based.
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, consistency proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
HASHES = [leaf_hash(d) for d in LEAVES]


def _root(n: int) -> bytes:
    return bytes.fromhex(ROOTS[n])


def test_roots_match_the_published_vectors_at_every_size() -> None:
    assert _root(0) == EMPTY_ROOT
    tree = CompactTree()
    for n in range(9):
        assert root_of(HASHES[:n]).hex() == ROOTS[n], n
        assert tree.root().hex() == ROOTS[n], n
        if n < 8:
            tree.append(HASHES[n])
    restored = CompactTree(tree.size, tree.peaks)
    assert restored.root() == _root(8)


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_vectors_and_verify(
    index: int, size: int, path: list[str]
) -> None:
    proof = inclusion_proof(HASHES[:size], index)
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(index, size, HASHES[index], proof, _root(size))


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors_and_verify(
    first: int, second: int, path: list[str]
) -> None:
    proof = consistency_proof(HASHES[:second], first)
    assert [p.hex() for p in proof] == path
    assert verify_consistency(first, second, _root(first), _root(second), proof)


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    changed = list(proof)
    changed[i] = bytes([changed[i][0] ^ 8]) + changed[i][1:]
    return changed


def test_every_proof_of_many_sizes_verifies_and_every_corruption_fails() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(70)]
    some = bytes.fromhex("abacaba0" + "00" * 28)
    for size in range(1, 71):
        root = root_of(leaves[:size])
        for index in range(size):
            proof = inclusion_proof(leaves[:size], index)
            leaf = leaves[index]
            assert verify_inclusion(index, size, leaf, proof, root)
            wrong = [
                (index + 1, size, leaf, proof, root),
                (index ^ 2, size, leaf, proof, root),
                (index, size * 2, leaf, proof, root),
                (index, size, some, proof, root),
                (index, size, leaf, proof, EMPTY_ROOT),
                (index, size, leaf, [*proof, root], root),
                (index, size, leaf, [root, *proof], root),
                *[(index, size, leaf, _flip(proof, i), root) for i in range(len(proof))],
            ]
            if proof:
                wrong.append((index, size, leaf, proof[:-1], root))
            for case in wrong:
                assert not verify_inclusion(*case), (size, index, case[:3])
        for first in range(1, size + 1):
            old = root_of(leaves[:first])
            proof = consistency_proof(leaves[:size], first)
            assert verify_consistency(first, size, old, root, proof)
            if first == size:
                continue
            bad = [
                (first - 1, size, old, root, proof),
                (first + 1, size, old, root, proof),
                (first, size * 2, old, root, proof),
                (first, size, some, root, proof),
                (first, size, old, some, proof),
                (first, size, root, old, proof),
                (first, size, old, root, []),
                (first, size, old, root, [*proof, old]),
                (first, size, old, root, [proof[0], *proof]),
                (first, size, old, root, proof[:-1]),
                *[(first, size, old, root, _flip(proof, i)) for i in range(len(proof))],
            ]
            for case in bad:
                assert not verify_consistency(*case), (first, size, case[:2])


def test_edge_sizes() -> None:
    assert verify_consistency(0, 5, EMPTY_ROOT, _root(5), [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, _root(5), [EMPTY_ROOT])
    assert not verify_consistency(5, 4, _root(5), _root(4), [])
    assert not verify_inclusion(0, 0, HASHES[0], [], EMPTY_ROOT)
    assert verify_inclusion(0, 1, HASHES[0], [], _root(1))
    assert node_hash(HASHES[0], HASHES[1]) == _root(2)
    with pytest.raises(ValueError):
        CompactTree(3, [HASHES[0]])
