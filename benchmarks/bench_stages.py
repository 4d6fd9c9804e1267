"""Two-stage crawling against following every card (issue #18): requests per listing seen, night after night.

A loopback marketplace of 5,000 listings on 60-card search pages; 5% are the brand's (genuine stock of an authorised
shop, copies, cleared stock carrying a distributor's lot code, an authorised shop shipping from outside its region,
resellers). Cards show id, title, price and seller; item pages add where the seller ships from and a description
(where the lot code is). Two nights: on the second, 2% of the cards changed their price. The same market is crawled
and matched once following every card (`item_pages: all`) and once in two stages (`item_pages: relevant`: cards,
matching, the item pages that matter, matching again), each into its own database; the findings must be the same.
Requests are the marketplace's pages asked for (search and item pages; the listings carry no photos).

`python -m benchmarks stages [LISTINGS]`; JSON: two_stage / every_card -> requests_per_listing (one per night),
wall_s (per night), and same_findings.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from brandpatrol import jobs
from core.models import Finding, Listing
from core.settings import get_settings
from tests.loopback import LocalServer, QuietHandler

PER_PAGE = 60
BRAND_SHARE = 20  # one listing in 20 (5%) is the brand's
CHANGED_SHARE = 50  # one card in 50 (2%) changes its price on the second night


def _kind(n: int) -> str | None:
    """What a listing is: None for other goods, else one of the brand's cases."""
    if n % BRAND_SHARE:
        return None
    return ("authorised", "copy", "cleared", "out_of_region", "reseller")[(n // BRAND_SHARE) % 5]


def _changed(n: int) -> bool:
    return int(hashlib.sha256(str(n).encode()).hexdigest()[:8], 16) % CHANGED_SHARE == 0


def listing(n: int, night: int) -> dict[str, str]:
    """One listing as the marketplace shows it on `night` (1 or 2)."""
    bump = 1 if night == 2 and _changed(n) else 0
    kind = _kind(n)
    if kind is None:
        return {"title": f"Garden hose model {n}", "price": f"${12 + n % 40 + bump}.00", "seller": f"shop-{n % 97}",
                "location": "Hangzhou, China", "description": "Ships in 48 hours."}
    shown = {
        "authorised": ("Acme Widget original boxed", 99, "acme-official", "Guangzhou, Guangdong", "Official stock."),
        "copy": ("Acme Widget replica 1:1 high copy", 25, f"copy-shop-{n % 13}", "Putian, Fujian", "Top quality."),
        "cleared": ("Acme Widget clearance", 70, f"outlet-{n % 11}", "Shenzhen, Guangdong", "批号 GD240211 尾货"),
        "out_of_region": ("Acme Widget original", 95, "acme-official", "Hangzhou, Zhejiang", "Official stock."),
        "reseller": ("Acme Widget genuine", 90, f"reseller-{n % 7}", "Chengdu, Sichuan", "Bought from the brand."),
    }[kind]
    title, price, seller, location, description = shown
    return {"title": title, "price": f"${price + bump}.00", "seller": seller, "location": location,
            "description": description}


class NightlyShop(LocalServer):
    """The marketplace on 127.0.0.1, counting what is asked for: search pages and item pages."""

    def __init__(self, listings: int):
        self.listings = listings
        self.pages = -(-listings // PER_PAGE)
        self.night = 1
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        shop = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/search":
                    kind, body = "search", shop.search_html(int(query.removeprefix("page=") or 1))
                elif path.startswith("/item/") and path[6:].isdigit() and int(path[6:]) < shop.listings:
                    kind, body = "item", shop.item_html(int(path[6:]))
                else:
                    self.send_error(404)
                    return
                with shop.lock:
                    shop.hits[kind] += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    def search_html(self, page: int) -> bytes:
        cards = []
        for n in range((page - 1) * PER_PAGE, min(page * PER_PAGE, self.listings)):
            x = listing(n, self.night)
            cards.append(f"<li class=card data-id='{n}'><a href='/item/{n}'><span class=title>{x['title']}</span>"
                         f"</a><span class=price>{x['price']}</span><span class=seller>{x['seller']}</span></li>")
        more = f"<a class=next href='/search?page={page + 1}'>next</a>" if page < self.pages else ""
        return f"<html><body><ul>{''.join(cards)}</ul>{more}</body></html>".encode()

    def item_html(self, n: int) -> bytes:
        x = listing(n, self.night)
        return (f"<html><body><h1 class=title>{x['title']}</h1><span class=price>"
                f"{x['price']}</span><span class=seller>{x['seller']}</span><span class=location>{x['location']}"
                f"</span><p class=desc>{x['description']}</p></body></html>").encode()


def write_config(path: Path, base_url: str, item_pages: str) -> Path:
    config = {
        "brand": {"name": "Acme"},
        "products": [{"sku": "A-1", "names": {"en": "Acme Widget"},
                      "prices": [{"currency": "USD", "suggested": 100, "floor": 80}]}],
        "authorised_sellers": [{"name": "acme-official", "marketplace": "stages", "regions": ["CN-GD"],
                                "batch_prefixes": ["GD24"], "distributor": "South China Trading"}],
        "marketplaces": [{
            "name": "stages", "spider": "configured", "base_url": base_url,
            "start_urls": [f"{base_url}/search?page=1"], "currency": "USD", "item_pages": item_pages,
            "id_from_url": r"/item/(\d+)",
            "obey_robots": False, "autothrottle": False, "concurrency": 16, "max_pages": 10_000,
            "selectors": {"item": "li.card", "link": "a::attr(href)", "external_id": "::attr(data-id)",
                          "next_page": "a.next::attr(href)", "title": ".title::text", "price": ".price::text",
                          "seller": ".seller::text", "location": ".location::text", "description": ".desc::text"},
        }],
        "egress": {"allow_private_hosts": [urlsplit_netloc(base_url)]},
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def urlsplit_netloc(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def findings(settings: Any) -> dict[str, str]:
    with jobs.open_database(settings).read() as session:
        return {external_id: verdict.value for external_id, verdict in session.execute(
            select(Listing.external_id, Finding.verdict).join(Finding, Finding.listing_id == Listing.id))}


def night(shop: NightlyShop, settings: Any, config: Path, two_stage: bool) -> dict[str, Any]:
    shop.hits.clear()
    started = time.monotonic()
    if two_stage:
        jobs.crawl_and_match_night(settings, config)
    else:
        jobs.crawl_all(settings, config)
        jobs.match(settings, config)
    wall = time.monotonic() - started
    return {"requests": dict(shop.hits), "requests_per_listing": sum(shop.hits.values()) / shop.listings,
            "wall_s": round(wall, 1)}


def main(listings: int = 5000) -> dict[str, Any]:
    results: dict[str, Any] = {}
    verdicts: dict[str, list[dict[str, str]]] = {}
    with tempfile.TemporaryDirectory() as tmp, NightlyShop(listings) as shop:
        workdir = Path(tmp)
        setups = {}
        for name, mode in (("every_card", "all"), ("two_stage", "relevant")):
            config = write_config(workdir / f"{name}.yaml", shop.base_url, mode)
            setups[name] = (get_settings().model_copy(update={"db": f"sqlite:///{workdir / name}.db",
                                                              "config": config}), config)
            results[name] = {"requests_per_listing": [], "wall_s": [], "requests": []}
            verdicts[name] = []
        for night_number in (1, 2):
            shop.night = night_number
            # The two sides alternate within a night, so a busy moment on the shared machine hits both alike.
            for name, (settings, config) in setups.items():
                print(f"night {night_number}: {name} ...", file=sys.stderr, flush=True)
                measured = night(shop, settings, config, name == "two_stage")
                for key in ("requests_per_listing", "wall_s", "requests"):
                    results[name][key].append(measured[key])
                verdicts[name].append(findings(settings))
    results["listings"] = listings
    results["same_findings"] = verdicts["two_stage"] == verdicts["every_card"]
    if not results["same_findings"]:
        differ = {k: (v, verdicts["two_stage"][-1].get(k)) for k, v in verdicts["every_card"][-1].items()
                  if verdicts["two_stage"][-1].get(k) != v}
        results["differing_findings"] = dict(list(differ.items())[:20])
    suspects = Counter(v for v in verdicts["two_stage"][-1].values())
    results["verdicts"] = dict(sorted(suspects.items()))
    two, every = results["two_stage"], results["every_card"]
    for index in (0, 1):
        print(f"night {index + 1}: two stages {two['requests_per_listing'][index]:.3f} requests per listing "
              f"({two['wall_s'][index]:.0f} s), every card {every['requests_per_listing'][index]:.3f} "
              f"({every['wall_s'][index]:.0f} s); goals <= {(0.15, 0.05)[index]}")
    print(f"same findings: {results['same_findings']} ({results['verdicts']})")
    return results


if __name__ == "__main__":
    print(json.dumps(main(*[int(a) for a in sys.argv[1:2]]), indent=2, default=str))
