"""Cookies an operator exported from their own browser after signing in to a marketplace by hand.

BrandPatrol never solves or bypasses a captcha or a login: where a marketplace shows results only to a signed-in
visitor, the operator signs in in an ordinary browser and exports the cookies, in either of the two formats browsers
and tools write:
- Netscape `cookies.txt` (curl, wget, the "Get cookies.txt" browser extensions): seven tab-separated fields a line,
  `domain  include_subdomains  path  secure  expires  name  value`; `#HttpOnly_` before the domain marks HttpOnly;
- Playwright's `storage_state` JSON (`context.storage_state(path=...)`): `{"cookies": [{name, value, domain, path,
  expires, httpOnly, secure, sameSite}], "origins": [...]}`.
Reading is strict: a line or entry that is not a cookie is an error naming the file and line, never half-loaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MAX_COOKIE_FILE_BYTES = 2_000_000
MAX_COOKIES = 2000
_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$")  # RFC 6265 token


class CookieFileError(ValueError):
    """A cookie file that cannot be read, with the file and line named."""


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    domain: str
    path: str = "/"
    expires: float = -1  # seconds since the epoch; -1 for a session cookie
    secure: bool = False
    http_only: bool = False

    def for_playwright(self) -> dict[str, Any]:
        """The cookie as Playwright's BrowserContext.add_cookies takes it."""
        return {"name": self.name, "value": self.value, "domain": self.domain, "path": self.path,
                "expires": self.expires, "secure": self.secure, "httpOnly": self.http_only}

    def for_scrapy(self) -> dict[str, Any]:
        """The cookie as scrapy.Request's `cookies` list takes it (its jar sends it only to matching hosts)."""
        return {"name": self.name, "value": self.value, "domain": self.domain, "path": self.path,
                "secure": self.secure}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(cookie: Cookie, where: str) -> Cookie:
    if not _NAME.match(cookie.name):
        raise CookieFileError(f"{where}: '{cookie.name[:40]}' is not a cookie name")
    if not cookie.domain or len(cookie.domain) > 253 or any(c in cookie.domain for c in " /\\\t"):
        raise CookieFileError(f"{where}: '{cookie.domain[:60]}' is not a cookie domain")
    if len(cookie.value) > 8192 or any(c in cookie.value for c in "\r\n;"):
        raise CookieFileError(f"{where}: the value of cookie '{cookie.name}' is not one a browser would send")
    return cookie


def _netscape(text: str, source: str) -> list[Cookie]:
    cookies = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        http_only = line.startswith("#HttpOnly_")
        if http_only:
            line = line.removeprefix("#HttpOnly_")
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        where = f"{source} line {number}"
        if len(fields) != 7:
            raise CookieFileError(f"{where}: a cookies.txt line has 7 tab-separated fields (domain, subdomains, "
                                  f"path, secure, expires, name, value); this one has {len(fields)}")
        domain, _subdomains, path, secure, expires, name, value = fields
        if secure.upper() not in ("TRUE", "FALSE") or not re.fullmatch(r"-?\d{1,12}", expires.strip()):
            raise CookieFileError(f"{where}: the secure field is TRUE or FALSE and expires a number of seconds")
        seconds = int(expires)
        cookies.append(_check(Cookie(name=name, value=value, domain=domain, path=path or "/",
                                     expires=float(seconds) if seconds > 0 else -1,
                                     secure=secure.upper() == "TRUE", http_only=http_only), where))
    return cookies


def _storage_state(data: Any, source: str) -> list[Cookie]:
    entries = data.get("cookies") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CookieFileError(f"{source}: a Playwright storage_state file has a \"cookies\" list")
    cookies = []
    for index, entry in enumerate(entries):
        where = f"{source} cookies[{index}]"
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("name", "value", "domain")):
            raise CookieFileError(f"{where}: each cookie has a name, a value and a domain, as text")
        expires = entry.get("expires", -1)
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise CookieFileError(f"{where}: expires is a number of seconds (-1 for a session cookie)")
        cookies.append(_check(Cookie(name=entry["name"], value=entry["value"], domain=entry["domain"],
                                     path=str(entry.get("path") or "/"), expires=float(expires),
                                     secure=bool(entry.get("secure")), http_only=bool(entry.get("httpOnly"))), where))
    return cookies


def load_cookies(path: Path) -> list[Cookie]:
    """Every cookie of a cookies.txt or storage_state file; CookieFileError naming the file and line otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CookieFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    if len(raw) > MAX_COOKIE_FILE_BYTES:
        raise CookieFileError(f"{path}: {len(raw)} bytes is more than a cookie export holds "
                              f"({MAX_COOKIE_FILE_BYTES}); export only the marketplace's cookies")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CookieFileError(f"{path}: not UTF-8 text; export the cookies again as cookies.txt or JSON") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise CookieFileError(f"{path} line {getattr(error, 'lineno', '?')}: not valid JSON ({error})") from None
        cookies = _storage_state(data, str(path))
    else:
        cookies = _netscape(text, str(path))
    if not cookies:
        raise CookieFileError(f"{path}: holds no cookies; sign in to the marketplace, then export them again")
    if len(cookies) > MAX_COOKIES:
        raise CookieFileError(f"{path}: {len(cookies)} cookies; export only the marketplace's (at most {MAX_COOKIES})")
    return cookies
