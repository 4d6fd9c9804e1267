"""matching.index: the multi-index near-duplicate look-up gives exactly the brute-force answers."""

from __future__ import annotations

import numpy as np
import pytest

from matching.index import HashIndex, as_hashes, match_all, near_pairs, within_brute


def _near(value: int, bits: list[int]) -> int:
    for b in bits:
        value ^= 1 << b
    return value


@pytest.fixture(scope="module")
def planted() -> list[int]:
    rng = np.random.default_rng(4)
    return [int(h) for h in rng.integers(0, 2**64, size=30, dtype=np.uint64)]


@pytest.fixture(scope="module")
def stored(planted: list[int]) -> np.ndarray:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**64, size=20_000, dtype=np.uint64)
    # Clusters of near copies, so there is something to find at every radius.
    copies = [_near(b, rng.choice(64, size=k, replace=False).tolist()) for b in planted for k in range(0, 20, 2)]
    hashes[rng.choice(len(hashes), size=len(copies), replace=False)] = np.array(copies, dtype=np.uint64)
    # Biased hashes too (low chunk always zero): crowded buckets must not lose answers.
    hashes[:500] &= np.uint64(0xFFFF_FFFF_FFFF_0000)
    return hashes


@pytest.mark.parametrize("radius", [0, 1, 3, 7, 10, 12, 17, 31, 40])
def test_same_answers_as_brute_force(stored: np.ndarray, planted: list[int], radius: int) -> None:
    index = HashIndex(stored)
    rng = np.random.default_rng(radius)
    queries = [int(stored[i]) for i in rng.choice(len(stored), size=40, replace=False)]
    queries += [int(q) for q in rng.integers(0, 2**64, size=20, dtype=np.uint64)]
    queries += [int(stored[i]) ^ 0b1011 for i in range(5)] + [0, 2**64 - 1] + planted
    found_any = 0
    for q in queries:
        ids, dist = index.query(q, radius)
        expected = within_brute(stored, q, radius)
        assert sorted(ids.tolist()) == sorted(expected.tolist()), (q, radius)
        assert dist.tolist() == sorted(dist.tolist())  # nearest first
        assert all(int(stored[i] ^ np.uint64(q)).bit_count() == d for i, d in zip(ids, dist, strict=True))
        found_any += len(ids) > 1
    if radius >= 2:
        assert found_any >= 20  # the planted near copies were found, not just each query itself


def test_ids_name_the_hashes_and_bad_ids_are_refused() -> None:
    index = HashIndex([0b1111, 0b0111, 2**63], ids=[70, 71, 72])
    assert index.within(0b1111, 1).tolist() == [70, 71]
    assert index.within(2**63, 0).tolist() == [72]
    with pytest.raises(ValueError, match="one id per hash"):
        HashIndex([1, 2], ids=[1])


def test_empty_index_and_negative_radius() -> None:
    assert HashIndex([]).within(5, 10).size == 0
    assert HashIndex([5]).within(5, -1).size == 0
    assert len(HashIndex(as_hashes([1, 2, 3]))) == 3


def test_match_all_equals_a_full_scan() -> None:
    rng = np.random.default_rng(9)
    listings = rng.integers(0, 2**64, size=5_000, dtype=np.uint64)
    references = rng.integers(0, 2**64, size=40, dtype=np.uint64)
    listings[:40] = references ^ np.uint64(0b1_0000_0001)  # distance 2 from each reference
    listings[40:80] = references ^ np.uint64((1 << 11) - 1)  # distance 11: just outside
    pairs = match_all(listings, references, 10)
    dist = np.bitwise_count(listings[:, None] ^ references[None, :])
    li, ri = np.nonzero(dist <= 10)
    expected = sorted(zip(li.tolist(), ri.tolist(), dist[li, ri].tolist(), strict=True))
    assert [tuple(p) for p in pairs.tolist()] == expected
    assert len(expected) >= 40
    # Either side may be the larger: the answer is the same pairs, listing first.
    swapped = match_all(references, listings, 10)
    assert sorted((b, a, d) for a, b, d in swapped.tolist()) == expected


@pytest.mark.parametrize("radius", [0, 1, 4, 9])
def test_near_pairs_are_the_brute_force_pairs(radius: int) -> None:
    rng = np.random.default_rng(40 + radius)
    first = rng.integers(0, 2**64, size=600, dtype=np.uint64)
    second = rng.integers(0, 2**64, size=600, dtype=np.uint64)
    for k in range(0, 600, 3):  # near copies in both hashes, in one of them only, and exact repeats
        j = (k * 7 + 1) % 600
        first[j] = _near(int(first[k]), rng.choice(64, size=int(rng.integers(0, 7)), replace=False).tolist())
        if k % 2:
            second[j] = _near(int(second[k]), rng.choice(64, size=int(rng.integers(0, 7)), replace=False).tolist())
    first[:40] &= np.uint64(0xFFFF_0000_FFFF_0000)  # crowded keys
    second[:40] &= np.uint64(0x0000_FFFF_0000_FFFF)
    first[50:60], second[50:60] = first[49], second[49]
    found = near_pairs(first, second, radius)
    close = ((np.bitwise_count(first[:, None] ^ first[None, :]) <= radius)
             & (np.bitwise_count(second[:, None] ^ second[None, :]) <= radius))
    expected = np.argwhere(np.triu(close, 1))
    assert found.tolist() == expected.tolist()
    assert len(expected) >= 45  # the repeats at least, and near copies at the wider radii


def test_near_pairs_edge_cases() -> None:
    assert near_pairs([5], [6], 4).shape == (0, 2)
    assert near_pairs([0, 1], [0, 3], -1).shape == (0, 2)
    assert near_pairs([0, 2**64 - 1], [0, 0], 64).tolist() == [[0, 1]]
    with pytest.raises(ValueError, match="both hashes"):
        near_pairs([1, 2], [1], 2)
