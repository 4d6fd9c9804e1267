"""The base of every BrandPatrol spider: it loads the crawl context, applies the marketplace's politeness,
and walks search pages to listing pages.

Spiders navigate; extractors extract. A spider only makes requests and calls extractor functions: a subclass
names the two it uses, `search_page` and `listing_page`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import deferred_from_coro
from scrapy_playwright.page import PageMethod

from core.jsonpath import is_json_selector
from core.models import SEEN_FROM_PAGE
from crawler.blocking import BlockSign, block_sign
from crawler.context import CrawlContext, CrawlSetupError, build_context, require_browser
from crawler.extractors.cards import card_fingerprint_of, card_listing
from crawler.extractors.configured import LISTING_FIELDS, SEARCH_SELECTORS
from crawler.extractors.jsondata import CAPTURED_JSON_META
from crawler.item_stage import item_stage_plan
from crawler.items import ListingItem, SearchPage
from crawler.middlewares import playwright_abort_predicate
from crawler.page_methods import JsonCapture, capture_viewport, wait_for_capture, wait_for_css
from crawler.storage import keep_page, stored_card_fingerprints

STAGE_SEARCH = "search"
STAGE_ITEMS = "items"
CARD_META = "brandpatrol_card_sha256"  # the fingerprint of the card an item page was fetched for
LISTING_META = "brandpatrol_listing"  # the stored listing an item page was fetched for (second stage)


class MarketplaceSpider(scrapy.Spider):
    """Arguments: `marketplace` (its name in the brand config), optional `config` (YAML path), `db` (URL)."""

    context: CrawlContext
    crawl_run_id: int | None = None
    # Listing URLs an interrupted run of this marketplace already captured (set when the run opens).
    captured_urls: frozenset[str] | set[str] = frozenset()

    # "search": walk search pages (the first stage where item_pages is relevant); "items": fetch the item pages the
    # second stage picks (crawler.item_stage), or those of `listings` (ids, comma-separated) that a notice needs.
    stage: str = STAGE_SEARCH
    only_listings: frozenset[int] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MarketplaceSpider:
        context = build_context(kwargs.pop("marketplace", None) or cls.name, kwargs.pop("config", None),
                                kwargs.pop("db", None), shard=kwargs.pop("shard", None))
        stage = kwargs.pop("stage", None) or STAGE_SEARCH
        listings = kwargs.pop("listings", None)
        if stage not in (STAGE_SEARCH, STAGE_ITEMS):
            raise CrawlSetupError(f"stage '{stage}' is unknown: give stage={STAGE_SEARCH} or stage={STAGE_ITEMS}")
        spider: MarketplaceSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.context = context
        spider.stage = stage
        if listings:
            spider.only_listings = frozenset(int(i) for i in str(listings).split(",") if i.strip().isdigit())
        market = context.marketplace
        settings = crawler.settings
        # Settings are still mutable here; the marketplace's politeness wins over the project defaults.
        settings.set("ROBOTSTXT_OBEY", market.obey_robots, priority="spider")
        settings.set("DOWNLOAD_DELAY", market.download_delay, priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", market.concurrency, priority="spider")
        settings.set("CLOSESPIDER_TIMEOUT", market.timeout_minutes * 60, priority="spider")
        settings.set("CLOSESPIDER_ERRORCOUNT", market.max_errors, priority="spider")
        settings.set("DOWNLOAD_TIMEOUT", market.download_timeout_s, priority="spider")
        settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", market.download_timeout_s * 1000, priority="spider")
        settings.set("RETRY_TIMES", market.retries, priority="spider")
        settings.set("DOWNLOAD_MAXSIZE", context.settings.page_max_bytes, priority="spider")
        settings.set("MEMUSAGE_LIMIT_MB", context.settings.crawl_memory_limit_mb, priority="spider")
        settings.set("AUTOTHROTTLE_ENABLED", market.autothrottle, priority="spider")
        settings.set("PLAYWRIGHT_ABORT_REQUEST", playwright_abort_predicate(context.egress), priority="spider")
        # The browser's way out (crawler.browser): the same gate, as a local proxy, chained to the marketplace's.
        settings.set("BRANDPATROL_EGRESS_POLICY", context.egress, priority="spider")
        settings.set("BRANDPATROL_PROXY", context.proxy, priority="spider")
        if not market.javascript:
            # Plain HTTP for a marketplace that needs no browser: no Playwright handler in the download path.
            base = settings.getdict("DOWNLOAD_HANDLERS_BASE")
            settings.set("DOWNLOAD_HANDLERS", {"http": base["http"], "https": base["https"]}, priority="spider")
        require_browser(market, context.settings)
        browser = context.settings.browser_executable()
        if browser is not None:
            options = dict(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
            options["executable_path"] = str(browser)
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", options, priority="spider")
        if not market.obey_robots:
            spider.logger.warning("robots.txt is NOT obeyed for %s (configured obey_robots: false)", market.name)
        return spider

    # --- what a subclass provides --------------------------------------------------------------------

    @property
    def wait_selector(self) -> str | None:
        """CSS selector a rendered page shows once its data is in; None waits for the load event only."""
        return self.context.marketplace.wait_for

    def search_page(self, response: TextResponse) -> SearchPage:
        raise NotImplementedError

    def listing_page(self, response: TextResponse) -> ListingItem | None:
        raise NotImplementedError

    # --- navigation ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        market = self.context.marketplace
        stats = self.crawler.stats
        assert stats is not None
        if self.stage == STAGE_ITEMS:
            for request in self.item_page_requests():
                yield request
            return
        stats.set_value("brandpatrol/item_pages/mode", market.item_pages_mode)
        if market.item_pages_mode == "relevant":
            stats.set_value("brandpatrol/item_pages/budget", market.item_page_budget)
            if market.item_page_budget == 0:
                stats.set_value("brandpatrol/item_pages/note", "item_page_budget is 0: cards only, no item page "
                                "is fetched (notices fetch the item pages they need)")
        for url in market.start_urls:
            yield self.page_request(url, self.parse_search, meta={"page": 1})
        if market.search_url:
            for term in market.search_terms:
                url = market.search_url.format(query=quote(term), page=1)
                yield self.page_request(url, self.parse_search, meta={"page": 1})

    def parse_search(self, response: Response) -> Iterator[scrapy.Request | ListingItem]:
        assert isinstance(response, TextResponse)
        page = self.search_page(response)
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("brandpatrol/search_pages")
        stats.inc_value("brandpatrol/search_cards", len(page.cards))
        first = int(response.meta.get("page", 1)) == 1  # a later page may be empty where the results end
        sign = block_sign(response, found=len(page.cards), cards_expected=first)
        # No results is a refusal only where this marketplace's search pages usually give some.
        if sign is not None and (sign.kind != "no_cards" or stats.get_value("brandpatrol/usual_cards_per_page")):
            self.refused(response, sign)
            return
        if page.warnings:
            self.missing_data(response)
        if not page.cards:
            self.count_miss("listing links", response.url)
        if page.skipped:
            self.skipped_cards(page.skipped, "no link", response.url)
        if self.context.marketplace.item_pages_mode == "relevant":
            yield from self.card_listings(page, response.url)
        else:
            yield from self.follow_cards(page)
        number = int(response.meta.get("page", 1))
        if page.next_url and number < self.context.marketplace.max_pages:
            yield self.page_request(page.next_url, self.parse_search, meta={"page": number + 1})

    def card_listings(self, page: SearchPage, url: str) -> Iterator[ListingItem | scrapy.Request]:
        """The first stage: a card that shows title and price is stored as a listing seen from a card; one that
        shows less is followed to its item page (its marketplace's cards say too little); one without an id or a
        link is counted and skipped."""
        market = self.context.marketplace
        stats = self.crawler.stats
        assert stats is not None
        kept: list[ListingItem] = []
        for card in page.cards:
            if not (card.title or "").strip() or not (card.price_text or "").strip():
                stats.inc_value("brandpatrol/cards/followed")
                yield from self.follow_cards(SearchPage(cards=[card], next_url=None))
                continue
            listing = card_listing(card, market.name, market.id_from_url)
            if listing is None:
                self.skipped_cards(1, "no id", url)
                continue
            kept.append(listing)
        # One look-up per page: a card the same as last night's needs neither its photos fetched nor storing again.
        before = stored_card_fingerprints(self.context.db, market.name, [x.external_id for x in kept])
        for listing in kept:
            listing.unchanged_card = before.get(listing.external_id) == listing.card_sha256
            stats.inc_value("brandpatrol/cards/kept")
            stats.inc_value("brandpatrol/cards/unchanged", listing.unchanged_card)
            yield listing

    def follow_cards(self, page: SearchPage) -> Iterator[scrapy.Request]:
        """`item_pages: all`: every card is followed to its item page."""
        for card in page.cards:
            if card.url in self.captured_urls:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("brandpatrol/resume/skipped")
                continue
            yield self.page_request(card.url, self.parse_listing, evidence=True,
                                    meta={"card_location": card.location_text,
                                          CARD_META: card_fingerprint_of(card)})

    def item_page_requests(self) -> Iterator[scrapy.Request]:
        """The second stage: the item pages crawler.item_stage picks, within the budget, most suspicious first."""
        market = self.context.marketplace
        stats = self.crawler.stats
        assert stats is not None
        plan = item_stage_plan(self.context.db, market.name, market.item_page_budget, self.only_listings)
        stats.set_value("brandpatrol/stage", STAGE_ITEMS)
        for key, value in plan.report().items():
            stats.set_value(key, value)
        self.logger.info("item pages of %s: %d wanted, %d within the budget of %d, %d left for later, "
                         "%d unchanged since captured", market.name, plan.wanted, len(plan.targets), plan.budget,
                         plan.over_budget, plan.unchanged)
        for target in plan.targets:
            yield self.page_request(target.url, self.parse_listing, evidence=True,
                                    meta={CARD_META: target.card_sha256, LISTING_META: target.external_id})

    def skipped_cards(self, count: int, why: str, url: str) -> None:
        """Cards that cannot become a listing: counted in the run and warned about, never stored half."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("brandpatrol/cards/skipped", count)
        self.logger.warning("skipped %d search card(s) with %s on %s", count, why, url[:200])

    def parse_listing(self, response: Response) -> Iterator[ListingItem]:
        assert isinstance(response, TextResponse)
        item = self.listing_page(response)
        if item is None:
            sign = block_sign(response)
            if sign is not None:
                self.refused(response, sign)
                return
            self.count_miss("listing", response.url)
            return
        item.location_text = item.location_text or response.meta.get("card_location")
        item.seen_from, item.card_sha256 = SEEN_FROM_PAGE, response.meta.get(CARD_META)
        if response.meta.get(LISTING_META):
            # Fetched for a stored listing: the page is that listing's, whatever id the page's own markup gives.
            item.external_id = str(response.meta[LISTING_META])
        item.html = response.body
        item.screenshot = self.screenshot_of(response)
        yield item

    def refused(self, response: TextResponse, sign: BlockSign) -> None:
        """The marketplace refused us: keep the page as evidence, record why, and stop asking (more requests would
        only deepen the block). The run closes as blocked, so no listing is marked gone because of it."""
        stats = self.crawler.stats
        assert stats is not None and self.crawler.engine is not None
        stats.inc_value("brandpatrol/blocked")
        if not stats.get_value("brandpatrol/blocked_reason"):
            stats.set_value("brandpatrol/blocked_reason", sign.describe(response.url))
            stats.set_value("brandpatrol/blocked_evidence", keep_page(self.context.db, response.url, response.body))
        self.logger.error("blocked by %s: %s", self.context.marketplace.name, sign.describe(response.url))
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="blocked"))

    def missing_data(self, response: TextResponse) -> None:
        """A page without the JSON its marketplace's json: selectors read (missing, or cut short so it does not
        parse): counted and warned about with its URL, and the page kept as evidence to see what came instead."""
        self.count_miss("data", response.url)
        kept = keep_page(self.context.db, response.url, response.body)
        self.logger.warning("kept %s as evidence (SHA-256 %s)", response.url[:200], kept)

    def count_miss(self, what: str, url: str) -> None:
        """A page that gave nothing where something was expected: counted per field in the crawl run."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"brandpatrol/selector_miss/{what}")
        self.logger.warning("found no %s on %s", what, url[:200])

    def page_request(self, url: str, callback: Any, *, evidence: bool = False, **kwargs: Any) -> scrapy.Request:
        """A request rendered in Chromium when the marketplace needs JavaScript; a screenshot for evidence."""
        market = self.context.marketplace
        meta = dict(kwargs.pop("meta", {}) or {})
        if market.headers:
            kwargs["headers"] = {**market.headers, **(kwargs.get("headers") or {})}
        exported = self.context.config.cookies_of(market.name)
        if exported:
            # The operator's own signed-in session (cookie_file): a list, so each keeps its domain and path.
            kwargs["cookies"] = [*({"name": k, "value": v} for k, v in market.cookies.items()),
                                 *(c.for_scrapy() for c in exported)]
        elif market.cookies:
            kwargs["cookies"] = {**market.cookies, **(kwargs.get("cookies") or {})}
        if market.javascript:
            methods = []
            data = market.selectors.data if market.selectors else None
            if data and data.startswith("xhr:") and self._reads_json(callback):
                # Keep the JSON the page fetches (its listings' data) for the json: selectors to read.
                capture = JsonCapture(data.removeprefix("xhr:"), self.context.settings.page_max_bytes)
                meta[CAPTURED_JSON_META] = capture.found
                meta["playwright_page_event_handlers"] = {"response": capture.on_response}
                methods.append(PageMethod(wait_for_capture, capture, timeout_s=15.0))
            if self.wait_selector:
                methods.append(PageMethod(wait_for_css, self.wait_selector, timeout_s=15.0))
            if evidence:
                # The visible top of the page (title, price, seller) is the evidence; a full-page capture of a
                # tall listing costs seconds and hundreds of MB per page. JPEG: the browser encodes it in a
                # third of PNG's time, and text stays sharp at quality 85.
                methods.append(PageMethod(capture_viewport))
            # dont_cache: a cached copy would skip the browser, so no page methods (wait, screenshot) would run.
            meta.update(playwright=True, playwright_page_methods=methods, dont_cache=True)
            if exported:
                # The browser context starts signed in as the operator was (its cookie jar, not a header).
                meta["playwright_context_kwargs"] = {
                    **(meta.get("playwright_context_kwargs") or {}),
                    "storage_state": {"cookies": [c.for_playwright() for c in exported], "origins": []}}
        return scrapy.Request(url, callback=callback, meta=meta, **kwargs)

    def _reads_json(self, callback: Any) -> bool:
        """Whether the page a request fetches is read by json: selectors: search pages by their card selectors,
        listing pages by their field selectors (a page that fetches no such JSON is not waited on for it)."""
        selectors = self.context.marketplace.selectors
        if selectors is None:
            return False
        names = SEARCH_SELECTORS if callback == self.parse_search else LISTING_FIELDS
        return any(is_json_selector(getattr(selectors, name)) for name in names)

    @staticmethod
    def screenshot_of(response: Response) -> bytes | None:
        for method in response.meta.get("playwright_page_methods", []):
            if isinstance(method, PageMethod) and method.method is capture_viewport:
                return method.result if isinstance(method.result, bytes) else None
        return None
