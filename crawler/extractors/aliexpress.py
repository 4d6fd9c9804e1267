"""AliExpress item pages: the page's own data (`window.runParams = { data: {...} }`) first, the DOM second.

A price is usually a range over the item's variants ('€ 97,39 - 128,72'): low and high are both kept, and the
struck-through price before the discount is the original price. The store is the seller: its name and its
number from `/store/NNN`; the store's province and country are its location ('Guangdong, China').
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from scrapy.http import TextResponse

from crawler.extractors.common import (
    ALICDN_SIZE_SUFFIX,
    amount,
    canonical_url,
    cap,
    count_in,
    dig,
    embedded_json,
    first_text,
    money,
    text_of,
    texts_of,
    unique_urls,
)
from crawler.extractors.structured import product_data
from crawler.items import ListingItem

_ITEM_ID = re.compile(r"/item/(?:[^/?#]{1,200}/)?(\d{6,20})\.html")
_STORE_ID = re.compile(r"/store/(?:[a-z-]{1,40}/)?(\d{1,15})(?:[/.?#]|$)")
_CONDITION_ATTRIBUTE = 200000649  # AliExpress's attribute id of "item condition", the same in every language


def item_id(url: str | None) -> str | None:
    match = _ITEM_ID.search(url or "")
    return match.group(1) if match else None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _price_fields(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Listing fields and extras from the page data's price module (the discounted price where there is one)."""
    module = dig(data, "priceModule") or {}
    discounted = bool(module.get("activity")) and dig(module, "minActivityAmount", "value") is not None
    low_key, high_key = ("minActivityAmount", "maxActivityAmount") if discounted else ("minAmount", "maxAmount")
    low, high = _decimal(dig(module, low_key, "value")), _decimal(dig(module, high_key, "value"))
    currency = dig(module, low_key, "currency")
    shown = module.get("formatedActivityPrice") if discounted else module.get("formatedPrice")
    if low is None or not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        return {}, {}
    fields: dict[str, Any] = {"price_text": cap(str(shown or ""), 200), "price": low,
                              "price_high": high if high is not None and high != low else None,
                              "currency": currency}
    extra: dict[str, Any] = {}
    if discounted:
        fields["original_price"] = _decimal(dig(module, "minAmount", "value"))
        original_high = _decimal(dig(module, "maxAmount", "value"))
        if original_high is not None and original_high != fields["original_price"]:
            extra["original_price_high"] = str(original_high)
        if module.get("discount"):
            extra["discount"] = f"{module['discount']}%"
    return fields, extra


def _store(data: dict[str, Any], response: TextResponse) -> tuple[str | None, str | None, str | None]:
    """Store name, store number and location ('Guangdong, China') from the page data, else from the DOM."""
    module = dig(data, "storeModule") or {}
    name = module.get("storeName")
    number = module.get("storeNum")
    place = ", ".join(str(p) for p in (module.get("province"), module.get("countryCompleteName")) if p) or None
    if not name:
        name = first_text(response, ".store-name", ".shop-name a", ".store-header .store-name")
    if not number:
        link = response.css("a.store-name::attr(href), .shop-name a::attr(href), a[href*='/store/']::attr(href)").get()
        match = _STORE_ID.search(link or "")
        number = match.group(1) if match else None
    return (cap(str(name), 200) if name else None, str(number) if number else None,
            cap(place, 200) if place else None)


def _images(response: TextResponse, from_data: list[str], structured: list[str]) -> list[str]:
    """Full-size photos: the page data's list, else JSON-LD, Open Graph and the gallery with the thumbnail
    size suffix ('.jpg_50x50.jpg') taken off."""
    candidates = from_data or [*structured, response.css('meta[property="og:image"]::attr(content)').get() or "",
                               *response.css(".images-view-item img::attr(src)").getall()]
    return unique_urls(response, [ALICDN_SIZE_SUFFIX.sub("", u) for u in candidates if u])


def _condition(data: dict[str, Any]) -> str | None:
    for prop in (dig(data, "specsModule", "props") or [])[:200]:
        if isinstance(prop, dict) and prop.get("attrNameId") == _CONDITION_ATTRIBUTE:
            return cap(str(prop.get("attrValue") or ""), 100)
    return None


def extract_listing(response: TextResponse, marketplace: str = "aliexpress") -> ListingItem | None:
    """The listing on an item page, or None when the page is not one."""
    data = _run_params(response)
    structured = product_data(response.selector)
    url = canonical_url(response)
    listing_id = (str(dig(data, "pageModule", "productId") or dig(data, "storeModule", "productId") or "")
                  or item_id(url) or item_id(response.url))
    title = (dig(data, "titleModule", "subject") or structured.name
             or first_text(response, "h1.product-title-text", ".product-title", "h1"))
    if not listing_id or not re.fullmatch(r"\d{6,20}", listing_id) or not title:
        return None
    fields, extra = _price_fields(data)
    if not fields:
        shown = structured.price_text or first_text(
            response, ".product-price-current .product-price-value", ".product-price-value",
            ".uniform-banner-box-price")
        fields = money(shown, structured.currency)
        original = first_text(response, ".product-price-original .product-price-del", ".product-price-del")
        if original:
            fields["original_price"] = amount(original, fields.get("currency"))
    store_name, store_id, place = _store(data, response)
    positive = dig(data, "storeModule", "positiveRate") or next(
        (t for t in texts_of(response, ".positive-fdbk") if "%" in t), None)
    if positive:
        extra["store_positive"] = cap(str(positive).split()[0], 20)
    opened = dig(data, "storeModule", "openTime")
    if opened:
        extra["store_open_since"] = cap(str(opened), 40)
    rating = dig(data, "titleModule", "feedbackRating", "averageStar")
    if rating:
        extra["rating"] = cap(str(rating), 10)
    listed = dig(data, "imageModule", "imagePathList")
    images = listed if isinstance(listed, list) else []
    sales = dig(data, "titleModule", "tradeCount")
    stock = dig(data, "quantityModule", "totalAvailQuantity")
    return ListingItem(
        marketplace=marketplace,
        external_id=listing_id,
        url=f"https://www.aliexpress.com/item/{listing_id}.html",
        title=cap(str(title), 1000) or "",
        seller_name=store_name,
        seller_id=store_id,
        location_text=place,
        image_urls=_images(response, [u for u in images if isinstance(u, str)], structured.images),
        sales=sales if isinstance(sales, int) else count_in(text_of(response, ".product-reviewer-sold")),
        stock=stock if isinstance(stock, int) else None,
        condition=_condition(data),
        extra={"page": "item", **extra},
        **fields,
    )


def _run_params(response: TextResponse) -> dict[str, Any]:
    """The item's data object the page script assigns (`window.runParams = { data: {...} }`); {} if none."""
    text = response.text
    start = text.find("window.runParams")
    if start < 0:
        return {}
    data = embedded_json(text[start : start + 4_000_000], "data:")
    return data if isinstance(data, dict) else {}


def extract_page(response: TextResponse, marketplace: str = "aliexpress") -> list[ListingItem]:
    """The listing of an item page. Search pages are not read yet: there is no saved one to build against."""
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
