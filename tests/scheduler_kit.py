"""Helpers for the scheduler and alert tests (no tests here): a small shop on 127.0.0.1 whose search page can be
held shut (a crawl that hangs), a webhook receiver on 127.0.0.1 for Apprise's json:// URLs, brand configs."""

from __future__ import annotations

import json
import queue
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.images import jpeg, photo

COFFEE = jpeg(photo("coffee"))

ITEMS = {
    "fake1": ("Lumina Radiance Serum 1:1 replica", "¥99.00", "Cheap Goods Store"),
    "fake2": ("Lumina serum A货 高仿", "¥120.00", "Cheap Goods Store"),
}


def _item_page(title: str, price: str, seller: str) -> bytes:
    return (f"<html><body><h1>{title}</h1><span class=price>{price}</span><span class=seller>{seller}</span>"
            f"<span class=loc>广东 深圳</span><img src='/img/coffee.jpg'></body></html>").encode()


class Shop:
    """A marketplace on 127.0.0.1. While `gate` is clear, the search page does not answer (the crawl hangs);
    `asked` is set as soon as the search page is requested."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.asked = threading.Event()
        self.hits: Counter[str] = Counter()
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                shop.hits[path] += 1
                if path == "/search":
                    shop.asked.set()
                    shop.gate.wait(timeout=600)
                    body = "".join(f"<a class=item href='/item/{key}'>{key}</a>" for key in ITEMS).encode()
                    self._send(body)
                elif path.startswith("/item/") and path[6:] in ITEMS:
                    self._send(_item_page(*ITEMS[path[6:]]))
                elif path == "/img/coffee.jpg":
                    self._send(COFFEE, "image/jpeg")
                else:
                    self.send_error(404)

            def _send(self, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawl was killed while we held the answer back

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Shop:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Webhook:
    """Receives Apprise json:// posts on 127.0.0.1; `messages` is a queue of the JSON bodies."""

    def __init__(self) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hook.messages.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def received(self) -> list[dict[str, Any]]:
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_config(folder: Path, shop_url: str | None, *, schedule: str = "", alerts: str = "",
                 extra_marketplaces: str = "") -> Path:
    """A Lumina brand whose reference photo is the coffee sample; `shop` is crawled at `shop_url`."""
    refs = folder / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "front.jpg").write_bytes(COFFEE)
    shop = f"""\
  - name: shop
    spider: configured
    base_url: {shop_url}
    start_urls: ["{shop_url}/search"]
    currency: CNY
    obey_robots: false
    download_timeout_s: 600
    id_from_url: "/item/(\\\\w+)"
    selectors:
      link: "a.item::attr(href)"
      title: "h1::text"
      price: ".price::text"
      seller: ".seller::text"
      location: ".loc::text"
      image: "img::attr(src)"
""" if shop_url else ""
    marketplaces = shop + extra_marketplaces
    text = f"""\
brand: {{name: Lumina, names: {{en: Lumina, zh: 露米娜}}}}
products:
  - sku: LM-100
    names: {{en: Lumina Radiance Serum, zh: 露米娜焕活精华液}}
    keywords: [Lumina serum, 精华液]
    prices: [{{currency: CNY, suggested: 680, floor: 580}}]
    reference_images: [{{id: front, path: refs/front.jpg}}]
marketplaces:{(chr(10) + marketplaces) if marketplaces else " []"}
egress:
  allow_private_hosts: ["127.0.0.1"]
schedule:
  timezone: Asia/Shanghai
{schedule}alerts:
  dashboard_url: http://127.0.0.1:8501
{alerts}"""
    path = folder / "brandpatrol.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def unreachable_marketplace(name: str = "down") -> str:
    """A marketplace on a loopback port nothing listens on: its crawl fails quickly."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"""\
  - name: {name}
    spider: configured
    base_url: http://127.0.0.1:{port}
    start_urls: ["http://127.0.0.1:{port}/search"]
    obey_robots: false
    retries: 0
    selectors: {{link: "a::attr(href)", title: "h1::text"}}
"""
