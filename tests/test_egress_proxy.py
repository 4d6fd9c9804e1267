"""The egress gate as the browser's proxy (core/egress_proxy.py), spoken to as Chromium speaks to a proxy."""

from __future__ import annotations

import base64
import http.client
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from core.egress import EgressPolicy, Proxy
from core.egress_proxy import EgressProxy
from tests.loopback import LoopbackServer, RecordingProxy, reply


@contextmanager
def gate(policy: EgressPolicy, upstream: Proxy | None = None) -> Iterator[tuple[EgressProxy, list[str]]]:
    refused: list[str] = []
    proxy = EgressProxy(policy, upstream, on_refused=lambda url, reason: refused.append(url)).start()
    try:
        yield proxy, refused
    finally:
        proxy.close()


def credentials(proxy: EgressProxy) -> str:
    """The Proxy-Authorization the crawl's own browser sends (Playwright answers the gate's 407 with it)."""
    browser = proxy.for_browser()
    return "Basic " + base64.b64encode(f"{browser['username']}:{browser['password']}".encode()).decode()


def get_through(proxy: EgressProxy, url: str, *, signed: bool = True) -> tuple[int, dict[str, str], bytes]:
    host, port = proxy.server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Proxy-Connection": "keep-alive", **({"Proxy-Authorization": credentials(proxy)} if signed else {})}
    try:
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def connect_through(proxy: EgressProxy, authority: str, *, signed: bool = True) -> bytes:
    host, port = proxy.server.removeprefix("http://").split(":")
    auth = f"Proxy-Authorization: {credentials(proxy)}\r\n" if signed else ""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n".encode())
        return sock.recv(4096)


def test_another_local_process_cannot_use_the_crawls_gate() -> None:
    """The gate listens on 127.0.0.1 for its crawl's browser alone: without the crawl's random credentials, no
    request or tunnel goes anywhere, not even to an allowed host."""
    with LoopbackServer({"/ok": reply(b"fine")}) as shop, \
            gate(EgressPolicy.from_hosts([shop.host_port])) as (proxy, _):
        status, headers, _ = get_through(proxy, shop.base_url + "/ok", signed=False)
        assert status == 407 and headers["proxy-authenticate"] == 'Basic realm="brandpatrol"'
        assert connect_through(proxy, shop.host_port, signed=False).startswith(b"HTTP/1.1 407")
        assert dict(shop.hits) == {}
        assert get_through(proxy, shop.base_url + "/ok")[0] == 200
        assert EgressProxy(EgressPolicy()).password != proxy.password  # a new secret for every crawl


def test_gate_proxy_forwards_allowed_and_refuses_another_port_of_the_same_host() -> None:
    with LoopbackServer({"/secret": reply(b"secret")}) as other, LoopbackServer({"/ok": reply(b"fine")}) as shop, \
            gate(EgressPolicy.from_hosts([shop.host_port])) as (proxy, refused):
        status, headers, body = get_through(proxy, shop.base_url + "/ok")
        assert (status, body) == (200, b"fine")
        assert headers["connection"] == "close"  # one request per connection: none can follow to another host
        status, _, body = get_through(proxy, other.base_url + "/secret")
        assert status == 403 and b"egress gate" in body
        assert connect_through(proxy, other.host_port).startswith(b"HTTP/1.1 403")
        assert connect_through(proxy, shop.host_port).startswith(b"HTTP/1.1 200")
        assert dict(other.hits) == {} and refused == [other.base_url + "/secret", f"https://{other.host_port}/"]


def test_gate_proxy_chains_to_the_marketplace_proxy_with_its_credentials() -> None:
    with RecordingProxy("bob", "hunter2") as upstream, LoopbackServer({"/ok": reply(b"fine")}) as shop, \
            gate(EgressPolicy.from_hosts([shop.host_port]), Proxy.from_url(upstream.url("bob", "hunter2"))) as (
                proxy, _):
        status, _, body = get_through(proxy, shop.base_url + "/ok")
        assert (status, body) == (200, b"fine")
        assert upstream.paths() == ["/ok"] and shop.direct_hits == {}
