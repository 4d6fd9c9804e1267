"""A built-in marketplace spider (eBay) crawling real saved pages, served on loopback.

The saved pages are rewritten at run time so every eBay address points at the loopback server: nothing leaves
the machine, and the originals stay untouched.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from brandpatrol import jobs
from core.models import Listing, RunStatus
from tests.crawl_kit import configured_shop
from tests.loopback import Route, reply

pytestmark = pytest.mark.timeout(300)
EBAY_HOSTS = re.compile(rb"https://(?:www\.|i\.|ir\.)?ebay(?:img|static)?\.com")


def test_ebay_spider_follows_real_search_cards_to_item_pages(shared_pages: Path, tmp_path: Path) -> None:
    search = (shared_pages / "ebay_us_search_nike_shoes_2026.html").read_bytes()
    item = (shared_pages / "ebay_item_rtx5090_seller_paris_2025.html").read_bytes()
    routes: dict[str, Route] = {}
    market = {"spider": "ebay", "start_urls": [], "search_url": "{base}/sch/i.html?_nkw={query}",
              "search_terms": ["nike shoes"], "currency": "USD", "max_pages": 1, "item_pages": "all"}
    with configured_shop(tmp_path, routes, marketplace=market) as (server, config, settings):
        local = server.base_url.encode()
        routes["/sch/i.html"] = reply(EBAY_HOSTS.sub(local, search))
        item_ids = set(re.findall(rb"/itm/(\d{9,15})", search))
        for item_id in item_ids:
            routes[f"/itm/{item_id.decode()}"] = reply(EBAY_HOSTS.sub(local, item))
        text = config.read_text(encoding="utf-8").replace("{base}", server.base_url)
        config.write_text(text, encoding="utf-8")
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        fetched = {path for path in server.hits if path.startswith("/itm/")}
        assert len(fetched) == len(item_ids) >= 60  # every card on the real search page was followed
    with jobs.open_database(settings).read() as session:
        listing = session.scalars(select(Listing).where(Listing.external_id == "226771798286")).one()
        assert listing.title == "NVIDIA GeForce RTX 5090 FE Founders Edition"
        assert (listing.price, listing.currency, listing.country) == (3500, "EUR", "FR")
        assert listing.seller is not None and listing.seller.name == "salomon0651"
        assert listing.condition == "New"
        assert "approx_price" in listing.attributes  # what else the page gave is kept


def test_ebay_spider_keeps_real_search_cards_as_listings_without_following_them(shared_pages: Path,
                                                                                 tmp_path: Path) -> None:
    """eBay's cards show title and price, so its default is two stages: the first keeps every card as a listing."""
    search = (shared_pages / "ebay_us_search_nike_shoes_2026.html").read_bytes()
    routes: dict[str, Route] = {}
    market = {"spider": "ebay", "start_urls": [], "search_url": "{base}/sch/i.html?_nkw={query}",
              "search_terms": ["nike shoes"], "currency": "USD", "max_pages": 1}
    with configured_shop(tmp_path, routes, marketplace=market) as (server, config, settings):
        routes["/sch/i.html"] = reply(EBAY_HOSTS.sub(server.base_url.encode(), search))
        config.write_text(config.read_text(encoding="utf-8").replace("{base}", server.base_url), encoding="utf-8")
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        assert not [path for path in server.hits if path.startswith("/itm/")]  # no card was followed
    with jobs.open_database(settings).read() as session:
        listings = list(session.scalars(select(Listing)))
    item_ids = set(re.findall(rb"/itm/(\d{9,15})", search))
    assert len(listings) == len(item_ids) == result.stats["brandpatrol/cards/kept"] >= 60
    assert all(x.seen_from == "card" and x.card_only and x.card_sha256 for x in listings)
    priced = [x for x in listings if x.price is not None]
    # Prices as the saved page shows them (eBay showed this visitor rupiah).
    assert len(priced) >= 0.9 * len(listings) and all(x.currency == "IDR" and x.price > 0 for x in priced)
