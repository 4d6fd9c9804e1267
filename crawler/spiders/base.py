"""The base of every BrandPatrol spider: it loads the crawl context and applies the marketplace's politeness.

Spiders navigate; extractors extract. A spider only makes requests and calls extractor functions.
"""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy_playwright.page import PageMethod

from crawler.context import CrawlContext, build_context
from crawler.middlewares import playwright_abort_predicate


class MarketplaceSpider(scrapy.Spider):
    """Arguments: `marketplace` (its name in the brand config), optional `config` (YAML path), `db` (URL)."""

    context: CrawlContext
    crawl_run_id: int | None = None
    @property
    def wait_selector(self) -> str | None:
        """CSS selector a rendered page shows once its data is in; None waits for the load event only."""
        return None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MarketplaceSpider:
        context = build_context(kwargs.pop("marketplace", None) or cls.name, kwargs.pop("config", None),
                                kwargs.pop("db", None))
        spider: MarketplaceSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.context = context
        market = context.marketplace
        settings = crawler.settings
        # Settings are still mutable here; the marketplace's politeness wins over the project defaults.
        settings.set("ROBOTSTXT_OBEY", market.obey_robots, priority="spider")
        settings.set("DOWNLOAD_DELAY", market.download_delay, priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", market.concurrency, priority="spider")
        settings.set("PLAYWRIGHT_ABORT_REQUEST", playwright_abort_predicate(context.egress), priority="spider")
        browser = context.settings.browser_executable()
        if browser is not None:
            options = dict(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
            options["executable_path"] = str(browser)
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", options, priority="spider")
        if not market.obey_robots:
            spider.logger.warning("robots.txt is NOT obeyed for %s (configured obey_robots: false)", market.name)
        return spider

    def page_request(self, url: str, callback: Any, *, evidence: bool = False, **kwargs: Any) -> scrapy.Request:
        """A request rendered in Chromium when the marketplace needs JavaScript; a screenshot for evidence."""
        meta = dict(kwargs.pop("meta", {}) or {})
        if self.context.marketplace.javascript:
            methods = []
            if self.wait_selector:
                methods.append(PageMethod("wait_for_selector", self.wait_selector, timeout=15_000))
            if evidence:
                methods.append(PageMethod("screenshot", full_page=True, type="png"))
            meta.update(playwright=True, playwright_page_methods=methods)
        return scrapy.Request(url, callback=callback, meta=meta, **kwargs)

    @staticmethod
    def screenshot_of(response: scrapy.http.Response) -> bytes | None:
        for method in response.meta.get("playwright_page_methods", []):
            if isinstance(method, PageMethod) and method.method == "screenshot" and isinstance(method.result, bytes):
                return method.result
        return None
