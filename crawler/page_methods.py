"""The page methods spiders run in a rendered page (as scrapy-playwright PageMethods): wait for the data, capture
the evidence screenshot. Both take Chromium's direct way where Playwright's convenient one costs a page's time."""

from __future__ import annotations

import asyncio
import base64
import re
import weakref
from contextlib import suppress
from typing import Any

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Response as PlaywrightResponse
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from crawler.extractors.common import load_json

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


# Resolves once the selector matches, watched by a MutationObserver in the page itself.
_WAIT_FOR_CSS = """selector => document.querySelector(selector) !== null || new Promise(resolve => {
    const observer = new MutationObserver(() => {
        if (document.querySelector(selector) !== null) { observer.disconnect(); resolve(true); }
    });
    observer.observe(document, {subtree: true, childList: true, attributes: true});
})"""
WAIT_ATTEMPTS = 3  # a page that replaces its document while we wait (a script redirect) is waited on again
# The document's HTTP status (Navigation Timing Level 2, public in Chromium since 109); 0 where it is not known.
_DOCUMENT_STATUS = "() => performance.getEntriesByType('navigation')[0]?.responseStatus ?? 0"


async def wait_for_css(page: Page, selector: str, timeout_s: float = 15.0) -> None:
    """Wait until a CSS selector matches. Playwright's wait_for_selector first injects its selector engine into
    every new document, about 35 ms of the renderer's time per page, more than the rest of the wait.
    An error page (HTTP 4xx/5xx) is not waited on: its content never comes, and Scrapy retries or records it."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    if await _is_error_page(page):
        return
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


async def _is_error_page(page: Page) -> bool:
    with suppress(PlaywrightError):
        return int(await page.evaluate(_DOCUMENT_STATUS) or 0) >= 400
    return False


class JsonCapture:
    """The JSON responses a rendered page receives for URLs matching a pattern (a configured marketplace's
    `data: xhr:REGEX`), kept for its `json:` selectors: a page that loads its listings by XHR is read from that data,
    not from the DOM drawn from it. Bounded: at most MAX_RESPONSES responses of at most `max_bytes` each."""

    MAX_RESPONSES = 20

    def __init__(self, pattern: str, max_bytes: int):
        self.pattern = re.compile(pattern)
        self.max_bytes = max_bytes
        self.found: list[tuple[str, Any]] = []  # (URL, parsed JSON), shared with the request's meta

    async def on_response(self, response: PlaywrightResponse) -> None:
        if len(self.found) >= self.MAX_RESPONSES or not self.pattern.search(response.url):
            return
        if "json" not in (response.headers.get("content-type") or "").lower():
            return
        with suppress(PlaywrightError):
            body = await response.body()
            if len(body) <= self.max_bytes:
                parsed = load_json(body.decode("utf-8", "replace"))
                if parsed is not None:
                    self.found.append((response.url, parsed))


async def wait_for_capture(page: Page, capture: JsonCapture, timeout_s: float = 15.0) -> None:
    """Wait until the page has received a JSON response the capture keeps (or the timeout; the extractor then warns
    that the data is missing), then stop listening: pages are reused for other listings."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        if await _is_error_page(page):
            return
        while not capture.found and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        page.remove_listener("response", capture.on_response)
