"""Run the matching benchmarks and print one JSON object of results."""

from __future__ import annotations

import json

from benchmarks import bench_hashing, bench_image_recall, bench_index

if __name__ == "__main__":
    results = {"hashing": bench_hashing.main(), "image_recall": bench_image_recall.main()}
    try:
        results["index"] = bench_index.main()
    except ImportError as exc:  # faiss-cpu is an extra: pip install 'brandpatrol[bench]'
        results["index"] = {"skipped": f"{exc}; install faiss-cpu (pip install 'brandpatrol[bench]')"}
    print(json.dumps(results, indent=2, ensure_ascii=False))
