"""The generic spider: crawls any marketplace described in the brand's YAML (start URLs or a search URL,
list-item, link and next-page selectors, field selectors), with no code change."""

from __future__ import annotations

from scrapy.http import TextResponse

from core.config import FieldSelectors
from crawler.extractors import configured as extract
from crawler.items import ListingItem, SearchPage
from crawler.spiders.base import MarketplaceSpider


class ConfiguredSpider(MarketplaceSpider):
    name = "configured"

    @property
    def selectors(self) -> FieldSelectors:
        return self.context.marketplace.selectors or FieldSelectors()

    def search_page(self, response: TextResponse) -> SearchPage:
        return extract.extract_search(response, self.selectors)

    def listing_page(self, response: TextResponse) -> ListingItem | None:
        market = self.context.marketplace
        result = extract.extract_listing(response, market.name, self.selectors, market.id_from_url)
        for name in result.missing:
            if name == "data":
                self.missing_data(response)
            else:
                self.count_miss(name, response.url)
        return result.item
