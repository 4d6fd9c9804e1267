"""The demo marketplace's web server: a ThreadingHTTPServer on loopback serving both shop styles.

Routes:
    /                                   home page linking both shops
    /shop/search?q=&page= /shop/item/ID /shop/seller/ID      demo-shop, rendered on the server
    /js/search?q=&page=   /js/item/ID   /js/seller/ID        demo-js: a shell page, app.js renders it
    /api/search?q=&page=  /api/item/ID  /api/seller/ID       JSON behind demo-js
    /img/NAME.jpg  /static/app.js  /static/style.css  /robots.txt
"""

from __future__ import annotations

import json
import re
import threading
import traceback
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from brandpatrol.demo import pages
from brandpatrol.demo.catalogue import DemoCatalogue, DemoListing

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
ROBOTS = "User-agent: *\nAllow: /\n"
# The pages load nothing but their own script, style sheet and images.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
MAX_PAGE = 10_000
_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_ROUTE = re.compile(r"/(shop|js|api)/(item|seller)/([^/]+)")


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=8)
def static_file(name: str) -> bytes:
    return (resources.files("brandpatrol.demo") / "static" / name).read_bytes()


def _html(text: str, status: int = HTTPStatus.OK) -> Response:
    return Response(status, HTML, text.encode("utf-8"), {"Content-Security-Policy": CSP})


def _json(data: Any, status: int = HTTPStatus.OK) -> Response:
    return Response(status, JSON, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def _not_found(api: bool = False) -> Response:
    if api:
        return _json({"error": "not found"}, HTTPStatus.NOT_FOUND)
    return _html(pages.not_found_page(), HTTPStatus.NOT_FOUND)


def _page_number(values: list[str]) -> int:
    try:
        return min(max(1, int(values[0])), MAX_PAGE) if values else 1
    except ValueError:
        return 1


class DemoServer:
    """Serves a DemoCatalogue on http://host:port (port 0 picks a free one) until stopped.

    `hits` counts the requests per path (query left out), so tests can see what a crawler fetched.
    `take_down(external_id)` removes a listing (404, gone from search), as a marketplace does after a notice.
    """

    def __init__(self, catalogue: DemoCatalogue, host: str = "127.0.0.1", port: int = 0):
        self.catalogue = catalogue
        self.host = host
        self.port = port
        self.hits: Counter[str] = Counter()
        self.taken_down: set[str] = set()
        self._lock = threading.Lock()
        self._httpd: _DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---

    def _bind(self) -> _DemoHTTPServer:
        if self._httpd is None:
            self._httpd = _DemoHTTPServer((self.host, self.port), _Handler, self)
            self.port = int(self._httpd.server_address[1])
        return self._httpd

    @property
    def base_url(self) -> str:
        """The server's root URL, without a trailing slash. Binds the socket if not yet bound."""
        self._bind()
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> DemoServer:
        """Serve in a background daemon thread; returns self."""
        if self._thread is not None:
            return self
        httpd = self._bind()
        # A short poll interval so stop() returns at once rather than after up to half a second.
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="brandpatrol-demo", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until KeyboardInterrupt (Ctrl-C), then close the socket."""
        httpd = self._bind()
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
            self._httpd = None

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd, self._thread = None, None
        if httpd is not None:
            if thread is not None:
                httpd.shutdown()
                thread.join(timeout=10)
            httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- state a test can change ---

    def take_down(self, external_id: str) -> None:
        with self._lock:
            self.taken_down.add(external_id)

    def restore(self, external_id: str) -> None:
        with self._lock:
            self.taken_down.discard(external_id)

    def count(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1

    # --- routing ---

    def _listing(self, marketplace: str, external_id: str) -> DemoListing | None:
        if external_id in self.taken_down:
            return None
        return self.catalogue.listing(marketplace, external_id)

    def _found(self, marketplace: str, query: str) -> list[DemoListing]:
        return [x for x in self.catalogue.search(marketplace, query) if x.external_id not in self.taken_down]

    def respond(self, path: str, query: dict[str, list[str]]) -> Response:
        q = query.get("q", [""])[0]
        page = _page_number(query.get("page", []))
        if path == "/":
            return _html(pages.home_page())
        if path == "/favicon.ico":
            return Response(HTTPStatus.NO_CONTENT, "image/x-icon", b"")
        if path == "/robots.txt":
            return Response(HTTPStatus.OK, "text/plain; charset=utf-8", ROBOTS.encode())
        if path.startswith("/static/"):
            name = path.removeprefix("/static/")
            if name in STATIC:
                return Response(HTTPStatus.OK, STATIC[name], static_file(name), {"Cache-Control": "max-age=60"})
            return _not_found()
        if path.startswith("/img/"):
            return self._image(path.removeprefix("/img/"))
        if path == "/shop/search":
            return _html(pages.search_page(q, page, self._found("demo-shop", q)))
        if path == "/js/search":
            return _html(pages.js_shell())
        if path == "/api/search":
            return _json(pages.search_json(q, page, self._found("demo-js", q)))
        match = _ROUTE.fullmatch(path)
        if match:
            return self._detail(*match.groups())
        return _not_found(api=path.startswith("/api/"))

    def _detail(self, route: str, kind: str, raw_id: str) -> Response:
        ident = unquote(raw_id)
        api = route == "api"
        if not _ID.fullmatch(ident):
            return _not_found(api)
        marketplace = "demo-shop" if route == "shop" else "demo-js"
        if kind == "item":
            listing = self._listing(marketplace, ident)
            if listing is None:
                # The shell still loads, so a browser shows app.js's "not found" rather than a blank page.
                return _html(pages.js_shell(), HTTPStatus.NOT_FOUND) if route == "js" else _not_found(api)
            if route == "shop":
                return _html(pages.item_page(listing, self.base_url))
            return _json(pages.item_json(listing)) if api else _html(pages.js_shell())
        seller = self.catalogue.seller(marketplace, ident)
        if seller is None:
            return _html(pages.js_shell(), HTTPStatus.NOT_FOUND) if route == "js" else _not_found(api)
        listings = [x for x in self.catalogue.listings_for(marketplace)
                    if x.seller_id == ident and x.external_id not in self.taken_down]
        if route == "shop":
            return _html(pages.seller_page(seller, listings))
        return _json(pages.seller_json(seller, listings)) if api else _html(pages.js_shell())

    def _image(self, filename: str) -> Response:
        name = filename.removesuffix(".jpg")
        if not filename.endswith(".jpg") or not _ID.fullmatch(name):
            return _not_found()
        try:
            data = self.catalogue.image_bytes(name)
        except KeyError:
            return _not_found()
        return Response(HTTPStatus.OK, "image/jpeg", data, {"Cache-Control": "public, max-age=3600"})


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client never keeps the process alive

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], demo: DemoServer):
        self.demo = demo
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _DemoHTTPServer
    server_version = "BrandPatrolDemo/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a crawl makes hundreds of requests, and stderr belongs to the caller."""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        parts = urlsplit(self.path)
        demo = self.server.demo
        demo.count(parts.path)
        try:
            response = demo.respond(parts.path, parse_qs(parts.query, keep_blank_values=True))
        except Exception:  # a bug in the demo must still answer, and show its traceback
            traceback.print_exc()
            response = Response(HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", b"server error")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)
