"""A configured marketplace served by a scriptable loopback server, for crawl fault tests (no tests here)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import select

from brandpatrol import jobs
from core.models import CrawlRun, Listing
from core.settings import Settings, get_settings
from tests.loopback import LoopbackServer, Route, reply

ROOT = Path(__file__).resolve().parent.parent
# Spiders that exist for tests only (tests/crawl_spiders.py), found by `scrapy crawl` with this module list.
TEST_SPIDER_MODULES = "crawler.spiders,tests.crawl_spiders"

SELECTORS = {
    "link": "a.item::attr(href)",
    "title": "h1::text",
    "price": ".price::text",
    "seller": ".seller::text",
    "location": ".loc::text",
    "image": "img::attr(src)",
}


def item_page(title: str, image: str | None = None, price: str = "$12.00") -> bytes:
    img = f"<img src='{image}'>" if image else ""
    return (f"<html><body><h1>{title}</h1><span class=price>{price}</span><span class=seller>s1</span>"
            f"<span class=loc>Located in Shenzhen, China</span>{img}</body></html>").encode()


def search_page(*item_ids: str) -> bytes:
    return "".join(f"<a class=item href='/item/{n}'>{n}</a>" for n in item_ids).encode()


# A marketplace rendered in Chromium, whose pages say when their data is in.
JS = {"javascript": True, "wait_for": "body[data-ready]"}


def rendered(title: str, extra: str = "") -> bytes:
    """A listing page whose data only exists after its script runs."""
    script = (f"document.body.insertAdjacentHTML('afterbegin', {item_page(title).decode()!r});"
              "document.body.dataset.ready='1';")
    return f"<html><body>{extra}<script>{script}</script></body></html>".encode()


def ready_search(*items: str) -> bytes:
    return search_page(*items) + b"<script>document.body.dataset.ready='1'</script>"


def needs_chromium() -> None:
    if get_settings().browser_executable() is None:
        pytest.skip("Chromium is not installed and could not be installed here (run tools/install-system-packages.sh)")


def shop_routes(*item_ids: str) -> dict[str, Route]:
    routes: dict[str, Route] = {"/search": reply(search_page(*item_ids))}
    for item in item_ids:
        routes[f"/item/{item}"] = reply(item_page(f"Acme widget {item}"))
    return routes


def write_config(path: Path, base_url: str, *, marketplace: dict[str, Any] | None = None,
                 thresholds: dict[str, Any] | None = None) -> Path:
    data: dict[str, Any] = {
        "brand": {"name": "Acme"},
        "products": [{"sku": "A-1", "names": {"en": "Acme Widget"},
                      "prices": [{"currency": "USD", "suggested": 100, "floor": 80}]}],
        "marketplaces": [{
            "name": "shop", "spider": "configured", "base_url": base_url, "start_urls": [base_url + "/search"],
            "currency": "USD", "id_from_url": r"/item/(\w+)", "selectors": SELECTORS, **(marketplace or {}),
        }],
        "egress": {"allow_private_hosts": [urlsplit(base_url).netloc]},
    }
    if thresholds:
        data["thresholds"] = thresholds
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@contextmanager
def configured_shop(tmp_path: Path, routes: dict[str, Route], **config: Any) -> Iterator[
        tuple[LoopbackServer, Path, Settings]]:
    with LoopbackServer(routes) as server:
        path = write_config(tmp_path / "brandpatrol.yaml", server.base_url, **config)
        settings = get_settings().model_copy(update={"db": f"sqlite:///{tmp_path / 'shop.db'}", "config": path})
        yield server, path, settings


def scrapy_crawl(settings: Settings, config: Path, marketplace: str, *, spider: str = "configured",
                 **scrapy_settings: object) -> None:
    """`scrapy crawl SPIDER -a marketplace=... -s NAME=VALUE` from the repository root, as an operator who wants a
    Scrapy setting the brand config does not offer would run it. The run it records is read with the database."""
    jobs.open_database(settings).dispose()  # migrated before the crawl, as `brandpatrol crawl` does
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"marketplace={marketplace}",
               "-a", f"config={config}", "-a", f"db={settings.db}"]
    for name, value in scrapy_settings.items():
        command += ["-s", f"{name}={value}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def last_run(settings: Settings) -> CrawlRun:
    with jobs.open_database(settings).read() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        return run


def stored_ids(settings: Settings) -> set[str]:
    with jobs.open_database(settings).read() as session:
        return set(session.scalars(select(Listing.external_id)))
