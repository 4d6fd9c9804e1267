"""Search cards of the marketplaces where diversion is sold, on the real saved pages (../shared/fixtures/pages):
Taobao (cards as JSON in a script), JD, 1688 (price split over React text nodes) and Lazada Philippines (a location
per card). Values pinned are those the pages' README rows give; counts are taken from the raw page independently.
"""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from crawler.extractors import amazon, ebay, extract_page, jd, lazada, taobao, wholesale1688
from crawler.extractors.cards import card_fingerprint_of, card_listing, full_photo
from crawler.items import SearchCard
from crawler.normalise import normalise_listing
from tests.test_extractors_real_pages import (
    AMAZON_IN_SEARCH,
    EBAY_CARDS,
    JD_SEARCH,
    LAZADA_SEARCH,
    TAOBAO_SEARCH,
    WHOLESALE_SEARCH,
    listings,
    page,
)


def _raw_text(shared_pages: Path, name: str) -> str:
    return (shared_pages / name).read_bytes().decode("utf-8", "replace")


def test_taobao_search_reads_every_auction_in_the_script(shared_pages: Path) -> None:
    items = listings(shared_pages, TAOBAO_SEARCH)
    raw = _raw_text(shared_pages, TAOBAO_SEARCH)
    assert len(items) == len(set(re.findall(r'"nid":"(\d+)"', raw))) == 36
    first = normalise_listing(items[0])
    assert (first.external_id, first.title) == ("528991075854", "回力2016夏季真皮男士沙滩鞋休闲凉鞋透气潮")
    assert first.url == "https://item.taobao.com/item.htm?id=528991075854"
    assert (first.price, first.currency) == (Decimal("115.00"), "CNY")
    assert (first.seller_name, first.seller_id) == ("回力老字号", "2430451615")
    assert (first.location_text, first.country, first.region) == ("广东 深圳", "CN", "CN-GD")
    assert first.sales == 8 and first.extra["sponsored"] is True and first.extra["tmall"] is False
    assert first.image_urls[0].startswith("https://g-search1.alicdn.com/")
    tmall = [i for i in items if i.extra["tmall"]]
    assert tmall and all(i.url.startswith("https://detail.tmall.com/item.htm?id=") for i in tmall)
    assert {normalise_listing(i).region for i in items} >= {"CN-GD", "CN-HB", "CN-ZJ"}
    assert all(i.price is not None and i.title and i.seller_name and i.location_text for i in items)


def test_taobao_search_without_its_script_is_no_listings_not_a_wrong_one(shared_pages: Path) -> None:
    raw = (shared_pages / TAOBAO_SEARCH).read_bytes()
    login_wall = raw.replace(b"g_page_config", b"g_other_config")
    assert taobao.extract_page(HtmlResponse(url="https://s.taobao.com/search?q=x", body=login_wall)) == []
    broken = raw.replace(b'"auctions":[', b'"auctions":{', 1)
    assert taobao.extract_page(HtmlResponse(url="https://s.taobao.com/search?q=x", body=broken)) == []


def test_jd_search_reads_each_sku_once_with_its_shop_and_self_operated_flag(shared_pages: Path) -> None:
    items = listings(shared_pages, JD_SEARCH)
    raw = _raw_text(shared_pages, JD_SEARCH)
    skus = re.findall(r'<li data-sku="(\d+)"[^>]*class="gl-item"', raw)
    assert len(skus) == 60 and len(items) == len(set(skus)) == 54  # six products are shown twice
    first = normalise_listing(items[0])
    assert first.external_id == "100105483276" and first.url == "https://item.jd.com/100105483276.html"
    assert first.title.startswith("vivoiQOO Z9 Turbo 12GB+256GB") and "新品6期免息" not in first.title
    assert (first.price, first.currency) == (Decimal("1999.00"), "CNY")
    assert first.seller_name == "iQOO京东自营官方旗舰店" and first.seller_id == "1000310642"
    assert first.extra["jd_self_operated"] is True and first.extra["reviews_count"] == 10000
    assert all(i.price is not None and i.seller_name for i in items)
    # Lazy photos: the CDN URL from data-lazy-img, as the JPEG without its AVIF suffix; saved local copies skipped.
    photos = [u for i in items for u in i.image_urls]
    assert photos and all(u.startswith("https://img") and not u.endswith(".avif") for u in photos)


def test_1688_search_reads_every_offer_with_its_split_price(shared_pages: Path) -> None:
    items = listings(shared_pages, WHOLESALE_SEARCH)
    raw = _raw_text(shared_pages, WHOLESALE_SEARCH)
    assert len(items) == raw.count('class="smart_ui_offer offer_item"') == 20
    first = normalise_listing(items[0])
    assert first.title == "双Type-c头PD数据传输公对公适用华为小米三星笔记本快充数据线"
    assert (first.price, first.currency) == (Decimal("1.74"), "CNY")
    assert first.seller_name == "荣亮达电子" and first.extra["sponsored"] is True
    assert first.external_id == "photo-O1CN01fc8pjr25B6BUQLFGE"
    assert first.image_urls == ["https://cbu01.alicdn.com/img/ibank/O1CN01fc8pjr25B6BUQLFGE_!!2897747487-0-cib.jpg"]
    organic = {i.external_id: i for i in items if not i.extra.get("sponsored")}
    assert set(organic) == {"546639475124", "662778980590"}
    assert organic["546639475124"].url == "https://detail.1688.com/offer/546639475124.html"
    assert Decimal("0.42") in {i.price for i in items} and all(i.price is not None for i in items)


def test_lazada_search_maps_each_card_location_to_iso_3166_2(shared_pages: Path) -> None:
    items = [normalise_listing(i) for i in listings(shared_pages, LAZADA_SEARCH)]
    raw = _raw_text(shared_pages, LAZADA_SEARCH)
    assert len(items) == raw.count('data-qa-locator="product-item"') == 40
    first = items[0]
    assert first.external_id == "2894375047"
    assert first.title == "WATSONS Love My Little Ones Baby Diaper Dry Pants Extra Large 40s"
    assert (first.price, first.currency) == (Decimal("305"), "PHP")
    assert (first.location_text, first.country, first.region) == ("Laguna", "PH", "PH-LAG")
    assert first.url.startswith("https://www.lazada.com.ph/products/") and "?" not in first.url
    assert first.sales == 2000 and first.extra["lazmall"] is True
    assert {(i.location_text, i.region) for i in items} == {
        ("Laguna", "PH-LAG"), ("Abra", "PH-ABR"), ("Bulacan", "PH-BUL"), ("Metro Manila", "PH-00")}
    assert all(i.price is not None for i in items)


def test_lazada_overseas_seller_is_cross_border_with_no_region(shared_pages: Path) -> None:
    raw = (shared_pages / LAZADA_SEARCH).read_bytes()
    for written in ("Overseas", "海外", "跨境"):
        variant = raw.replace(b'title="Laguna">Laguna<', f'title="{written}">{written}<'.encode(), 1)
        [first, *_] = lazada.extract_page(HtmlResponse(url="https://www.lazada.com.ph/catalog/?q=x", body=variant))
        first = normalise_listing(first)
        assert first.extra["cross_border"] is True and first.region is None and first.location_text == written


def test_unknown_layout_gives_no_cards(shared_pages: Path) -> None:
    other = page(shared_pages, "etsy_listing_decal_infernodecals.html")
    for module in (jd, wholesale1688, lazada):
        assert module.extract_cards(other) == []
        assert module.extract_search(other).cards == []


def test_parse_names_the_extractor_by_host() -> None:
    body = b'<html><link rel="canonical" href="https://search.jd.com/Search?keyword=x"><body></body></html>'
    assert extract_page(HtmlResponse(url="https://search.jd.com/Search?keyword=x", body=body), None) == []


def test_cdn_thumbnail_urls_give_the_full_photo() -> None:
    assert full_photo("https://img10.360buyimg.com/n7/jfs/t1/a.jpg.avif") == "https://img10.360buyimg.com/n7/jfs/t1/a.jpg"
    assert full_photo("https://cbu01.alicdn.com/img/ibank/x_!!1-0-cib.220x220.jpg") == (
        "https://cbu01.alicdn.com/img/ibank/x_!!1-0-cib.jpg")
    assert full_photo("https://g.alicdn.com/a.jpg_400x400q75.jpg_.webp") == "https://g.alicdn.com/a.jpg"
    assert json.dumps(full_photo("https://x.example/plain.png")) == '"https://x.example/plain.png"'


# What the cards of each saved page show beyond id, link, title and price, on at least 80% of them (issue #18:
# listings from cards). Photos are read wherever a card has one: JD's saved page had loaded 21 of 60 lazy photos,
# Lazada's none.
CARD_FIELDS = {TAOBAO_SEARCH: ("seller_name", "location_text", "image_urls"), JD_SEARCH: ("seller_name",),
               WHOLESALE_SEARCH: ("seller_name", "image_urls"), LAZADA_SEARCH: ("location_text",),
               EBAY_CARDS: ("image_urls",), AMAZON_IN_SEARCH: ("image_urls",)}
SEARCH_OF = {TAOBAO_SEARCH: taobao.extract_search, JD_SEARCH: jd.extract_search,
             WHOLESALE_SEARCH: wholesale1688.extract_search, LAZADA_SEARCH: lazada.extract_search,
             EBAY_CARDS: ebay.extract_search, AMAZON_IN_SEARCH: amazon.extract_search}


@pytest.mark.parametrize("name", sorted(CARD_FIELDS))
def test_search_cards_become_listings_carrying_what_the_card_shows(shared_pages: Path, name: str) -> None:
    search = SEARCH_OF[name](page(shared_pages, name))
    assert len(search.cards) >= 20
    kept = [card_listing(card, "m") for card in search.cards]
    assert all(x is not None for x in kept)  # every card on a real page has an id and a link
    cards = [normalise_listing(x, "USD") for x in kept if x is not None]
    read = listings(shared_pages, name)  # the same page read by the page extractor, one listing per card
    assert [c.external_id for c in cards] == [x.external_id for x in read]
    for card, listing in zip(cards, read, strict=True):
        assert card.seen_from == "card" and re.fullmatch(r"[0-9a-f]{64}", card.card_sha256 or "")
        assert card.url and card.title == listing.title
        for field in (*CARD_FIELDS[name], "image_urls", "seller_id", "sales"):
            assert getattr(card, field) == getattr(listing, field), (name, field)
    priced = [c for c in cards if c.price is not None]
    assert len(priced) >= 0.9 * len(cards) and all(c.price > 0 for c in priced)
    shown = {field: sum(bool(getattr(c, field)) for c in cards) for field in CARD_FIELDS[name]}
    assert all(count >= 0.8 * len(cards) for count in shown.values()), shown


def test_the_same_card_gives_the_same_fingerprint_and_a_changed_one_another() -> None:
    card = SearchCard(url="https://shop.example/item/1", external_id="1", title="Acme Widget", price_text="$19.00",
                      seller_name="shop-9", image_url="https://img.example/1.jpg")
    same = card_listing(card, "m")
    assert same is not None and same.card_sha256 == card_fingerprint_of(card)
    for change in ({"title": "Acme Widget 1:1"}, {"price_text": "$18.00"}, {"seller_name": "shop-8"},
                   {"image_url": "https://img.example/2.jpg"}):
        assert card_fingerprint_of(dataclasses.replace(card, **change)) != same.card_sha256, change
    assert card_fingerprint_of(dataclasses.replace(card, location_text="Shenzhen")) == same.card_sha256
    # No id (neither its own nor one its link gives by id_from_url), no link: not a listing.
    assert card_listing(dataclasses.replace(card, external_id=None), "m") is None
    assert card_listing(dataclasses.replace(card, external_id=None), "m", r"/item/(\d+)") is not None
    assert card_listing(dataclasses.replace(card, url=""), "m") is None
