"""The egress gate as a local HTTP proxy, the browser's only way out.

Playwright's request routing sees a page's requests but not the hops of a redirect, nor what a service worker
fetches, and a page's scripts choose their own URLs. So Chromium is given this proxy (on 127.0.0.1, port 0) and
nothing else: every connection it opens, for any frame, hop, fetch or tunnel, arrives here, is checked by
`check_url` and goes to the address the check resolved (Chromium resolves no name itself through a proxy). A
refused request is answered 403; a refused tunnel is never opened. With a marketplace `proxy`, connections go on
through it, with its credentials, which the browser never holds.

Plain http is forwarded one request per connection (`Connection: close` both ways), so a connection that
reached one allowed host can never carry a request for another. Through the marketplace's proxy, plain http is
handed over by URL, so that proxy resolves the name (see SECURITY.md); tunnels go to the checked address.
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
import select
import socket
import socketserver
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from core.egress import CheckedURL, EgressBlocked, EgressPolicy, FetchFailed, Proxy, check_url, open_tunnel

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
IDLE_TIMEOUT_S = 60.0  # a connection with no bytes either way for this long is closed
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
                         "upgrade"})

Refused = Callable[[str, str], None]  # (url, reason)


class _Unusable(Exception):
    """A request this proxy does not carry (malformed, or not one a browser sends), with the status to answer."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The request or response head up to its blank line, and whatever arrived after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            raise _Unusable("431 Request Header Fields Too Large", "head over 64 KiB")
        chunk = sock.recv(65536)
        if not chunk:
            raise _Unusable("400 Bad Request", "connection closed before the end of the head")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head, rest


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _Unusable("400 Bad Request", "malformed header line")
        out.append((name, value.strip()))
    return out


def _answer(sock: socket.socket, status: str, text: str, extra: str = "") -> None:
    body = text.encode("utf-8", "replace")
    head = (f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\nProxy-Connection: close\r\n\r\n")
    try:
        sock.sendall(head.encode("latin-1") + body)
    except OSError:
        pass


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy source to sink until source ends or stays silent for IDLE_TIMEOUT_S."""
    while True:
        readable, _, _ = select.select([source], [], [], IDLE_TIMEOUT_S)
        if not readable:
            return
        chunk = source.recv(65536)
        if not chunk:
            return
        sink.sendall(chunk)


def _splice(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until either side ends or both stay silent for IDLE_TIMEOUT_S."""
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [], IDLE_TIMEOUT_S)
        if not readable:
            return
        for sock in readable:
            chunk = sock.recv(65536)
            if not chunk:
                return
            peers[sock].sendall(chunk)


class EgressProxy:
    """Start with `start()`, give the browser `server`, `close()` when the crawl ends."""

    # The gate listens on 127.0.0.1 for the crawl's own browser only: every request must carry this crawl's random
    # credentials (given to Chromium with the proxy), so no other local process can use it as a way into the crawl.
    USERNAME = "brandpatrol"

    def __init__(self, policy: EgressPolicy, upstream: Proxy | None = None, on_refused: Refused | None = None):
        self.policy = policy
        self.upstream = upstream
        self.on_refused = on_refused
        self.password = secrets.token_urlsafe(24)
        token = base64.b64encode(f"{self.USERNAME}:{self.password}".encode()).decode()
        self._authorization = f"Basic {token}"
        gate = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                gate._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def server(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def for_browser(self) -> dict[str, str]:
        """Playwright's `proxy` option for a context: the gate with this crawl's credentials."""
        return {"server": self.server, "username": self.USERNAME, "password": self.password}

    def start(self) -> EgressProxy:
        self._server.server_bind()
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, name="brandpatrol-egress-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    # --- one client connection -----------------------------------------------------------------------

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(IDLE_TIMEOUT_S)
        try:
            head, rest = _read_head(client)
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _version = [*request_line.split(" "), "", ""][:3]
            headers = _headers(lines)
            given = next((v for k, v in headers if k.lower() == "proxy-authorization"), "")
            if not hmac.compare_digest(given.encode("latin-1", "replace"), self._authorization.encode("latin-1")):
                _answer(client, "407 Proxy Authentication Required", "this gate serves its own crawl's browser only",
                        'Proxy-Authenticate: Basic realm="brandpatrol"\r\n')
                return
            if method == "CONNECT":
                self._tunnel(client, target, rest)
            else:
                self._forward(client, method, target, headers, rest)
        except EgressBlocked as exc:
            logger.warning("egress gate refused a browser request: %s", exc)
            if self.on_refused is not None:
                self.on_refused(exc.url, exc.reason)
            _answer(client, "403 Forbidden", f"refused by the egress gate: {exc.reason}")
        except _Unusable as exc:
            _answer(client, exc.status, str(exc))
        except FetchFailed as exc:  # the marketplace's proxy refused the tunnel
            _answer(client, "502 Bad Gateway", str(exc))
        except OSError as exc:
            logger.debug("browser connection ended: %s", exc)
        finally:
            client.close()

    def _connect(self, checked: CheckedURL) -> socket.socket:
        """A tunnel's connection to the checked address, directly or through the upstream proxy."""
        if self.upstream is None:
            return socket.create_connection((checked.addresses[0], checked.port), IDLE_TIMEOUT_S)
        return open_tunnel(self.upstream, checked.addresses[0], checked.port, IDLE_TIMEOUT_S)

    def _tunnel(self, client: socket.socket, authority: str, rest: bytes) -> None:
        checked = check_url(f"https://{authority}/", self.policy)
        with self._connect(checked) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            _splice(client, upstream)

    def _forward(self, client: socket.socket, method: str, url: str, headers: list[tuple[str, str]],
                 rest: bytes) -> None:
        if not url.lower().startswith("http://") or not method.isalpha():
            raise _Unusable("400 Bad Request", "a proxy request names an absolute http:// URL")
        checked = check_url(url, self.policy)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        length = next((v for k, v in headers if k.lower() == "content-length"), "0")
        if not length.isdigit() or any(k.lower() == "transfer-encoding" for k, _ in headers):
            raise _Unusable("411 Length Required", "a request body needs a Content-Length here")
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        if self.upstream is None:
            server = socket.create_connection((checked.addresses[0], checked.port), IDLE_TIMEOUT_S)
        else:  # absolute-form, as proxies are asked for http (many allow CONNECT to port 443 only)
            server = socket.create_connection((self.upstream.host, self.upstream.port), IDLE_TIMEOUT_S)
            path = parts._replace(fragment="").geturl()
            if self.upstream.authorization:
                kept.append(("Proxy-Authorization", self.upstream.authorization))
        with server:
            lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in kept), "Connection: close"]
            server.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            body_left = int(length) - len(rest)
            server.sendall(rest[:int(length)])
            while body_left > 0:
                chunk = client.recv(min(body_left, 65536))
                if not chunk:
                    return
                server.sendall(chunk)
                body_left -= len(chunk)
            try:
                head, after = _read_head(server)
            except _Unusable as exc:
                # The server hung up without an answer: the browser sees the same (an empty response, which the
                # crawl retries), not an answer of this gate's making that would pass for the page.
                logger.debug("server %s gave no answer: %s", checked.host, exc)
                return
            status_line, *response_lines = head.decode("latin-1").split("\r\n")
            response = [status_line, *(f"{k}: {v}" for k, v in _headers(response_lines)
                                       if k.lower() not in _HOP_BY_HOP), "Connection: close",
                        "Proxy-Connection: close"]
            client.sendall(("\r\n".join(response) + "\r\n\r\n").encode("latin-1") + after)
            _pipe(server, client)
