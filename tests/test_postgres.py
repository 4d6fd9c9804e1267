"""The team database: the same migrations, storage, crawl and matching on a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from brandpatrol import jobs
from brandpatrol.demo import DemoServer, build_catalogue
from core.db import Database, alembic_config
from core.models import Listing, ListingImage, Marketplace, RunStatus
from core.settings import get_settings

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]


def test_migrations_and_hash_roundtrip_high_bit(postgres_url: str) -> None:
    db = Database(postgres_url)
    with db.session() as session:
        market = Marketplace(name="m")
        session.add(market)
        session.flush()
        listing = Listing(marketplace_id=market.id, external_id="1", url="u", title="标题")
        session.add(listing)
        session.flush()
        session.add(ListingImage(listing_id=listing.id, url="u", phash="ffffffffffffffff", dhash="8000000000000001"))
    with db.read() as session:
        head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
        assert session.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        image = session.scalars(select(ListingImage)).one()
        assert (image.phash, image.dhash) == ("ffffffffffffffff", "8000000000000001")
    Database(postgres_url).dispose()  # migrating again changes nothing
    db.dispose()


def test_demo_crawl_and_matching_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    catalogue = build_catalogue()
    with DemoServer(catalogue) as server:
        config = catalogue.write_workspace(tmp_path, server.base_url)
        settings = get_settings().model_copy(update={"db": postgres_url, "config": config})
        result = jobs.crawl_one(settings, config, "demo-shop")
        assert result.status == RunStatus.OK, result.summary()
        assert jobs.crawl_one(settings, config, "demo-shop").status == RunStatus.OK  # upserts, no duplicates
    jobs.match(settings, config)
    report = jobs.evaluate(settings, tmp_path / "labels.csv")
    db = jobs.open_database(settings)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Listing)) == 50
    # Only demo-shop was crawled: its half of the labels is what the flags can be judged on.
    assert report["precision"] >= 0.9
    assert report["true_positives"] >= 18
