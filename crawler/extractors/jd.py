"""JD.com search pages (search.jd.com): one `li.gl-item` card per product, rendered in the HTML.

A card gives the SKU (`data-sku`, the listing's id), the price (`<em>￥</em><i>1999.00</i>`), the title in
`.p-name em` (with `<font>` highlight tags inside; its `promo-words` are an advert line, not the title), the shop
(`.curr-shop`), the reviews count ("1万+条评价") and badges. JD's own retail (自营, "京东自营") is an authorised
channel of most brands: it is kept as a seller fact (`extra.jd_self_operated`), as is the shop's id. Photos are
lazy-loaded: the URL is in `data-lazy-img` until the browser swaps it into `src`.
"""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extractors.cards import full_photo, search_page
from crawler.extractors.charset import readable
from crawler.extractors.common import MAX_CARDS, absolute, attr, cap, count_in, first_text, money, text_of, unique_urls
from crawler.extractors.generic import extract_listing as generic_listing
from crawler.items import ListingItem, SearchPage

_SKU = re.compile(r"^[0-9]{4,20}$")
_SHOP_ID = re.compile(r"index-(\d{1,20})\.html")
_SELF_OPERATED = "自营"


def _photo(card: Selector) -> str | None:
    image = card.css(".p-img img")
    for attribute in ("data-lazy-img", "source-data-lazy-img", "src"):
        value = attr(image, attribute) if image else None
        if value and value not in ("done", ""):
            return full_photo(value)
    return None


def _card(card: Selector, sku: str, marketplace: str, response: TextResponse) -> ListingItem | None:
    title = text_of(card, ".p-name em") or text_of(card, ".p-name a")
    if not title:
        return None
    shop = card.css(".p-shop .curr-shop")
    shop_name = cap(attr(shop, "title") or text_of(shop), 200) if shop else None
    badges = [cap(b, 40) or "" for b in card.css(".p-icons i::text").getall()[:10]]
    self_operated = _SELF_OPERATED in badges or (shop_name is not None and "京东自营" in shop_name)
    extra: dict[str, Any] = {"page": "search", "jd_self_operated": self_operated}
    shop_id = _SHOP_ID.search(attr(shop, "href") or "") if shop else None
    if shop_id:
        extra["shop_id"] = shop_id.group(1)
    if badges:
        extra["badges"] = [b for b in badges if b]
    reviews = text_of(card, ".p-commit a", 40)
    if reviews:
        extra["reviews_count"] = count_in(reviews)
    price = first_text(card, ".p-price strong i", ".p-price i")
    return ListingItem(
        marketplace=marketplace,
        external_id=sku,
        url=f"https://item.jd.com/{sku}.html",
        title=cap(title, 1000) or "",
        seller_name=shop_name,
        seller_id=shop_id.group(1) if shop_id else None,
        image_urls=unique_urls(response, [_photo(card)]),
        extra=extra,
        **money(price, "CNY"),
    )


def extract_cards(response: TextResponse, marketplace: str = "jd") -> list[ListingItem]:
    """One listing per `li.gl-item[data-sku]` card; [] on any other layout."""
    response = readable(response)
    listings: list[ListingItem] = []
    seen: set[str] = set()
    for card in response.css("li.gl-item[data-sku]")[: MAX_CARDS * 2]:
        sku = attr(card, "data-sku") or ""
        if not _SKU.match(sku) or sku in seen:
            continue
        listing = _card(card, sku, marketplace, response)
        if listing is not None:
            seen.add(sku)
            listings.append(listing)
    return listings[:MAX_CARDS]


def extract_search(response: TextResponse) -> SearchPage:
    next_url = absolute(response, response.css("a.pn-next::attr(href)").get())
    return search_page(extract_cards(response), next_url)


def extract_listing(response: TextResponse, marketplace: str = "jd") -> ListingItem | None:
    """An item page, by its schema.org / Open Graph data (no saved JD item page to build more on yet)."""
    return generic_listing(response, marketplace)


def extract_page(response: TextResponse, marketplace: str = "jd") -> list[ListingItem]:
    cards = extract_cards(response, marketplace)
    if cards:
        return cards
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
