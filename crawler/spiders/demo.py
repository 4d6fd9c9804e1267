"""Spider for the bundled demo marketplace: search pages, pagination, listing pages; both shop styles."""

from __future__ import annotations

from scrapy.http import TextResponse

from crawler.extractors import demo as extract
from crawler.items import ListingItem, SearchPage
from crawler.spiders.base import MarketplaceSpider


class DemoSpider(MarketplaceSpider):
    name = "demo"

    @property
    def wait_selector(self) -> str | None:
        return self.context.marketplace.wait_for or "body[data-ready]"

    def search_page(self, response: TextResponse) -> SearchPage:
        return extract.extract_search(response)

    def listing_page(self, response: TextResponse) -> ListingItem | None:
        return extract.extract_listing(response, self.context.marketplace.name)
