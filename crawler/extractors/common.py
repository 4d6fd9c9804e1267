"""What every marketplace extractor shares: bounded text from the DOM, JSON embedded in scripts, money fields from
a price as shown, counts such as '45+ sold', the currency a site's bare '$' or '¥' means.

Everything here is a pure function of its arguments and bounded: strings are capped, scans stop early. Nothing
here raises on what a page holds: sellers write much of a page, and a listing that made its extractor raise would
be lost. A URL that cannot be parsed or fetched, JSON nested too deep or holding numbers no one writes, a count
that is no count: each comes out as None (or is left out), costing that one field, never the listing or page.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

from parsel import Selector, SelectorList
from scrapy.http import TextResponse
from scrapy.utils.response import get_base_url
from w3lib.url import safe_url_string

from core.money import MAX_AMOUNT, parse_price

MAX_CARDS = 500  # listing cards read from one search page
MAX_IMAGES = 20  # image URLs kept per listing (the pipeline fetches fewer)
FIELD_MAX = 2000  # characters kept of any one field read from a page
URL_MAX = 2048  # longer URLs are left out (browsers and servers commonly refuse them)
MAX_EMBEDDED_JSON = 4_000_000  # characters of one script-embedded JSON object
MAX_JSON_DEPTH = 40  # arrays and objects nested deeper are read as null (real page data nests about 10 deep)
MAX_JSON_INT_DIGITS = 40  # longer integers are read as null (Python refuses to read past 4300 digits)
MAX_COUNT = 10**12  # a count above this (sold, reviews, stock) is no count

_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')

# Where text is read from: an element or elements, or a whole page.
Node = Selector | SelectorList[Selector] | TextResponse

# Alibaba's image CDN (AliExpress, Taobao, Tmall) serves a thumbnail of a photo by a size suffix on its URL:
# 'x.jpg_50x50.jpg', 'x.jpg_640x640q90.jpg_.webp'; without the suffix, the full photo.
ALICDN_SIZE_SUFFIX = re.compile(r"(?<=\.(?:jpg|png))_\d{2,4}x\d{2,4}[a-z0-9]*\.(?:jpg|png|webp)(?:_\.webp)?$")

_TEXT_NODES = ".//text()[not(ancestor::script) and not(ancestor::style)]"

# The currency a bare '$' or '¥' means on each site; a price that names its currency (IDR, EUR, £) keeps it.
_SITE_CURRENCY = {
    "ebay.com": "USD", "ebay.ca": "CAD", "ebay.com.au": "AUD", "ebay.com.hk": "HKD", "ebay.com.sg": "SGD",
    "ebay.com.my": "MYR", "ebay.ph": "PHP", "ebay.co.uk": "GBP", "ebay.de": "EUR", "ebay.fr": "EUR",
    "ebay.it": "EUR", "ebay.es": "EUR", "ebay.nl": "EUR", "ebay.at": "EUR", "ebay.ie": "EUR", "ebay.ch": "CHF",
    "ebay.pl": "PLN",
    "amazon.com": "USD", "amazon.ca": "CAD", "amazon.com.mx": "MXN", "amazon.com.br": "BRL",
    "amazon.com.au": "AUD", "amazon.co.jp": "JPY", "amazon.sg": "SGD", "amazon.in": "INR", "amazon.co.uk": "GBP",
    "amazon.de": "EUR", "amazon.fr": "EUR", "amazon.it": "EUR", "amazon.es": "EUR", "amazon.nl": "EUR",
    "amazon.se": "SEK", "amazon.pl": "PLN", "amazon.com.tr": "TRY", "amazon.ae": "AED", "amazon.sa": "SAR",
    "taobao.com": "CNY", "tmall.com": "CNY", "tmall.hk": "CNY", "1688.com": "CNY", "jd.com": "CNY",
}


def cap(value: str | None, limit: int = FIELD_MAX) -> str | None:
    """Whitespace folded, capped at `limit` characters; None for nothing."""
    if value is None:
        return None
    folded = re.sub(r"\s+", " ", value[: limit * 2]).strip()
    return folded[:limit] or None


def attr(node: Selector | SelectorList[Selector], name: str) -> str | None:
    """One attribute of an element (of a list's first element, as `.attrib` reads it), or None without it.

    Not `Selector.attrib`: that builds every attribute of the element, and lxml raises ValueError on one whose
    name carries a control character (`<div data-asin=""\x1f ...>`), which its HTML parser lets through.
    """
    if isinstance(node, SelectorList):
        if not node:
            return None
        node = node[0]
    return node.xpath(f"@{name}").get()


def text_of(node: Node, css: str | None = None, limit: int = FIELD_MAX) -> str | None:
    """The visible text of the first element `css` selects below `node` (of `node` itself without `css`)."""
    scope = node.selector if isinstance(node, TextResponse) else node
    target = scope.css(css) if css else scope
    if isinstance(target, SelectorList):
        if not target:
            return None
        target = target[0]
    return cap(" ".join(target.xpath(_TEXT_NODES).getall()), limit)


def texts_of(node: Node, css: str, limit: int = 100) -> list[str]:
    """The visible text of every element `css` selects, empty ones left out, at most `limit` of them."""
    found = []
    for element in node.css(css)[:limit]:
        value = text_of(element)
        if value:
            found.append(value)
    return found


def first_text(node: Node, *selectors: str) -> str | None:
    """The text of the first selector (in order of preference) that matches something with text."""
    for css in selectors:
        value = text_of(node, css)
        if value:
            return value
    return None


def split_url(url: str | None) -> SplitResult | None:
    """urlsplit() of a URL a page gave, None where it cannot be split (an unclosed IPv6 bracket, a port out of
    range or not a number, characters a host cannot hold): urlsplit and .port raise ValueError on those."""
    if not url or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    return parts


def join_url(base: str, url: str | None) -> str | None:
    """`url` (as a page gives it: relative, '//host/x', absolute) resolved against `base`, as an absolute http(s)
    URL a request can be made to; None for anything else: other schemes (javascript:, data:), no host, a URL that
    cannot be parsed (see split_url) or that Scrapy's Request would refuse, control characters, over URL_MAX.

    '//host/x' takes the scheme of an http(s) `base`, else https (a saved page's base is file://).
    """
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > URL_MAX:
        return None
    if url.startswith("//") and not base.startswith(("http://", "https://")):
        url = "https:" + url
    try:
        joined = urljoin(base, url)
        parts = urlsplit(joined)
        _ = parts.port
        safe_url_string(joined)  # what scrapy.Request does with a URL: it raises on lone surrogates, bad ports
    except (ValueError, UnicodeError):
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(joined) > URL_MAX \
            or _URL_CONTROL.search(joined):
        return None
    return joined


def page_base(response: TextResponse) -> str:
    """The URL a page's relative links resolve against: its `<base href>` where it declares an http(s) one (as
    browsers and Response.urljoin read it), else its own URL. A base that cannot be read is ignored."""
    try:
        base = get_base_url(response)
    except (ValueError, UnicodeError, LookupError):
        return response.url
    return base if base.startswith(("http://", "https://")) else response.url


def absolute(response: TextResponse, url: str | None) -> str | None:
    """An absolute http(s) URL resolved against the page (see page_base); None for anything else (see join_url)."""
    return join_url(page_base(response), url)


def unique_urls(response: TextResponse, urls: Iterable[str | None], limit: int = MAX_IMAGES) -> list[str]:
    """Absolute, de-duplicated URLs in their order, at most `limit`; those absolute() refuses are left out."""
    out: list[str] = []
    for raw in urls:
        url = absolute(response, raw)
        if url and url not in out:
            out.append(url)
            if len(out) >= limit:
                break
    return out


def one_per_photo(urls: list[str], photo_key: re.Pattern[str]) -> list[str]:
    """One URL per photo where a site serves each in several sizes: the first URL of each `photo_key` match
    (group 1) is kept, so list the preferred (largest) size first. URLs without a key are all kept."""
    seen: set[str] = set()
    photos = []
    for url in urls:
        key = photo_key.search(url)
        if key and key.group(1) in seen:
            continue
        if key:
            seen.add(key.group(1))
        photos.append(url)
    return photos


def canonical_url(response: TextResponse) -> str:
    """The page's own canonical URL where it gives one, else the URL it was fetched from."""
    for css in ('link[rel="canonical"]::attr(href)', 'meta[property="og:url"]::attr(content)'):
        url = absolute(response, response.css(css).get())
        if url:
            return url
    return response.url[:URL_MAX]


def site_currency(url: str) -> str | None:
    """The currency a bare '$' or '¥' means on the site of `url` (ebay.ca: CAD), None where unknown."""
    parts = split_url(url)
    host = ((parts.hostname if parts else None) or "").lower()
    labels = host.split(".")
    for start in range(len(labels)):
        currency = _SITE_CURRENCY.get(".".join(labels[start:]))
        if currency:
            return currency
    return None


def money(price_text: str | None, default_currency: str | None) -> dict[str, Any]:
    """ListingItem keyword arguments for a price as shown: its text, and Decimal low/high + ISO 4217 where
    the text is a price ('Call for price' and '-5' are none)."""
    fields: dict[str, Any] = {"price_text": cap(price_text, 200)}
    parsed = parse_price(price_text, default_currency)
    if parsed is not None:
        fields.update(price=parsed.low, price_high=parsed.high, currency=parsed.currency)
    return fields


def amount(price_text: str | None, default_currency: str | None) -> Decimal | None:
    """The (low) amount of a price as shown, e.g. an original or list price; None where there is none."""
    parsed = parse_price(price_text, default_currency)
    return parsed.low if parsed else None


_COUNT = re.compile(r"(\d[\d,.\s]*)\s*([KkMm万]?)\s*\+?")


def count_in(text: str | None) -> int | None:
    """The count a phrase gives: '45+ sold' 45, '1K+ bought' 1000, '(9,144)' 9144, '2.5万' 25000; None where the
    phrase gives none or a number no count reaches (over MAX_COUNT)."""
    if not text:
        return None
    match = _COUNT.search(text[:200])
    if not match:
        return None
    digits = re.sub(r"[,\s]", "", match.group(1)).rstrip(".")
    try:
        value = Decimal(digits)
    except ArithmeticError:
        return None
    multiplier = {"k": 1000, "m": 1_000_000, "万": 10_000}.get(match.group(2).lower(), 1)
    if not value.is_finite() or value > MAX_COUNT:
        return None
    return count_value(int(value * multiplier))


def count_value(value: Any) -> int | None:
    """A count a page's data gives as a number (12, '12'), None for anything else: not a whole number (True
    neither), negative, or over MAX_COUNT."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 13:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_COUNT else None


def decimal_value(value: Any) -> Decimal | None:
    """An amount a page's data gives as a number or its text (97.39, '97.39'); None for anything else: true/false,
    not a finite number, negative, MAX_AMOUNT or more, in scientific notation or over 40 characters."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        text = str(value).strip()
        number = Decimal(text) if len(text) <= 40 and not re.search(r"[eE]", text) else None
    except (ArithmeticError, ValueError):
        return None
    return number if number is not None and number.is_finite() and 0 <= number < MAX_AMOUNT else None


def id_value(value: Any) -> str | None:
    """A numeric id a page's data gives (1392990 or '1392990') as its digits; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, int):
        return str(value) if 0 < value < 10**20 else None
    return value if value.isascii() and value.isdigit() and len(value) <= 20 else None


def _json_int(text: str) -> int | None:
    return int(text) if len(text.lstrip("-")) <= MAX_JSON_INT_DIGITS else None


def _json_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


# NaN and Infinity (which Python's json reads by default) are null, as are numbers beyond what a page means.
_DECODER = json.JSONDecoder(parse_int=_json_int, parse_float=_json_float, parse_constant=lambda _name: None)


def _shallow(text: str, max_depth: int = MAX_JSON_DEPTH) -> str:
    """The JSON text with every array or object of its first value nested deeper than `max_depth` replaced by
    null, so that it can be parsed without recursing too deep. A scan of the text, no recursion."""
    pieces: list[str] = []
    depth = 0
    in_string = False
    skip_to = -1
    cut = -1  # where the too-deep value being skipped began
    kept = 0
    for match in _JSON_STRUCTURE.finditer(text):
        pos = match.start()
        if pos < skip_to:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                skip_to = pos + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth and cut < 0:
                cut = pos
        elif char in "]}":
            depth -= 1
            if cut >= 0 and depth == max_depth:
                pieces += [text[kept:cut], "null"]
                kept, cut = pos + 1, -1
            if depth <= 0:
                break
    pieces.append(text[kept:])
    return "".join(pieces)


def _bounded(value: Any, surrogates: bool, depth: int = 0) -> Any:
    """`value` with containers nested deeper than MAX_JSON_DEPTH replaced by None, and where `surrogates` says the
    text had escapes that can make them, lone surrogates (no UTF-8 text can hold one) by U+FFFD. Containers are
    changed in place; the recursion stops at MAX_JSON_DEPTH."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if surrogates else value
    if not isinstance(value, dict | list):
        return value
    if depth >= MAX_JSON_DEPTH:
        return None
    if isinstance(value, dict):
        if surrogates and any(_SURROGATE.search(key) for key in value):
            value = {_SURROGATE.sub("\ufffd", key): child for key, child in value.items()}
        for key, child in value.items():
            if isinstance(child, dict | list) or (surrogates and isinstance(child, str)):
                value[key] = _bounded(child, surrogates, depth + 1)
    else:
        for index, child in enumerate(value):
            if isinstance(child, dict | list) or (surrogates and isinstance(child, str)):
                value[index] = _bounded(child, surrogates, depth + 1)
    return value


def _decode_first(text: str) -> Any:
    """The first JSON value of `text` (whatever follows it is ignored), bounded; raises ValueError if none."""
    try:
        value, _end = _DECODER.raw_decode(text)
    except RecursionError:
        value, _end = _DECODER.raw_decode(_shallow(text))
    return _bounded(value, surrogates=bool(_SURROGATE_ESCAPE.search(text)))


def load_json(text: str | None) -> Any:
    """A JSON document a page holds (a JSON-LD block, a data attribute), or None where it is not JSON.

    Never raises: NaN and Infinity are null, as are integers of more than MAX_JSON_INT_DIGITS digits; arrays and
    objects nested deeper than MAX_JSON_DEPTH are null (the rest of the document is kept), so code reading the
    value may recurse over it; lone surrogates become U+FFFD.
    """
    if not text or not isinstance(text, str):
        return None
    text = text.strip()
    try:
        value = _decode_first(text)
    except (ValueError, RecursionError):
        return None
    return value


def embedded_json(text: str, marker: str, limit: int = MAX_EMBEDDED_JSON) -> Any:
    """The JSON value that follows `marker` in a page's scripts (`window.runParams = { data: {...} }`); None
    when the marker is missing or the value is not JSON. Bounded as load_json is."""
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    while start < len(text) and text[start] in " \t\r\n=:":
        start += 1
    try:
        return _decode_first(text[start : start + limit])
    except (ValueError, RecursionError):
        return None


def json_string(text: str, key: str, limit: int = FIELD_MAX) -> str | None:
    """The string value of `"key":"..."` (or `key : '...'` in JavaScript) first found in a page's scripts."""
    # An escape (backslash and any character) or any other character but the closing quote: one way to read each
    # character, so a long run of backslashes cannot make the search backtrack exponentially.
    match = re.search(rf"""["']?{re.escape(key)}["']?\s*:\s*(["'])((?:\\.|(?!\1)[^\\]){{0,{limit}}})\1""", text)
    if not match:
        return None
    raw = match.group(2)
    try:
        decoded = json.loads('"' + re.sub(r'(?<!\\)"', r'\"', raw.replace("\\'", "'")) + '"')
    except ValueError:
        decoded = raw
    return cap(_SURROGATE.sub("\ufffd", str(decoded)), limit)


def json_number(text: str, key: str) -> str | None:
    """The digits of `"key":123` (or `key : '123'`) first found in a page's scripts."""
    match = re.search(rf"""["']?{re.escape(key)}["']?\s*:\s*["']?(\d{{1,30}})\b""", text)
    return match.group(1) if match else None


def dig(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]... or None where any step is missing or not a mapping."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
