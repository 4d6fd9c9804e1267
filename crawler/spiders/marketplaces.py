"""Spiders for marketplaces with their own extractors (eBay, Amazon, AliExpress, Taobao/Tmall, Etsy, JD, 1688,
Lazada).

Each reads search pages with its marketplace's search extractor where one exists, else with the selectors the
brand's YAML gives for search pages, and listing pages with its listing extractor.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from scrapy.http import TextResponse

from core.config import FieldSelectors
from crawler.extractors import aliexpress, amazon, configured, ebay, etsy, jd, lazada, taobao, wholesale1688
from crawler.items import ListingItem, SearchPage
from crawler.spiders.base import MarketplaceSpider


class KnownMarketplaceSpider(MarketplaceSpider):
    extractors: ModuleType

    def search_page(self, response: TextResponse) -> SearchPage:
        search: Callable[[TextResponse], SearchPage] | None = getattr(self.extractors, "extract_search", None)
        if search is not None:
            return search(response)
        return configured.extract_search(response, self.context.marketplace.selectors or FieldSelectors())

    def listing_page(self, response: TextResponse) -> ListingItem | None:
        listing: ListingItem | None = self.extractors.extract_listing(response, self.context.marketplace.name)
        return listing


class EbaySpider(KnownMarketplaceSpider):
    name = "ebay"
    extractors = ebay


class AmazonSpider(KnownMarketplaceSpider):
    name = "amazon"
    extractors = amazon


class AliExpressSpider(KnownMarketplaceSpider):
    name = "aliexpress"
    extractors = aliexpress


class TaobaoSpider(KnownMarketplaceSpider):
    name = "taobao"
    extractors = taobao


class EtsySpider(KnownMarketplaceSpider):
    name = "etsy"
    extractors = etsy


class JdSpider(KnownMarketplaceSpider):
    name = "jd"
    extractors = jd


class Wholesale1688Spider(KnownMarketplaceSpider):
    name = "1688"
    extractors = wholesale1688


class LazadaSpider(KnownMarketplaceSpider):
    name = "lazada"
    extractors = lazada


KNOWN_SPIDERS: dict[str, type[MarketplaceSpider]] = {
    spider.name: spider for spider in (EbaySpider, AmazonSpider, AliExpressSpider, TaobaoSpider, EtsySpider,
                                       JdSpider, Wholesale1688Spider, LazadaSpider)
}
