"""The browser download handler: scrapy-playwright's, with each context's pages kept open and reused.

Opening a page costs Chromium a new target and Playwright a dozen protocol round trips, more than rendering an
ordinary listing page; routing it again for every request costs two more. So a page that rendered a listing
cleanly goes back to an idle list of its context and the next request navigates it to the next URL, with one
route installed when the page was opened that serves whichever request the page is rendering now.

Bounds stay scrapy-playwright's: a context holds at most PLAYWRIGHT_MAX_PAGES_PER_CONTEXT pages, open or idle.
A page that failed or crashed is closed, never reused; an idle page is closed when a request is waiting for a
slot in its context, and every page is closed when the crawl ends. Requests that ask for the page themselves
(`playwright_include_page`) get scrapy-playwright's own behaviour.

`wait_for_css` and `capture_viewport` are the page methods spiders use: the same wait as Playwright's
wait_for_selector for a CSS selector, without injecting Playwright's selector engine into every document, and a
viewport JPEG without Playwright's screenshot preparations.

Written against scrapy-playwright 0.0.4x, whose `_download_request_with_retry` this replaces (see pyproject.toml).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from playwright.async_api import CDPSession, Page, Route
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy import Spider
from scrapy.http import Request, Response
from scrapy_playwright.handler import DEFAULT_CONTEXT_NAME, ScrapyPlaywrightDownloadHandler
from scrapy_playwright.handler import _attach_page_event_handlers as attach_page_event_handlers
from scrapy_playwright.handler import _maybe_execute_page_init_callback as run_page_init_callback

logger = logging.getLogger(__name__)

RouteHandler = Callable[[Route, PlaywrightRequest], Awaitable[None]]
_CDP: weakref.WeakKeyDictionary[Page, CDPSession] = weakref.WeakKeyDictionary()


async def capture_viewport(page: Page, quality: int = 85) -> bytes:
    """A JPEG of the viewport, the evidence screenshot of a rendered page.

    Straight from Chromium through one DevTools session per page (pages are reused): Playwright's screenshot
    first evaluates in the page to wait for web fonts and to hide the caret, which the browser never loads
    (fonts are aborted) or shows here, at about 4% of a page's whole cost. Other browsers take Playwright's way.
    """
    session = _CDP.get(page)
    if session is None:
        try:
            session = _CDP[page] = await page.context.new_cdp_session(page)
        except PlaywrightError:  # not Chromium
            return await page.screenshot(type="jpeg", quality=quality)
    shot = await session.send("Page.captureScreenshot", {"format": "jpeg", "quality": quality,
                                                         "optimizeForSpeed": True})
    return base64.b64decode(shot["data"])
MAX_USES_PER_PAGE = 20  # then the page is closed and a fresh one opened: a renderer grows with each page it renders

# Resolves once the selector matches, watched by a MutationObserver in the page itself.
_WAIT_FOR_CSS = """selector => document.querySelector(selector) !== null || new Promise(resolve => {
    const observer = new MutationObserver(() => {
        if (document.querySelector(selector) !== null) { observer.disconnect(); resolve(true); }
    });
    observer.observe(document, {subtree: true, childList: true, attributes: true});
})"""
WAIT_ATTEMPTS = 3  # a page that replaces its document while we wait (a script redirect) is waited on again


async def wait_for_css(page: Page, selector: str, timeout_s: float = 15.0) -> None:
    """Wait until a CSS selector matches. Playwright's wait_for_selector first injects its selector engine into
    every new document, about 35 ms of the renderer's time per page, more than the rest of the wait."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    for attempt in range(WAIT_ATTEMPTS):
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(page.evaluate(_WAIT_FOR_CSS, selector), max(remaining, 0.001))
            return
        except TimeoutError:
            break
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc) or attempt == WAIT_ATTEMPTS - 1:
                raise
            with suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(page.wait_for_load_state("domcontentloaded"), max(remaining, 0.001))
    raise PlaywrightTimeoutError(f"{selector!r} did not appear within {timeout_s:g} s")




class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.idle_pages: dict[str, list[Page]] = defaultdict(list)
        self.current_route: dict[Page, RouteHandler] = {}
        self.crashed: set[Page] = set()
        self.uses: dict[Page, int] = defaultdict(int)
        self.waiting_for_slot: dict[str, int] = defaultdict(int)  # requests inside _create_page, per context
        self.page_freed: dict[str, asyncio.Condition] = defaultdict(asyncio.Condition)

    # --- the page pool ------------------------------------------------------------------------------

    def _take_idle_page(self, context_name: str) -> Page | None:
        idle = self.idle_pages[context_name]
        while idle:
            page = idle.pop()
            if not page.is_closed() and page not in self.crashed:
                return page
        return None

    async def _acquire_page(self, context_name: str) -> Page | None:
        """An idle page of the context, or None when a new one may be opened (a slot is free)."""
        while True:
            page = self._take_idle_page(context_name)
            wrapper = self.context_wrappers.get(context_name)
            if page is not None or wrapper is None or not wrapper.semaphore.locked():
                return page
            freed = self.page_freed[context_name]
            async with freed:
                await freed.wait()

    async def _notify_freed(self, context_name: str) -> None:
        freed = self.page_freed[context_name]
        async with freed:
            freed.notify()

    async def _create_page(self, request: Request, spider: Spider) -> Page:
        context_name = request.meta.setdefault("playwright_context", DEFAULT_CONTEXT_NAME)
        self.waiting_for_slot[context_name] += 1
        try:
            return await super()._create_page(request, spider)
        finally:
            self.waiting_for_slot[context_name] -= 1

    async def _close_page(self, page: Page, context_name: str) -> None:
        self.current_route.pop(page, None)
        self.uses.pop(page, None)
        if page in self.crashed:
            self.crashed.discard(page)  # scrapy-playwright already gave back its slot when it crashed
        elif not page.is_closed():
            with suppress(PlaywrightError):
                await page.close()
                self.stats.inc_value("playwright/page_count/closed")
        await self._notify_freed(context_name)  # its slot is free: a waiting request may open a page

    def _nothing_else_to_fetch(self) -> bool:
        """True when this is the downloader's last request and the scheduler holds no more: the crawl is ending
        (or pausing), so idle pages are closed now rather than when the engine stops, after the run is recorded."""
        engine = getattr(self._crawler, "engine", None)
        if engine is None:
            return True
        slot = getattr(engine, "_slot", None) or getattr(engine, "slot", None)
        pending = slot is not None and slot.scheduler is not None and slot.scheduler.has_pending_requests()
        return not pending and len(engine.downloader.active) <= 1

    async def _release_page(self, page: Page, context_name: str, *, reusable: bool = True) -> None:
        """Back to the idle list after a clean render; closed after a failure, or with every idle page of its
        context when nothing else is left to fetch."""
        self.uses[page] += 1
        closing = [page]
        if self._nothing_else_to_fetch():
            closing += self.idle_pages.pop(context_name, [])
        # A request already waiting for a slot in this context gets this page's slot: idle pages never starve it.
        elif reusable and not (self.waiting_for_slot[context_name] or context_name not in self.context_wrappers
                               or page in self.crashed or page.is_closed() or self.uses[page] >= MAX_USES_PER_PAGE):
            self.stats.inc_value("playwright/page_count/reused")
            self.idle_pages[context_name].append(page)
            await self._notify_freed(context_name)
            return
        for closed in closing:
            await self._close_page(closed, context_name)

    async def _download_request(self, request: Request, spider: Spider | None = None) -> Response:
        if request.meta.get("playwright_include_page") or request.meta.get("playwright_page") is not None:
            return await super()._download_request(request, spider)
        context_name = request.meta.setdefault("playwright_context", DEFAULT_CONTEXT_NAME)
        request.meta["playwright_page"] = await self._acquire_page(context_name)
        request.meta["playwright_include_page"] = True  # so scrapy-playwright leaves the page open for us
        try:
            response = await super()._download_request(request, spider)
        except BaseException:
            page = request.meta.pop("playwright_page", None)
            if isinstance(page, Page):
                await self._release_page(page, context_name, reusable=False)
            raise
        finally:
            request.meta.pop("playwright_include_page", None)
        page = request.meta.pop("playwright_page", None)
        if isinstance(page, Page):
            await self._release_page(page, context_name)
        return response

    async def _close(self) -> None:
        for context_name, pages in self.idle_pages.items():
            for page in pages:
                await self._close_page(page, context_name)
        self.idle_pages.clear()
        await super()._close()

    # --- one route per page --------------------------------------------------------------------------

    async def _route_to_current(self, page: Page, route: Route, request: PlaywrightRequest) -> None:
        handler = self.current_route.get(page)
        if handler is None:  # between two requests: nothing of ours is loading
            with suppress(PlaywrightError):
                await route.abort()
            return
        await handler(route, request)

    async def _open_page(self, request: Request, spider: Spider) -> Page:
        page = await self._create_page(request=request, spider=spider)
        page.on("crash", lambda crashed: self.crashed.add(crashed))

        async def route_to_current(route: Route, playwright_request: PlaywrightRequest) -> None:
            await self._route_to_current(page, route, playwright_request)

        await page.route("**", route_to_current)
        return page

    async def _download_request_with_retry(self, request: Request, spider: Spider) -> Response:
        page = request.meta.get("playwright_page")
        if not isinstance(page, Page) or page.is_closed():
            page = await self._open_page(request, spider)
            request.meta["playwright_page"] = page
        context_name = request.meta.setdefault("playwright_context", DEFAULT_CONTEXT_NAME)
        attach_page_event_handlers(page=page, request=request, spider=spider, context_name=context_name)
        # scrapy-playwright's handler for this request: headers, method and body of the navigation, and aborts.
        self.current_route[page] = self._make_request_handler(
            context_name=context_name, method=request.method, url=request.url, headers=request.headers,
            body=request.body, encoding=request.encoding, spider=spider,
            initial_request_done=asyncio.Event(),
        )
        await run_page_init_callback(page=page, request=request, context_name=context_name, spider=spider)
        try:
            return await self._download_request_with_page(request, page, spider)
        finally:
            self.current_route.pop(page, None)
