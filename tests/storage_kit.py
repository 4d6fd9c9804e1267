"""Helpers for the storage tests (no tests here): writers and readers that run in processes of their own, through
the product's own sessions, so SQLite's locking is exercised between real connections of real processes."""

from __future__ import annotations

from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

from sqlalchemy import select

from core.db import Database
from core.models import Listing, Marketplace


def write_listings(url: str, rows: int, batch: int = 500, description: str | None = None) -> None:
    """Insert `rows` listings of the database's first marketplace, one commit per `batch`."""
    database = Database(url, migrate_schema=False)
    with database.session() as session:
        market_id = session.scalar(select(Marketplace.id))
    for start in range(0, rows, batch):
        with database.session() as session:
            session.add_all(Listing(marketplace_id=market_id, external_id=f"w{i}", url="u", title="t",
                                    description=description)
                            for i in range(start, min(start + batch, rows)))
    database.dispose()


def read_in_short_transactions(url: str, stop: Event, loops: Synchronized[int], newest_seen: Synchronized[int]) -> None:
    """Until `stop`, open a read transaction, read the newest listing id, close it; count the loops."""
    database = Database(url, migrate_schema=False)
    while not stop.is_set():
        with database.read() as session:
            newest = session.scalar(select(Listing.id).order_by(Listing.id.desc()).limit(1)) or 0
        newest_seen.value = max(newest_seen.value, newest)
        loops.value += 1
    database.dispose()


def wal_size(database_file: Path) -> int:
    """Bytes in the database's write-ahead log (0 when there is none)."""
    try:
        return Path(f"{database_file}-wal").stat().st_size
    except FileNotFoundError:
        return 0
