"""A crawl process listens on no port. Scrapy would open two by default (its telnet console and, since 2.19, its
remote-control HTTP server, each a way into the running crawl); crawler/settings.py turns both off."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socket import SOCK_DGRAM

import psutil
import pytest
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list

from brandpatrol import jobs
from core.models import RunStatus
from core.settings import get_settings
from crawler import settings as project_settings
from tests.crawl_kit import configured_shop, item_page, scrapy_crawl, shop_routes
from tests.loopback import Route, reply

LISTENING_EXTENSIONS = {"scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl"}


def test_project_settings_turn_off_the_extensions_that_listen() -> None:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")  # as crawler.run and `scrapy crawl` load them
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    enabled = {str(component) for component in build_component_list(settings.getwithbase("EXTENSIONS"))}
    assert not enabled & LISTENING_EXTENSIONS, enabled


def slow(route: Route, seconds: float) -> Route:
    """The route, answered after `seconds`: the crawl is still running while its sockets are looked at."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        route(handler)

    return handle


def sockets_during(crawl: Callable[[], object], server_port: int) -> tuple[set[str], bool]:
    """Run `crawl` in a thread while looking at the sockets of every process this test started (the crawl process
    and anything it starts) every 50 ms. Returns the listening ones (TCP in LISTEN, UDP bound with no peer) and
    whether a connection from a crawl process to the shop was seen, which shows the look caught the crawl running.

    The shop's own socket is left out: a child holds it for the instant between fork and exec (Popen closes it).
    """
    listening: set[str] = set()
    saw_crawl = False
    ours = {conn.laddr for conn in psutil.Process().net_connections(kind="inet")}
    runner = threading.Thread(target=crawl)
    runner.start()
    while runner.is_alive():
        for proc in psutil.Process().children(recursive=True):
            try:
                connections = proc.net_connections(kind="inet")
                name = proc.name()
            except psutil.Error:
                continue  # exited meanwhile
            for conn in connections:
                if conn.laddr in ours:
                    continue
                if conn.status == psutil.CONN_LISTEN or (conn.type == SOCK_DGRAM and not conn.raddr):
                    listening.add(f"{name} (pid {proc.pid}) on {conn.laddr.ip}:{conn.laddr.port}")
                if conn.raddr and conn.raddr.port == server_port:
                    saw_crawl = True
        time.sleep(0.05)
    runner.join()
    return listening, saw_crawl


def slow_shop_routes() -> dict[str, Route]:
    routes = shop_routes("a", "b")
    for item in ("a", "b"):
        routes[f"/item/{item}"] = slow(reply(item_page(f"Acme widget {item}")), 1.5)
    return routes


BROWSER = pytest.param(True, marks=[pytest.mark.browser, pytest.mark.timeout(300)], id="browser")


@pytest.mark.parametrize("javascript", [pytest.param(False, id="plain"), BROWSER])
def test_a_crawl_opens_no_listening_socket(tmp_path: Path, javascript: bool) -> None:
    """A plain crawl, and a browser crawl (Playwright's driver and Chromium talk to the crawl over pipes)."""
    if javascript and get_settings().browser_executable() is None:
        pytest.skip("Chromium is not installed and could not be installed here (run tools/install-system-packages.sh)")
    results = []
    with configured_shop(tmp_path, slow_shop_routes(), marketplace={"javascript": javascript}) as (
            server, config, settings):
        port = int(server.host_port.rsplit(":", 1)[1])
        listening, saw_crawl = sockets_during(
            lambda: results.append(jobs.crawl_one(settings, config, "shop", timeout=240)), port)
    assert results and results[0].status == RunStatus.OK, results
    assert saw_crawl, "the crawl was never seen connected to the shop: nothing was checked"
    if javascript:
        # The browser's only way out is the crawl's egress gate, on 127.0.0.1 and answering only the crawl's own
        # credentials (tests/test_egress_proxy.py::test_another_local_process_cannot_use_the_crawls_gate).
        gates = {where for where in listening if where.startswith("python") and " on 127.0.0.1:" in where}
        assert len({where.split(" on ")[0] for where in gates}) <= 1, gates
        listening -= gates
    assert not listening, listening


def test_the_check_sees_a_listening_console(tmp_path: Path) -> None:
    """The same look at a crawl run with Scrapy's telnet console turned back on finds it: the check above can fail."""
    extensions = {**project_settings.EXTENSIONS, "scrapy.extensions.telnet.TelnetConsole": 0}
    with configured_shop(tmp_path, slow_shop_routes()) as (server, config, settings):
        port = int(server.host_port.rsplit(":", 1)[1])
        listening, saw_crawl = sockets_during(lambda: scrapy_crawl(
            settings, config, "shop", TELNETCONSOLE_ENABLED=True, EXTENSIONS=json.dumps(extensions)), port)
    assert saw_crawl
    assert any(":60" in where for where in listening), listening  # 127.0.0.1:6023 or the next free one up to 6073
