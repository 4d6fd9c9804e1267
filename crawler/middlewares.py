"""Downloader middlewares: the egress gate on every request the crawler makes (redirects included), politeness:
Retry-After and back-off, and Scrapy's meta-refresh redirect made safe from what a page writes."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.task import deferLater

from core.egress import EgressBlocked, EgressPolicy, check_url

logger = logging.getLogger(__name__)


class EgressGateMiddleware:
    """Refuses any request the egress gate refuses, and sends the rest through the marketplace's proxy. Redirects
    come back through `process_request` as new requests, so every hop is checked; robots.txt requests are checked
    and proxied like any other (they carry no meta of the spider's). Scrapy's HttpProxyMiddleware (after this one)
    turns the proxy's credentials into a Proxy-Authorization header. Browser requests are left to the browser's
    own proxy (crawler.browser): a Proxy-Authorization header among a page's request headers would be sent on,
    through a CONNECT tunnel, to the marketplace itself."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EgressGateMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        context = getattr(self.crawler.spider, "context", None)
        try:
            check_url(request.url, context.egress if context is not None else EgressPolicy())
        except EgressBlocked as exc:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("brandpatrol/egress_blocked")
            logger.warning("egress gate refused %s", exc)
            raise IgnoreRequest(f"egress gate: {exc.reason}") from None
        if context is not None and context.proxy is not None and not request.meta.get("playwright"):
            request.meta["proxy"] = context.proxy_url


class PageSafeMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's `<meta http-equiv="refresh">` redirect, minus its failures on what a page writes: a refresh URL
    that cannot be parsed (`url=http://[oops/`, a port out of range) or a charset no page is written in
    (`<meta charset="rot13">`) made it raise, and the download of a page every browser shows failed: a seller could
    hide a listing from the crawl that way. Such a refresh is ignored, as browsers ignore it, and the page goes on
    to its callback (whose extractors read it as charset.readable says)."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        try:
            return super().process_response(request, response)
        except (ValueError, UnicodeError, LookupError) as exc:
            logger.info("ignored the meta refresh of %s: %s", response.url[:200], exc)
            return response


def playwright_abort_predicate(policy: EgressPolicy) -> Any:
    """For PLAYWRIGHT_ABORT_REQUEST: the browser loads no images, media or fonts (the pipeline fetches the
    photos itself) and no sub-resource the egress gate refuses."""

    def should_abort(request: Any) -> bool:
        if request.resource_type in ("image", "media", "font"):
            return True
        try:
            check_url(request.url, policy)
        except EgressBlocked:
            return True
        return False

    return should_abort


def retry_after_seconds(value: bytes | str | None, cap: float) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), capped; None if absent or bad."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), cap)


class PolitenessMiddleware:
    """Honours Retry-After on 429/503 for the whole host (no burst after the wait), and backs off
    exponentially before each retry. Sits before RetryMiddleware's response handling (priority > 550)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 600.0)
        self.not_before: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("dont_obey_robotstxt") and urlparse_cached(request).path == "/robots.txt":
            # An unusable robots.txt means "allow all" (Scrapy's documented policy): retrying it only delays
            # the crawl and would count a robots failure as a crawl error.
            request.meta["dont_retry"] = True
        host = urlparse_cached(request).netloc
        wait = self.not_before.get(host, 0.0) - time.monotonic()
        retries = int(request.meta.get("retry_times", 0))
        if retries:
            wait = max(wait, min(self.backoff_max, self.backoff_base * 2 ** (retries - 1)))
        if wait > 0:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("brandpatrol/politeness/waits")
            from twisted.internet import reactor  # the one Scrapy installed; importing earlier would pick another

            await maybe_deferred_to_future(deferLater(reactor, wait))

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status in (429, 503):
            delay = retry_after_seconds(response.headers.get("Retry-After"), self.retry_after_max)
            if delay:
                host = urlparse_cached(request).netloc
                self.not_before[host] = max(self.not_before.get(host, 0.0), time.monotonic() + delay)
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("brandpatrol/politeness/retry_after")
                logger.info("%s asked to wait %.0f s (HTTP %s, Retry-After)", host, delay, response.status)
        return response
