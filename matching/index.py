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
with each hash of the smaller side.
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
