"""Crawl throughput: the full BrandPatrol pipeline against a bare Scrapy spider on the same local pages,
and the browser-rendered crawl's pages per second and peak memory (all processes, and Chromium alone).

Images are excluded (the pages carry none): this measures fetching, extraction, normalisation, evidence
capture and batched storage. Run: `python -m benchmarks.bench_crawl [listings] [browser_listings]`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import yaml
from sqlalchemy import select

from benchmarks.site import BenchShop
from brandpatrol import jobs
from core.models import CrawlRun
from core.settings import get_settings


def bare_rate(start_url: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bare_spider", start_url], capture_output=True,
                         text=True, check=True, timeout=1800)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"pages": result["pages"], "seconds": result["seconds"], "pages_per_s": result["pages"] / result["seconds"]}


class PeakMemory:
    """Peak proportional memory (PSS) of this process's children: all of them (the crawl's Python, Playwright's
    driver and Chromium), and Chromium's processes alone."""

    def __init__(self) -> None:
        self.peak = 0
        self.peak_browser = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.25):
            total = browser = 0
            for child in me.children(recursive=True):
                try:
                    # PSS shares Chromium's shared pages among its processes instead of counting them in each.
                    pss = child.memory_full_info().pss
                    total += pss
                    browser += pss if child.name().startswith("chrom") else 0
                except psutil.Error:
                    continue
            self.peak, self.peak_browser = max(self.peak, total), max(self.peak_browser, browser)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


# The JSON API marketplace: the same listings, read with json: selectors from the API's responses (issue #12).
JSON_SELECTORS = {"data": "body", "item": "json:result.cards[]", "link": "json:href", "next_page": "json:result.next",
                  "title": "json:item.title", "price": "json:item.price", "seller": "json:item.seller",
                  "location": "json:item.location", "external_id": "json:item.sku"}


def pipeline_rate(base_url: str, workdir: Path, *, javascript: bool, api: bool = False) -> dict[str, Any]:
    prefix = "/js" if javascript else ""
    start = f"{base_url}/api/search?page=1" if api else f"{base_url}{prefix}/search?page=1"
    config = {
        "brand": {"name": "Acme"},
        "products": [{"sku": "A-1", "names": {"en": "Acme widget"}}],
        "marketplaces": [{
            "name": "bench", "spider": "configured", "base_url": base_url,
            "start_urls": [start], "javascript": javascript,
            "wait_for": "body[data-ready]" if javascript else None, "currency": "USD",
            # The same politeness as the bare spider (Scrapy's defaults): no robots.txt, no AutoThrottle.
            "obey_robots": False, "autothrottle": False,
            "concurrency": 16, "max_pages": 10_000,
            "selectors": {"link": "a.item::attr(href)", "next_page": "a.next::attr(href)", "title": ".title::text",
                          "price": ".price::text", "seller": ".seller::text", "location": ".location::text",
                          "external_id": ".sku::text", "image": "img.photo::attr(src)"} if not api else JSON_SELECTORS,
        }],
        "egress": {"allow_private_hosts": [urlsplit(base_url).netloc]},
    }
    path = workdir / f"bench-{'api' if api else 'js' if javascript else 'html'}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    settings = get_settings().model_copy(update={"db": f"sqlite:///{workdir / path.stem}.db", "config": path})
    with PeakMemory() as memory:
        result = jobs.crawl_one(settings, path, "bench")
    with jobs.open_database(settings).read() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        seconds = float(run.stats.get("elapsed_time_seconds", 0.0))
    return {"status": result.status.value, "pages": result.pages, "listings": result.items, "seconds": seconds,
            "pages_per_s": result.pages / seconds if seconds else 0.0,
            "listings_per_s": result.items / seconds if seconds else 0.0, "peak_pss_mb": memory.peak / 2**20,
            "peak_chromium_pss_mb": memory.peak_browser / 2**20}


ROUNDS = 3


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return max(runs, key=lambda run: float(run["pages_per_s"]))


def main(listings: int = 1000, browser_listings: int = 500) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, BenchShop(max(listings, browser_listings)) as shop:
        workdir = Path(tmp)
        shop.pages = max(1, listings // 50)
        # Alternate the two and keep each one's best round, so a busy moment on the machine hits both alike.
        bare_runs, pipeline_runs = [], []
        for round_number in range(ROUNDS):
            bare_runs.append(bare_rate(f"{shop.base_url}/search?page=1"))
            round_dir = workdir / f"round{round_number}"
            round_dir.mkdir()
            pipeline_runs.append(pipeline_rate(shop.base_url, round_dir, javascript=False))
        results["bare_scrapy"], results["pipeline"] = best(bare_runs), best(pipeline_runs)
        results["pipeline_vs_bare"] = results["pipeline"]["pages_per_s"] / results["bare_scrapy"]["pages_per_s"]
        if browser_listings:
            shop.pages = max(1, browser_listings // 50)
            started = time.monotonic()
            results["browser"] = pipeline_rate(shop.base_url, workdir, javascript=True)
            results["browser"]["wall_s"] = time.monotonic() - started
            results["browser_vs_plain"] = results["browser"]["pages_per_s"] / results["pipeline"]["pages_per_s"]
            # The same listings from the marketplace's JSON API (json: selectors), against the rendered DOM.
            results["json_api"] = pipeline_rate(shop.base_url, workdir, javascript=False, api=True)
            results["json_vs_dom"] = results["json_api"]["listings_per_s"] / results["browser"]["listings_per_s"]
    print(f"bare Scrapy {results['bare_scrapy']['pages_per_s']:.0f} pages/s; BrandPatrol pipeline "
          f"{results['pipeline']['pages_per_s']:.0f} pages/s = {results['pipeline_vs_bare']:.0%} of bare (target 70%)")
    if "browser" in results:
        print(f"browser-rendered: {results['browser']['pages_per_s']:.1f} pages/s = 1/"
              f"{1 / results['browser_vs_plain']:.0f} of the plain crawl (target at least 1/25); "
              f"peak memory (PSS) {results['browser']['peak_pss_mb']:.0f} MB in all, Chromium's processes "
              f"{results['browser']['peak_chromium_pss_mb']:.0f} MB")
        print(f"JSON API marketplace (json: selectors): {results['json_api']['listings_per_s']:.1f} listings/s = "
              f"{results['json_vs_dom']:.1f}x the same listings rendered and read from the DOM (target at least 3x)")
    return results


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(main(*numbers), indent=2, default=str))
