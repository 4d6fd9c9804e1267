"""A crawl killed with SIGKILL half way, started again, ends with the same listings as an uninterrupted
crawl, no duplicate rows, and does not fetch again what the killed crawl already stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import func, select

from brandpatrol import jobs
from core.models import CrawlRun, Listing, ListingSnapshot, RunStatus
from core.settings import Settings
from tests.crawl_kit import configured_shop, item_page, search_page
from tests.loopback import Route, reply

pytestmark = pytest.mark.timeout(300)
ITEMS = [f"i{n:02d}" for n in range(30)]


def slow(body: bytes, seconds: float) -> Route:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        reply(body)(handler)

    return handle


def routes() -> dict[str, Route]:
    table: dict[str, Route] = {"/search": reply(search_page(*ITEMS))}
    for item in ITEMS:
        table[f"/item/{item}"] = slow(item_page(f"Acme widget {item}", price=f"${int(item[1:]) + 10}.00"), 0.2)
    return table


def listings(settings: Settings) -> dict[str, tuple[str, str]]:
    with jobs.open_database(settings).read() as session:
        rows = session.execute(select(Listing.external_id, Listing.title, Listing.price)).all()
        assert len(rows) == session.scalar(select(func.count(func.distinct(Listing.external_id))))
        return {external_id: (title, str(price)) for external_id, title, price in rows}


def stored_count(settings: Settings) -> int:
    with jobs.open_database(settings).read() as session:
        return int(session.scalar(select(func.count()).select_from(Listing)) or 0)


def test_sigkill_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    market = {"concurrency": 1}
    with configured_shop(tmp_path / "a", routes(), marketplace=market) as (server, config, settings):
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        uninterrupted = listings(settings)
    assert len(uninterrupted) == len(ITEMS)

    with configured_shop(tmp_path / "b", routes(), marketplace=market) as (server, config, settings):
        jobs.open_database(settings).dispose()
        command = [sys.executable, "-m", "crawler.run", "--marketplace", "shop", "--config", str(config),
                   "--db", jobs.absolute_db_url(settings.db), "--log-level", "WARNING"]
        crawl = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while stored_count(settings) < 8 and crawl.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert crawl.poll() is None, "the crawl finished before it could be killed half way"
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.wait()
        captured = set(listings(settings))
        captured_before = len(captured)
        assert 8 <= captured_before < len(ITEMS)

        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        assert listings(settings) == uninterrupted
        # What the killed crawl stored is not fetched again; only what it had not stored yet is.
        assert all(server.hits[f"/item/{item}"] == 1 for item in captured)

        db = jobs.open_database(settings)
        with db.read() as session:
            killed, resumed = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
            assert killed.status == RunStatus.FAILED and "interrupted" in killed.errors
            assert resumed.resumed_from == killed.id
            assert resumed.stats.get("brandpatrol/resume/skipped") == captured_before
            # Every listing counts as seen by the resumed run, so none drifts towards "gone".
            assert session.scalar(select(func.count()).select_from(Listing)
                                  .where(Listing.last_run_id == resumed.id)) == len(ITEMS)
            assert session.scalar(select(func.count()).select_from(ListingSnapshot)) == len(ITEMS)
        integrity = db.engine.connect().exec_driver_sql("PRAGMA integrity_check").scalar()
        assert integrity == "ok"
