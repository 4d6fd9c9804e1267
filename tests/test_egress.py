from __future__ import annotations

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from core.config import ConfigError, parse_config
from core.egress import EgressBlocked, EgressPolicy, FetchFailed, Proxy, check_url, fetch
from tests.loopback import LoopbackServer, RecordingProxy, Route, redirect_to, reply

BLOCKED = [
    "file:///etc/passwd",
    "ftp://example.com/x",
    "data:text/plain,hello",
    "http://127.0.0.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://10.1.2.3/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://localhost\\@example.com/",
    "http://user@example.com/",
    "http://[fe80::1]/",
]


@pytest.mark.parametrize("url", BLOCKED)
def test_image_url_blocklist(url: str) -> None:
    with pytest.raises(EgressBlocked) as caught:
        check_url(url, EgressPolicy(resolver=lambda host, port: ["127.0.0.1"]))
    assert caught.value.reason


def test_public_address_passes() -> None:
    checked = check_url("https://shop.example/a.jpg", EgressPolicy(resolver=lambda h, p: ["93.184.216.34"]))
    assert checked.addresses == ("93.184.216.34",) and checked.port == 443


def test_mixed_records_refused() -> None:
    policy = EgressPolicy(resolver=lambda h, p: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(EgressBlocked, match=r"non-public address 10\.0\.0\.7"):
        check_url("http://mixed.example/", policy)


def test_dns_rebinding_rechecked_at_fetch() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    policy = EgressPolicy(resolver=lambda h, p: next(answers))
    check_url("http://rebind.example/x.jpg", policy)  # public at validation
    with pytest.raises(EgressBlocked, match="non-public"):
        fetch("http://rebind.example/x.jpg", policy, max_bytes=1000)  # private at fetch: refused


def test_allowed_host_fetches_and_redirect_to_private_is_blocked() -> None:
    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", f"http://localhost:{handler.server.server_address[1]}/secret")
        handler.end_headers()

    with LoopbackServer({"/ok": reply(b"fine"), "/redirect": redirect, "/secret": reply(b"secret")}) as server:
        policy = EgressPolicy.from_hosts([server.host_port])
        assert fetch(server.base_url + "/ok", policy, max_bytes=100).body == b"fine"
        with pytest.raises(EgressBlocked, match="localhost"):
            fetch(server.base_url + "/redirect", policy, max_bytes=100)
        assert server.hits["/secret"] == 0
        # Without the operator's allow-list even the first hop is refused.
        with pytest.raises(EgressBlocked):
            fetch(server.base_url + "/ok", EgressPolicy(), max_bytes=100)
        assert server.hits["/ok"] == 1


def test_size_cap_and_lying_content_length() -> None:
    def liar(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "5000")
        handler.end_headers()
        handler.wfile.write(b"x" * 100)

    with LoopbackServer({"/big": reply(b"x" * 5000), "/liar": liar}) as server:
        policy = EgressPolicy.from_hosts([server.host_port])
        with pytest.raises(FetchFailed, match="cap"):
            fetch(server.base_url + "/big", policy, max_bytes=1000)
        with pytest.raises(FetchFailed, match=r"dropped|IncompleteRead"):
            fetch(server.base_url + "/liar", policy, max_bytes=10_000)


def test_server_that_never_answers_times_out() -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(5)

    with LoopbackServer({"/stall": stall}) as server:
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="time"):
            fetch(server.base_url + "/stall", EgressPolicy.from_hosts([server.host_port]), max_bytes=100, timeout=0.5)
        assert time.monotonic() - started < 4


def test_exemption_for_one_port_does_not_let_a_redirect_reach_another_port() -> None:
    with LoopbackServer({"/secret": reply(b"secret")}) as other, \
            LoopbackServer({"/ok": reply(b"fine"), "/hop": redirect_to(other.base_url + "/secret")}) as allowed:
        policy = EgressPolicy.from_hosts([allowed.host_port])
        assert fetch(allowed.base_url + "/ok", policy, max_bytes=100).body == b"fine"
        with pytest.raises(EgressBlocked, match="non-public"):
            fetch(allowed.base_url + "/hop", policy, max_bytes=100)
        assert sum(other.hits.values()) == 0


@pytest.mark.parametrize("entry", ["127.0.0.1", "localhost", "::1", "127.0.0.1:0"])
def test_bare_host_exemption_is_a_config_error_naming_the_entry_and_the_fix(entry: str) -> None:
    with pytest.raises(ValueError, match="must name a host and its port"):
        EgressPolicy.from_hosts([entry])
    text = yaml.safe_dump({"brand": {"name": "Acme"}, "products": [{"sku": "A", "names": {"en": "A"}}],
                           "marketplaces": [], "egress": {"allow_private_hosts": [entry]}})
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    [problem] = [p for p in caught.value.problems if "allow_private_hosts" in p]
    assert f"'{entry}'" in problem and ":8080'" in problem


def trickle(where: str, closed: threading.Event) -> Route:
    """Status line, then the headers or the body one byte a second: every read gets a byte within any timeout."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 60\r\n"
        sent = head if where == "body" else head[:17]
        try:
            handler.wfile.write(sent + (b"\r\n" if where == "body" else b""))
            handler.wfile.flush()
            for _ in range(60):
                time.sleep(1)
                handler.wfile.write(b"x" if where == "body" else b"X-Slow: 1\r\n"[:1])
                handler.wfile.flush()
        except OSError:
            closed.set()  # the client hung up

    return handle


@pytest.mark.parametrize("where", ["headers", "body"])
def test_server_trickling_a_byte_a_second_is_cut_at_the_timeout(where: str) -> None:
    closed = threading.Event()
    with LoopbackServer({"/slow.png": trickle(where, closed)}) as server:
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="timed out after 2 s"):
            fetch(server.base_url + "/slow.png", EgressPolicy.from_hosts([server.host_port]), max_bytes=1000,
                  timeout=2)
        assert time.monotonic() - started < 2 * 4
        assert closed.wait(10), "the server never saw the connection closed"


def test_photo_fetch_goes_through_the_marketplace_proxy_with_its_credentials() -> None:
    with RecordingProxy("bob", "hunter2") as proxy, LoopbackServer({"/x.png": reply(b"png", "image/png")}) as shop:
        result = fetch(shop.base_url + "/x.png", EgressPolicy.from_hosts([shop.host_port]), max_bytes=100,
                       proxy=Proxy.from_url(proxy.url("bob", "hunter2")))
        assert result.body == b"png"
        assert proxy.paths() == ["/x.png"] and proxy.paths(authorised=False) == []
        assert shop.direct_hits == {} and shop.hits["/x.png"] == 1


def test_proxy_credentials_stay_out_of_messages() -> None:
    with pytest.raises(ValueError) as caught:
        Proxy.from_url("socks5://bob:hunter2@10.0.0.1:1080")
    assert "hunter2" not in str(caught.value) and "***@10.0.0.1:1080" in str(caught.value)
    proxy = Proxy.from_url("http://bob:hunter2@10.0.0.1:3128")
    assert "hunter2" not in repr(proxy) and proxy.server == "http://10.0.0.1:3128"


RESOLVE = """
import sys
from twisted.internet import reactor
from core.egress import EgressPolicy
from crawler.resolver import GatedResolver

resolver = GatedResolver(reactor, 0, 5.0)
resolver.policy = EgressPolicy.from_hosts(sys.argv[1:])
outcome = []
looked_up = resolver.getHostByName("localhost")
looked_up.addCallbacks(outcome.append, lambda f: outcome.append(repr(f.value)))
looked_up.addBoth(lambda _: reactor.stop())  # the same look-up: a second one could finish first, with no outcome
reactor.run()
print(outcome[0])
"""


@pytest.mark.parametrize(("exempt", "expected"), [([], "non-public address 127.0.0.1 at connect"),
                                                  (["localhost:8123"], "127.0.0.1")])
def test_dns_answer_private_at_connect_is_refused_by_the_crawlers_resolver(exempt: list[str], expected: str) -> None:
    # The crawler's middleware checks a URL with one DNS answer and Twisted resolves again to connect: a name that
    # answers 127.0.0.1 by then (DNS rebinding) is refused at connect, unless the operator exempted that name.
    done = subprocess.run([sys.executable, "-c", RESOLVE, *exempt], capture_output=True, text=True, timeout=60,
                          check=True, cwd=Path(__file__).resolve().parent.parent)
    assert expected in done.stdout
