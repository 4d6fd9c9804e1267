"""What one crawl process shares: its settings, brand configuration, database, egress policy and proxy.

Scrapy components reach it through `crawl_context(crawler)`, built once per process from the spider's
arguments and the typed settings object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from core.config import BrandConfig, Marketplace, load_config
from core.db import Database
from core.egress import EgressPolicy, Proxy
from core.settings import Settings, get_settings
from core.shards import Shard, find_shard
from crawler.storage import proxy_in_turn


@dataclass(frozen=True)
class CrawlContext:
    settings: Settings
    config: BrandConfig
    marketplace: Marketplace
    db: Database
    egress: EgressPolicy
    proxy: Proxy | None = None  # the marketplace's: every fetch of the crawl goes through it
    proxy_url: str | None = None  # the same, as configured (for Scrapy's request meta)
    proxy_index: int | None = None  # which of the marketplace's `proxies` this crawl uses, when it has several
    shard: Shard | None = None  # team mode: the one search term or start URL this crawl covers (core/shards.py)


class CrawlSetupError(RuntimeError):
    """A crawl that cannot start (no config, unknown marketplace), with the fix."""


def require_browser(market: Marketplace, settings: Settings) -> None:
    """A marketplace rendered in Chromium needs the browser; say so, and how to install it, before crawling."""
    browser = settings.browser_executable()
    if market.javascript and browser is not None and not browser.is_file():
        raise CrawlSetupError(
            f"marketplace '{market.name}' renders its pages in Chromium (javascript: true), but the browser is "
            f"missing: {browser} does not exist. Install it (`apt-get install chromium`) or set "
            "BRANDPATROL_CHROMIUM_PATH to the Chromium executable")


@lru_cache(maxsize=8)
def _database(url: str) -> Database:
    return Database(url)


def build_context(marketplace: str, config_path: str | Path | None = None, db_url: str | None = None,
                  settings: Settings | None = None, shard: str | None = None) -> CrawlContext:
    """What the crawl of `marketplace` (of its one shard, given the shard's key) shares."""
    settings = settings or get_settings()
    path = config_path or settings.config
    if not path:
        raise CrawlSetupError(
            "no brand configuration: pass -a config=PATH to scrapy, --config to brandpatrol, "
            "or set BRANDPATROL_CONFIG"
        )
    config = load_config(path, settings.brand)
    market = config.marketplace(marketplace)
    db = _database(db_url or settings.db)
    part = find_shard(market, shard) if shard else None
    if part is not None and market.parallel_shards > 1:
        index: int | None = part.slot  # shards crawled at once each go through their own proxy (checked at load)
    else:
        index = (proxy_in_turn(db, market.name, len(market.proxies), timedelta(minutes=market.proxy_backoff_minutes))
                 if market.proxies else None)
    if part is not None:
        market = part.narrowed(market)
    proxy_url = market.proxies[index] if index is not None else market.proxy
    return CrawlContext(
        settings=settings,
        config=config,
        marketplace=market,
        db=db,
        egress=EgressPolicy.from_hosts(config.egress.allow_private_hosts),
        proxy=Proxy.from_url(proxy_url) if proxy_url else None,
        proxy_url=proxy_url,
        proxy_index=index,
        shard=part,
    )
