"""Markup a seller controls never makes an extractor raise: a value that cannot be used costs that field (or that
search card), never the listing or the page. A listing whose page made its extractor raise would be lost, so such
markup would hide a counterfeit from the crawl.

Real saved pages (../shared/fixtures/pages, read as tests/test_extractors_real_pages.py reads them) with a hostile
fragment injected are compared field by field with the listings of the untouched page; the configured, generic and
demo extractors are fed small synthetic pages.
"""

from __future__ import annotations

import copy
import time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from core.config import FieldSelectors
from core.money import parse_price
from crawler.extractors import amazon, configured, demo, ebay, extract_page, generic
from crawler.extractors.common import count_in, join_url, json_string, load_json
from crawler.items import ListingItem
from crawler.normalise import normalise_listing
from tests.crawl_kit import SELECTORS
from tests.test_extractors_real_pages import (
    ALIEXPRESS,
    AMAZON_IN_SEARCH,
    AMAZON_UK,
    AMAZON_US,
    EBAY_CARDS,
    EBAY_ITEM,
    EBAY_LIST,
    ETSY,
    MARKETPLACE_OF,
    TAOBAO,
    _raw,
)

# URLs no request can be made to, each written as the start of an absolute URL (what follows it on the page stays):
# urljoin/urlsplit raise ValueError on the first five, Scrapy's Request on the ports.
HOSTILE_URL_STARTS = {
    "unclosed-ipv6-bracket": "http://[oops/",
    "not-an-ipv6-address": "http://[::1x]/",
    "netloc-nfkc": "http://ex\u2100ample.com/",  # ℀ normalises to 'a/c': a host that changes under NFKC
    "port-out-of-range": "http://img.example:99999/",
    "port-not-a-number": "http://img.example:1:2/",
    "over-long": "http://img.example/" + "a" * 3000 + "/",
    "javascript": "javascript:alert(1)//",
}
HOSTILE = [pytest.param(start.encode(), id=name) for name, start in HOSTILE_URL_STARTS.items()]
# Those no URL parser reads at all (the others parse, and their query can still be read).
UNPARSEABLE = [param for param in HOSTILE if param.id not in ("over-long", "javascript")]
DEEP = 100_000  # arrays nested this deep: json and any recursive reader raise RecursionError long before


def read(shared_pages: Path, name: str, body: bytes | None = None, **headers: str) -> list[ListingItem]:
    """The listings of a saved page (or of `body`, a variant of it) with its marketplace's extractor."""
    if body is None and not headers:
        return list(_untouched(shared_pages / name))
    path = shared_pages / name
    response = HtmlResponse(url=path.as_uri(), body=_raw(path) if body is None else body, headers=headers or None)
    return extract_page(response, MARKETPLACE_OF[name])


@cache
def _untouched(path: Path) -> tuple[ListingItem, ...]:
    """The listings of the page as saved (read once; the tests only compare them, never change them)."""
    return tuple(extract_page(HtmlResponse(url=path.as_uri(), body=_raw(path)), MARKETPLACE_OF[path.name]))


def variant(shared_pages: Path, name: str, *replacements: tuple[bytes, bytes]) -> bytes:
    """The saved page with each `old` replaced by `new` everywhere; `old` must be on the page."""
    raw = _raw(shared_pages / name)
    for old, new in replacements:
        assert old in raw, f"{old[:80]!r} is not on {name}"
        raw = raw.replace(old, new)
    return raw


def fields(item: ListingItem, *leave_out: str) -> dict[str, Any]:
    return {key: value for key, value in item.to_json().items() if key not in leave_out}


def by_id(items: list[ListingItem]) -> dict[str, ListingItem]:
    return {item.external_id: item for item in items}


def assert_only_changed(clean: list[ListingItem], hostile: list[ListingItem], listing_id: str | None,
                        *changed: str) -> None:
    """Every listing of the clean page, equal field for field, except `changed` fields of `listing_id`."""
    before, after = by_id(clean), by_id(hostile)
    assert set(after) == set(before)
    for key, item in before.items():
        leave_out = changed if key == listing_id else ()
        assert fields(after[key], *leave_out) == fields(item, *leave_out), key


# --- URLs ------------------------------------------------------------------------------------------------------

# (page, where its photo URLs start, the listing whose photos those are). Every photo of that listing is written
# with the hostile start: its photos are left out, every other field and listing is as before.
PHOTOS = [
    pytest.param(EBAY_ITEM, [b"https://i.ebayimg.com/images/g/"], "226771798286", id="ebay-item"),
    pytest.param(EBAY_CARDS, [b"https://i.ebayimg.com/images/g/1TQAAOSw8adoWfqe/"], "197372382853",
                 id="ebay-card"),
    pytest.param(EBAY_LIST, [b"https://i.ebayimg.com/images/g/2XgAAOSwE19nR5i2/"], "184452549212",
                 id="ebay-old-card"),
    pytest.param(AMAZON_US, [b"https://m.media-amazon.com/images/"], "B0057OC5O8", id="amazon-product"),
    pytest.param(AMAZON_UK, [b"https://m.media-amazon.com/images/"], "1849757097", id="amazon-uk-product"),
    pytest.param(AMAZON_IN_SEARCH, [b"https://m.media-amazon.com/images/I/31G7+PjwzgL"], "B0FFN4GPJG",
                 id="amazon-card"),
    pytest.param(ALIEXPRESS, [b"https://ae01.alicdn.com/kf/"], "32993251330", id="aliexpress"),
    pytest.param(TAOBAO, [b"//gd"], "562283240178", id="taobao"),
    pytest.param(ETSY, [b"https://img", b"https:\\/\\/img"], "230389421", id="etsy"),
]


@pytest.mark.parametrize("start", HOSTILE)
@pytest.mark.parametrize(("name", "written", "listing_id"), PHOTOS)
def test_unusable_photo_urls_cost_only_the_photos(shared_pages: Path, name: str, written: list[bytes],
                                                  listing_id: str, start: bytes) -> None:
    clean = read(shared_pages, name)
    assert by_id(clean)[listing_id].image_urls
    hostile = read(shared_pages, name, variant(shared_pages, name, *((old, start) for old in written)))
    assert by_id(hostile)[listing_id].image_urls == []
    assert_only_changed(clean, hostile, listing_id, "image_urls")


@pytest.mark.parametrize("start", HOSTILE)
@pytest.mark.parametrize(("name", "listing_id"), [(EBAY_CARDS, "197372382853"), (EBAY_LIST, "184452549212")])
def test_a_search_card_whose_link_is_unusable_costs_only_that_card(shared_pages: Path, name: str, listing_id: str,
                                                                   start: bytes) -> None:
    clean = read(shared_pages, name)
    body = variant(shared_pages, name, (f"https://www.ebay.com/itm/{listing_id}".encode(),
                                        start + f"itm/{listing_id}".encode()))
    hostile = read(shared_pages, name, body)
    assert listing_id not in by_id(hostile)
    assert_only_changed([item for item in clean if item.external_id != listing_id], hostile, None)


@pytest.mark.parametrize("start", HOSTILE)
def test_an_unusable_next_page_link_costs_only_the_next_page(shared_pages: Path, start: bytes) -> None:
    url = "https://www.ebay.com/sch/i.html?_nkw=bmw+e28+parts"
    link = b"href=https://www.ebay.com/sch/i.html?_from=R40&_nkw=bmw+e28+parts&_sacat=6000&_pgn=2"
    body = variant(shared_pages, EBAY_LIST, (link, b"href=" + start + b"sch/i.html?_pgn=2"))
    clean, hostile = (ebay.extract_search(HtmlResponse(url=url, body=raw))
                      for raw in (_raw(shared_pages / EBAY_LIST), body))
    assert clean.next_url and hostile.next_url is None and hostile.cards == clean.cards
    amazon_link = b'<a href="/s?k=CMF+by+Nothing+Buds+2a&amp;page=2'
    body = variant(shared_pages, AMAZON_IN_SEARCH, (amazon_link, b'<a href="' + start + b"s?page=2"))
    clean, hostile = (amazon.extract_search(HtmlResponse(url=(shared_pages / AMAZON_IN_SEARCH).as_uri(), body=raw))
                      for raw in (_raw(shared_pages / AMAZON_IN_SEARCH), body))
    assert clean.next_url and hostile.next_url is None and hostile.cards == clean.cards


@pytest.mark.parametrize("start", UNPARSEABLE)
def test_an_unparseable_seller_link_costs_only_the_seller_id(shared_pages: Path, start: bytes) -> None:
    link = b'<a href="/gp/help/seller/at-a-glance.html/ref=dp_merchant_link?ie=UTF8&amp;seller=A1CJB5SYI9X4XC'
    hostile = read(shared_pages, AMAZON_US,
                   variant(shared_pages, AMAZON_US, (link, b'<a href="' + start + b"?seller=A1CJB5SYI9X4XC")))
    [item] = hostile
    assert item.seller_id is None and item.seller_name == "SainSmart Official"
    assert_only_changed(read(shared_pages, AMAZON_US), hostile, "B0057OC5O8", "seller_id")


@pytest.mark.parametrize("start", HOSTILE)
@pytest.mark.parametrize("name", [EBAY_ITEM, AMAZON_US, ALIEXPRESS, TAOBAO, ETSY])
def test_an_unusable_canonical_link_is_ignored(shared_pages: Path, name: str, start: bytes) -> None:
    """The canonical link (and og:url) name the listing's own address; unusable ones are skipped, also when no
    extractor is named and the page's address decides which one reads it."""
    head = b'<link rel="canonical" href="' + start + b'x"><meta property="og:url" content="' + start + b'y">'
    body = head + _raw(shared_pages / name)
    hostile = read(shared_pages, name, body)
    assert_only_changed(read(shared_pages, name), hostile, None)
    assert extract_page(HtmlResponse(url="https://shop.example/p/1", body=head + b"<h1>x</h1>"), None) == []


# --- JSON a page carries ----------------------------------------------------------------------------------------

DEEP_ARRAY = b"[" * DEEP + b"]" * DEEP


def test_deeply_nested_json_costs_only_that_value(shared_pages: Path) -> None:
    """JSON-LD, AliExpress's page data, Etsy's context and Amazon's image sizes, each with an array nested far
    deeper than any reader recurses: the rest of each JSON value is read as before."""
    cases = [
        (EBAY_ITEM, b'"image":["https://i.ebayimg.com', b'"review":' + DEEP_ARRAY + b',"image":["https://i.ebayimg.com'),
        (ALIEXPRESS, b'"titleModule":', b'"deep":' + DEEP_ARRAY + b',"titleModule":'),
        (ETSY, b'Etsy.Context={"page":null,', b'Etsy.Context={"deep":' + DEEP_ARRAY + b',"page":null,'),
        (AMAZON_US, b'data-a-dynamic-image="{', b'data-a-dynamic-image="{&quot;deep&quot;:' + DEEP_ARRAY[:9000]
         + DEEP_ARRAY[-9000:] + b","),
    ]
    for name, old, new in cases:
        assert_only_changed(read(shared_pages, name), read(shared_pages, name, variant(shared_pages, name, (old, new))),
                            None)


@pytest.mark.parametrize(("old", "new", "changed"), [
    pytest.param(b'"priceModule":', b'"priceModule":"x","was":', ("price_text", "original_price", "extra"),
                 id="price-module-not-an-object"),
    pytest.param(b'"priceModule":', b'"priceModule":[1,2],"was":', ("price_text", "original_price", "extra"),
                 id="price-module-a-list"),
    pytest.param(b'"storeModule":', b'"storeModule":"x","was":', ("location_text", "extra"), id="store-not-an-object"),
    pytest.param(b'"specsModule":', b'"specsModule":{"props":{"a":1}},"was":', ("condition",), id="props-not-a-list"),
    pytest.param(b'"tradeCount":6', b'"tradeCount":' + b"9" * 5000, ("sales",), id="count-of-5000-digits"),
    pytest.param(b'"tradeCount":6', b'"tradeCount":true', ("sales",), id="count-true"),
    pytest.param(b'"tradeCount":6', b'"tradeCount":-6', ("sales",), id="count-negative"),
    pytest.param(b'"tradeCount":6', b'"tradeCount":NaN', ("sales",), id="count-nan"),
])
def test_aliexpress_page_data_of_the_wrong_shape_costs_only_its_fields(shared_pages: Path, old: bytes, new: bytes,
                                                                       changed: tuple[str, ...]) -> None:
    """Modules that are not objects, a list that is an object, counts that are no count: the page's DOM gives what it
    can, the rest of the listing is as before."""
    clean = read(shared_pages, ALIEXPRESS)
    hostile = read(shared_pages, ALIEXPRESS, variant(shared_pages, ALIEXPRESS, (old, new)))
    [item] = hostile
    assert (item.price, item.price_high, item.currency) == (Decimal("97.39"), Decimal("128.72"), "EUR")
    assert item.seller_name == "Summer Technology Co.,Ltd." and item.seller_id == "1392990"
    if "sales" in changed:
        assert item.sales is None or item.sales == clean[0].sales  # the DOM's "orders" line, where it says
    assert_only_changed(clean, hostile, "32993251330", *changed, "sales")


def jsonld_page(product: str, head: str = "") -> bytes:
    return (f"<html><head>{head}<meta property='og:title' content='Acme widget (og)'>"
            f"<script type='application/ld+json'>{product}</script></head><body></body></html>").encode()


SHOP = "https://shop.example/p/acme-1"
GOOD_OFFER = '{"price":"12.50","priceCurrency":"USD"}'


def product(offers: str = GOOD_OFFER, image: str = '"https://shop.example/a.jpg"', name: str = '"Acme widget"',
            more: str = "") -> str:
    """A schema.org Product in JSON-LD, its values written as JSON text."""
    return '{"@type":"Product","name":' + name + more + ',"image":' + image + ',"offers":' + offers + "}"


def generic_listing(body: bytes) -> ListingItem:
    listing = generic.extract_listing(HtmlResponse(url=SHOP, body=body), "shop")
    assert listing is not None
    return listing


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, '"1e999"', '"NaN"', "true",
                                   "{}", "[]", "[" * 5000 + "]" * 5000, '{"@type":"x"}', '"' + "9" * 300 + '"'])
def test_json_ld_prices_no_one_writes_cost_only_the_price(price: str) -> None:
    listing = normalise_listing(generic_listing(jsonld_page(product('{"price":' + price + ',"priceCurrency":"USD"}'))))
    assert listing.title == "Acme widget" and listing.image_urls == ["https://shop.example/a.jpg"]
    assert listing.price is None


@pytest.mark.parametrize("offers", ['["x"]', "5", '"x"', '{"@type":"AggregateOffer","offers":["x"]}',
                                    '{"@type":"AggregateOffer","offers":"x"}', '{"@type":"AggregateOffer","offers":[]}',
                                    "[" * 5000 + "]" * 5000])
def test_json_ld_offers_of_the_wrong_shape_cost_only_the_offer(offers: str) -> None:
    listing = generic_listing(jsonld_page(product(offers)))
    assert listing.title == "Acme widget" and listing.image_urls == ["https://shop.example/a.jpg"]
    assert listing.price_text is None and listing.seller_name is None


@pytest.mark.parametrize("image", ['"http://[oops/x.jpg"', '["http://[oops/x.jpg","https://shop.example/a.jpg"]',
                                   '"https://shop.example/a\\u0001.jpg"',
                                   '{"url":5}', "5", "[" * 5000 + "]" * 5000, '"javascript:alert(1)"',
                                   '"http://shop.example:99999/a.jpg"'])
def test_json_ld_photos_no_request_can_fetch_are_left_out(image: str) -> None:
    listing = generic_listing(jsonld_page(product(image=image)))
    assert listing.title == "Acme widget" and listing.price_text == "USD 12.50"
    assert listing.image_urls in ([], ["https://shop.example/a.jpg"])


def test_json_ld_deep_or_odd_values_cost_only_those_values() -> None:
    deep = "[" * DEEP + "]" * DEEP
    odd = ',"review":' + deep + ',"sku":' + "9" * 5000 + ',"description":{"a":' + deep + "}"
    listing = generic_listing(jsonld_page(product(name='"Acme widget \\ud800"', more=odd)))
    assert listing.title == "Acme widget \ufffd" and listing.price_text == "USD 12.50"
    assert listing.extra == {} and listing.description is None
    # A Product nested deeper than any page nests one is not looked for; the page's Open Graph title is read.
    buried = generic_listing(jsonld_page("[" * DEEP + product() + "]" * DEEP))
    assert buried.title == "Acme widget (og)"
    # Within the depth real pages use, a Product in a graph is found as before.
    graph = generic_listing(jsonld_page('{"@graph":[{"@type":"ItemList","itemListElement":[{"item":' + product()
                                        + "}]}]}"))
    assert graph.title == "Acme widget" and graph.price_text == "USD 12.50"


@pytest.mark.parametrize("start", HOSTILE)
def test_generic_unusable_canonical_link_and_photo(start: bytes) -> None:
    bad = start.decode()
    images = f'["{bad}x.jpg","https://shop.example/a.jpg"]'
    listing = generic_listing(jsonld_page(product(image=images), f"<link rel='canonical' href='{bad}p'>"))
    assert listing.url == SHOP and listing.external_id == generic.url_identity(SHOP)
    assert listing.image_urls == ["https://shop.example/a.jpg"] and listing.price_text == "USD 12.50"


def test_load_json_never_raises_and_keeps_what_it_can() -> None:
    value = load_json('{"a": NaN, "b": Infinity, "c": 1e999, "d": ' + "9" * 5000 + ', "e": 12, "f": 1.5, '
                      '"g": "x\\udcffy", "h": ' + "[" * DEEP + "]" * DEEP + "}")
    assert value["a"] is value["b"] is value["c"] is value["d"] is None
    assert (value["e"], value["f"], value["g"]) == (12, 1.5, "x\ufffdy")
    depth, inner = 0, value["h"]
    while isinstance(inner, list) and inner:
        depth, inner = depth + 1, inner[0]
    assert depth < 50  # cut well above any real page's nesting, far below any recursion limit
    for text in ("", "not json", "[" * DEEP, '{"a": [1, 2', None):
        assert load_json(text) is None


# --- prices, counts, charsets, patterns -------------------------------------------------------------------------

PRICE_NODE = b"<span class=ux-textspans>EUR 3,500.00</span>"


@pytest.mark.parametrize(("shown", "expected"), [
    ("EUR 1e999", None), ("EUR 3.5E+3", None), ("EUR " + "9" * 150, None), ("EUR NaN", None), ("EUR Infinity", None),
    ("EUR " + "1," * 80 + "5", None), ("EUR ３，５００．００", Decimal("3500.00")),
    ("EUR ٣٬٥٠٠٫٠٠", Decimal("3500.00")), ("EUR 𝟑,𝟓𝟎𝟎.𝟎𝟎", Decimal("3500.00")), ("EUR ½", None), ("EUR ²", None),
])
def test_prices_no_one_writes_cost_only_the_price(shared_pages: Path, shown: str, expected: Decimal | None) -> None:
    """A shown price in scientific notation or beyond any amount is no price; digits of other scripts read as
    digits. The listing is otherwise as before."""
    body = variant(shared_pages, EBAY_ITEM, (PRICE_NODE, b"<span class=ux-textspans>" + shown.encode() + b"</span>"))
    clean, hostile = read(shared_pages, EBAY_ITEM), read(shared_pages, EBAY_ITEM, body)
    assert normalise_listing(copy.deepcopy(hostile[0])).price == expected
    assert_only_changed(clean, hostile, "226771798286", "price_text", "price", "price_high", "currency")


def test_parse_price_never_raises_on_odd_text() -> None:
    for text in ("1e999", "USD 1E+999999999", "NaN", "sNaN", "-Infinity", "$" + "9" * 199, "١٢٣٫٤٥", "\x00$5",
                 "$.", "$..........", "₹" + "1," * 99, "USD 1e-999999999999"):
        parsed = parse_price(text, "USD")
        assert parsed is None or (parsed.low.is_finite() and parsed.low < Decimal(10) ** 14), text


@pytest.mark.parametrize("sold", [b"9" * 150 + b" sold", b"\xc2\xb2 sold", b"1e999 sold", b"NaN sold"])
def test_counts_no_one_writes_cost_only_the_count(shared_pages: Path, sold: bytes) -> None:
    body = variant(shared_pages, EBAY_CARDS, (b">45+ sold<", b">" + sold + b"<"))
    hostile = read(shared_pages, EBAY_CARDS, body)
    assert by_id(hostile)["225272243923"].sales in (None, 1)  # '1e999 sold' shows a 1, not 10**999
    assert_only_changed(read(shared_pages, EBAY_CARDS), hostile, "225272243923", "sales")
    assert count_in("9" * 150 + " sold") is None and count_in("2.5万") == 25000


@pytest.mark.parametrize("count", [b"\xc2\xb2", b"9" * 5000, b"-3", b"\xd9\xa3"])
def test_etsy_review_count_no_one_writes_costs_only_the_count(shared_pages: Path, count: bytes) -> None:
    body = variant(shared_pages, ETSY, (b'<meta itemprop="count" content="1221"', b'<meta itemprop="count" content="'
                                        + count + b'"'))
    hostile = read(shared_pages, ETSY, body)
    assert "reviews" not in hostile[0].extra
    clean = read(shared_pages, ETSY)
    assert fields(hostile[0], "extra") == fields(clean[0], "extra")
    assert {k: v for k, v in clean[0].extra.items() if k != "reviews"} == hostile[0].extra


@pytest.mark.parametrize("charset", ["rot13", "idna", "undefined", "punycode"])
@pytest.mark.parametrize("name", [EBAY_ITEM, EBAY_LIST, AMAZON_US, ALIEXPRESS, TAOBAO, ETSY])
def test_a_charset_no_page_is_written_in_is_ignored(shared_pages: Path, name: str, charset: str) -> None:
    """Scrapy raises on reading the text of a page that names a codec no page is written in (or reads it as
    punycode); as in a browser, the label is ignored. In the page's markup or its Content-Type header."""
    clean = read(shared_pages, name)
    in_markup = read(shared_pages, name, f'<meta charset="{charset}">'.encode() + _raw(shared_pages / name))
    assert_only_changed(clean, in_markup, None)
    in_header = read(shared_pages, name, None, **{"Content-Type": f"text/html; charset={charset}"})
    assert_only_changed(clean, in_header, None)


@pytest.mark.timeout(30)  # the old pattern would run for longer than the universe has
def test_json_string_does_not_backtrack_on_backslashes(shared_pages: Path) -> None:
    """A run of backslashes after `"sellerNick":"` made the pattern backtrack exponentially (40 took minutes)."""
    started = time.monotonic()
    assert json_string('"sellerNick":"' + "\\" * 10_000 + "x", "sellerNick") is None
    assert json_string('"sellerNick":"ab\\"c\\\\" more', "sellerNick") == 'ab"c\\'
    script = b'<script>var g_config = {"sellerNick":"' + b"\\" * 10_000 + b"</script>"
    body = variant(shared_pages, TAOBAO, (b"tb-shop-seller", b"gone"), (b"</body>", script + b"</body>"))
    [item] = read(shared_pages, TAOBAO, body)
    assert item.title == read(shared_pages, TAOBAO)[0].title
    assert time.monotonic() - started < 5


def test_join_url_takes_only_what_a_request_can_be_made_to() -> None:
    base = "https://shop.example/item/1"
    assert join_url(base, "/a.jpg") == "https://shop.example/a.jpg"
    assert join_url(base, "//cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    assert join_url("http://shop.example/", "//cdn.example/a.jpg") == "http://cdn.example/a.jpg"
    assert join_url("file:///saved/page.html", "//cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    assert join_url(base, "http://[::1]:8080/a.jpg") == "http://[::1]:8080/a.jpg"
    for bad in [*HOSTILE_URL_STARTS.values(), "http:///no-host", "data:image/png;base64,AAAA", "mailto:x@y.z",
                "https://shop.example/\udcff", "https://shop.example/a\x00b", "", "   ", None]:
        assert join_url(base, bad) is None, bad


# --- configured and demo shops ----------------------------------------------------------------------------------

ITEM = ("<html><body><h1>Acme widget</h1><span class=price>$12.00</span><span class=seller>s1</span>"
        "<span class=loc>Located in Shenzhen, China</span><img src='{bad}x.jpg'><img src='/img/good.jpg'>"
        "</body></html>")


@pytest.mark.parametrize("start", HOSTILE)
def test_configured_listing_with_an_unusable_photo(start: bytes) -> None:
    response = HtmlResponse(url="http://shop.example/item/w1", body=ITEM.format(bad=start.decode()).encode())
    result = configured.extract_listing(response, "shop", FieldSelectors(**SELECTORS), r"/item/(\w+)")
    item = result.item
    assert item is not None and result.missing == []
    assert (item.external_id, item.title, item.price_text, item.seller_name, item.location_text) == (
        "w1", "Acme widget", "$12.00", "s1", "Located in Shenzhen, China")
    assert item.image_urls == ["http://shop.example/img/good.jpg"]


@pytest.mark.parametrize("start", HOSTILE)
def test_configured_search_page_keeps_every_usable_card(start: bytes) -> None:
    bad = start.decode()
    flat = (f"<a class=item href='/item/a'>a</a><a class=item href='{bad}item/x'>x</a><a class=item href='/item/b'>b"
            f"</a><a class=next href='{bad}page2'>next</a>").encode()
    selectors = FieldSelectors(**SELECTORS, next_page="a.next::attr(href)")
    page = configured.extract_search(HtmlResponse(url="http://shop.example/search", body=flat), selectors)
    assert [card.url for card in page.cards] == ["http://shop.example/item/a", "http://shop.example/item/b"]
    assert page.next_url is None
    cards = (f"<li><a class=item href='/item/a'>a</a><h1>A</h1></li><li><a class=item href='{bad}x'>x</a><h1>X</h1>"
             f"</li><li><a class=item href='/item/b'>b</a><h1>B</h1><span class=price>$3</span></li>").encode()
    page = configured.extract_search(HtmlResponse(url="http://shop.example/search", body=cards),
                                     FieldSelectors(**SELECTORS, item="li"))
    assert [(card.url, card.title, card.price_text) for card in page.cards] == [
        ("http://shop.example/item/a", "A", None), ("http://shop.example/item/b", "B", "$3")]


@pytest.mark.parametrize("start", HOSTILE)
def test_demo_shop_pages_with_unusable_links(start: bytes) -> None:
    bad = start.decode()
    search = (f"<ul><li class=card data-id=a><a class=card-link href='/item/a'>a</a></li><li class=card data-id=x>"
              f"<a class=card-link href='{bad}item/x'>x</a></li></ul><a class=next href='{bad}p2'>next</a>").encode()
    page = demo.extract_search(HtmlResponse(url="http://demo.example/search", body=search))
    assert [card.external_id for card in page.cards] == ["a"] and page.next_url is None
    item = (f"<h1 class=item-title>Acme widget</h1><span class=item-price data-currency=CNY>¥ 88</span>"
            f"<div class=gallery><img src='{bad}x.jpg'><img src='/img/a.jpg'></div>"
            f"<span class=item-sales>月销 {'9' * 100}</span>").encode()
    listing = demo.extract_listing(HtmlResponse(url="http://demo.example/item/a1", body=item), "demo")
    assert listing is not None and listing.title == "Acme widget" and listing.price_text == "¥ 88"
    assert listing.image_urls == ["http://demo.example/img/a.jpg"] and listing.sales is None


def test_the_item_pages_free_text_is_crawled_as_the_description() -> None:
    # Contact details hide in the description and the seller's notes: every block is kept, one per line.
    blocks = "<div class=desc>正品 <b>包邮</b></div><div class=notes>加V: mei2688</div></body>"
    body = ITEM.format(bad="").replace("</body>", blocks).encode()
    response = HtmlResponse(url="http://shop.example/item/w1", body=body)
    selectors = FieldSelectors(**SELECTORS, description="div.desc, div.notes")
    result = configured.extract_listing(response, "shop", selectors, r"/item/(\w+)")
    assert result.item is not None and result.item.description == "正品 包邮\n加V: mei2688"
    assert result.missing == []
    # Without the blocks, the selector is reported missing and the page's schema.org description is read.
    bare = ITEM.format(bad="").replace("</body>", '<script type="application/ld+json">{"@type": "Product", '
                                       '"name": "Acme widget", "description": "QQ 12345678"}</script></body>')
    result = configured.extract_listing(HtmlResponse(url="http://shop.example/item/w1", body=bare.encode()), "shop",
                                        selectors, r"/item/(\w+)")
    assert result.missing == ["description"]
    assert result.item is not None and result.item.description == "QQ 12345678"
    demo_page = ("<h1 class=item-title>A</h1><div class=item-desc>正品 <b>包邮</b></div>"
                 "<div class=item-notes>薇: mei2688</div>").encode()
    listing = demo.extract_listing(HtmlResponse(url="http://demo.example/item/a1", body=demo_page), "demo")
    assert listing is not None and listing.description == "正品 包邮\n薇: mei2688"
