"""Run every benchmark and print one JSON object of results."""

from __future__ import annotations

import json

from benchmarks import bench_hashing

if __name__ == "__main__":
    print(json.dumps({"hashing": bench_hashing.main()}, indent=2))
