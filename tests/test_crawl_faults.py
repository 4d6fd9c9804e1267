"""Bad input during a crawl: corrupt, non-image and refused photos, hostile titles; nothing stored is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from brandpatrol import jobs
from core.models import ImageStatus, Listing, ListingImage, RunStatus
from core.settings import Settings
from tests.crawl_kit import configured_shop, item_page, search_page
from tests.images import jpeg, photo
from tests.loopback import LoopbackServer, reply

GOOD_PHOTO = jpeg(photo("coffee"))


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[LoopbackServer, Path, Settings]]:
    routes = {
        "/search": reply(search_page("good", "truncated", "html", "blocked", "hostile")),
        "/item/good": reply(item_page("Acme widget good", "/img/good.jpg")),
        "/item/truncated": reply(item_page("Acme widget truncated", "/img/truncated.jpg")),
        "/item/html": reply(item_page("Acme widget html", "/img/html.jpg")),
        "/item/blocked": reply(item_page("Acme widget blocked", "http://169.254.169.254/latest/meta-data/")),
        "/item/hostile": reply(item_page("&lt;img src=x onerror=alert(1)&gt;\u202e\u200b\x00" + "A" * 5000,
                                         "/img/good.jpg", "Call for price")),
        "/img/good.jpg": reply(GOOD_PHOTO, "image/jpeg"),
        "/img/truncated.jpg": reply(GOOD_PHOTO[: len(GOOD_PHOTO) // 2], "image/jpeg"),
        "/img/html.jpg": reply(b"<html><body>Not found</body></html>", "image/jpeg"),
    }
    with configured_shop(tmp_path, routes) as (server, config, settings):
        yield server, config, settings


def test_bad_photos_are_recorded_and_listings_kept(shop: tuple[LoopbackServer, Path, Settings]) -> None:
    server, config, settings = shop
    result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.OK, result.summary()
    db = jobs.open_database(settings)
    with db.read() as session:
        images = {img.listing.external_id: img for img in session.scalars(select(ListingImage))}
        assert images["good"].status == ImageStatus.OK and images["good"].phash
        assert images["truncated"].status == ImageStatus.CORRUPT and images["truncated"].phash is None
        assert images["html"].status == ImageStatus.NOT_IMAGE
        assert images["blocked"].status == ImageStatus.BLOCKED
        assert "non-public" in (images["blocked"].status_reason or "")
        hostile = session.scalars(select(Listing).where(Listing.external_id == "hostile")).one()
        assert hostile.title.startswith("<img src=x onerror=alert(1)>A") and "\u202e" not in hostile.title
        assert len(hostile.title) == 1000 and hostile.price is None
    assert server.hits["/latest/meta-data/"] == 0

    # The good photo breaks on the next crawl: its earlier hashes stay, the failure is noted.
    server.routes["/img/good.jpg"] = reply(b"garbage", "image/jpeg")
    assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
    with db.read() as session:
        good = session.scalars(select(ListingImage).join(Listing).where(Listing.external_id == "good")).one()
        assert good.status == ImageStatus.OK and good.phash
        assert "last fetch" in (good.status_reason or "")
