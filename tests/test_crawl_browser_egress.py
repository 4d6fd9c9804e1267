"""The browser's way out (real Chromium): every connection a rendered page makes passes the egress gate, the hops
of a redirect included; WebSockets and service workers are refused outright. Each test is named after the attack
it stops, and the forbidden server is another port of the same loopback address, which the config never allows."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from brandpatrol import jobs
from core.models import Evidence, RunStatus
from core.settings import Settings
from tests.crawl_kit import JS, configured_shop, last_run, needs_chromium, ready_search, rendered, stored_ids
from tests.loopback import LoopbackServer, redirect_to, reply

pytestmark = [pytest.mark.timeout(300), pytest.mark.browser]

SECRET = "SECRET-of-the-other-service"


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    needs_chromium()


@pytest.fixture
def forbidden() -> Iterator[LoopbackServer]:
    """Another service on 127.0.0.1: only the shop's port is exempted in the config."""
    page = rendered(f"Acme widget {SECRET}")
    with LoopbackServer({"/item/a": reply(page), "/frame": reply(SECRET.encode()),
                         "/api": reply(SECRET.encode(), "text/plain")}) as server:
        yield server


def stored_evidence(settings: Settings) -> list[tuple[str | None, bytes]]:
    with jobs.open_database(settings).read() as session:
        rows = session.execute(select(Evidence.url, Evidence.encoding, Evidence.content)).all()
    return [(url, gzip.decompress(content) if encoding == "gzip" else content) for url, encoding, content in rows]


def test_browser_redirect_into_private_port_is_aborted(tmp_path: Path, forbidden: LoopbackServer) -> None:
    # Listing a redirects into the other port; listing b frames it, directly and through a redirect, and fetches
    # through a redirect: Playwright's routing sees none of the hops, the gate's proxy sees every one.
    through = (f"<iframe src='/frame-hop'></iframe><iframe src='{forbidden.base_url}/frame'></iframe>"
               "<script>fetch('/api-hop').then(r => r.text()).catch(() => 'refused')"
               ".then(t => { document.title = t; });</script>")
    routes = {"/search": reply(ready_search("a", "b")),
              "/item/a": redirect_to(forbidden.base_url + "/item/a"),
              "/item/b": reply(rendered("Acme widget b", through)),
              "/frame-hop": redirect_to(forbidden.base_url + "/frame"),
              "/api-hop": redirect_to(forbidden.base_url + "/api")}
    with configured_shop(tmp_path, routes, marketplace={**JS, "retries": 0}) as (shop, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert shop.hits["/item/a"] and shop.hits["/frame-hop"] and shop.hits["/api-hop"]  # the browser did try
    assert dict(forbidden.hits) == {}
    assert stored_ids(settings) == {"b"}, result.summary()
    for url, content in stored_evidence(settings):
        assert forbidden.host_port not in (url or "") and SECRET.encode() not in content
    assert last_run(settings).stats.get("brandpatrol/egress_blocked", 0) >= 3


def test_browser_websocket_and_service_worker_are_refused(tmp_path: Path) -> None:
    # Both to the shop's own, allowed, port: they are refused outright, not by address. The page says when its
    # attempt is over, so the listing is captured only after the browser has had its chance.
    websocket = ("<script>const ws = new WebSocket(`ws://${location.host}/ws`);"
                 "ws.onerror = ws.onclose = () => { document.body.dataset.tried = '1'; };</script>")
    worker = ("<script>(navigator.serviceWorker ? navigator.serviceWorker.register('/sw.js') : Promise.resolve())"
              ".catch(() => 0).then(() => { document.body.dataset.tried = '1'; });</script>")
    routes = {"/search": reply(ready_search("ws", "sw") + b"<script>document.body.dataset.tried='1'</script>"),
              "/item/ws": reply(rendered("Acme widget ws", websocket)),
              "/item/sw": reply(rendered("Acme widget sw", worker)),
              "/ws": reply(b"upgrade me"),
              "/sw.js": reply(b"self.addEventListener('fetch', () => {});", "application/javascript")}
    market = {**JS, "wait_for": "body[data-ready][data-tried]"}
    with configured_shop(tmp_path, routes, marketplace=market) as (shop, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
    assert result.status == RunStatus.OK, result.summary()
    assert stored_ids(settings) == {"ws", "sw"}
    assert shop.hits["/ws"] == 0 and shop.hits["/sw.js"] == 0
