"""A scriptable HTTP server on 127.0.0.1, port 0, for fault tests. Routes map a path to a handler function."""

from __future__ import annotations

import base64
import http.client
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

Route = Callable[[BaseHTTPRequestHandler], None]


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


class LocalServer:
    """A threaded HTTP server on a loopback address and a free port, serving from a daemon thread while used as
    a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1"):
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def host_port(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host_port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LoopbackServer(LocalServer):
    """Routes map a path to a handler function; `hits` and `hit_times` record what was asked for, `direct_hits`
    what was asked for without passing a RecordingProxy."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1"):
        self.routes = routes
        self.hits: Counter[str] = Counter()
        self.direct_hits: Counter[str] = Counter()
        self.hit_times: defaultdict[str, list[float]] = defaultdict(list)
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                if RecordingProxy.VIA not in (self.headers.get("Via") or ""):
                    server.direct_hits[path] += 1
                server.hit_times[path].append(time.monotonic())
                route = server.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                route(self)

        super().__init__(Handler, host)


def reply(body: bytes, content_type: str = "text/html", status: int = 200,
          headers: dict[str, str] | None = None) -> Route:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)

    return handle


def redirect_to(url: str, status: int = 302) -> Route:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", url)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return handle


def sequence(*routes: Route) -> Route:
    """The n-th request gets the n-th route; the last one answers every request after that."""
    calls = {"n": 0}
    lock = threading.Lock()

    def handle(handler: BaseHTTPRequestHandler) -> None:
        with lock:
            index = min(calls["n"], len(routes) - 1)
            calls["n"] += 1
        routes[index](handler)

    return handle


def drop_mid_body(handler: BaseHTTPRequestHandler) -> None:
    """Promise 5000 bytes, send 100, hang up: the connection dies mid-body."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "5000")
    handler.end_headers()
    handler.wfile.write(b"<html><body><h1>half")
    handler.wfile.flush()
    handler.close_connection = True


def never_answer(seconds: float) -> Route:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)

    return handle


class RecordingProxy(LocalServer):
    """A forwarding HTTP proxy for http:// URLs (absolute-form requests; no CONNECT) that asks for Basic
    credentials with 407 as real proxies do, records each request as (URL, Proxy-Authorization or None), and
    marks what it forwards with a Via header, so the origin can tell proxied requests from direct ones."""

    VIA = "1.1 brandpatrol-test-proxy"

    def __init__(self, username: str, password: str):
        self.expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.requests: list[tuple[str, str | None]] = []
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                auth = self.headers.get("Proxy-Authorization")
                proxy.requests.append((self.path, auth))
                if auth != proxy.expected:
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target = urlsplit(self.path)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-authorization", "proxy-connection", "connection")}
                conn = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
                try:
                    conn.request("GET", target.path + (f"?{target.query}" if target.query else ""),
                                 headers={**headers, "Via": proxy.VIA, "Connection": "close"})
                    response = conn.getresponse()
                    body = response.read()
                finally:
                    conn.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    def url(self, username: str, password: str) -> str:
        return f"http://{username}:{password}@{self.host_port}"

    def paths(self, *, authorised: bool = True) -> list[str]:
        """Paths of the URLs asked for (with the right credentials, or without them)."""
        return [urlsplit(url).path for url, auth in self.requests if (auth == self.expected) == authorised]
