"""The one egress gate: every server-side fetch of a URL is checked here, every redirect hop included.

A URL passes when its scheme is http(s), its authority is plain (no user-info, no backslash tricks, no numeric
host spellings such as 0x7f000001), and every address its host resolves to is public. A host and port the operator
lists in `allow_private_hosts` (the demo marketplace on 127.0.0.1:8123) may resolve to private addresses; an
exemption names the port too, so a redirect cannot reach another service on the same host. `fetch` connects to the
address it validated (so DNS cannot change between check and connect), bounds the whole transfer in size and time,
goes through the marketplace's proxy when it has one, and re-checks each redirect before following it.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 4096
MAX_REDIRECTS = 5
USER_AGENT = "BrandPatrol/0.1 (+https://github.com/brandpatrol/brandpatrol)"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class EgressBlocked(ValueError):
    """A URL the gate refuses, with the reason."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{reason}: {url[:200]}")
        self.url = url
        self.reason = reason


class FetchFailed(OSError):
    """A fetch that passed the gate but did not produce a usable response."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_exemption(entry: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) of an `allow_private_hosts` entry, lower-cased. A bare host is refused: it
    would exempt every service on that host, and a redirect could reach any of them."""
    text = entry.strip().lower()
    parts = urlsplit(f"//{text}")
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    if not host or not port or parts.path or parts.query or parts.fragment or "@" in text:
        try:
            example = f"[{ipaddress.IPv6Address(text.strip('[]'))}]:8080"
        except ValueError:
            example = f"{host or '127.0.0.1'}:8080"
        raise ValueError(f"'{entry}' must name a host and its port, e.g. '{example}': an exemption without a "
                         "port would let a redirect reach every service on that host")
    return host, port


@dataclass(frozen=True)
class EgressPolicy:
    """What the gate allows: public addresses, plus the (host, port) pairs the operator exempted."""

    allow_private_hosts: frozenset[tuple[str, int]] = frozenset()
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_hosts(cls, entries: Iterable[str], resolver: Resolver = system_resolver) -> EgressPolicy:
        """From `allow_private_hosts` entries, each `host:port`; raises ValueError naming a bad entry."""
        return cls(frozenset(parse_exemption(e) for e in entries if e.strip()), resolver)


def is_public_address(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public_address(address.ipv4_mapped)
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        return is_public_address(address.sixtofour)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class CheckedURL:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def check_url(url: str, policy: EgressPolicy) -> CheckedURL:
    """Validate one URL and resolve its host. Raises EgressBlocked with the reason."""
    if len(url) > MAX_URL_LENGTH:
        raise EgressBlocked(url, f"URL longer than {MAX_URL_LENGTH} characters")
    if any(ch in url for ch in "\\\r\n\t\x00 "):
        raise EgressBlocked(url, "URL contains a backslash, whitespace or control character")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise EgressBlocked(url, f"scheme '{scheme or 'none'}' is not allowed (only http and https)")
    if "@" in parts.netloc:
        raise EgressBlocked(url, "user-info in the URL authority is not allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise EgressBlocked(url, "URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise EgressBlocked(url, "URL has an invalid port") from None
    literal: Address | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        # Decimal, hex and octal spellings of IPv4 that resolvers accept but ip_address() does not.
        if re.fullmatch(r"[0-9.]+|0x[0-9a-f.x]+|[0-9a-fx.]*\.0x[0-9a-f]+", host):
            raise EgressBlocked(url, "numeric host in a non-canonical spelling") from None
    allowed_private = (host, port) in policy.allow_private_hosts
    try:
        addresses = [str(literal)] if literal is not None else policy.resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise EgressBlocked(url, f"host '{host}' does not resolve ({exc})") from None
    if not addresses:
        raise EgressBlocked(url, f"host '{host}' resolves to no address")
    if not allowed_private:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if not is_public_address(address):
                # Any non-public record refuses the host: a mixed answer is how rebinding is staged.
                raise EgressBlocked(url, f"host '{host}' resolves to non-public address {address}")
    return CheckedURL(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


def check_resolved(host: str, address: str, policy: EgressPolicy) -> None:
    """For a connection another library resolves itself after `check_url` passed its URL: the address it got must
    be public, unless the host is exempted (on the URL's port, which `check_url` checked). A DNS answer that
    changed in between (rebinding) is refused here. Raises EgressBlocked."""
    host = host.lower().strip("[]")
    with suppress(ValueError):
        ipaddress.ip_address(host)
        return  # an address literal was checked as such, and cannot change
    if any(host == exempt for exempt, _port in policy.allow_private_hosts):
        return
    if not is_public_address(ipaddress.ip_address(address.split("%")[0])):
        raise EgressBlocked(f"//{host}", f"host '{host}' resolved to non-public address {address} at connect")


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy a marketplace's fetches go through. `authorization` is the Proxy-Authorization value;
    neither it nor the URL it came from is ever put into a message."""

    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> Proxy:
        """`http://[user:password@]host:port`; raises ValueError (without the credentials) otherwise."""
        parts = urlsplit(url.strip())
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme.lower() != "http" or not parts.hostname or not port or parts.path not in ("", "/"):
            raise ValueError(f"proxy '{redact_proxy(url)}' must be http://[user:password@]host:port "
                             "(an HTTP proxy; https targets are tunnelled through it with CONNECT)")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port, username, password)

    @property
    def server(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def authorization(self) -> str | None:
        if self.username is None:
            return None
        token = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")


def redact_proxy(url: str) -> str:
    """A proxy URL fit for a message: user-info replaced by '***'."""
    parts = urlsplit(url.strip())
    if "@" not in parts.netloc:
        return url.strip()[:200]
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()[:200]


class _Watchdog:
    """Bounds the whole transfer. A server that sends a byte a second resets every per-read socket timeout, and
    http.client reads status lines, headers and bodies in loops no socket timeout bounds; so when the deadline
    passes, the connection's socket is shut down from a timer thread, which ends whatever read is waiting."""

    def __init__(self, seconds: float):
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                self._shut(self._sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:  # the plain socket's shutdown, also under TLS: it wakes a read blocked in another thread
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def cancel(self) -> None:
        self._timer.cancel()


def open_tunnel(proxy: Proxy, address: str, port: int, timeout: float,
                watch: Callable[[socket.socket], socket.socket] = lambda sock: sock) -> socket.socket:
    """A socket through the proxy to address:port (CONNECT to the checked address, so the proxy's own DNS cannot
    send it elsewhere); TLS is then spoken end to end, with the URL's host name for SNI and the certificate.
    Raises FetchFailed when the proxy refuses."""
    sock = watch(socket.create_connection((proxy.host, proxy.port), timeout))
    target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if proxy.authorization:
        head += f"Proxy-Authorization: {proxy.authorization}\r\n"
    sock.sendall((head + "\r\n").encode("latin-1"))
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk or len(reply) > 64 * 1024:
            sock.close()
            raise FetchFailed(f"the proxy {proxy.server} closed the tunnel to {target}")
        reply += chunk
    status = reply.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        sock.close()
        raise FetchFailed(f"the proxy {proxy.server} refused the tunnel to {target}: "
                          f"{b' '.join(status[1:]).decode('latin-1')[:100]}")
    return sock


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a validated address (directly or tunnelled through the proxy), with SNI and certificate checks
    against the URL's host name."""

    def __init__(self, checked: CheckedURL, timeout: float, watchdog: _Watchdog, proxy: Proxy | None):
        self._ssl_context = ssl.create_default_context()
        super().__init__(checked.host, checked.port, timeout=timeout, context=self._ssl_context)
        self._checked, self._watchdog, self._proxy, self._seconds = checked, watchdog, proxy, timeout

    def connect(self) -> None:
        address = self._checked.addresses[0]
        if self._proxy is None:
            sock = self._watchdog.watch(socket.create_connection((address, self.port), self.timeout))
        else:
            sock = open_tunnel(self._proxy, address, self.port, self._seconds, self._watchdog.watch)
        self.sock = self._watchdog.watch(self._ssl_context.wrap_socket(sock, server_hostname=self.host))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a validated address; through a proxy, to the proxy, which is sent the absolute URL."""

    def __init__(self, checked: CheckedURL, timeout: float, watchdog: _Watchdog, proxy: Proxy | None):
        if proxy is None:
            super().__init__(checked.host, checked.port, timeout=timeout)
        else:
            super().__init__(proxy.host, proxy.port, timeout=timeout)
        self._checked, self._watchdog, self._proxy = checked, watchdog, proxy

    def connect(self) -> None:
        address = self._checked.addresses[0] if self._proxy is None else self.host
        self.sock = self._watchdog.watch(socket.create_connection((address, self.port), self.timeout))


def fetch(url: str, policy: EgressPolicy, *, max_bytes: int, timeout: float = 20.0,
          max_redirects: int = MAX_REDIRECTS, accept: str = "*/*", proxy: Proxy | None = None) -> FetchResult:
    """GET a URL through the gate. Raises EgressBlocked (refused) or FetchFailed (network, status, size, time).

    `timeout` bounds the whole transfer, every redirect hop included. With a `proxy`, https is tunnelled to the
    checked address; plain http is handed to the proxy by URL (the proxy resolves the name: see SECURITY.md)."""
    watchdog = _Watchdog(timeout)
    try:
        return _fetch(url, policy, max_bytes=max_bytes, timeout=timeout, max_redirects=max_redirects,
                      accept=accept, proxy=proxy, watchdog=watchdog)
    except (OSError, http.client.HTTPException) as exc:
        if watchdog.expired:
            raise FetchFailed(f"timed out after {timeout:g} s fetching {url[:200]}") from None
        if isinstance(exc, FetchFailed):
            raise
        raise FetchFailed(f"{type(exc).__name__} fetching {url[:200]}: {exc}") from None
    finally:
        watchdog.cancel()


def _fetch(url: str, policy: EgressPolicy, *, max_bytes: int, timeout: float, max_redirects: int, accept: str,
           proxy: Proxy | None, watchdog: _Watchdog) -> FetchResult:
    deadline = time.monotonic() + timeout
    current = url
    for _hop in range(max_redirects + 1):
        checked = check_url(current, policy)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or watchdog.expired:
            raise FetchFailed(f"timed out after {timeout:g} s fetching {url[:200]}")
        parts = urlsplit(current)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "identity", "Connection": "close"}
        conn: http.client.HTTPConnection
        if checked.scheme == "https":
            conn = _PinnedHTTPSConnection(checked, remaining, watchdog, proxy)
        else:
            conn = _PinnedHTTPConnection(checked, remaining, watchdog, proxy)
            if proxy is not None:
                path = parts._replace(fragment="").geturl()  # absolute-form, as a proxy is asked
                if proxy.authorization:
                    headers["Proxy-Authorization"] = proxy.authorization
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchFailed(f"redirect without Location from {current[:200]}")
                current = urljoin(current, location)
                continue
            if response.status != 200:
                raise FetchFailed(f"HTTP {response.status} from {current[:200]}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchFailed(f"{declared} bytes declared, over the {max_bytes}-byte cap")
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchFailed(f"body over the {max_bytes}-byte cap")
                chunks.append(chunk)
            if watchdog.expired:
                raise FetchFailed(f"timed out after {timeout:g} s reading {current[:200]}")
            if declared and declared.isdigit() and int(declared) != size:
                raise FetchFailed(f"connection dropped: {size} of {declared} bytes")
            content_type = response.getheader("Content-Type", "") or ""
            return FetchResult(url=current, status=response.status, content_type=content_type,
                               body=b"".join(chunks))
        finally:
            conn.close()
    raise FetchFailed(f"more than {max_redirects} redirects from {url[:200]}")
