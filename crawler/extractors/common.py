"""What every marketplace extractor shares: bounded text from the DOM, JSON embedded in scripts, money fields from
a price as shown, counts such as '45+ sold', the currency a site's bare '$' or '¥' means.

Everything here is a pure function of its arguments and bounded: strings are capped, scans stop early.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from core.money import parse_price

MAX_CARDS = 500  # listing cards read from one search page
MAX_IMAGES = 20  # image URLs kept per listing (the pipeline fetches fewer)
FIELD_MAX = 2000  # characters kept of any one field read from a page
URL_MAX = 2048
MAX_EMBEDDED_JSON = 4_000_000  # characters of one script-embedded JSON object

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


def absolute(response: TextResponse, url: str | None) -> str | None:
    """An absolute http(s) URL ('//host/x' gets https), capped; None for anything else (javascript:, data:)."""
    if not url:
        return None
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    joined = urljoin(response.url, url)
    return joined[:URL_MAX] if joined.startswith(("http://", "https://")) else None


def unique_urls(response: TextResponse, urls: list[str | None], limit: int = MAX_IMAGES) -> list[str]:
    """Absolute, de-duplicated URLs in their order, at most `limit`."""
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
    host = (urlsplit(url).hostname or "").lower()
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
    """The count a phrase gives: '45+ sold' 45, '1K+ bought' 1000, '(9,144)' 9144, '2.5万' 25000."""
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
    return int(value * multiplier)


def embedded_json(text: str, marker: str, limit: int = MAX_EMBEDDED_JSON) -> Any:
    """The JSON value that follows `marker` in a page's scripts (`window.runParams = { data: {...} }`); None
    when the marker is missing or the value is not JSON."""
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    while start < len(text) and text[start] in " \t\r\n=:":
        start += 1
    try:
        value, _end = json.JSONDecoder().raw_decode(text[start : start + limit])
    except ValueError:
        return None
    return value


def json_string(text: str, key: str, limit: int = FIELD_MAX) -> str | None:
    """The string value of `"key":"..."` (or `key : '...'` in JavaScript) first found in a page's scripts."""
    match = re.search(rf"""["']?{re.escape(key)}["']?\s*:\s*(["'])((?:\\.|(?!\1).){{0,{limit}}})\1""", text)
    if not match:
        return None
    raw = match.group(2)
    try:
        decoded = json.loads('"' + re.sub(r'(?<!\\)"', r'\"', raw.replace("\\'", "'")) + '"')
    except ValueError:
        decoded = raw
    return cap(str(decoded), limit)


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
