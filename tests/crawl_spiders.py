"""Spiders for crawl tests only (no tests here), run by `scrapy crawl NAME` with SPIDER_MODULES set to
crawl_kit.TEST_SPIDER_MODULES (see crawl_kit.scrapy_crawl); no crawl outside the tests can name them.

The extractors themselves never raise on what a page holds (tests/test_extractors_hostile.py), so the crawl's own
guarantee, that a callback which raises costs only its page, is tested with a listing callback that has a bug of the
kind extractors are prone to.
"""

from __future__ import annotations

from scrapy.http import TextResponse

from crawler.items import ListingItem
from crawler.spiders.configured import ConfiguredSpider


class FloatPriceSpider(ConfiguredSpider):
    """The configured spider plus one careless step, as a hurried custom spider might add: the shown price read with
    float(). A page showing '$12.00' works; a page showing 'Call for price' raises ValueError in its listing
    callback, the stand-in for an extractor bug not found yet."""

    name = "configured_float_price"

    def listing_page(self, response: TextResponse) -> ListingItem | None:
        item = super().listing_page(response)
        if item is not None and item.price_text:
            item.extra["price_as_float"] = float(item.price_text.removeprefix("$"))
        return item
