"""Spider for the bundled demo marketplace: search pages, pagination, listing pages; both shop styles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response, TextResponse

from crawler.extractors import demo as extract
from crawler.items import ListingItem
from crawler.spiders.base import MarketplaceSpider


class DemoSpider(MarketplaceSpider):
    name = "demo"

    @property
    def wait_selector(self) -> str | None:
        return "body[data-ready]"

    async def start(self) -> AsyncIterator[Any]:
        market = self.context.marketplace
        for url in market.start_urls:
            yield self.page_request(url, self.parse_search, meta={"page": 1})
        if market.search_url:
            for term in market.search_terms:
                url = market.search_url.format(query=quote(term), page=1)
                yield self.page_request(url, self.parse_search, meta={"page": 1})

    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        assert isinstance(response, TextResponse)
        page = extract.extract_search(response)
        for card in page.cards:
            yield self.page_request(card.url, self.parse_listing, evidence=True,
                                    meta={"card_location": card.location_text})
        number = int(response.meta.get("page", 1))
        if page.next_url and number < self.context.marketplace.max_pages:
            yield self.page_request(page.next_url, self.parse_search, meta={"page": number + 1})

    def parse_listing(self, response: Response) -> Iterator[ListingItem]:
        assert isinstance(response, TextResponse)
        item = extract.extract_listing(response, self.context.marketplace.name)
        if item is None:
            self.logger.warning("no listing found on %s", response.url)
            return
        item.location_text = item.location_text or response.meta.get("card_location")
        item.html = response.body
        item.screenshot = self.screenshot_of(response)
        yield item
