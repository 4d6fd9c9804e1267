"""What one crawl process shares: its settings, brand configuration, database and egress policy.

Scrapy components reach it through `crawl_context(crawler)`, built once per process from the spider's
arguments and the typed settings object.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import BrandConfig, Marketplace, load_config
from core.db import Database
from core.egress import EgressPolicy
from core.settings import Settings, get_settings


@dataclass(frozen=True)
class CrawlContext:
    settings: Settings
    config: BrandConfig
    marketplace: Marketplace
    db: Database
    egress: EgressPolicy


class CrawlSetupError(RuntimeError):
    """A crawl that cannot start (no config, unknown marketplace), with the fix."""


@lru_cache(maxsize=8)
def _database(url: str) -> Database:
    return Database(url)


def build_context(marketplace: str, config_path: str | Path | None = None, db_url: str | None = None,
                  settings: Settings | None = None) -> CrawlContext:
    settings = settings or get_settings()
    path = config_path or settings.config
    if not path:
        raise CrawlSetupError(
            "no brand configuration: pass -a config=PATH to scrapy, --config to brandpatrol, "
            "or set BRANDPATROL_CONFIG"
        )
    config = load_config(path)
    market = config.marketplace(marketplace)
    return CrawlContext(
        settings=settings,
        config=config,
        marketplace=market,
        db=_database(db_url or settings.db),
        egress=EgressPolicy.from_hosts(config.egress.allow_private_hosts),
    )
