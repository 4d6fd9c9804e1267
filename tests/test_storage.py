from __future__ import annotations

import multiprocessing
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from core.db import Database, alembic_config
from core.models import Listing, ListingImage, Marketplace
from tests.storage_kit import write_listings


def test_sqlite_runs_in_wal_with_busy_timeout(db: Database) -> None:
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert int(session.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000
    assert {"listing", "finding", "review", "notice", "crawl_run", "alembic_version"} <= set(db.table_names())


def test_migration_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    Database(url).dispose()
    again = Database(url)
    with again.read() as session:
        head = ScriptDirectory.from_config(alembic_config(again.engine)).get_current_head()
        assert session.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_hash_roundtrip_high_bit(db: Database) -> None:
    with db.session() as session:
        market = Marketplace(name="m")
        session.add(market)
        session.flush()
        listing = Listing(marketplace_id=market.id, external_id="1", url="u", title="t")
        session.add(listing)
        session.flush()
        session.add(ListingImage(listing_id=listing.id, url="u", phash="ffffffffffffffff", dhash="8000000000000001"))
    with db.read() as session:
        image = session.scalars(select(ListingImage)).one()
        assert (image.phash, image.dhash) == ("ffffffffffffffff", "8000000000000001")


def test_writer_and_reader_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wr.db'}"
    db = Database(url)
    with db.session() as session:
        session.add(Marketplace(name="m"))
    context = multiprocessing.get_context("spawn")
    writer = context.Process(target=write_listings, args=(url, 20_000))
    writer.start()
    seen = 0
    while writer.is_alive():
        with db.read() as session:
            seen = session.scalar(select(Listing.id).order_by(Listing.id.desc()).limit(1)) or 0
    writer.join()
    assert writer.exitcode == 0
    with db.read() as session:
        assert session.scalar(text("SELECT count(*) FROM listing")) == 20_000
    assert seen <= 20_000
