from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from core.egress import EgressBlocked, EgressPolicy, FetchFailed, check_url, fetch
from tests.loopback import LoopbackServer, reply

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
        policy = EgressPolicy.from_hosts(["127.0.0.1"])
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
        policy = EgressPolicy.from_hosts(["127.0.0.1"])
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
            fetch(server.base_url + "/stall", EgressPolicy.from_hosts(["127.0.0.1"]), max_bytes=100, timeout=0.5)
        assert time.monotonic() - started < 4
