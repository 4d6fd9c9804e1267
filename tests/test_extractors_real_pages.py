"""Marketplace extractors on real saved pages (../shared/fixtures/pages): field values, card counts taken
independently from the raw HTML, normalised prices and ISO 3166 codes, GBK decoding, malformed input.

Responses are built the way Scrapy builds them (HtmlResponse from the raw bytes, no encoding given).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse
from typer.testing import CliRunner

from brandpatrol.cli import app
from crawler.extractors import PAGE_EXTRACTORS, aliexpress, amazon, ebay, etsy, extract_page, generic, taobao
from crawler.extractors.charset import with_declared_charset
from crawler.items import ListingItem
from crawler.normalise import normalise_listing

EBAY_ITEM = "ebay_item_rtx5090_seller_paris_2025.html"
EBAY_CARDS = "ebay_us_search_nike_shoes_2026.html"
EBAY_LIST = "ebay_us_motors_search_bmw_e28_parts_2025.html"
AMAZON_UK = "amazon_uk_product_book_3p_seller.html"
AMAZON_US = "amazon_us_product_sainsmart_relay.html"
AMAZON_IN_SEARCH = "amazon_in_search_cmf_nothing_buds_2a.html"
ALIEXPRESS = "aliexpress_he_item_iphone_se.html"
TAOBAO = "taobao_item_keyboard_case.html"
ETSY = "etsy_listing_decal_infernodecals.html"
TAOBAO_URL = "https://item.taobao.com/item.htm?id=562283240178"
TAOBAO_TITLE = "乳白亚克力外壳 60%键盘外壳 poker外壳无加强筋底壳透光外壳"

TAOBAO_SEARCH = "taobao_search_huili_shoes_2016.htm"
JD_SEARCH = "jd_search_phones_2024.html"
WHOLESALE_SEARCH = "1688_search_usb_cables_2024.html"
LAZADA_SEARCH = "lazada_ph_search_watsons_diapers_2024.html"

MARKETPLACE_OF = {EBAY_ITEM: "ebay", EBAY_CARDS: "ebay", EBAY_LIST: "ebay", AMAZON_UK: "amazon", AMAZON_US: "amazon",
                  AMAZON_IN_SEARCH: "amazon", ALIEXPRESS: "aliexpress", TAOBAO: "taobao", ETSY: "etsy",
                  TAOBAO_SEARCH: "taobao", JD_SEARCH: "jd", WHOLESALE_SEARCH: "1688", LAZADA_SEARCH: "lazada"}


@cache
def _raw(path: Path) -> bytes:
    return path.read_bytes()


def page(shared_pages: Path, name: str, url: str | None = None) -> HtmlResponse:
    path = shared_pages / name
    return HtmlResponse(url=url or path.as_uri(), body=_raw(path))


@cache
def _listings(path: Path, marketplace: str) -> tuple[ListingItem, ...]:
    response = HtmlResponse(url=path.as_uri(), body=_raw(path))
    return tuple(extract_page(response, marketplace))


def listings(shared_pages: Path, name: str) -> list[ListingItem]:
    """Fresh copies of a page's listings (normalise_listing changes an item in place)."""
    return copy.deepcopy(list(_listings(shared_pages / name, MARKETPLACE_OF[name])))


def by_id(items: list[ListingItem]) -> dict[str, ListingItem]:
    return {item.external_id: item for item in items}


def test_every_shared_page_has_an_extractor_that_reads_it(shared_pages: Path) -> None:
    on_disk = {p.name for p in shared_pages.iterdir() if p.suffix in (".html", ".htm")}
    assert on_disk == set(MARKETPLACE_OF), "a new shared page needs its extractor and assertions here"
    for name, marketplace in MARKETPLACE_OF.items():
        found = listings(shared_pages, name)
        assert found, name
        for item in found:
            normalised = normalise_listing(item)
            assert normalised.marketplace == marketplace
            assert normalised.title and normalised.external_id and normalised.url.startswith("https://")
            assert normalised.price is not None and normalised.currency, (name, item.external_id)


# --- eBay ----------------------------------------------------------------------------------------------------


def test_ebay_item_page_modern_layout(shared_pages: Path) -> None:
    [item] = listings(shared_pages, EBAY_ITEM)
    assert item.external_id == "226771798286"
    assert item.url == "https://www.ebay.com/itm/226771798286"
    assert item.title == "NVIDIA GeForce RTX 5090 FE Founders Edition"
    # The seller's own price, not eBay's USD conversion that its JSON-LD carries.
    assert (item.price_text, item.price, item.currency) == ("EUR 3,500.00", Decimal("3500.00"), "EUR")
    assert item.extra["approx_price"] == "US $3,971.45"
    assert (item.seller_name, item.seller_id) == ("salomon0651", "salomon0651")
    assert item.extra["seller_feedback_count"] == 113 and item.extra["seller_positive"] == "100%"
    assert item.location_text == "Paris, France"
    assert item.condition == "New"
    assert item.image_urls == ["https://i.ebayimg.com/images/g/qvsAAOSwwLFoMPT6/s-l1600.jpg"]
    normalised = normalise_listing(item)
    assert (normalised.country, normalised.region) == ("FR", "FR-75C")
    assert (normalised.price, normalised.currency) == (Decimal("3500.00"), "EUR")


def test_ebay_item_page_falls_back_to_json_ld_then_to_nothing(shared_pages: Path) -> None:
    raw = _raw(shared_pages / EBAY_ITEM)
    # The legacy price ids are absent too, so without the modern price node JSON-LD's offer is what is left.
    without_node = raw.replace(b"class=x-price-primary", b"class=x-removed")
    [item] = ebay.extract_page(HtmlResponse(url="https://www.ebay.com/itm/226771798286", body=without_node))
    assert (item.price, item.currency) == (Decimal("3971.45"), "USD")
    without_any = without_node.replace(b'"price":"3971.45"', b'"note":"none"')
    [bare] = ebay.extract_page(HtmlResponse(url="https://www.ebay.com/itm/226771798286", body=without_any))
    assert bare.price is None and bare.price_text is None and bare.title == item.title


def _raw_item_ids(raw: bytes) -> set[str]:
    """Listing ids counted straight from the HTML, without the extractor: every /itm/ link's id."""
    return {found.decode() for found in re.findall(rb"/itm/(\d{9,15})", raw)}


def test_ebay_search_newer_card_layout_yields_every_card(shared_pages: Path) -> None:
    raw = _raw(shared_pages / EBAY_CARDS)
    items = listings(shared_pages, EBAY_CARDS)
    ids = _raw_item_ids(raw)
    assert len(items) == len(ids) == 66
    assert {item.external_id for item in items} == ids
    assert all(item.title and item.price is not None and item.currency == "IDR" for item in items)
    # Every "Located in ..." the page shows belongs to one card, none lost, none invented.
    written = Counter(m.decode() for m in re.findall(rb">(Located in [^<]{1,80})<", raw))
    assert sum(written.values()) == 60
    assert Counter(item.location_text for item in items if item.location_text) == written
    cards = by_id(items)
    alpha = cards["197372382853"]
    assert alpha.title == "Nike Air Max Alpha Trainer 6 FQ1833-101 White Hot Curry Men's Shoes US3-18 New"
    assert (alpha.price, alpha.original_price, alpha.currency) == (
        Decimal("1756440.00"), Decimal("2066400.00"), "IDR")
    assert alpha.location_text == "Located in Japan" and alpha.condition == "Brand New"
    assert alpha.url == "https://www.ebay.com/itm/197372382853"
    assert alpha.image_urls == ["https://i.ebayimg.com/images/g/1TQAAOSw8adoWfqe/s-l500.webp"]
    terra = cards["167525899099"]
    assert (terra.price, terra.price_high, terra.original_price) == (
        Decimal("1918728.00"), Decimal("2069928.00"), Decimal("2131920.00"))
    assert cards["225272243923"].sales == 45 and cards["225847003563"].extra["watchers"] == 18
    assert cards["366229847372"].condition == "Pre-Owned"
    assert cards["366229847372"].extra["buying_format"] == "or Best Offer"
    samba = cards["257149353670"]  # a carousel card: it names its seller and shows no location
    assert (samba.seller_name, samba.extra["seller_feedback_count"], samba.extra["seller_positive"]) == (
        "badsneakersjp", 9144, "99.8%")
    assert samba.location_text is None and samba.price == Decimal("4166400.00")
    assert all(item.title != "Shop on eBay" for item in items)
    codes = {item.external_id: normalise_listing(item).country for item in items}
    assert codes["197372382853"] == "JP" and codes["187292948569"] == "GB" and codes["198081644548"] == "DE"
    assert codes["317782235353"] == "TW" and codes["167893753336"] == "KR" and codes["225272243923"] == "AU"
    assert codes["126374007543"] == "US"


def test_ebay_search_older_s_item_layout_yields_every_card(shared_pages: Path) -> None:
    raw = _raw(shared_pages / EBAY_LIST)
    items = listings(shared_pages, EBAY_LIST)
    ids = _raw_item_ids(raw)
    assert len(items) == len(ids) == 75
    assert {item.external_id for item in items} == ids
    assert all(item.price is not None and item.currency == "USD" and item.location_text for item in items)
    written = Counter(m.decode() for m in re.findall(rb">(Located in [^<]{1,80})<", raw))
    assert Counter(item.location_text for item in items) == written
    cards = by_id(items)
    cluster = cards["296713031232"]
    assert cluster.title == "OEM BMW E28 533i 535i M30 6 Cylinder Instrument Cluster FOR PARTS 141k Miles VDO"
    assert (cluster.price_text, cluster.price, cluster.original_price) == ("$179.95", Decimal("179.95"),
                                                                          Decimal("295.00"))
    assert cluster.condition == "Parts Only" and cluster.extra["discount"] == "39% off"
    assert cards["174607982713"].sales == 88
    assert cards["184452549212"].image_urls == ["https://i.ebayimg.com/images/g/2XgAAOSwE19nR5i2/s-l500.jpg"]
    codes = {item.external_id: normalise_listing(item).country for item in items}
    assert codes["167408031490"] == "AE" and codes["395312432228"] == "CN" and codes["275768552514"] == "LV"
    assert codes["292997483620"] == "TR" and codes["116284334414"] == "ID"


def test_ebay_search_page_for_the_spider(shared_pages: Path) -> None:
    result = ebay.extract_search(page(shared_pages, EBAY_LIST, "https://www.ebay.com/sch/i.html?_nkw=bmw+e28+parts"))
    assert len(result.cards) == 75
    assert result.next_url == "https://www.ebay.com/sch/i.html?_from=R40&_nkw=bmw+e28+parts&_sacat=6000&_pgn=2"
    first = result.cards[0]
    assert (first.external_id, first.price_text, first.location_text) == ("184452549212", "$77.77",
                                                                          "Located in Germany")


# --- Amazon --------------------------------------------------------------------------------------------------


def test_amazon_uk_product_sold_by_a_third_party(shared_pages: Path) -> None:
    [item] = listings(shared_pages, AMAZON_UK)
    assert item.external_id == "1849757097" and item.url == "https://www.amazon.co.uk/dp/1849757097"
    assert item.title == "Vegetable Perfection: 100 delicious recipes for roots, bulbs, shoots and stems"
    assert (item.price_text, item.price, item.currency) == ("£4.45", Decimal("4.45"), "GBP")
    assert (item.seller_name, item.seller_id) == ("Goldstone-Books", "A2NQK4TIWYJD6B")
    assert item.condition == "Used: Good"
    assert item.image_urls == ["https://m.media-amazon.com/images/I/91EpHNSPFnL._SL1500_.jpg"]
    assert item.location_text is None  # Amazon shows none
    assert item.extra["ratings_count"] == 16


def test_amazon_us_product_offer_display_blocks(shared_pages: Path) -> None:
    [item] = listings(shared_pages, AMAZON_US)
    assert item.external_id == "B0057OC5O8" and item.url == "https://www.amazon.com/dp/B0057OC5O8"
    assert item.title == "SainSmart 4-Channel Relay Module"
    assert (item.price, item.currency) == (Decimal("8.99"), "USD")
    assert (item.seller_name, item.seller_id) == ("SainSmart Official", "A1CJB5SYI9X4XC")
    assert item.extra["ships_from"] == "Amazon"
    assert item.image_urls == [
        "https://m.media-amazon.com/images/W/MEDIAX_792452-T2/images/I/71p1Oe9knSL._AC_SL1200_.jpg"]
    assert item.extra["availability"] == "In Stock" and item.extra["ratings_count"] == 422


def test_amazon_in_search_yields_every_result_card(shared_pages: Path) -> None:
    raw = _raw(shared_pages / AMAZON_IN_SEARCH).decode()
    tags = re.findall(r'<div[^>]*data-component-type="s-search-result"[^>]*>', raw)
    asins = [re.search(r'data-asin="([A-Z0-9]{10})"', tag).group(1) for tag in tags]  # type: ignore[union-attr]
    items = listings(shared_pages, AMAZON_IN_SEARCH)
    assert len(items) == len(asins) == 22
    assert [item.external_id for item in items] == asins
    assert all(item.currency == "INR" and item.price is not None and item.url.startswith("https://www.amazon.in/dp/")
               for item in items)
    cards = by_id(items)
    buds = cards["B0FFN4GPJG"]
    assert buds.title.startswith("CMF by Nothing Buds 2a Truly Wireless Bluetooth in Ear Earbuds with 42 dB ANC")
    assert (buds.price_text, buds.price, buds.original_price) == ("₹2,219", Decimal("2219"), Decimal("2499"))
    assert buds.extra["ratings_count"] == 66 and buds.extra["bought_recently"] == "600+ bought in past month"
    assert buds.image_urls == ["https://m.media-amazon.com/images/I/31G7+PjwzgL._AC_UY218_.jpg"]
    # The card also shows a price per 100 g (₹2,29,900): the listing's price is the one to pay.
    pebble = cards["B0FN5VP1Z3"]
    assert (pebble.price, pebble.original_price) == (Decimal("2299"), Decimal("5999"))
    assert pebble.extra["sponsored"] is True
    assert cards["B0F7GPS691"].price == Decimal("227.92")
    search = amazon.extract_search(page(shared_pages, AMAZON_IN_SEARCH))
    assert len(search.cards) == 22
    assert search.next_url is not None and search.next_url.startswith("https://www.amazon.in/s?k=CMF+by+Nothing")


# --- AliExpress, Taobao, Etsy ------------------------------------------------------------------------------


def test_aliexpress_item_price_range_and_store(shared_pages: Path) -> None:
    [item] = listings(shared_pages, ALIEXPRESS)
    assert item.external_id == "32993251330" and item.url == "https://www.aliexpress.com/item/32993251330.html"
    assert item.title.startswith("מקורי Apple iPhone SE")
    assert item.price_text == "€ 97,39 - 128,72"
    assert (item.price, item.price_high, item.currency) == (Decimal("97.39"), Decimal("128.72"), "EUR")
    assert item.original_price == Decimal("162.32") and item.extra["original_price_high"] == "214.53"
    assert (item.seller_name, item.seller_id) == ("Summer Technology Co.,Ltd.", "1392990")
    assert item.extra["store_positive"] == "93.6%"
    assert item.image_urls[0] == ("https://ae01.alicdn.com/kf/HTB1.DiLM7voK1RjSZFDq6xY3pXam/"
                                  "Apple-iPhone-SE-A9-Dual-Core-2GB-RAM-16.jpg")
    assert len(item.image_urls) == 5 and not any("_50x50" in u for u in item.image_urls)
    assert (item.sales, item.stock, item.condition) == (6, 15583, "משומש")
    normalised = normalise_listing(item)
    assert (normalised.location_text, normalised.country, normalised.region) == ("Guangdong, China", "CN", "CN-GD")


def test_aliexpress_dom_fallback_without_page_data(shared_pages: Path) -> None:
    raw = _raw(shared_pages / ALIEXPRESS).replace(b"window.runParams", b"window.somethingElse")
    [item] = aliexpress.extract_page(HtmlResponse(url="https://he.aliexpress.com/item/32993251330.html", body=raw))
    assert (item.price, item.price_high, item.currency) == (Decimal("97.39"), Decimal("128.72"), "EUR")
    assert item.original_price == Decimal("162.32")
    assert (item.seller_name, item.seller_id) == ("Summer Technology Co.,Ltd.", "1392990")
    # og:image, then the gallery's thumbnails as full-size photos: the five photos of the page data.
    assert item.image_urls == listings(shared_pages, ALIEXPRESS)[0].image_urls


def test_taobao_item_shop_keeper_and_price_range(shared_pages: Path) -> None:
    response = page(shared_pages, TAOBAO)
    [item] = taobao.extract_page(response)
    assert item.external_id == "562283240178" and item.url == TAOBAO_URL
    assert item.title == TAOBAO_TITLE
    assert (item.price_text, item.price, item.price_high, item.currency) == (
        "149.00 - 159.00", Decimal("149.00"), Decimal("159.00"), "CNY")
    assert (item.seller_name, item.seller_id) == ("paipailaji", "134583372")
    assert item.extra["shop_name"] == "怡科外设KBDfans" and item.extra["shop_id"] == "64592671"
    assert item.extra["attributes"]["品牌"] == "KBDfans"
    assert len(item.image_urls) == 5
    assert item.image_urls[0] == "https://gd4.alicdn.com/imgextra/i4/134583372/TB2bje8gS_I8KJjy0FoXXaFnVXa_!!134583372.jpg"
    assert item.sales is None  # the page shows '-' until a script fills it in


def _gbk_variant(raw: bytes, *, keep_head: bool) -> bytes:
    """The Taobao page as Taobao serves it, GBK, built from the UTF-8 copy: the whole page, or its head (with the
    late <meta charset="gbk">) and the title, price and shop blocks only, where statistics cannot tell GBK."""
    text = raw.decode("utf-8")
    if not keep_head:
        selector = Selector(text=text)
        blocks = "".join(selector.css(css).get() or "" for css in ("#J_Title", "#J_StrPriceModBox", "#J_ShopInfo"))
        text = text[: text.index("</head>")] + f"</head><body>{blocks}</body></html>"
    return text.encode("gbk", errors="xmlcharrefreplace")


def test_taobao_gbk_pages_decode_as_they_declare(shared_pages: Path) -> None:
    raw = _raw(shared_pages / TAOBAO)
    assert raw.index(b'<meta charset="gbk">') > 4096  # beyond where Scrapy looks for a declaration
    # The saved copy is UTF-8 despite its stale GBK declaration: the bytes win.
    assert with_declared_charset(HtmlResponse(url=TAOBAO_URL, body=raw)).encoding == "utf-8"
    for keep_head in (True, False):
        gbk = _gbk_variant(raw, keep_head=keep_head)
        [item] = taobao.extract_page(HtmlResponse(url=TAOBAO_URL, body=gbk))
        assert item.title == TAOBAO_TITLE
        assert item.extra["shop_name"] == "怡科外设KBDfans" and item.seller_name == "paipailaji"
        assert (item.price, item.price_high) == (Decimal("149.00"), Decimal("159.00"))
    # On the short variant Scrapy's own guess is wrong, so the declared charset is what makes it right.
    short = HtmlResponse(url=TAOBAO_URL, body=_gbk_variant(raw, keep_head=False))
    assert TAOBAO_TITLE not in (short.css(".tb-main-title::text").get() or "")
    assert with_declared_charset(short).encoding == "gb18030"
    # A header charset wins over the markup, as in browsers.
    headed = HtmlResponse(url=TAOBAO_URL, body=_gbk_variant(raw, keep_head=True),
                          headers={"Content-Type": "text/html; charset=GBK"})
    assert with_declared_charset(headed) is headed
    assert (headed.css(".tb-main-title::text").get() or "").strip() == TAOBAO_TITLE


def test_etsy_listing_shop_and_price(shared_pages: Path) -> None:
    [item] = listings(shared_pages, ETSY)
    assert item.external_id == "230389421" and item.url == "https://www.etsy.com/listing/230389421"
    assert item.title == "Agents of Shield decal sticker for car, truck, laptop in ANY COLOR die cut vinyl"
    assert (item.price, item.currency) == (Decimal("2.99"), "USD")
    assert (item.seller_name, item.seller_id) == ("InfernoDecals", "10499963")
    assert item.extra["variation_price_high"] == "13.99"
    assert item.image_urls == [
        "https://img0.etsystatic.com/058/0/10499963/il_fullxfull.759424778_ojd8.jpg",
        "https://img1.etsystatic.com/061/0/10499963/il_fullxfull.759550065_97lx.jpg",
        "https://img1.etsystatic.com/059/0/10499963/il_fullxfull.771224237_lnin.jpg",
    ]
    assert item.extra["reviews"] == 1221
    normalised = normalise_listing(item)
    assert (normalised.location_text, normalised.country) == ("United States", "US")


def test_generic_reader_takes_schema_org_data_from_json_ld_and_microdata(shared_pages: Path) -> None:
    """Structured data first, for any shop: JSON-LD (eBay), data-vocabulary.org microdata (Etsy), and an Offer
    marked up without its Product (AliExpress)."""
    ebay_item = generic.extract_listing(page(shared_pages, EBAY_ITEM), "any-shop")
    assert ebay_item is not None and ebay_item.title == "NVIDIA GeForce RTX 5090 FE Founders Edition"
    assert (ebay_item.price_text, ebay_item.currency) == ("USD 3971.45", "USD")
    assert ebay_item.image_urls == ["https://i.ebayimg.com/images/g/qvsAAOSwwLFoMPT6/s-l1600.jpg"]
    etsy_item = generic.extract_listing(page(shared_pages, ETSY), "any-shop")
    assert etsy_item is not None
    assert etsy_item.title == "Agents of Shield decal sticker for car, truck, laptop in ANY COLOR die cut vinyl"
    assert (normalise_listing(etsy_item).price, etsy_item.currency) == (Decimal("2.99"), "USD")
    offer_only = generic.extract_listing(page(shared_pages, ALIEXPRESS), "any-shop")
    assert offer_only is not None
    normalised = normalise_listing(offer_only)
    assert (normalised.price, normalised.price_high, normalised.currency) == (
        Decimal("97.39"), Decimal("128.72"), "EUR")
    # A page with no schema.org data and no Open Graph title is not taken for a product.
    assert generic.extract_listing(page(shared_pages, AMAZON_IN_SEARCH), "any-shop") is None


# --- malformed input (fault-tests row 9) ---------------------------------------------------------------------

_PRICE_CASES = [
    ("1.299,00 €", Decimal("1299.00"), "EUR"),
    ("Call for price", None, None),
    ("-5", None, None),
    ("US $-5.00", None, None),
]


def _check(items: list[ListingItem], expected: Decimal | None, currency: str | None) -> None:
    assert items
    for item in items:
        normalised = normalise_listing(item)
        assert normalised.price == expected
        if expected is not None:
            assert normalised.currency == currency


@pytest.mark.parametrize(("shown", "expected", "currency"), _PRICE_CASES)
def test_malformed_prices_give_none_or_the_right_decimal(shared_pages: Path, shown: str, expected: Decimal | None,
                                                         currency: str | None) -> None:
    value = shown.encode()
    ebay_item = _raw(shared_pages / EBAY_ITEM).replace(b"<span class=ux-textspans>EUR 3,500.00</span>",
                                                       b"<span class=ux-textspans>" + value + b"</span>")
    _check(ebay.extract_page(HtmlResponse(url="https://www.ebay.com/itm/226771798286", body=ebay_item)),
           expected, currency)
    card_page = _raw(shared_pages / EBAY_LIST).replace(b"$77.77<", value + b"<")
    card = by_id(ebay.extract_page(HtmlResponse(url="https://www.ebay.com/sch/i.html", body=card_page)))
    _check([card["184452549212"]], expected, currency)
    amazon_page = _raw(shared_pages / AMAZON_US).replace(b'<span class="a-offscreen">$8.99</span>',
                                                         b'<span class="a-offscreen">' + value + b"</span>")
    _check(amazon.extract_page(HtmlResponse(url="https://www.amazon.com/dp/B0057OC5O8", body=amazon_page)),
           expected, currency)
    taobao_page = _raw(shared_pages / TAOBAO).replace(b"149.00 - 159.00", value)
    _check(taobao.extract_page(HtmlResponse(url=TAOBAO_URL, body=taobao_page)), expected, currency)


def test_missing_price_nodes_give_no_price(shared_pages: Path) -> None:
    amazon_page = re.sub(rb'<span class="a-offscreen">\$8\.99</span>', b"", _raw(shared_pages / AMAZON_US))
    [item] = amazon.extract_page(HtmlResponse(url="https://www.amazon.com/dp/B0057OC5O8", body=amazon_page))
    assert item.price is None and normalise_listing(item).price is None
    taobao_page = _raw(shared_pages / TAOBAO).replace(b'<em class="tb-rmb-num">149.00 - 159.00</em>', b"")
    [shop_item] = taobao.extract_page(HtmlResponse(url=TAOBAO_URL, body=taobao_page))
    assert shop_item.price is None and shop_item.title == TAOBAO_TITLE
    card_page = _raw(shared_pages / EBAY_LIST).replace(b"<span class=s-item__price>", b"<span class=gone>")
    cards = ebay.extract_page(HtmlResponse(url="https://www.ebay.com/sch/i.html", body=card_page))
    assert len(cards) == 75 and all(card.price is None for card in cards)
    etsy_page = re.sub(rb'<meta (itemprop="price"|property="etsymarketplace:price_value")[^>]*>', b"",
                       _raw(shared_pages / ETSY))
    etsy_page = etsy_page.replace(b'id="listing-price"', b'id="gone"').replace(b"class='currency-value'", b"")
    [listing] = etsy.extract_page(HtmlResponse(url="https://www.etsy.com/listing/230389421", body=etsy_page))
    assert listing.price is None and listing.seller_name == "InfernoDecals"


@pytest.mark.parametrize("name", sorted(PAGE_EXTRACTORS))
def test_hostile_or_truncated_pages_never_raise(shared_pages: Path, name: str) -> None:
    bodies = [b"", b"\x00\xff\xfe garbage \x81\x82", b"<html><head><title>x</title></head><body></body></html>",
              b"<script>window.runParams = { data: {not json</script>", b"<div class='s-card' data-listingid='1'>"]
    bodies += [_raw(shared_pages / page_name)[:30_000] for page_name in (EBAY_CARDS, AMAZON_US, TAOBAO, ALIEXPRESS)]
    for body in bodies:
        found = extract_page(HtmlResponse(url="https://example.com/item.htm?id=1234567", body=body), name)
        assert isinstance(found, list)
        for item in found:
            normalise_listing(item)


def test_page_extractors_are_registered_by_marketplace_name() -> None:
    for name, module in (("ebay", ebay), ("amazon", amazon), ("aliexpress", aliexpress), ("taobao", taobao),
                         ("etsy", etsy)):
        assert PAGE_EXTRACTORS[name] is module.extract_page


@pytest.mark.parametrize(("name", "count", "first_id", "country"), [
    (EBAY_ITEM, 1, "226771798286", "FR"), (EBAY_CARDS, 66, "225272243923", "AU"),
    (EBAY_LIST, 75, "184452549212", "DE"), (AMAZON_UK, 1, "1849757097", None), (AMAZON_US, 1, "B0057OC5O8", None),
    (AMAZON_IN_SEARCH, 22, "B0DNPZFSV4", None), (ALIEXPRESS, 1, "32993251330", "CN"),
    (TAOBAO, 1, "562283240178", None), (ETSY, 1, "230389421", "US"),
])
def test_parse_command_prints_the_listings_of_each_page(shared_pages: Path, name: str, count: int, first_id: str,
                                                        country: str | None) -> None:
    result = CliRunner().invoke(app, ["parse", str(shared_pages / name), "--marketplace", MARKETPLACE_OF[name],
                                      "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert len(printed) == count and printed[0]["external_id"] == first_id
    assert printed[0]["country"] == country and Decimal(printed[0]["price"]) > 0
    assert not any("error" in listing for listing in printed)
