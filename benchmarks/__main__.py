"""Run every benchmark (`python -m benchmarks [name ...]`) and print one JSON object of results.

Each benchmark measures BrandPatrol beside a baseline in the same run and reports the ratio.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

BENCHMARKS = ("hashing", "image_recall", "index", "crawl", "queue", "clusters", "ocr", "artwork", "workers",
              "stages")


def run(names: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        if name not in BENCHMARKS:
            raise SystemExit(f"no benchmark named '{name}' (known: {', '.join(BENCHMARKS)})")
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name}", file=sys.stderr, flush=True)
        results[name] = module.main()
    return results


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:] or list(BENCHMARKS)), indent=2, default=str))
