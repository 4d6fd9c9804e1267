"""Near-duplicate look-ups at a million images: matching.index.HashIndex beside faiss's exact binary index.

1. "Which stored images lie within distance 10 of this one": 1,000,000 stored 64-bit hashes (seeded uniform
   random, with near copies planted around each query so answers are not empty), 2,000 queries. faiss
   IndexBinaryFlat.range_search (exact, all cores, given the whole batch at once) against HashIndex.query (one
   query at a time, one core). Both must give exactly the same answers; the ratio of queries per second is
   reported.
2. Matching 1,000,000 listing hashes against 1,000 reference hashes at distance 10: matching.index.match_all
   (index the listings, query each reference), beside a vectorised XOR-popcount scan of all 10^9 pairs on
   both cores, same answers.

Run: `python -m benchmarks.bench_index` (needs faiss-cpu: pip install 'brandpatrol[bench]'). Not a test.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from matching.index import HashIndex, match_all

STORED = 1_000_000
QUERIES = 2_000
REFERENCES = 1_000
RADIUS = 10
PLANTED_PER_QUERY = 5


def _flip(values: np.ndarray, rng: np.random.Generator, max_bits: int) -> np.ndarray:
    out = values.copy()
    for i in range(len(out)):
        bits = rng.choice(64, size=int(rng.integers(0, max_bits + 1)), replace=False)
        mask = 0
        for b in bits.tolist():
            mask |= 1 << b
        out[i] ^= np.uint64(mask)
    return out


def data(seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """(stored, queries): uniform random hashes, with near copies of each query planted among the stored."""
    rng = np.random.default_rng(seed)
    stored = rng.integers(0, 2**64, size=STORED, dtype=np.uint64)
    queries = rng.integers(0, 2**64, size=QUERIES, dtype=np.uint64)
    planted = _flip(np.repeat(queries, PLANTED_PER_QUERY), rng, 14)  # some within 10, some just past it
    slots = rng.choice(STORED, size=planted.size, replace=False)
    stored[slots] = planted
    return stored, queries


def _codes(hashes: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(hashes).view(np.uint8).reshape(-1, 8)


def faiss_within(stored: np.ndarray, queries: np.ndarray, radius: int) -> tuple[list[np.ndarray], float]:
    import faiss

    index = faiss.IndexBinaryFlat(64)
    index.add(_codes(stored))
    started = time.perf_counter()
    # faiss keeps distances strictly under the radius it is given.
    lims, _, ids = index.range_search(_codes(queries), radius + 1)
    seconds = time.perf_counter() - started
    return [np.sort(ids[lims[i]:lims[i + 1]]) for i in range(len(queries))], seconds


def ours_within(stored: np.ndarray, queries: np.ndarray, radius: int) -> tuple[list[np.ndarray], float, float]:
    started = time.perf_counter()
    index = HashIndex(stored)
    built = time.perf_counter() - started
    started = time.perf_counter()
    answers = [np.sort(index.within(int(q), radius)) for q in queries.tolist()]
    return answers, time.perf_counter() - started, built


def brute_join(listings: np.ndarray, references: np.ndarray, radius: int) -> np.ndarray:
    """Every pair within `radius` by scanning all of them, in chunks, on two threads (numpy releases the GIL)."""
    def part(chunk: np.ndarray, offset: int) -> np.ndarray:
        rows = []
        for start in range(0, len(chunk), 20_000):
            block = chunk[start:start + 20_000]
            dist = np.bitwise_count(block[:, None] ^ references[None, :])
            li, ri = np.nonzero(dist <= radius)
            rows.append(np.stack([li + offset + start, ri, dist[li, ri].astype(np.int64)], axis=1))
        return np.concatenate(rows) if rows else np.zeros((0, 3), dtype=np.int64)

    half = len(listings) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(part, (listings[:half], listings[half:]), (0, half)))
    out = np.concatenate(parts).astype(np.int64)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def main() -> dict[str, Any]:
    stored, queries = data()
    theirs, faiss_seconds = faiss_within(stored, queries, RADIUS)
    ours, our_seconds, build_seconds = ours_within(stored, queries, RADIUS)
    same = all(np.array_equal(a, b) for a, b in zip(theirs, ours, strict=True))
    found = sum(len(a) for a in ours)
    faiss_rate, our_rate = len(queries) / faiss_seconds, len(queries) / our_seconds

    rng = np.random.default_rng(5)
    references = rng.integers(0, 2**64, size=REFERENCES, dtype=np.uint64)
    listings = stored.copy()
    listings[rng.choice(STORED, size=3 * REFERENCES, replace=False)] = _flip(np.repeat(references, 3), rng, 12)
    started = time.perf_counter()
    joined = match_all(listings, references, RADIUS)
    join_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scanned = brute_join(listings, references, RADIUS)
    scan_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "stored": STORED,
        "queries": QUERIES,
        "radius": RADIUS,
        "answers_found": found,
        "same_answers_as_faiss": same,
        "faiss_queries_per_s": round(faiss_rate, 1),
        "hashindex_queries_per_s": round(our_rate, 1),
        "hashindex_build_s": round(build_seconds, 2),
        "ratio": round(our_rate / faiss_rate, 2),
        "join": {
            "listings": STORED,
            "references": REFERENCES,
            "pairs": len(joined),
            "match_all_s": round(join_seconds, 2),
            "xor_popcount_scan_s": round(scan_seconds, 2),
            "same_pairs": bool(np.array_equal(joined, scanned)),
        },
    }
    print(f"within {RADIUS} of one hash among {STORED:,}: faiss IndexBinaryFlat {faiss_rate:,.0f} queries/s, "
          f"HashIndex {our_rate:,.0f} queries/s ({our_rate / faiss_rate:.2f}x; built in {build_seconds:.1f} s); "
          f"{found} answers, identical: {same}")
    print(f"{STORED:,} listings x {REFERENCES:,} references at distance {RADIUS}: match_all {join_seconds:.1f} s, "
          f"XOR-popcount scan on 2 cores {scan_seconds:.1f} s; {len(joined)} pairs, identical: "
          f"{result['join']['same_pairs']}")
    return result


if __name__ == "__main__":
    main()
