"""Item pipelines: validate and normalise, fetch and hash photos through the egress gate, store in batches.

Each pipeline takes the crawler in `from_crawler` and reaches the crawl's context through the spider, so the
same pipelines serve every spider and marketplace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psutil
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import threads

from core.decode_budget import DecodeBudget, MemoryLimitReached
from core.egress import EgressBlocked, FetchFailed, fetch
from core.images import ImageRejected, decode_cost, hash_image, reading_copy
from core.models import ImageStatus
from core.settings import Settings
from crawler.context import CrawlContext
from crawler.extensions import descendants_rss, pages_fetched
from crawler.items import ImageRecord, ListingItem
from crawler.normalise import MissingField, normalise_listing
from crawler.storage import ListingStore

logger = logging.getLogger(__name__)

STORE_BATCH_SIZE = 50
STORE_BATCH_SECONDS = 2.0  # a slow crawl still writes often, so a killed crawl loses little


def _context(crawler: Crawler) -> CrawlContext:
    context = getattr(crawler.spider, "context", None)
    if context is None:
        raise RuntimeError("BrandPatrol pipelines need a spider built on crawler.spiders.base.MarketplaceSpider")
    return context


class _CrawlerComponent:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    def drop(self, reason: str, detail: str) -> DropItem:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"brandpatrol/drops/{reason}")
        return DropItem(f"{reason}: {detail}")


class NormalisePipeline(_CrawlerComponent):
    """Validate and normalise (see crawler.normalise); a listing without a required field is dropped."""

    def process_item(self, item: ListingItem, spider: Any = None) -> ListingItem:
        try:
            return normalise_listing(item, _context(self.crawler).marketplace.currency)
        except MissingField as exc:
            raise self.drop("missing_required", str(exc)) from None


def crawl_memory_in_use() -> int:
    """What the crawl holds now: this process's RSS and its browser's."""
    return int(psutil.Process().memory_info().rss) + descendants_rss()


class ImagePipeline(_CrawlerComponent):
    """Fetch each listing photo through the egress gate and the marketplace's proxy (in a worker thread), hash it.

    A photo that is refused, unreachable or not an image is recorded with its status; the listing is kept. Decodes
    share one memory budget (core/decode_budget.py); a decode that would pass the crawl's memory limit closes the
    crawl as `memusage_exceeded`, as Scrapy's periodic check would, but before the memory is taken.
    """

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.budget: DecodeBudget | None = None
        self.over_memory: str | None = None

    def _budget(self, settings: Settings) -> DecodeBudget:
        if self.budget is None:
            self.budget = DecodeBudget(
                settings.decode_budget_bytes(), memory_limit=settings.crawl_memory_limit_mb * 1024 * 1024,
                memory_in_use=crawl_memory_in_use, setting="BRANDPATROL_IMAGE_DECODE_BUDGET_MB")
        return self.budget

    def _fetch_and_hash(self, url: str, context: CrawlContext) -> ImageRecord:
        settings = context.settings
        caps = {"max_bytes": settings.image_max_bytes, "max_pixels": settings.image_max_pixels}
        try:
            result = fetch(url, context.egress, max_bytes=settings.image_max_bytes,
                           timeout=settings.fetch_timeout_s, accept="image/*", proxy=context.proxy)
            cost = decode_cost(result.body, settings.reading_copy_max_side, **caps)
            with self._budget(settings).reserve(cost):
                hashes = hash_image(result.body, thumbnail=True, **caps)
                # Print is unreadable at thumbnail size; matching reads this copy from the database (matching/photos).
                # Made after the hash, within the same reservation (decode_cost counts the larger of the two).
                copy = reading_copy(result.body, settings.reading_copy_max_side, **caps)
        except EgressBlocked as exc:
            return ImageRecord(url=url, status=ImageStatus.BLOCKED, reason=exc.reason)
        except FetchFailed as exc:
            return ImageRecord(url=url, status=ImageStatus.FETCH_FAILED, reason=str(exc)[:300])
        except ImageRejected as exc:
            return ImageRecord(url=url, status=exc.status, reason=exc.reason[:300])
        except MemoryLimitReached as exc:
            self.over_memory = str(exc)
            return ImageRecord(url=url, status=ImageStatus.TOO_LARGE, reason=f"not decoded: {exc}"[:300])
        return ImageRecord(
            url=url, status=ImageStatus.OK, sha256=hashes.sha256, phash=hashes.phash, dhash=hashes.dhash,
            phash_mirror=hashes.phash_mirror, width=hashes.width, height=hashes.height,
            thumbnail=hashes.thumbnail, reading_copy=copy,
        )

    async def process_item(self, item: ListingItem, spider: Any = None) -> ListingItem:
        context = _context(self.crawler)
        stats = self.crawler.stats
        assert stats is not None
        records: list[ImageRecord] = []
        if item.unchanged_card:
            # The listing shows the same card (the same photo URL among it) as when its photos were fetched.
            stats.inc_value("brandpatrol/images/unchanged_card", len(item.image_urls))
            return item
        for url in item.image_urls:
            record = await maybe_deferred_to_future(threads.deferToThread(self._fetch_and_hash, url, context))
            stats.inc_value(f"brandpatrol/images/{record.status}")
            if record.status != ImageStatus.OK:
                logger.info("image %s: %s (%s)", record.status, url[:200], record.reason)
            records.append(record)
            if self.over_memory is not None:
                self._stop_over_memory(self.over_memory)
                break
        item.images = records
        return item

    def _stop_over_memory(self, why: str) -> None:
        stats = self.crawler.stats
        assert stats is not None and self.crawler.engine is not None
        if stats.get_value("memusage/limit_reached"):
            return  # closing already
        stats.set_value("memusage/limit_reached", 1)
        logger.error("stopping the crawl: %s", why)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="memusage_exceeded"))

    def close_spider(self, spider: Any = None) -> None:
        if self.budget is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("brandpatrol/decode/budget_bytes", self.budget.capacity)
            self.crawler.stats.set_value("brandpatrol/decode/peak_reserved_bytes", self.budget.peak_reserved)
            self.crawler.stats.set_value("brandpatrol/decode/waits", self.budget.waits)


class StoragePipeline(_CrawlerComponent):
    """Upsert listings, sellers, photos, evidence and a price snapshot, a batch per transaction.

    Batches are written by one worker thread, in order, so the crawl keeps fetching and parsing while
    the database writes (and evidence compresses); at most one batch waits behind the one being written.
    """

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.buffer: list[ListingItem] = []
        self.store: ListingStore | None = None
        self.last_flush = time.monotonic()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brandpatrol-store")
        self.in_flight: Future[int] | None = None

    def _store(self) -> ListingStore:
        if self.store is None:
            context = _context(self.crawler)
            run_id = getattr(self.crawler.spider, "crawl_run_id", None)
            self.store = ListingStore(context.db, context.marketplace.name, run_id)
        return self.store

    async def process_item(self, item: ListingItem, spider: Any = None) -> ListingItem:
        self.buffer.append(item)
        if len(self.buffer) >= STORE_BATCH_SIZE or time.monotonic() - self.last_flush >= STORE_BATCH_SECONDS:
            await self.flush()
        return item

    async def _finish_in_flight(self) -> None:
        if self.in_flight is not None:
            written = await asyncio.wrap_future(self.in_flight)  # re-raises a failed write
            self.in_flight = None
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("brandpatrol/stored", written)

    async def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.buffer:
            return
        await self._finish_in_flight()
        batch, self.buffer = self.buffer, []
        assert self.crawler.stats is not None
        pages = pages_fetched(self.crawler.stats.get_stats())
        self.in_flight = self.writer.submit(self._store().write_batch, batch, pages)

    async def close_spider(self, spider: Any = None) -> None:
        await self.flush()
        await self._finish_in_flight()
        self.writer.shutdown(wait=True)
