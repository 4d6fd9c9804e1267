"""A near-duplicate index over 64-bit hashes: "which stored images lie within distance r of this one", fast at a
million images.

Multi-index hashing (Norouzi, Punjani and Fleet): the 64 bits are cut into 4 chunks of 16. If two hashes differ
in at most r bits, one of the 4 chunks differs in at most floor(r / 4) bits (else all four would differ in more
and the total would exceed r). So each chunk has a table from its 16-bit value to the hashes holding it (a sorted
permutation and 65,537 offsets), and a query looks up, in each table, every 16-bit value within floor(r / 4) of
its own chunk (137 values for r = 10), then checks the full distance of those few candidates with one vectorised
XOR-popcount. Every hash within r is found: the answers are exactly those of a brute-force scan, only sooner.
At a million uniformly spread hashes a bucket holds about 15 of them, so a query at r = 10 checks some 8,000.
Hashes whose bits are far from uniform crowd some buckets; queries then slow down, never go wrong.

`match_all` joins two sets (listing photos against reference photos): it indexes the larger side and queries it
with each hash of the smaller side. `near_pairs` joins one set of photos with itself on two hashes at once (pHash
and dHash within a small radius), with no query per photo: a million photos take seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CHUNKS = 4
CHUNK_BITS = 16
_VALUES = 1 << CHUNK_BITS
_ALL = np.arange(_VALUES, dtype=np.int64)
_POPCOUNT = np.bitwise_count(_ALL.astype(np.uint16)).astype(np.int64)
_PROBES = {r: _ALL[_POPCOUNT <= r] for r in range(CHUNK_BITS + 1)}  # 16-bit masks of at most r bits


def as_hashes(values: Sequence[int] | np.ndarray) -> np.ndarray:
    """64-bit hashes as a uint64 array (from ints, or an array of any integer type)."""
    if isinstance(values, np.ndarray):
        return values.astype(np.uint64, copy=False)
    return np.array([int(v) & 0xFFFF_FFFF_FFFF_FFFF for v in values], dtype=np.uint64)


def distances(hashes: np.ndarray, query: int) -> np.ndarray:
    """Hamming distance of `query` to every hash: one vectorised XOR-popcount."""
    return np.bitwise_count(hashes ^ np.uint64(query)).astype(np.int64)


def within_brute(hashes: np.ndarray, query: int, radius: int) -> np.ndarray:
    """Positions of the hashes within `radius` of `query`, by scanning them all (the reference answer)."""
    return np.flatnonzero(distances(hashes, query) <= radius)


@dataclass(frozen=True)
class _Table:
    order: np.ndarray  # positions of the hashes, sorted by this chunk's value
    offsets: np.ndarray  # offsets[v]..offsets[v + 1] in `order` hold the hashes whose chunk is v
    hashes: np.ndarray  # the hashes in that order, so a bucket is read from one place in memory


class HashIndex:
    """Stored 64-bit hashes, queried by Hamming radius. `ids` name the hashes (positions when not given)."""

    def __init__(self, hashes: Sequence[int] | np.ndarray, ids: Sequence[int] | np.ndarray | None = None):
        self.hashes = np.ascontiguousarray(as_hashes(hashes))
        self.ids = None if ids is None else np.asarray(ids, dtype=np.int64)
        if self.ids is not None and len(self.ids) != len(self.hashes):
            raise ValueError(f"{len(self.ids)} ids for {len(self.hashes)} hashes; give one id per hash")
        self._tables = []
        for chunk in range(CHUNKS):
            values = ((self.hashes >> np.uint64(chunk * CHUNK_BITS)) & np.uint64(_VALUES - 1)).astype(np.int64)
            order = np.argsort(values, kind="stable")
            offsets = np.zeros(_VALUES + 1, dtype=np.int64)
            np.cumsum(np.bincount(values, minlength=_VALUES), out=offsets[1:])
            self._tables.append(_Table(order, offsets, self.hashes[order]))

    def __len__(self) -> int:
        return len(self.hashes)

    def _positions(self, query: int, radius: int) -> np.ndarray:
        """Positions of the hashes within `radius`, found through the chunk tables (unsorted, unique)."""
        probes = _PROBES[min(radius // CHUNKS, CHUNK_BITS)]
        target = np.uint64(query)
        found = []
        for chunk, table in enumerate(self._tables):
            own = (query >> (chunk * CHUNK_BITS)) & (_VALUES - 1)
            values = probes ^ own
            starts, ends = table.offsets[values], table.offsets[values + 1]
            lengths = ends - starts
            total = int(lengths.sum())
            if total == 0:
                continue
            # Every slot from each bucket's start to its end, in one vector.
            slots = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
            near = slots[np.bitwise_count(table.hashes[slots] ^ target) <= radius]
            if near.size:
                found.append(table.order[near])
        if not found:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(found))  # a hash near in several chunks is found in each

    def query(self, query: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances) of the stored hashes within `radius` of `query`, nearest first."""
        if radius < 0 or len(self.hashes) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if radius >= CHUNKS * (CHUNK_BITS // 2):
            positions = within_brute(self.hashes, query, radius)  # so wide that every bucket is probed anyway
        else:
            positions = self._positions(query, radius)
        found = distances(self.hashes[positions], query)
        order = np.argsort(found, kind="stable")
        positions, found = positions[order], found[order]
        return (positions if self.ids is None else self.ids[positions]), found

    def within(self, query: int, radius: int) -> np.ndarray:
        """Ids of the stored hashes within `radius` of `query`, nearest first."""
        return self.query(query, radius)[0]


def match_all(listings: Sequence[int] | np.ndarray, references: Sequence[int] | np.ndarray,
              radius: int) -> np.ndarray:
    """Every (listing position, reference position, distance) within `radius`, sorted by listing then reference."""
    left, right = as_hashes(listings), as_hashes(references)
    rows: list[np.ndarray] = []
    swap = len(right) > len(left)
    indexed, probing = (right, left) if swap else (left, right)
    index = HashIndex(indexed)
    for j, h in enumerate(probing.tolist()):
        found, dist = index.query(int(h), radius)
        if found.size:
            probe = np.full(found.size, j, dtype=np.int64)
            pairs = np.stack([probe, found, dist], axis=1) if swap else np.stack([found, probe, dist], axis=1)
            rows.append(pairs)
    if not rows:
        return np.zeros((0, 3), dtype=np.int64)
    out = np.concatenate(rows)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def _chunk_masks(parts: int) -> list[tuple[int, int]]:
    """(shift, mask) of `parts` disjoint chunks covering the 64 bits, as equal as they can be."""
    out, shift = [], 0
    for k in range(parts):
        bits = 64 // parts + (k < 64 % parts)
        out.append((shift, (1 << bits) - 1))
        shift += bits
    return out


def near_pairs(first: Sequence[int] | np.ndarray, second: Sequence[int] | np.ndarray, radius: int) -> np.ndarray:
    """Every pair (i, j), i < j, whose `first` hashes and whose `second` hashes (a photo's pHash and dHash, say) are
    both within `radius`: the self-join of one set, sorted, as exactly as a brute-force scan of all pairs.

    Pigeonhole once more: cut a hash into radius + 1 chunks and two hashes within `radius` agree exactly on at
    least one of them. So a pair near in both hashes agrees on some chunk of the first and some chunk of the
    second; for each of the (radius + 1)^2 pairings of chunks, the hashes are sorted by the two chunks together and
    only neighbours with equal keys are candidates, checked in full by XOR-popcount. At radius 4 a key has 24-26
    bits, so a million uniformly spread photos give some ten thousand chance candidates per pairing. Meant for small
    radii (keys shrink as the radius grows). Hashes repeated k times give k^2 / 2 candidates: join distinct pairs.
    """
    a, b = as_hashes(first), as_hashes(second)
    n = len(a)
    if len(b) != n:
        raise ValueError(f"{n} first hashes for {len(b)} second ones; give both hashes of every item")
    if radius < 0 or n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if radius >= 64:  # every pair
        return np.stack(np.triu_indices(n, 1), axis=1).astype(np.int64)
    chunks = _chunk_masks(radius + 1)
    width = max(mask.bit_length() for _, mask in chunks)
    index_bits = (n - 1).bit_length()
    packs = 2 * width + index_bits <= 64  # key and position in one word: a plain sort, no argsort
    positions = np.arange(n, dtype=np.uint64)
    found: list[np.ndarray] = []
    for shift_b, mask_b in chunks:
        part_b = (b >> np.uint64(shift_b)) & np.uint64(mask_b)
        if packs:
            part_b = (part_b << np.uint64(index_bits)) | positions
        for shift_a, mask_a in chunks:
            part_a = (a >> np.uint64(shift_a)) & np.uint64(mask_a)
            if packs:
                packed = (part_a << np.uint64(width + index_bits)) | part_b
                packed.sort()
                keys, order = packed >> np.uint64(index_bits), packed & np.uint64((1 << index_bits) - 1)
            else:
                key = (part_a << np.uint64(width)) | part_b
                order = np.argsort(key, kind="stable").astype(np.uint64)
                keys = key[order]
            found.append(_pairs_in_runs(keys, order))
    pairs = np.concatenate(found)
    if not len(pairs):
        return pairs
    i, j = pairs[:, 0], pairs[:, 1]
    close = (np.bitwise_count(a[i] ^ a[j]) <= radius) & (np.bitwise_count(b[i] ^ b[j]) <= radius)
    codes = np.unique(i[close] * n + j[close])
    return np.stack([codes // n, codes % n], axis=1)


def _pairs_in_runs(keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(smaller, larger) of every two items sharing a key, given the keys sorted and the items in that order."""
    repeats = np.flatnonzero(keys[1:] == keys[:-1])
    if not repeats.size:
        return np.zeros((0, 2), dtype=np.int64)
    # Only the items of runs longer than one, which are few: every pair within each run.
    members = np.sort(np.concatenate((repeats, repeats + 1)))
    members = members[np.concatenate(([True], members[1:] != members[:-1]))]
    keys, items = keys[members], order[members].astype(np.int64)
    starts = np.concatenate(([True], keys[1:] != keys[:-1]))
    run_of = np.cumsum(starts) - 1
    ends = np.append(np.flatnonzero(starts)[1:], len(keys))
    later = ends[run_of] - np.arange(len(keys)) - 1  # items after this one in its run
    left = np.repeat(np.arange(len(keys)), later)
    right = left + 1 + np.arange(len(left)) - np.repeat(np.cumsum(later) - later, later)
    x, y = items[left], items[right]
    return np.stack([np.minimum(x, y), np.maximum(x, y)], axis=1)
