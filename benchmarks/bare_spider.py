"""The baseline: a bare Scrapy spider parsing the same local pages (24 fields each), no pipelines.

`python -m benchmarks.bare_spider START_URL` prints pages/s from Scrapy's own stats.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response, TextResponse

from benchmarks.site import FIELDS


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, start: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.start_urls = [start]

    def parse(self, response: Response) -> Iterator[Any]:
        assert isinstance(response, TextResponse)
        yield from response.follow_all(css="a.item::attr(href)", callback=self.parse_item)
        next_page = response.css("a.next::attr(href)").get()
        if next_page:
            yield response.follow(next_page, callback=self.parse)

    def parse_item(self, response: Response) -> Iterator[dict[str, Any]]:
        fields = ["title", "price", "seller", "location", "sku", *FIELDS]
        yield {name: response.css(f".{name}::text").get() for name in fields}


def main() -> None:
    process = CrawlerProcess({"LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "CONCURRENT_REQUESTS": 16,
                              "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "TELNETCONSOLE_ENABLED": False})
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, start=sys.argv[1])
    process.start()
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    print(json.dumps({"pages": stats.get("response_received_count", 0),
                      "items": stats.get("item_scraped_count", 0),
                      "seconds": stats.get("elapsed_time_seconds", 0.0)}))


if __name__ == "__main__":
    main()
