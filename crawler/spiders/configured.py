"""The generic spider: crawls any marketplace described in the brand's YAML (start URLs or a search URL,
list-item, link and next-page selectors, field selectors), with no code change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response, TextResponse

from core.config import FieldSelectors
from crawler.extractors import configured as extract
from crawler.items import ListingItem
from crawler.spiders.base import MarketplaceSpider


class ConfiguredSpider(MarketplaceSpider):
    name = "configured"

    @property
    def selectors(self) -> FieldSelectors:
        return self.context.marketplace.selectors or FieldSelectors()

    @property
    def wait_selector(self) -> str | None:
        return self.context.marketplace.wait_for

    async def start(self) -> AsyncIterator[Any]:
        market = self.context.marketplace
        for url in market.start_urls:
            yield self.page_request(url, self.parse_search, meta={"page": 1})
        if market.search_url:
            for term in market.search_terms:
                yield self.page_request(market.search_url.format(query=quote(term), page=1), self.parse_search,
                                        meta={"page": 1})

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        assert isinstance(response, TextResponse)
        page = extract.extract_search(response, self.selectors)
        if not page.cards:
            self._missed("link", response.url)
        for card in page.cards:
            yield self.page_request(card.url, self.parse_listing, evidence=True,
                                    meta={"card_location": card.location_text})
        number = int(response.meta.get("page", 1))
        if page.next_url and number < self.context.marketplace.max_pages:
            yield self.page_request(page.next_url, self.parse_search, meta={"page": number + 1})

    def parse_listing(self, response: Response) -> Iterator[ListingItem]:
        assert isinstance(response, TextResponse)
        market = self.context.marketplace
        result = extract.extract_listing(response, market.name, self.selectors, market.id_from_url)
        for name in result.missing:
            self._missed(name, response.url)
        if result.item is None:
            return
        result.item.location_text = result.item.location_text or response.meta.get("card_location")
        result.item.html = response.body
        result.item.screenshot = self.screenshot_of(response)
        yield result.item

    def _missed(self, field_name: str, url: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"brandpatrol/selector_miss/{field_name}")
        self.logger.info("selector for %s matched nothing on %s", field_name, url[:200])
