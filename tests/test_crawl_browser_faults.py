"""Browser-rendered crawls under faults (real Chromium): sub-resources the gate refuses, failing pages,
navigation timeouts, empty and download responses. Skipped only where Chromium cannot be installed."""

from __future__ import annotations

import ast
import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import psutil
import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from playwright.async_api import async_playwright
from sqlalchemy import select

from brandpatrol import jobs
from core.models import Listing, ListingSnapshot, RunStatus
from core.settings import get_settings
from crawler.page_methods import wait_for_css
from tests.crawl_kit import (
    JS,
    configured_shop,
    last_run,
    needs_chromium,
    ready_search,
    rendered,
    scrapy_crawl,
    stored_ids,
)
from tests.loopback import LoopbackServer, Route, reply, sequence

pytestmark = [pytest.mark.timeout(300), pytest.mark.browser]


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    needs_chromium()


@pytest.fixture
def outsider() -> Iterator[LoopbackServer]:
    """A server on another loopback address, which the egress gate does not allow."""
    with LoopbackServer({"/x.png": reply(b"png", "image/png"), "/font.woff2": reply(b"font", "font/woff2"),
                         "/track.js": reply(b"1", "application/javascript")}, host="127.0.0.2") as server:
        yield server


def test_playwright_subresources_aborted(tmp_path: Path, outsider: LoopbackServer) -> None:
    extra = (f"<img src='{outsider.base_url}/x.png'><script src='{outsider.base_url}/track.js'></script>"
             f"<style>@font-face{{font-family:f;src:url({outsider.base_url}/font.woff2)}}body{{font-family:f}}</style>")
    routes = {"/search": reply(ready_search("a")), "/item/a": reply(rendered("Acme widget a", extra))}
    with configured_shop(tmp_path, routes, marketplace=JS) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.OK, result.summary()
    assert stored_ids(settings) == {"a"}
    assert sum(outsider.hits.values()) == 0
    assert last_run(settings).stats.get("playwright/request_count/aborted", 0) >= 1


def test_pages_closed_when_pages_fail(tmp_path: Path) -> None:
    items = [f"i{n}" for n in range(20)]
    routes: dict[str, Route] = {"/search": reply(ready_search(*items))}
    for n, item in enumerate(items):
        routes[f"/item/{item}"] = reply(rendered(f"Acme widget {item}")) if n % 2 else reply(b"gone", status=500)
    market = {**JS, "retries": 0, "concurrency": 4}
    with configured_shop(tmp_path, routes, marketplace=market) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.PARTIAL, result.summary()
    assert stored_ids(settings) == {item for n, item in enumerate(items) if n % 2}
    stats = last_run(settings).stats
    pages = {key: value for key, value in stats.items() if "page_count" in key}
    assert stats["playwright/page_count"] == stats["playwright/page_count/closed"], pages


def test_a_page_the_browser_failed_to_load_is_retried(tmp_path: Path) -> None:
    # The server hangs up twice without answering: the browser reports a failed navigation (a Playwright error,
    # which Scrapy's retry list does not know), and the listing must be fetched again like any dropped connection.
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True

    routes = {"/search": reply(ready_search("flaky", "fine")),
              "/item/flaky": sequence(hang_up, hang_up, reply(rendered("Acme widget flaky"))),
              "/item/fine": reply(rendered("Acme widget fine"))}
    with configured_shop(tmp_path, routes, marketplace={**JS, "retries": 2}) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.OK, result.summary()
    assert stored_ids(settings) == {"flaky", "fine"}
    assert last_run(settings).stats.get("retry/count", 0) >= 1


def test_pages_are_reused_each_with_its_own_listing_and_all_closed(tmp_path: Path) -> None:
    # Pages render at different speeds, so reused pages interleave; each listing must still be its own page's.
    items = [f"r{n}" for n in range(45)]
    routes: dict[str, Route] = {"/search": reply(ready_search(*items))}
    for n, item in enumerate(items):
        delay = "" if n % 3 else "<script>for(const t=Date.now();Date.now()-t<150;);</script>"
        routes[f"/item/{item}"] = reply(rendered(f"Acme widget {item}", delay))
    with configured_shop(tmp_path, routes, marketplace={**JS, "concurrency": 4}) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.OK, result.summary()
    with jobs.open_database(settings).read() as session:
        stored = {row.external_id: row.title for row in session.execute(select(Listing.external_id, Listing.title))}
    assert stored == {item: f"Acme widget {item}" for item in items}
    stats = last_run(settings).stats
    # 46 pages rendered in a handful of browser pages (at most 4 at a time, each retired after 20 uses)...
    assert stats["playwright/page_count"] <= 12 and stats["playwright/page_count/reused"] >= 30
    # ...and every one of them closed before the run was recorded.
    assert stats["playwright/page_count"] == stats["playwright/page_count/closed"]


def test_navigation_timeout_does_not_hang(tmp_path: Path) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(60)

    routes = {"/search": reply(ready_search("slow", "fine")), "/item/slow": stall,
              "/item/fine": reply(rendered("Acme widget fine"))}
    market = {**JS, "retries": 0, "download_timeout_s": 2}
    with configured_shop(tmp_path, routes, marketplace=market) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop", timeout=120)
    assert result.status == RunStatus.PARTIAL, result.summary()
    assert stored_ids(settings) == {"fine"}
    assert any("TimeoutError" in key for key in last_run(settings).errors)


def test_empty_and_download_responses_do_not_freeze(tmp_path: Path) -> None:
    def download(handler: BaseHTTPRequestHandler) -> None:
        body = b"%PDF-1.4 not a page"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Disposition", "attachment; filename=x.pdf")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    routes = {"/search": reply(ready_search("empty", "file", "fine")), "/item/empty": reply(b"", status=204),
              "/item/file": download, "/item/fine": reply(rendered("Acme widget fine"))}
    market = {**JS, "retries": 0, "download_timeout_s": 10}
    with configured_shop(tmp_path, routes, marketplace=market) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop", timeout=180)
    assert result.status in (RunStatus.OK, RunStatus.PARTIAL), result.summary()
    assert "fine" in stored_ids(settings) and "file" not in stored_ids(settings)


def test_browser_crash_recovers(tmp_path: Path) -> None:
    items = [f"i{n:02d}" for n in range(24)]

    def slow_item(title: str) -> Route:
        def handle(handler: BaseHTTPRequestHandler) -> None:
            time.sleep(0.3)
            reply(rendered(title))(handler)

        return handle

    routes: dict[str, Route] = {"/search": reply(ready_search(*items))}
    routes.update({f"/item/{item}": slow_item(f"Acme widget {item}") for item in items})
    market = {**JS, "retries": 1, "concurrency": 2}
    with configured_shop(tmp_path, routes, marketplace=market) as (_server, config, settings):
        killed: list[int] = []

        def kill_browser_when_half_done() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                if len(stored_ids(settings)) >= 5:
                    for proc in psutil.Process().children(recursive=True):
                        try:
                            is_browser = "chrom" in proc.name() and not any(
                                arg.startswith("--type=") for arg in proc.cmdline())
                        except psutil.Error:
                            continue
                        if is_browser:
                            proc.kill()
                            killed.append(proc.pid)
                time.sleep(0.2)

        jobs.open_database(settings).dispose()
        killer = threading.Thread(target=kill_browser_when_half_done, daemon=True)
        killer.start()
        result = jobs.crawl_one(settings, config, "shop", timeout=240)
        killer.join(timeout=5)
    assert killed, "the browser was never seen, so it could not be killed"
    assert result.status in (RunStatus.OK, RunStatus.PARTIAL), result.summary()
    # The browser came back: listings after the crash were rendered and stored too.
    assert len(stored_ids(settings)) >= len(items) - 4


def cached_urls(cache_dir: Path) -> set[str]:
    """The URLs Scrapy's filesystem HTTP cache holds (each entry's `meta` file is a repr of a dict)."""
    return {ast.literal_eval(meta.read_text())["url"] for meta in cache_dir.rglob("meta")}


def test_cache_not_used_for_playwright(tmp_path: Path) -> None:
    routes = {"/robots.txt": reply(b"User-agent: *\nAllow: /\n", "text/plain"),
              "/search": reply(ready_search("a")), "/item/a": reply(rendered("Acme widget a"))}
    cache_dir = tmp_path / "httpcache"
    with configured_shop(tmp_path, routes, marketplace=JS) as (server, config, settings):
        for _ in range(2):
            scrapy_crawl(settings, config, "shop", HTTPCACHE_ENABLED=True, HTTPCACHE_DIR=cache_dir)
            run = last_run(settings)
            assert run.status == RunStatus.OK, (run.errors, run.stats)
        # Rendered pages went to the browser both times; the plain robots.txt came from the cache the second time.
        assert server.hits["/search"] == 2 and server.hits["/item/a"] == 2, server.hits
        assert server.hits["/robots.txt"] == 1, server.hits
        assert cached_urls(cache_dir) == {server.base_url + "/robots.txt"}
    with jobs.open_database(settings).read() as session:
        listing = session.scalars(select(Listing)).one()
        assert listing.title == "Acme widget a"  # only the page's script puts the title there
        snapshots = session.scalars(select(ListingSnapshot).where(ListingSnapshot.listing_id == listing.id)).all()
    # Each crawl's callback received the rendered page with its screenshot, never a stored copy without one.
    assert len(snapshots) == 2 and all(snap.screenshot_sha256 for snap in snapshots)


MiB = 1024 * 1024
# What a 300-page browser crawl may hold at its peak, summed RSS of the crawl process, Playwright's driver and every
# Chromium process (pages shared between processes count once per process, as the memusage extension counts them).
# Measured about 1.9 GB on 2 cores with 4 pages open at a time; the default limit (4096 MB) leaves room above it.
MEMORY_CAP_MB = 3072


def crawl_tree_rss() -> int:
    """Summed RSS of this process's descendants: the crawl process, Playwright's driver and the browser."""
    total = 0
    for proc in psutil.Process().children(recursive=True):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue  # exited in between
    return total


def test_memory_bounded_over_many_pages(tmp_path: Path) -> None:
    items = [f"p{n:03d}" for n in range(300)]
    routes: dict[str, Route] = {"/search": reply(ready_search(*items))}
    routes.update({f"/item/{item}": reply(rendered(f"Acme widget {item}")) for item in items})
    market = {**JS, "concurrency": 8, "autothrottle": False}
    samples: list[tuple[int, int]] = []  # (listing pages served so far, summed RSS of the crawl's processes)
    with configured_shop(tmp_path, routes, marketplace=market) as (server, config, settings):
        jobs.open_database(settings).dispose()
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                served = sum(n for path, n in list(server.hits.items()) if path.startswith("/item/"))
                samples.append((served, crawl_tree_rss()))
                done.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = jobs.crawl_one(settings, config, "shop", timeout=240)
        done.set()
        sampler.join(timeout=5)
    assert result.status == RunStatus.OK, result.summary()
    assert len(stored_ids(settings)) == len(items)
    stats = last_run(settings).stats
    # The crawl's own figure (CrawlMemoryUsage, the memusage stats) counts the browser's processes too: it is far
    # above what the Python process held at startup, before the browser ran.
    assert stats["memusage/max"] > stats["memusage/startup"] + 200 * MiB, stats
    assert "memusage/limit_reached" not in stats
    peak = max(rss for _, rss in samples)
    assert stats["memusage/max"] < MEMORY_CAP_MB * MiB, stats["memusage/max"] // MiB
    assert peak < MEMORY_CAP_MB * MiB, peak // MiB
    # Bounded, not growing with pages: the last hundred pages hold little more than the first hundred did.
    early = max(rss for served, rss in samples if 20 <= served < 120)
    late = max(rss for served, rss in samples if served >= 200)
    assert late < early + 512 * MiB, (early // MiB, late // MiB)


def test_memory_limit_closes_the_crawl_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPATROL_CRAWL_MEMORY_LIMIT_MB", "1")  # any crawl holds more: closed at the first check
    routes = {"/search": reply(ready_search("a", "b")), "/item/a": reply(rendered("Acme widget a")),
              "/item/b": reply(rendered("Acme widget b"))}
    with configured_shop(tmp_path, routes, marketplace=JS) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop", timeout=120)
    run = last_run(settings)
    # The crawl closed itself and its run, saying why; not killed, not left running.
    assert run.errors["finish_reason"] == "memusage_exceeded", run.errors
    assert run.stats.get("memusage/limit_reached") == 1
    assert "interrupted" not in run.errors and run.finished_at is not None
    assert result.status == run.status == RunStatus.FAILED  # nothing was fetched before the limit closed it
    assert stored_ids(settings) == set()
    leftovers = [proc.pid for proc in psutil.Process().children(recursive=True) if "chrom" in proc.name()]
    assert not leftovers, leftovers


def test_wait_for_css_sees_late_data_survives_a_script_redirect_and_times_out(tmp_path: Path) -> None:
    late = b"<html><body><script>setTimeout(() => document.body.dataset.ready = '1', 300)</script></body></html>"
    moving = b"<html><body><script>setTimeout(() => location.href = '/late', 100)</script></body></html>"
    never = b"<html><body><p>no data ever</p></body></html>"
    routes: dict[str, Route] = {"/late": reply(late), "/moving": reply(moving), "/never": reply(never)}

    async def run(base_url: str) -> list[object]:
        chromium = get_settings().browser_executable()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
            page = await browser.new_page()
            outcomes: list[object] = []
            for path in ("/late", "/moving", "/never"):
                await page.goto(base_url + path)
                started = time.monotonic()
                try:
                    await wait_for_css(page, "body[data-ready]", timeout_s=2.0)
                    outcomes.append((path, page.url.endswith("/late")))
                except PlaywrightTimeoutError:
                    outcomes.append((path, "timeout", time.monotonic() - started >= 2.0))  # not before its time
            await browser.close()
            return outcomes

    with LoopbackServer(routes) as server:
        outcomes = asyncio.run(run(server.base_url))
    assert outcomes == [("/late", True), ("/moving", True), ("/never", "timeout", True)]
