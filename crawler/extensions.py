"""The crawl-run recorder: one CrawlRun row per crawl, opened at start and closed with its counts; and the crawl's
memory limit, which counts the browser too."""

from __future__ import annotations

import logging
from typing import Any

import psutil
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.extensions.memusage import MemoryUsage

from core.models import RunStatus
from crawler.storage import PROXY_INDEX_STAT, captured_urls, close_run, open_run, usual_cards_per_page

logger = logging.getLogger(__name__)

# Finish reasons that mean the crawl saw everything it set out to see.
COMPLETE_REASONS = frozenset({"finished"})


def pages_fetched(stats: dict[str, Any]) -> int:
    """Successful (2xx) responses for the crawl itself; robots.txt and error pages do not count."""

    def ok_count(prefix: str) -> int:
        return sum(int(v) for k, v in stats.items() if k.startswith(prefix) and k[len(prefix):].startswith("2"))

    return ok_count("downloader/response_status_count/") - ok_count("robotstxt/response_status_count/")


# A run whose search pages give under this share of the cards the last complete run's gave, over at least
# DROP_MIN_PAGES search pages, was emptied by the marketplace rather than by the market.
DROP_SHARE = 1 / 3
DROP_MIN_PAGES = 3


def cards_per_search_page(stats: dict[str, Any]) -> float | None:
    pages = int(stats.get("brandpatrol/search_pages", 0))
    return int(stats.get("brandpatrol/search_cards", 0)) / pages if pages else None


def sudden_drop(stats: dict[str, Any]) -> str | None:
    """Why this run's search pages look emptied by the marketplace, compared with the last complete run's."""
    usual = float(stats.get("brandpatrol/usual_cards_per_page") or 0)
    now = cards_per_search_page(stats)
    if not usual or now is None or int(stats.get("brandpatrol/search_pages", 0)) < DROP_MIN_PAGES:
        return None
    if now >= usual * DROP_SHARE:
        return None
    return f"listings per search page fell from {usual:.1f} (last complete run) to {now:.1f}"


def run_status(finish_reason: str, stats: dict[str, Any]) -> RunStatus:
    """blocked: the marketplace refused us; failed: nothing fetched; partial: stopped early or errors along the
    way; ok: a complete crawl."""
    if stats.get("brandpatrol/blocked") or sudden_drop(stats):
        return RunStatus.BLOCKED
    if pages_fetched(stats) <= 0:
        return RunStatus.FAILED
    errors = int(stats.get("log_count/ERROR", 0)) + int(stats.get("spider_exceptions", 0))
    if finish_reason not in COMPLETE_REASONS or errors or stats.get("retry/max_reached"):
        return RunStatus.PARTIAL
    return RunStatus.OK


class CrawlRunRecorder:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        context = getattr(spider, "context", None)
        if context is None:
            return
        run_id = open_run(context.db, context.marketplace.name, context.marketplace.base_url,
                          brand=context.config.brand.name, shard=context.shard.key if context.shard else None)
        assert self.crawler.stats is not None
        usual = usual_cards_per_page(context.db, context.marketplace.name)
        if usual:
            self.crawler.stats.set_value("brandpatrol/usual_cards_per_page", usual)
        if context.proxy_index is not None:  # the next crawl takes the proxy after it, or rests it if blocked
            self.crawler.stats.set_value(PROXY_INDEX_STAT, context.proxy_index)
        spider.crawl_run_id = run_id  # type: ignore[attr-defined]
        spider.captured_urls = captured_urls(context.db, run_id)  # type: ignore[attr-defined]
        if spider.captured_urls:  # type: ignore[attr-defined]
            logger.info("resuming an interrupted crawl: %d listings already captured",
                        len(spider.captured_urls))  # type: ignore[attr-defined]
        logger.info("crawl run %s started for %s", run_id, context.marketplace.name)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        context = getattr(spider, "context", None)
        run_id = getattr(spider, "crawl_run_id", None)
        if context is None or run_id is None:
            return
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        # Per exception type; Scrapy 2.19+ also counts them all in spider_exceptions/count, not added twice.
        stats.setdefault("spider_exceptions", sum(v for k, v in stats.items()
                                                   if k.startswith("spider_exceptions/")
                                                   and k != "spider_exceptions/count"))
        status = run_status(reason, stats)
        drops = {k.split("/", 2)[-1]: v for k, v in stats.items() if k.startswith("brandpatrol/drops/")}
        errors = {k: v for k, v in stats.items()
                  if k.startswith(("downloader/exception_type_count/", "spider_exceptions/",
                                   "brandpatrol/selector_miss/"))
                  or k in ("log_count/ERROR", "retry/max_reached", "brandpatrol/egress_blocked")}
        errors["finish_reason"] = reason
        blocked = stats.get("brandpatrol/blocked_reason") or sudden_drop(stats)
        if status == RunStatus.BLOCKED and blocked:
            errors["blocked"] = blocked
            stats["brandpatrol/blocked_reason"] = blocked
        per_page = cards_per_search_page(stats)
        if per_page is not None:
            stats["brandpatrol/cards_per_search_page"] = round(per_page, 2)
        safe_stats = {k: (v if isinstance(v, int | float | str | bool) else str(v)) for k, v in stats.items()}
        close_run(context.db, run_id, status, pages=pages_fetched(stats),
                  items=int(stats.get("item_scraped_count", 0)), drops=drops, errors=errors, stats=safe_stats,
                  gone_after_runs=context.config.thresholds.gone_after_runs,
                  mark_missing=getattr(spider, "stage", "search") == "search")
        spider.crawl_status = status  # type: ignore[attr-defined]
        logger.info("crawl run %s closed: %s (%s)", run_id, status, reason)


def descendants_rss() -> int:
    """Summed RSS of this process's descendants: Playwright's driver and every Chromium process it started."""
    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue  # exited in between
    return total


def own_peak_rss() -> int:
    """This process's peak RSS since it started its program. Not ru_maxrss: Linux carries that over from the
    process that forked us, so a crawl started by a large scheduler (or test runner) would start "over its limit"."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(psutil.Process().memory_info().rss)


class CrawlMemoryUsage(MemoryUsage):
    """Scrapy's MemoryUsage (MEMUSAGE_LIMIT_MB closes the crawl as `memusage_exceeded`, `memusage/max` in the stats),
    counting the crawl's child processes as well as its own peak: a browser crawl's memory is mostly Chromium's.

    Its own peak is read from the kernel's high-water mark (see own_peak_rss). scrapy-playwright's
    ScrapyPlaywrightMemoryUsageExtension means to do this, but it finds the driver through
    private Playwright attributes that Playwright 1.65 renamed, and then silently counts the Python process only.
    """

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        # The periodic check misses the end of a crawl shorter than its interval: the run records the true peak.
        crawler.signals.connect(self.update, signal=signals.spider_closed)

    def get_virtual_size(self) -> int:
        return own_peak_rss() + descendants_rss()
