"""A marketplace's `proxy` carries every fetch of its crawl (robots.txt, pages, photos, the browser's every
request) with its credentials, and the credentials appear in no log line and no run record. The proxy is a real
forwarding proxy on 127.0.0.1 that asks for credentials with 407 and marks what it forwards; the shop counts what
reached it without passing the proxy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from brandpatrol import jobs
from core.settings import Settings
from tests.crawl_kit import (
    JS,
    ROOT,
    configured_shop,
    item_page,
    last_run,
    needs_chromium,
    ready_search,
    rendered,
    search_page,
    stored_ids,
)
from tests.images import photo, png
from tests.loopback import RecordingProxy, reply

pytestmark = pytest.mark.timeout(300)

USER, PASSWORD = "crawler", "pa55-hunter2-secret"


def crawl_logged(settings: Settings, config: Path, marketplace: str) -> str:
    """`python -m crawler.run` at DEBUG, as an operator chasing a problem would run it; its whole log."""
    jobs.open_database(settings).dispose()
    done = subprocess.run([sys.executable, "-m", "crawler.run", "--marketplace", marketplace, "--config", str(config),
                           "--db", settings.db, "--log-level", "DEBUG"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    return done.stdout + done.stderr


def assert_secret_kept(log: str, settings: Settings) -> None:
    run = last_run(settings)
    for text in (log, json.dumps(run.stats, default=str), json.dumps(run.errors, default=str)):
        assert PASSWORD not in text


def test_robots_and_photos_do_not_bypass_the_marketplace_proxy(tmp_path: Path) -> None:
    routes = {"/robots.txt": reply(b"User-agent: *\nAllow: /\n", "text/plain"),
              "/search": reply(search_page("a")),
              "/item/a": reply(item_page("Acme widget a", image="/x.png")),
              "/x.png": reply(png(photo()), "image/png")}
    with RecordingProxy(USER, PASSWORD) as proxy, \
            configured_shop(tmp_path, routes, marketplace={"proxy": proxy.url(USER, PASSWORD)}) as (
                shop, config, settings):
        log = crawl_logged(settings, config, "shop")
    assert stored_ids(settings) == {"a"}, log[-3000:]
    assert sorted(proxy.paths()) == ["/item/a", "/robots.txt", "/search", "/x.png"]
    assert dict(shop.direct_hits) == {}
    assert_secret_kept(log, settings)


@pytest.mark.browser
def test_browser_does_not_bypass_the_marketplace_proxy(tmp_path: Path) -> None:
    needs_chromium()
    routes = {"/robots.txt": reply(b"User-agent: *\nAllow: /\n", "text/plain"),
              "/search": reply(ready_search("a")),
              "/item/a": reply(rendered("Acme widget a"))}
    with RecordingProxy(USER, PASSWORD) as proxy, \
            configured_shop(tmp_path, routes, marketplace={**JS, "proxy": proxy.url(USER, PASSWORD)}) as (
                shop, config, settings):
        log = crawl_logged(settings, config, "shop")
    assert stored_ids(settings) == {"a"}, log[-3000:]
    assert {"/robots.txt", "/search", "/item/a"} <= set(proxy.paths())
    assert proxy.paths(authorised=False) == []
    assert dict(shop.direct_hits) == {}
    assert_secret_kept(log, settings)


def test_missing_chromium_says_the_browser_is_missing_and_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-chromium"
    monkeypatch.setenv("BRANDPATROL_CHROMIUM_PATH", str(missing))
    with configured_shop(tmp_path, {"/search": reply(ready_search("a"))}, marketplace=JS) as (shop, config, settings):
        with pytest.raises(jobs.JobError) as caught:
            jobs.crawl_one(settings, config, "shop")
    message = str(caught.value)
    assert "browser is missing" in message and str(missing) in message
    assert "apt-get install chromium" in message and "BRANDPATROL_CHROMIUM_PATH" in message
    assert "base_url" not in message
    assert sum(shop.hits.values()) == 0
