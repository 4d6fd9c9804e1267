"""Pages that block us are not empty results (issue #12): a captcha or a sign-in wall where results were expected,
or search pages suddenly emptied, make the run blocked: the page is kept as evidence, no listing is marked gone
because of it, the crawl stops asking, and the alert says which marketplace and since when."""

from __future__ import annotations

import gzip
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import select

from brandpatrol import alerts, jobs, scheduler
from core.config import ConfigError, load_config
from core.models import CrawlRun, Evidence, Listing, RunStatus, utcnow
from core.operations import blocked_since
from core.settings import Settings
from crawler.storage import proxy_in_turn
from tests.crawl_kit import configured_shop, item_page, search_page, shop_routes
from tests.loopback import RecordingProxy, Route, reply

SLIDER = ("<html><body><div id='nc_1_wrapper'><span id='nc_1_n1z' class='btn_slide'></span></div>"
          "<p>请拖动下方滑块完成验证</p></body></html>").encode()


def _runs(settings: Settings) -> list[CrawlRun]:
    with jobs.open_database(settings).read() as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def _live(settings: Settings) -> set[str]:
    with jobs.open_database(settings).read() as session:
        return set(session.scalars(select(Listing.external_id).where(Listing.gone.is_(False))))


def test_a_slider_captcha_blocks_the_run_keeps_the_page_and_marks_nothing_gone(tmp_path: Path) -> None:
    routes = shop_routes("a", "b", "c")
    with configured_shop(tmp_path, routes, thresholds={"gone_after_runs": 1}) as (server, config, settings):
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        assert _live(settings) == {"a", "b", "c"}
        server.routes["/search"] = reply(SLIDER)  # the marketplace now answers with its slider
        for _night in range(2):
            result = jobs.crawl_one(settings, config, "shop")
            assert result.status == RunStatus.BLOCKED, result.summary()
            assert "Alibaba's slider captcha at http://127.0.0.1" in result.summary()
        assert _live(settings) == {"a", "b", "c"}  # gone_after_runs is 1, yet nothing is gone
        first_ok, blocked, last = _runs(settings)
        assert last.status == RunStatus.BLOCKED and last.errors["blocked"].startswith("Alibaba's slider captcha")
        with jobs.open_database(settings).read() as session:
            kept = session.get(Evidence, last.stats["brandpatrol/blocked_evidence"])
            assert kept is not None and gzip.decompress(kept.content) == SLIDER
        since = blocked_since(jobs.open_database(settings), "shop")
        assert since is not None and since.replace(tzinfo=None) == blocked.started_at.replace(tzinfo=None)
        # The alert names the marketplace, what refused us and since when.
        outcome = scheduler.CrawlOutcome("shop", RunStatus.BLOCKED.value, 0,
                                         scheduler.failure_reason(jobs.CrawlResult(
                                             "shop", RunStatus.BLOCKED, last.pages, last.items, 1.0, last.errors,
                                             "")))
        reason = scheduler._with_since(jobs.open_database(settings), outcome)
        alert = alerts.failure_alert(load_config(config), [alerts.FailedCrawl("shop", "blocked", reason)], 1)
        assert alert is not None and "shop: blocked — blocked: Alibaba's slider captcha" in alert.body
        assert f"blocked since {since:%Y-%m-%d %H:%M} UTC" in alert.body
        # Back to normal: the next run is complete again and the streak ends.
        server.routes["/search"] = reply(search_page("a", "b", "c"))
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        assert blocked_since(jobs.open_database(settings), "shop") is None
        assert first_ok.status == RunStatus.OK


def test_a_sign_in_wall_on_a_listing_page_blocks_the_run(tmp_path: Path) -> None:
    routes = shop_routes("a", "b")
    routes["/member/login.jhtml"] = reply(b"<html></html>")
    routes["/item/b"] = reply(b"", status=302, headers={"Location": "/member/login.jhtml?redirect=/item/b"})
    with configured_shop(tmp_path, routes) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.BLOCKED, result.summary()
        assert "a sign-in page" in result.errors["blocked"]


def test_search_pages_suddenly_emptied_make_the_run_blocked(tmp_path: Path) -> None:
    ids = [f"i{n}" for n in range(12)]
    routes = {f"/search/{p}": reply(search_page(*ids[p * 4:(p + 1) * 4])) for p in range(3)}
    routes.update({f"/item/{i}": reply(item_page(f"Acme widget {i}")) for i in ids})
    market = {"start_urls": []}
    with configured_shop(tmp_path, routes, marketplace=market) as (server, config, settings):
        text = config.read_text(encoding="utf-8").replace(
            "start_urls: []", "start_urls: [" + ", ".join(f"'{server.base_url}/search/{p}'" for p in range(3)) + "]")
        config.write_text(text, encoding="utf-8")
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK
        assert _runs(settings)[-1].stats["brandpatrol/cards_per_search_page"] == 4
        # One card a page where there were four: the marketplace is hiding results, page by page.
        for page in range(3):
            server.routes[f"/search/{page}"] = reply(search_page(f"i{page * 4}"))
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.BLOCKED, result.summary()
        assert result.errors["blocked"] == "listings per search page fell from 4.0 (last complete run) to 1.0"
        assert len(_live(settings)) == 12
        # A search page with no results at all, where results are usual, is a refusal on its own.
        server.routes["/search/0"] = reply(b"<html><body>no results</body></html>")
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.BLOCKED and "no search results" in result.errors["blocked"]


def test_no_results_on_a_first_crawl_is_no_block(tmp_path: Path) -> None:
    routes = {"/search": reply(b"<html><body>no results</body></html>")}
    with configured_shop(tmp_path, routes) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status != RunStatus.BLOCKED, result.summary()


def _signed_in_only(body: bytes) -> Route:
    """A page only a signed-in visitor sees; anyone else is sent to sign in."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        if "session=abc123" in (handler.headers.get("Cookie") or ""):
            reply(body)(handler)
        else:
            reply(b"", status=302, headers={"Location": "/member/login.jhtml?redirect=/"})(handler)
    return handle


def test_a_cookie_file_exported_after_signing_in_by_hand_lets_the_crawl_through(tmp_path: Path) -> None:
    routes = shop_routes("a", "b")
    routes = {path: _signed_in_only(search_page("a", "b") if path == "/search" else item_page(f"Acme widget {path}"))
              for path in routes}
    routes["/member/login.jhtml"] = reply(b"<html><form><input type=password></form></html>")
    with configured_shop(tmp_path, routes) as (_server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.BLOCKED and "a sign-in page" in result.errors["blocked"]
        (tmp_path / "cookies.txt").write_text("# Netscape HTTP Cookie File\n"
                                              "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc123\n", encoding="utf-8")
        config.write_text(config.read_text(encoding="utf-8").replace(
            "  name: shop\n", "  name: shop\n  cookie_file: cookies.txt\n"), encoding="utf-8")
        assert load_config(config).cookies_of("shop")[0].value == "abc123"
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        assert _live(settings) == {"a", "b"}


def test_a_bad_cookie_file_is_named_by_check_config(tmp_path: Path) -> None:
    with configured_shop(tmp_path, shop_routes("a")) as (_server, config, _settings):
        (tmp_path / "cookies.txt").write_text("127.0.0.1\tFALSE\t/\n", encoding="utf-8")
        config.write_text(config.read_text(encoding="utf-8").replace(
            "  name: shop\n", "  name: shop\n  cookie_file: cookies.txt\n"), encoding="utf-8")
        with pytest.raises(ConfigError) as raised:
            load_config(config)
        message = str(raised.value)
        assert "marketplaces.0.cookie_file (line" in message and "cookies.txt line 1" in message
        assert "export its cookies again" in message


def test_proxies_are_used_in_turn_and_one_that_was_blocked_rests(tmp_path: Path) -> None:
    routes = shop_routes("a", "b")
    with RecordingProxy("u", "p1") as first, RecordingProxy("u", "p2") as second, RecordingProxy("u", "p3") as third:
        proxies = [first.url("u", "p1"), second.url("u", "p2"), third.url("u", "p3")]
        with configured_shop(tmp_path, routes, marketplace={"proxies": proxies, "proxy_backoff_minutes": 60}) as (
                server, config, settings):
            def night() -> tuple[RunStatus, list[int]]:
                before = [len(p.requests) for p in (first, second, third)]
                status = jobs.crawl_one(settings, config, "shop").status
                return status, [len(p.requests) - b for p, b in zip((first, second, third), before, strict=True)]

            status, used = night()
            assert status == RunStatus.OK and used[0] > 0 and used[1:] == [0, 0]  # the first proxy
            server.routes["/search"] = reply(SLIDER)
            status, used = night()
            assert status == RunStatus.BLOCKED and used[1] > 0 and used[0] == used[2] == 0  # then the second: blocked
            server.routes["/search"] = reply(search_page("a", "b"))
            status, used = night()
            assert status == RunStatus.OK and used[2] > 0 and used[:2] == [0, 0]  # the third
            status, used = night()
            assert used[0] > 0 and used[1:] == [0, 0]  # the first again: the second rests for an hour
            status, used = night()
            assert used[2] > 0 and used[:2] == [0, 0]  # still resting
            db = jobs.open_database(settings)
            later = utcnow() + timedelta(minutes=61)
            assert proxy_in_turn(db, "shop", 3, timedelta(minutes=60), later) == 0
            assert proxy_in_turn(db, "shop", 3, timedelta(minutes=60)) == 0


def test_proxy_and_proxies_together_are_refused(tmp_path: Path) -> None:
    with configured_shop(tmp_path, shop_routes("a")) as (_server, config, _settings):
        config.write_text(config.read_text(encoding="utf-8").replace(
            "  name: shop\n", "  name: shop\n  proxy: http://127.0.0.1:9\n  proxies: ['http://127.0.0.1:8']\n"),
            encoding="utf-8")
        with pytest.raises(ConfigError, match=r"give either proxy \(one\) or proxies"):
            load_config(config)
