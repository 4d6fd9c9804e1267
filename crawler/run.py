"""Run one crawl of one marketplace in this process: `python -m crawler.run --marketplace NAME`.

One process per crawl, because Twisted's reactor cannot restart and a leaked browser dies with its process.
Exit status: 0 ok, 3 partial, 4 failed, 2 not started (bad arguments or configuration, or a crawl of the marketplace
is already running); see crawler/exits.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from core.children import die_with_parent
from core.config import ConfigError
from core.lease import CrawlAlreadyRunning, CrawlLease
from core.models import RunStatus
from core.shards import UnknownShard
from crawler.context import CrawlSetupError, build_context, require_browser
from crawler.exits import EXIT_CODES, EXIT_NOT_STARTED
from crawler.spiders.base import MarketplaceSpider


def spider_class(name: str) -> type[MarketplaceSpider]:
    from crawler.spiders.configured import ConfiguredSpider
    from crawler.spiders.demo import DemoSpider
    from crawler.spiders.marketplaces import KNOWN_SPIDERS

    spiders: dict[str, type[MarketplaceSpider]] = {"demo": DemoSpider, "configured": ConfiguredSpider,
                                                   **KNOWN_SPIDERS}
    if name not in spiders:
        raise CrawlSetupError(f"no spider named '{name}' (known: {', '.join(sorted(spiders))})")
    return spiders[name]


def crawl(marketplace: str, config: str, db: str | None = None, log_level: str = "INFO",
          shard: str | None = None, *, stage: str = "search", listings: str | None = None) -> RunStatus:
    """Crawl one marketplace (one `shard` of it), holding its crawl lease (its slot's) for the whole crawl: a
    second crawl of it is refused. `stage` "items" fetches the item pages the second stage picks (or those of
    `listings`, ids comma-separated)."""
    context = build_context(marketplace, config, db, shard=shard)
    require_browser(context.marketplace, context.settings)
    lease = CrawlLease(context.db, marketplace, slot=context.shard.slot if context.shard else 0)
    lease.acquire()  # raises CrawlAlreadyRunning, naming the holder
    try:
        settings = Settings()
        # The module, not scrapy.cfg, so a crawl started from any working directory has the project's settings.
        settings.setmodule("crawler.settings", priority="project")
        settings.set("LOG_LEVEL", log_level)
        settings.set("BRANDPATROL_EGRESS_POLICY", context.egress)
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(spider_class(context.marketplace.spider))
        lease.start_heartbeat(_stop_crawl)
        process.crawl(crawler, marketplace=marketplace, config=config, db=db, shard=shard, stage=stage,
                      listings=listings)
        process.start()
    finally:
        lease.release()
    status = getattr(crawler.spider, "crawl_status", None)
    return status if isinstance(status, RunStatus) else RunStatus.FAILED


def _stop_crawl(why: str) -> None:
    """The lease was lost (another host took it over after our heartbeat went stale): stop as on SIGTERM, which
    closes the run."""
    logging.getLogger(__name__).error("stopping the crawl: %s", why)
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__)
    parser.add_argument("--marketplace", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", default=None)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--shard", default=None, help="crawl only this shard of the marketplace (core/shards.py)")
    parser.add_argument("--stage", choices=("search", "items"), default="search",
                        help="search: walk the search pages; items: fetch the item pages the second stage picks")
    parser.add_argument("--listings", default=None,
                        help="with --stage items: only these listing ids (comma-separated), whatever the budget")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="the supervising process: this crawl is killed when it dies")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        die_with_parent(args.parent_pid)
    try:
        status = crawl(args.marketplace, args.config, args.db, args.log_level, args.shard, stage=args.stage,
                       listings=args.listings)
    except (ConfigError, CrawlSetupError, CrawlAlreadyRunning, UnknownShard) as exc:
        print(exc, file=sys.stderr)
        return EXIT_NOT_STARTED
    return EXIT_CODES[status]


if __name__ == "__main__":
    sys.exit(main())
