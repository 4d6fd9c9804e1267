"""Run one crawl of one marketplace in this process: `python -m crawler.run --marketplace NAME`.

One process per crawl, because Twisted's reactor cannot restart and a leaked browser dies with its process.
Exit status: 0 ok, 3 partial, 4 failed, 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from core.config import ConfigError
from core.egress import EgressPolicy
from core.models import RunStatus
from crawler.context import CrawlSetupError, require_browser
from crawler.spiders.base import MarketplaceSpider

EXIT_CODES = {RunStatus.OK: 0, RunStatus.PARTIAL: 3, RunStatus.FAILED: 4}


def spider_class(name: str) -> type[MarketplaceSpider]:
    from crawler.spiders.configured import ConfiguredSpider
    from crawler.spiders.demo import DemoSpider
    from crawler.spiders.marketplaces import KNOWN_SPIDERS

    spiders: dict[str, type[MarketplaceSpider]] = {"demo": DemoSpider, "configured": ConfiguredSpider,
                                                   **KNOWN_SPIDERS}
    if name not in spiders:
        raise CrawlSetupError(f"no spider named '{name}' (known: {', '.join(sorted(spiders))})")
    return spiders[name]


def crawl(marketplace: str, config: str, db: str | None = None, log_level: str = "INFO") -> RunStatus:
    from core.config import load_config
    from core.settings import get_settings

    brand_config = load_config(config)
    market = brand_config.marketplace(marketplace)
    require_browser(market, get_settings())
    settings = Settings()
    # The module, not scrapy.cfg, so a crawl started from any working directory has the project's settings.
    settings.setmodule("crawler.settings", priority="project")
    settings.set("LOG_LEVEL", log_level)
    settings.set("BRANDPATROL_EGRESS_POLICY", EgressPolicy.from_hosts(brand_config.egress.allow_private_hosts))
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_class(market.spider))
    process.crawl(crawler, marketplace=marketplace, config=config, db=db)
    process.start()
    status = getattr(crawler.spider, "crawl_status", None)
    return status if isinstance(status, RunStatus) else RunStatus.FAILED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__)
    parser.add_argument("--marketplace", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    try:
        status = crawl(args.marketplace, args.config, args.db, args.log_level)
    except (ConfigError, CrawlSetupError) as exc:
        print(exc, file=sys.stderr)
        return 2
    return EXIT_CODES[status]


if __name__ == "__main__":
    sys.exit(main())
