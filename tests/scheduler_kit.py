"""Helpers for the scheduler and alert tests (no tests here): a small shop on 127.0.0.1 whose search page can be
held shut (a crawl that hangs), receivers on 127.0.0.1 for Apprise's json:// and mailto:// URLs, brand configs, and
a throwaway PostgreSQL server."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.images import jpeg, photo
from tests.loopback import LocalServer, QuietHandler

COFFEE = jpeg(photo("coffee"))

ITEMS = {
    "fake1": ("Lumina Radiance Serum 1:1 replica", "¥99.00", "Cheap Goods Store"),
    # Markup in a scraped title must reach no alert as a link or formatting.
    "fake2": ("Lumina serum A货 高仿 [free](http://evil.example/) &lt;b&gt;now&lt;/b&gt;", "¥120.00",
              "Cheap Goods Store"),
}


def _item_page(title: str, price: str, seller: str) -> bytes:
    return (f"<html><body><h1>{title}</h1><span class=price>{price}</span><span class=seller>{seller}</span>"
            f"<span class=loc>广东 深圳</span><img src='/img/coffee.jpg'></body></html>").encode()


class Shop(LocalServer):
    """A marketplace on 127.0.0.1. While `gate` is clear, the search page does not answer (the crawl hangs);
    `asked` is set as soon as the search page is requested."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.asked = threading.Event()
        self.hits: Counter[str] = Counter()
        shop = self

        class Handler(QuietHandler):
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

        super().__init__(Handler)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.gate.set()  # let a held answer go, so shutdown does not wait on it
        super().__exit__(exc_type, exc, tb)


class Webhook(LocalServer):
    """Receives Apprise json:// posts on 127.0.0.1; `messages` is a queue of the JSON bodies."""

    def __init__(self) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        hook = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hook.messages.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"json://{self.host_port}/hook"

    def received(self) -> list[dict[str, Any]]:
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out


def write_config(folder: Path, shop_url: str | None, *, schedule: str = "", alerts: str = "",
                 extra_marketplaces: str = "", private_hosts: tuple[str, ...] = ()) -> Path:
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
  allow_private_hosts: {json.dumps([*([urlsplit(shop_url).netloc] if shop_url else []), *private_hosts])}
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


class MailServer:
    """A minimal SMTP server on 127.0.0.1 (no TLS, no auth) that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: queue.Queue[bytes] = queue.Queue()
        mail = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 127.0.0.1 test SMTP")
                while line := self.rfile.readline(65536):
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.reply("250-127.0.0.1")
                        self.reply("250 8BITMIME")
                    elif verb == b"DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while (data := self.rfile.readline(65536)) not in (b".\r\n", b""):
                            lines.append(data[1:] if data.startswith(b"..") else data)
                        mail.messages.put(b"".join(lines))
                        self.reply("250 queued")
                    elif verb == b"QUIT":
                        self.reply("221 bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"mailto://127.0.0.1:{port}/ops@example.com?from=brandpatrol@example.com&mode=insecure"

    def __enter__(self) -> MailServer:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (Debian's binaries) on 127.0.0.1; skips the test when there is none."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins or not (bins[-1] / "initdb").exists():
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    bin_dir = bins[-1]
    with tempfile.TemporaryDirectory(prefix="brandpatrol-pg-") as tmp:
        folder = Path(tmp)
        prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root: run the server as Debian's postgres user
            import pwd

            account = pwd.getpwnam("postgres")
            os.chown(folder, account.pw_uid, account.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        made = subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "brandpatrol",
                               "--auth=trust", "-E", "UTF8", "--no-sync"], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.fail(f"initdb failed: {made.stderr[-2000:]}")
        server = subprocess.Popen([*prefix, str(bin_dir / "postgres"), "-D", str(folder / "data"), "-h",
                                   "127.0.0.1", "-p", str(port), "-k", str(folder), "-c", "fsync=off",
                                   "-c", "full_page_writes=off"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import psycopg

            for _attempt in range(600):  # up once it accepts a connection
                try:
                    psycopg.connect(f"host=127.0.0.1 port={port} user=brandpatrol dbname=postgres").close()
                    break
                except psycopg.OperationalError:
                    if server.poll() is not None:
                        pytest.fail("PostgreSQL did not start")
                    time.sleep(0.1)
            yield f"postgresql+psycopg://brandpatrol@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "stop", "-D", str(folder / "data"), "-m", "immediate"],
                           capture_output=True)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
