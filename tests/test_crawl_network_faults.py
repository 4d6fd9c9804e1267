"""Network faults during a crawl, against a loopback server: retries, Retry-After, robots.txt, timeouts,
oversized and truncated responses. A failing site never loses or unflags what is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from brandpatrol import jobs
from core.models import CrawlRun, Listing, RunStatus
from core.settings import Settings
from tests.crawl_kit import configured_shop, item_page, shop_routes
from tests.loopback import drop_mid_body, never_answer, reply, sequence

pytestmark = pytest.mark.timeout(300)


def last_run(settings: Settings) -> CrawlRun:
    with jobs.open_database(settings).read() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        return run


def stored(settings: Settings) -> dict[str, Listing]:
    with jobs.open_database(settings).read() as session:
        return {row.external_id: row for row in session.scalars(select(Listing))}


def test_retry_then_success(tmp_path: Path) -> None:
    routes = shop_routes("a")
    routes["/item/a"] = sequence(reply(b"busy", status=503), reply(b"busy", status=503),
                                 reply(item_page("Acme widget a")))
    with configured_shop(tmp_path, routes) as (server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        assert server.hits["/item/a"] == 3
    run = last_run(settings)
    assert run.stats.get("retry/count") == 2
    assert "log_count/ERROR" not in run.stats
    assert set(stored(settings)) == {"a"}


def test_retry_exhausted_marks_partial_and_keeps_listings(tmp_path: Path) -> None:
    routes = shop_routes("a", "b")
    with configured_shop(tmp_path, routes, marketplace={"retries": 2}) as (server, config, settings):
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        server.routes["/item/b"] = reply(b"broken", status=500)
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.PARTIAL, result.summary()
        assert server.hits["/item/b"] == 1 + 3  # first crawl, then RETRY_TIMES + 1
    assert last_run(settings).stats.get("retry/max_reached") == 1
    listings = stored(settings)
    assert set(listings) == {"a", "b"} and not listings["b"].gone


def test_429_retry_after_respected(tmp_path: Path) -> None:
    routes = shop_routes("a")
    routes["/item/a"] = sequence(reply(b"slow down", status=429, headers={"Retry-After": "2"}),
                                 reply(item_page("Acme widget a")))
    with configured_shop(tmp_path, routes) as (server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        stats = last_run(settings).stats
        assert result.status == RunStatus.OK, (result.summary(), stats)
        first, second = server.hit_times["/item/a"]
        # The server's wish, not our timing: a lower bound that cannot flake.
        assert second - first >= 2.0, (server.hit_times, stats)
    assert stats.get("brandpatrol/politeness/retry_after") == 1, stats


def test_connection_dropped_mid_body_is_retried(tmp_path: Path) -> None:
    routes = shop_routes("a")
    routes["/item/a"] = sequence(drop_mid_body, reply(item_page("Acme widget a")))
    with configured_shop(tmp_path, routes) as (server, config, settings):
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        assert server.hits["/item/a"] == 2
    assert stored(settings)["a"].title == "Acme widget a"  # never the half page


def test_server_never_answers(tmp_path: Path) -> None:
    routes = {"/search": never_answer(30)}
    with configured_shop(tmp_path, routes, marketplace={"download_timeout_s": 1, "retries": 0}) as (
            _server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.FAILED
    run = last_run(settings)
    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert any("TimeoutError" in key for key in run.errors)


def test_oversized_response_cancelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPATROL_PAGE_MAX_BYTES", "50000")
    routes = shop_routes("a", "big")
    routes["/item/big"] = reply(item_page("Acme widget big " + "x" * 200_000))
    with configured_shop(tmp_path, routes, marketplace={"retries": 0}) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.PARTIAL, result.summary()  # honest: one page could not be had
    assert set(stored(settings)) == {"a"}
    assert last_run(settings).errors.get(
        "downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError") == 1


def test_robots_disallow_never_requested(tmp_path: Path) -> None:
    routes = shop_routes("a")
    routes["/robots.txt"] = reply(b"User-agent: *\nDisallow: /item\n", "text/plain")
    with configured_shop(tmp_path, routes) as (server, config, settings):
        jobs.crawl_one(settings, config, "shop")
        assert server.hits["/item/a"] == 0
    assert last_run(settings).stats.get("robotstxt/forbidden", 0) >= 1
    assert stored(settings) == {}


def test_robots_disregarded_only_when_configured(tmp_path: Path) -> None:
    routes = shop_routes("a")
    routes["/robots.txt"] = reply(b"User-agent: *\nDisallow: /\n", "text/plain")
    with configured_shop(tmp_path, routes, marketplace={"obey_robots": False}) as (server, config, settings):
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        assert server.hits["/robots.txt"] == 0 and server.hits["/item/a"] == 1


@pytest.mark.parametrize("robots", [reply(b"oops", status=500), reply(b"\x00\xff\xfe\x89PNG garbage", "text/plain"),
                                    reply(b"", "text/plain")])
def test_robots_garbage_policy_allows_all(tmp_path: Path, robots: object) -> None:
    routes = shop_routes("a")
    routes["/robots.txt"] = robots  # type: ignore[assignment]
    with configured_shop(tmp_path, routes) as (server, config, settings):
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        # Documented policy (Scrapy's): an unusable robots.txt allows everything.
        assert server.hits["/item/a"] == 1


def test_unseen_listings_marked_gone_after_n_complete_runs_never_deleted(tmp_path: Path) -> None:
    routes = shop_routes("a", "b")
    with configured_shop(tmp_path, routes, thresholds={"gone_after_runs": 2}) as (server, config, settings):
        jobs.crawl_one(settings, config, "shop")
        server.routes["/search"] = reply(b"<a class=item href='/item/a'>a</a>")
        jobs.crawl_one(settings, config, "shop")
        assert not stored(settings)["b"].gone and stored(settings)["b"].missed_runs == 1
        jobs.crawl_one(settings, config, "shop")
        gone = stored(settings)["b"]
        assert gone.gone and gone.gone_at is not None
        server.routes["/search"] = reply(b"<a class=item href='/item/a'>a</a><a class=item href='/item/b'>b</a>")
        jobs.crawl_one(settings, config, "shop")
        back = stored(settings)["b"]
        assert not back.gone and back.missed_runs == 0


def test_failed_crawl_marks_nothing_gone(tmp_path: Path) -> None:
    routes = shop_routes("a")
    with configured_shop(tmp_path, routes, thresholds={"gone_after_runs": 1},
                         marketplace={"retries": 0}) as (server, config, settings):
        jobs.crawl_one(settings, config, "shop")
        server.routes["/search"] = reply(b"down", status=500)
        for _ in range(2):
            assert jobs.crawl_one(settings, config, "shop").status == RunStatus.FAILED
    listing = stored(settings)["a"]
    assert not listing.gone and listing.missed_runs == 0
    assert json.dumps(last_run(settings).errors)  # errors recorded as JSON
