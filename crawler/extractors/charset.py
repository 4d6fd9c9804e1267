"""A page decoded as it declares itself, even where the declaration sits too deep for Scrapy to see.

Scrapy trusts, in order: the Content-Type header, a byte-order mark, a `<meta charset>` in the first 4 KiB, then
a statistical guess; browsers also honour a declaration further down the head. Taobao and Tmall pages are GBK,
and saved, proxied or script-injected copies often carry kilobytes of markup before their `<meta charset="gbk">`:
then the guess decides, and it can come out as mojibake. A browser that re-saves such a page writes UTF-8 but
keeps the old declaration, so a body that is valid UTF-8 stays UTF-8 whatever it claims.

A page can also name, in its header or markup, a Python codec no web page is written in: Scrapy then raises on
reading the page's text (`charset=rot13`, `hex`, `idna`, `undefined`) or reads it as something else (`punycode`).
Browsers ignore such a label. `readable` gives every extractor a response whose text can be read, so markup like
that costs a seller's page nothing but its non-ASCII characters.
"""

from __future__ import annotations

import codecs
import re
from typing import TypeVar, cast

from scrapy.http import HtmlResponse, TextResponse, XmlResponse
from w3lib.encoding import http_content_type_encoding, read_bom, resolve_encoding

SCAN_BYTES = 1024 * 1024  # a declaration is looked for in the <head>, within the first MiB
_META_CHARSET = re.compile(rb"""<meta\b[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


Page = TypeVar("Page", bound=TextResponse)


# Python codecs that are no charset of a web page: they decode punycode or escape sequences, or nothing at all.
_NOT_PAGE_CODECS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "utf-7"})


def is_page_charset(name: str | None) -> bool:
    """True for a codec a web page can be written in (a text encoding, not punycode or escapes)."""
    if not name:
        return False
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return bool(getattr(info, "_is_text_encoding", True)) and info.name not in _NOT_PAGE_CODECS


def readable(response: Page) -> Page:
    """The response itself where its text can be read in the charset Scrapy chose; else (its header or markup names
    a codec no page is written in) a copy read as UTF-8 with other bytes replaced, as a browser ignores the label."""
    try:
        if is_page_charset(response.encoding):
            _ = response.text
            return _markup(response)
    except (UnicodeError, LookupError):
        pass
    return _markup(response.replace(encoding="utf-8"))


def _markup(response: Page) -> Page:
    """A response whose selector reads markup: a JSON body (an API, JSON the browser kept) gets a JSON selector from
    Scrapy, on which every CSS or XPath call raises; read as HTML, those find nothing, and `json:` selectors read its
    text (crawler/extractors/jsondata.py)."""
    if isinstance(response, HtmlResponse | XmlResponse) or response.selector.type != "json":
        return response
    return cast(Page, response.replace(cls=HtmlResponse))


def declared_charset(body: bytes) -> str | None:
    """The charset the first `<meta>` declaration in the page's head names (resolved by w3lib), or None."""
    head = body[:SCAN_BYTES]
    end = head.lower().find(b"</head")
    match = _META_CHARSET.search(head[:end] if end >= 0 else head)
    return resolve_encoding(match.group(1).decode("ascii")) if match else None


def _is_utf8_text(body: bytes) -> bool:
    """True for a body with non-ASCII bytes that is valid UTF-8: GBK text almost never is by chance."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def with_declared_charset(response: TextResponse) -> TextResponse:
    """The response re-decoded with the charset its own markup declares, where Scrapy decided otherwise.

    A header or byte-order mark wins (as in browsers); a declaration the bytes cannot be decoded with is ignored.
    """
    content_type = response.headers.get(b"Content-Type")
    if content_type and http_content_type_encoding(content_type.decode("latin-1")):
        return response
    if read_bom(response.body)[0]:
        return response
    declared = declared_charset(response.body)
    if declared is None or not is_page_charset(declared) or declared == resolve_encoding(response.encoding):
        return response
    if _is_utf8_text(response.body):
        # A UTF-8 copy of a page that once was GBK: the bytes overrule the stale declaration.
        return response if resolve_encoding(response.encoding) == "utf-8" else response.replace(encoding="utf-8")
    try:
        response.body.decode(declared)
        redecoded = response.replace(encoding=declared)
        _ = redecoded.text
    except (UnicodeError, LookupError):  # not a charset the bytes are in, or no text codec (idna, rot13)
        return response
    return redecoded
