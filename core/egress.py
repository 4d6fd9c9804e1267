"""The one egress gate: every server-side fetch of a URL is checked here, every redirect hop included.

A URL passes when its scheme is http(s), its authority is plain (no user-info, no backslash tricks, no numeric
host spellings such as 0x7f000001), and every address its host resolves to is public. A host the operator lists in
`allow_private_hosts` (the demo marketplace on 127.0.0.1) may resolve to private addresses. `fetch` connects to the
address it validated (so DNS cannot change between check and connect), caps size and time, and re-checks each
redirect before following it.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

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


@dataclass(frozen=True)
class EgressPolicy:
    allow_private_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_hosts(cls, hosts: Iterable[str], resolver: Resolver = system_resolver) -> EgressPolicy:
        return cls(frozenset(h.strip().lower().strip("[]") for h in hosts if h.strip()), resolver)


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        return _is_public(address.sixtofour)
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
    allowed_private = host in policy.allow_private_hosts
    try:
        addresses = [str(literal)] if literal is not None else policy.resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise EgressBlocked(url, f"host '{host}' does not resolve ({exc})") from None
    if not addresses:
        raise EgressBlocked(url, f"host '{host}' resolves to no address")
    if not allowed_private:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if not _is_public(address):
                # Any non-public record refuses the host: a mixed answer is how rebinding is staged.
                raise EgressBlocked(url, f"host '{host}' resolves to non-public address {address}")
    return CheckedURL(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a validated address, with SNI and certificate checks against the URL's host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._context = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def fetch(url: str, policy: EgressPolicy, *, max_bytes: int, timeout: float = 20.0,
          max_redirects: int = MAX_REDIRECTS, accept: str = "*/*") -> FetchResult:
    """GET a URL through the gate. Raises EgressBlocked (refused) or FetchFailed (network, status, size, time)."""
    deadline = time.monotonic() + timeout
    current = url
    for _hop in range(max_redirects + 1):
        checked = check_url(current, policy)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed(f"timed out after {timeout:.0f} s fetching {url[:200]}")
        parts = urlsplit(current)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn: http.client.HTTPConnection
        if checked.scheme == "https":
            conn = _PinnedHTTPSConnection(checked.host, checked.addresses[0], checked.port, remaining,
                                          ssl.create_default_context())
        else:
            conn = _PinnedHTTPConnection(checked.host, checked.addresses[0], checked.port, remaining)
        try:
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": accept,
                                               "Accept-Encoding": "identity", "Connection": "close"})
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
                if time.monotonic() > deadline:
                    raise FetchFailed(f"timed out after {timeout:.0f} s reading {current[:200]}")
                chunks.append(chunk)
            if declared and declared.isdigit() and int(declared) != size:
                raise FetchFailed(f"connection dropped: {size} of {declared} bytes")
            content_type = response.getheader("Content-Type", "") or ""
            return FetchResult(url=current, status=response.status, content_type=content_type,
                               body=b"".join(chunks))
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, FetchFailed):
                raise
            raise FetchFailed(f"{type(exc).__name__} fetching {current[:200]}: {exc}") from None
        finally:
            conn.close()
    raise FetchFailed(f"more than {max_redirects} redirects from {url[:200]}")
