"""Downloader middlewares: the egress gate on every request the crawler makes, redirects included."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from core.egress import EgressBlocked, EgressPolicy, check_url

logger = logging.getLogger(__name__)


class EgressGateMiddleware:
    """Refuses any request the egress gate refuses. Redirects come back through `process_request` as new
    requests, so every hop is checked; robots.txt requests are checked like any other."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EgressGateMiddleware:
        return cls(crawler)

    def _policy(self) -> EgressPolicy:
        context = getattr(self.crawler.spider, "context", None)
        return context.egress if context is not None else EgressPolicy()

    def process_request(self, request: Request, spider: Any = None) -> None:
        try:
            check_url(request.url, self._policy())
        except EgressBlocked as exc:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("brandpatrol/egress_blocked")
            logger.warning("egress gate refused %s", exc)
            raise IgnoreRequest(f"egress gate: {exc.reason}") from None


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
