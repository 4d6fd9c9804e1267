"""The browser download handler: scrapy-playwright's, with the egress gate as the browser's only way out and each
context's pages kept open and reused.

The way out. Playwright's routing never sees the hops of a redirect (its documentation says so; a page that
redirected into a private port was loaded), so every connection Chromium opens goes through the gate as a local
proxy (core.egress_proxy), chained to the marketplace's proxy with its credentials. On top of that, each context
blocks service workers (whose fetches bypass routing) and refuses every WebSocket without connecting it, and the
abort predicate (crawler.middlewares) still drops images, media, fonts and refused URLs before they are asked for.

The pages. Opening a page costs Chromium a new target and Playwright a dozen protocol round trips, more than
rendering an ordinary listing page, so a page that rendered a listing cleanly goes back to its context's pool and
the next request navigates it. A context holds at most PLAYWRIGHT_MAX_PAGES_PER_CONTEXT pages, open or idle: a
request that finds none idle and no slot free waits for one. A page that failed or crashed is closed, never
reused; every idle page is closed when nothing is left to fetch and when the crawl ends. Requests that ask for
the page themselves (`playwright_include_page`) get scrapy-playwright's own behaviour.

Only public hooks: the handler's `download_request` and `close`, its `config`, the request meta scrapy-playwright
documents (`playwright_page`, `playwright_include_page`, `playwright_page_init_callback`,
`playwright_context_kwargs`), and Scrapy's `engine.scheduler` (2.19) and `engine.downloader.active`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, Page, WebSocketRoute
from playwright.async_api import Error as PlaywrightError
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from core.egress import EgressPolicy, Proxy
from core.egress_proxy import EgressProxy

logger = logging.getLogger(__name__)

CONTEXT_NAME = "default"  # scrapy-playwright's name for a request that names no context
MAX_USES_PER_PAGE = 20  # then the page is closed and a fresh one opened: a renderer grows with each page it renders
_RESERVED = "brandpatrol_page_reserved"  # meta: this request holds a slot for a page scrapy-playwright will open
_SPIDER_INIT = "brandpatrol_page_init_callback"  # meta: the request's own init callback, run after ours
_POOLED = "brandpatrol_pooled_page"  # meta: the request's page comes from and goes back to the pool


async def refuse_websocket(websocket: WebSocketRoute) -> None:
    """Never connected to a server (Playwright mocks a routed WebSocket until connect_to_server is called)."""
    logger.info("refused a WebSocket to %s", websocket.url[:200])
    await websocket.close(code=1008, reason="WebSockets are not allowed by the crawler")


@dataclass
class PagePool:
    """One browser context's pages: how many are open or promised to a request, and which are idle."""

    limit: int
    open: int = 0  # pages open plus slots reserved by requests whose page scrapy-playwright is opening
    idle: list[Page] = field(default_factory=list)
    uses: weakref.WeakKeyDictionary[Page, int] = field(default_factory=weakref.WeakKeyDictionary)
    known: weakref.WeakSet[Page] = field(default_factory=weakref.WeakSet)
    crashed: weakref.WeakSet[Page] = field(default_factory=weakref.WeakSet)
    freed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def acquire(self) -> Page | None:
        """An idle page, or None with a slot reserved for a new one; waits while every slot is taken."""
        while True:
            while self.idle:
                page = self.idle.pop()
                if not page.is_closed() and page not in self.crashed:
                    return page
            if self.open < self.limit:
                self.open += 1
                return None
            async with self.freed:
                await self.freed.wait()

    async def notify(self) -> None:
        async with self.freed:
            self.freed.notify()

    def adopt(self, page: Page, reserved: bool) -> None:
        """A page scrapy-playwright opened for a request: it fills the request's reserved slot."""
        if page in self.known:
            return
        self.known.add(page)
        if not reserved:  # opened again after its first page closed under it (scrapy-playwright retries)
            self.open += 1
        page.on("crash", self._crashed)
        page.on("close", self._closed)

    async def _crashed(self, page: Page) -> None:
        # scrapy-playwright gives back a crashed page's slot at once; it is never closed or reused afterwards.
        if page not in self.crashed:
            self.crashed.add(page)
            self.open -= 1
            await self.notify()

    async def _closed(self, page: Page) -> None:
        if page not in self.crashed:
            self.open -= 1
            await self.notify()

    def reusable(self, page: Page) -> bool:
        return not page.is_closed() and page not in self.crashed and self.uses.get(page, 0) < MAX_USES_PER_PAGE


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.crawler = crawler
        policy = crawler.settings.get("BRANDPATROL_EGRESS_POLICY") or EgressPolicy()
        upstream: Proxy | None = crawler.settings.get("BRANDPATROL_PROXY")
        self.gate = EgressProxy(policy, upstream, on_refused=self._refused).start()
        # Every context gets the gate (pages, frames and workers are a context's); no request meta can replace it.
        # Chromium's own background calls (component updates, sign-in) stay outside it and fail on a closed network.
        self.context_options = {"proxy": self.gate.for_browser(), "service_workers": "block"}
        for name, options in self.config.startup_context_kwargs.items():
            self.config.startup_context_kwargs[name] = {**options, **self.context_options}
        self.pools: dict[str, PagePool] = defaultdict(lambda: PagePool(self.config.max_pages_per_context))
        self.guarded: weakref.WeakSet[BrowserContext] = weakref.WeakSet()

    def _refused(self, url: str, reason: str) -> None:
        self.stats.inc_value("brandpatrol/egress_blocked")

    # --- every browser request --------------------------------------------------------------------------

    async def download_request(self, request: Request) -> Response:
        if not request.meta.get("playwright"):
            return await super().download_request(request)
        request.meta["playwright_context_kwargs"] = {**(request.meta.get("playwright_context_kwargs") or {}),
                                                     **self.context_options}
        if request.meta.get("playwright_page_init_callback") is not None:
            request.meta[_SPIDER_INIT] = request.meta["playwright_page_init_callback"]
        request.meta["playwright_page_init_callback"] = self._page_init
        try:
            if request.meta.get("playwright_include_page") or request.meta.get("playwright_page") is not None:
                return await super().download_request(request)
            return await self._download_with_pooled_page(request)
        finally:
            request.meta.pop("playwright_page_init_callback", None)
            if _SPIDER_INIT in request.meta:
                request.meta["playwright_page_init_callback"] = request.meta.pop(_SPIDER_INIT)

    async def _page_init(self, page: Page, request: Request) -> None:
        """Run by scrapy-playwright on the request's page before it navigates (`playwright_page_init_callback`)."""
        if request.meta.get(_POOLED):
            self.pools[request.meta["playwright_context"]].adopt(page, reserved=request.meta.pop(_RESERVED, False))
        if page.context not in self.guarded:
            try:
                await page.context.route_web_socket("**", refuse_websocket)
            except PlaywrightError:
                await page.close()  # scrapy-playwright logs and ignores an init callback's error: fail the page
                raise
            self.guarded.add(page.context)
        spider_callback = request.meta.get(_SPIDER_INIT)
        if spider_callback is not None:
            await spider_callback(page, request)

    # --- the page pool ------------------------------------------------------------------------------------

    async def _download_with_pooled_page(self, request: Request) -> Response:
        context_name = request.meta.setdefault("playwright_context", CONTEXT_NAME)
        pool = self.pools[context_name]
        page = await pool.acquire()
        if page is None:
            request.meta[_RESERVED] = True
        else:
            request.meta["playwright_page"] = page
        request.meta.update({"playwright_include_page": True, _POOLED: True})
        reusable = False
        try:
            response = await super().download_request(request)
            reusable = True
            return response
        finally:
            request.meta.pop("playwright_include_page", None)
            request.meta.pop(_POOLED, None)
            if request.meta.pop(_RESERVED, False):  # no page was opened for it: give its slot back
                pool.open -= 1
                await pool.notify()
            used = request.meta.pop("playwright_page", None)
            if isinstance(used, Page):
                await self._release(pool, used, reusable=reusable)

    def _nothing_else_to_fetch(self) -> bool:
        """True when this is the downloader's last request and the scheduler holds no more: the crawl is ending
        (or pausing), so idle pages are closed now rather than when the engine stops, after the run is recorded."""
        engine = self.crawler.engine
        if engine is None:
            return True
        scheduler = engine.scheduler
        pending = scheduler is not None and scheduler.has_pending_requests()
        return not pending and len(engine.downloader.active) <= 1

    async def _release(self, pool: PagePool, page: Page, *, reusable: bool) -> None:
        """Back to the idle list after a clean render; closed after a failure, or with every idle page of its
        context when nothing else is left to fetch."""
        pool.uses[page] = pool.uses.get(page, 0) + 1
        if self._nothing_else_to_fetch():
            closing, pool.idle = [page, *pool.idle], []
        elif reusable and pool.reusable(page):
            self.stats.inc_value("playwright/page_count/reused")
            pool.idle.append(page)
            await pool.notify()
            return
        else:
            closing = [page]
        for closed in closing:
            await self._close_page(closed, pool)

    async def _close_page(self, page: Page, pool: PagePool) -> None:
        if page in pool.crashed or page.is_closed():
            return
        with suppress(PlaywrightError):
            await page.close()
            self.stats.inc_value("playwright/page_count/closed")

    async def close(self) -> None:
        for pool in self.pools.values():
            idle, pool.idle = pool.idle, []
            for page in idle:
                await self._close_page(page, pool)
        try:
            await super().close()
        finally:
            self.gate.close()
