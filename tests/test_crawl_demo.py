"""The crawler against the real demo marketplace on 127.0.0.1: both shop styles, the second in Chromium."""

from __future__ import annotations

import io
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from sqlalchemy import func, select

from brandpatrol import jobs
from brandpatrol.demo import DemoServer, build_catalogue
from core.db import Database
from core.models import (
    SUSPECT_VERDICTS,
    CrawlRun,
    Evidence,
    Finding,
    ImageStatus,
    Listing,
    ListingImage,
    ListingSnapshot,
    RunStatus,
)
from core.settings import Settings, get_settings
from core.text import clean_text

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoServer, Path, Settings]]:
    workdir = tmp_path_factory.mktemp("demo")
    catalogue = build_catalogue()
    with DemoServer(catalogue) as server:
        config = catalogue.write_workspace(workdir, server.base_url)
        settings = get_settings().model_copy(update={"db": f"sqlite:///{workdir / 'crawl.db'}", "config": config})
        yield server, config, settings


def _count(db: Database, *where: object) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Listing).where(*where)) or 0)


def test_server_rendered_shop_crawled_completely(demo: tuple[DemoServer, Path, Settings]) -> None:
    server, config, settings = demo
    result = jobs.crawl_one(settings, config, "demo-shop")
    assert result.status == RunStatus.OK, result.summary()
    db = jobs.open_database(settings)
    expected = {x.external_id for x in build_catalogue().listings if x.marketplace == "demo-shop"}
    with db.read() as session:
        stored = set(session.scalars(select(Listing.external_id).where(Listing.marketplace.has(name="demo-shop"))))
        assert stored == expected
        sample = session.scalars(select(Listing).where(Listing.marketplace.has(name="demo-shop"))).first()
        assert sample is not None and sample.price is not None and sample.currency == "CNY"
        descriptions = dict(session.execute(select(Listing.external_id, Listing.description)
                                            .where(Listing.marketplace.has(name="demo-shop"))).all())
        truth = {x.external_id: x.description for x in build_catalogue().listings if x.marketplace == "demo-shop"}
        assert descriptions == {i: clean_text(text) or None for i, text in truth.items()}
        assert session.scalar(select(func.count()).select_from(ListingImage)
                              .where(ListingImage.status == ImageStatus.OK, ListingImage.thumbnail.is_not(None))) > 0
        assert session.scalar(select(func.count()).select_from(ListingSnapshot)
                              .where(ListingSnapshot.html_sha256.is_not(None))) >= len(expected)
    assert server.hits["/robots.txt"] >= 1

    # A second crawl updates the same rows: no duplicates, a second snapshot per listing.
    again = jobs.crawl_one(settings, config, "demo-shop")
    assert again.status == RunStatus.OK
    assert _count(db, Listing.marketplace.has(name="demo-shop")) == len(expected)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ListingSnapshot)) == 2 * len(expected)


@pytest.mark.browser
def test_javascript_shop_crawled_in_chromium(demo: tuple[DemoServer, Path, Settings]) -> None:
    server, config, settings = demo
    if settings.browser_executable() is None and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed and could not be installed here (run tools/install-system-packages.sh)")
    result = jobs.crawl_one(settings, config, "demo-js")
    assert result.status == RunStatus.OK, result.summary()
    db = jobs.open_database(settings)
    js_listings = [x for x in build_catalogue().listings if x.marketplace == "demo-js"]
    expected = {x.external_id for x in js_listings}
    with db.read() as session:
        stored = set(session.scalars(select(Listing.external_id).where(Listing.marketplace.has(name="demo-js"))))
        assert stored == expected
        shots = session.scalar(
            select(func.count()).select_from(ListingSnapshot).join(Listing)
            .where(Listing.marketplace.has(name="demo-js"), ListingSnapshot.screenshot_sha256.is_not(None)))
        assert shots == len(expected)
        shot = session.scalars(select(Evidence).where(Evidence.kind == "screenshot")).first()
        assert shot is not None and shot.media_type == "image/jpeg" and shot.encoding == "identity"
        shot_bytes = shot.content
    # The evidence screenshot is the rendered viewport, a picture with something on it.
    picture = Image.open(io.BytesIO(shot_bytes))
    assert picture.format == "JPEG" and picture.size == (1280, 720)
    assert np.asarray(picture.convert("L")).std() > 5
    # The shell carries no data: listings could only come from the browser running the shop's script.
    assert server.hits["/api/search"] >= 1 and server.hits["/static/app.js"] >= 1
    # The browser fetched no photo itself; the pipeline did, through the egress gate.
    photo_hits = [server.hits[f"/img/{name}.jpg"] for x in js_listings for name in x.image_names]
    assert photo_hits and all(count == 1 for count in photo_hits)


def test_unreachable_marketplace_fails_clearly_and_loses_nothing(demo: tuple[DemoServer, Path, Settings],
                                                                  tmp_path: Path) -> None:
    server, config, settings = demo
    jobs.crawl_one(settings, config, "demo-shop")
    db = jobs.open_database(settings)
    before = _count(db, Listing.marketplace.has(name="demo-shop"), Listing.gone.is_(False))
    assert before > 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    broken = tmp_path / "brandpatrol.yaml"
    broken.write_text(config.read_text(encoding="utf-8").replace(server.base_url, f"http://127.0.0.1:{closed_port}"),
                      encoding="utf-8")
    (tmp_path / "references").symlink_to(config.parent / "references")
    (tmp_path / "codes.csv").symlink_to(config.parent / "codes.csv")
    result = jobs.crawl_one(settings, broken, "demo-shop")
    assert result.status == RunStatus.FAILED
    assert "check the marketplace's base_url" in result.summary()
    assert _count(db, Listing.marketplace.has(name="demo-shop"), Listing.gone.is_(False)) == before
    with db.read() as session:
        last = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert last is not None and last.status == RunStatus.FAILED and last.pages == 0


def _with_configured_marketplace(config: Path, base_url: str, target: Path) -> Path:
    """The demo's config plus a marketplace described only by selectors (the generic spider)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["marketplaces"].append({
        "name": "demo-configured",
        "spider": "configured",
        "base_url": base_url,
        "search_url": base_url + "/js/search?q={query}&page={page}",
        "search_terms": ["Lumina"],
        "javascript": True,
        "wait_for": "body[data-ready]",
        "currency": "CNY",
        "id_from_url": r"/item/([A-Za-z0-9_-]+)",
        "selectors": {
            "item": "li.card",
            "link": "a.card-link::attr(href)",
            "next_page": "a.next::attr(href)",
            "title": "h1.item-title::text",
            "price": ".item-price::text",
            "seller": "a.shop-name::text",
            "seller_id": "xpath://a[contains(@class, 'shop-name')]/@data-shop-id",
            "location": ".ship-from::text",
            "image": ".gallery img::attr(src)",
            "description": ".item-desc",
        },
    })
    # The brand's distribution contracts on the JavaScript shop hold on the configured view of it too.
    data["authorised_sellers"] += [{**seller, "marketplace": "demo-configured"}
                                   for seller in data["authorised_sellers"] if seller["marketplace"] == "demo-js"]
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


@pytest.mark.browser
def test_marketplace_described_only_in_yaml(demo: tuple[DemoServer, Path, Settings]) -> None:
    server, config, settings = demo
    configured = _with_configured_marketplace(config, server.base_url, config.parent / "configured.yaml")
    result = jobs.crawl_one(settings, configured, "demo-configured")
    assert result.status == RunStatus.OK, result.summary()
    db = jobs.open_database(settings)
    truth = {x.external_id: x for x in build_catalogue().listings if x.marketplace == "demo-js"}
    with db.read() as session:
        rows = session.scalars(select(Listing).where(Listing.marketplace.has(name="demo-configured"))).all()
        assert {row.external_id for row in rows} == set(truth)
        for row in rows:
            assert row.price == truth[row.external_id].price
            assert row.seller is not None and row.seller.external_id == truth[row.external_id].seller_id
            # The page's free text is crawled as the description: contact details hide there.
            assert row.description == clean_text(truth[row.external_id].description)

    # Flagged like any other marketplace: the same listings get the verdicts their labels call for.
    jobs.match(settings, configured)
    with db.read() as session:
        verdicts = dict(session.execute(
            select(Listing.external_id, Finding.verdict).join(Finding, Finding.listing_id == Listing.id)
            .where(Listing.marketplace.has(name="demo-configured"))).all())
    suspects = {i for i, x in truth.items() if x.label in ("counterfeit", "diversion")}
    flagged = {i for i, verdict in verdicts.items() if verdict in SUSPECT_VERDICTS}
    assert len(flagged & suspects) >= 0.9 * len(suspects)
    assert len(flagged - suspects) <= 0.05 * len(flagged)
