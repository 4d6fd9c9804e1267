"""AliExpress item pages: the page's own data (`window.runParams = { data: {...} }`) first, the DOM second.

A price is usually a range over the item's variants ('€ 97,39 - 128,72'): low and high are both kept, and the
struck-through price before the discount is the original price. The store is the seller: its name and its
number from `/store/NNN`; the store's province and country are its location ('Guangdong, China').
"""

from __future__ import annotations

import re
from typing import Any

from scrapy.http import TextResponse

from crawler.extractors.charset import readable
from crawler.extractors.common import (
    ALICDN_SIZE_SUFFIX,
    URL_MAX,
    amount,
    canonical_url,
    cap,
    count_in,
    count_value,
    decimal_value,
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


def _module(data: dict[str, Any], name: str) -> dict[str, Any]:
    """One module of the page data (`priceModule`, `storeModule`); {} where it is missing or not an object."""
    module = data.get(name)
    return module if isinstance(module, dict) else {}


def _scalar(value: Any) -> str | None:
    """A name or number of the page data as text; None for nothing, true/false, or a list or object."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value) if str(value).strip() else None


def _price_fields(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Listing fields and extras from the page data's price module (the discounted price where there is one)."""
    module = _module(data, "priceModule")
    discounted = bool(module.get("activity")) and dig(module, "minActivityAmount", "value") is not None
    low_key, high_key = ("minActivityAmount", "maxActivityAmount") if discounted else ("minAmount", "maxAmount")
    low, high = decimal_value(dig(module, low_key, "value")), decimal_value(dig(module, high_key, "value"))
    currency = dig(module, low_key, "currency")
    shown = module.get("formatedActivityPrice") if discounted else module.get("formatedPrice")
    if low is None or not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency, re.ASCII):
        return {}, {}
    fields: dict[str, Any] = {"price_text": cap(_scalar(shown), 200), "price": low,
                              "price_high": high if high is not None and high != low else None,
                              "currency": currency}
    extra: dict[str, Any] = {}
    if discounted:
        fields["original_price"] = decimal_value(dig(module, "minAmount", "value"))
        original_high = decimal_value(dig(module, "maxAmount", "value"))
        if original_high is not None and original_high != fields["original_price"]:
            extra["original_price_high"] = str(original_high)
        discount = _scalar(module.get("discount"))
        if discount:
            extra["discount"] = f"{cap(discount, 20)}%"
    return fields, extra


def _store(data: dict[str, Any], response: TextResponse) -> tuple[str | None, str | None, str | None]:
    """Store name, store number and location ('Guangdong, China') from the page data, else from the DOM."""
    module = _module(data, "storeModule")
    name = _scalar(module.get("storeName"))
    number = _scalar(module.get("storeNum"))
    place = ", ".join(p for p in map(_scalar, (module.get("province"), module.get("countryCompleteName"))) if p) or None
    if not name:
        name = first_text(response, ".store-name", ".shop-name a", ".store-header .store-name")
    if not number:
        link = response.css("a.store-name::attr(href), .shop-name a::attr(href), a[href*='/store/']::attr(href)").get()
        match = _STORE_ID.search(link or "")
        number = match.group(1) if match else None
    return cap(name, 200), cap(number, 40), cap(place, 200)


def _images(response: TextResponse, from_data: list[str], structured: list[str]) -> list[str]:
    """Full-size photos: the page data's list, else JSON-LD, Open Graph and the gallery with the thumbnail
    size suffix ('.jpg_50x50.jpg') taken off."""
    candidates = from_data or [*structured, response.css('meta[property="og:image"]::attr(content)').get() or "",
                               *response.css(".images-view-item img::attr(src)").getall()]
    return unique_urls(response, [ALICDN_SIZE_SUFFIX.sub("", u) for u in candidates if u and len(u) <= URL_MAX])


def _condition(data: dict[str, Any]) -> str | None:
    props = dig(data, "specsModule", "props")
    for prop in props[:200] if isinstance(props, list) else []:
        if isinstance(prop, dict) and prop.get("attrNameId") == _CONDITION_ATTRIBUTE:
            return cap(_scalar(prop.get("attrValue")), 100)
    return None


def extract_listing(response: TextResponse, marketplace: str = "aliexpress") -> ListingItem | None:
    """The listing on an item page, or None when the page is not one."""
    response = readable(response)
    data = _run_params(response)
    structured = product_data(response.selector)
    url = canonical_url(response)
    listing_id = next((found for found in (_scalar(dig(data, "pageModule", "productId")),
                                           _scalar(dig(data, "storeModule", "productId")), item_id(url),
                                           item_id(response.url))
                       if found and re.fullmatch(r"[0-9]{6,20}", found)), None)
    title = (_scalar(dig(data, "titleModule", "subject")) or structured.name
             or first_text(response, "h1.product-title-text", ".product-title", "h1"))
    if not listing_id or not title:
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
    positive = _scalar(dig(data, "storeModule", "positiveRate")) or next(
        (t for t in texts_of(response, ".positive-fdbk") if "%" in t), None)
    if positive:
        extra["store_positive"] = cap(positive.split()[0], 20)
    opened = _scalar(dig(data, "storeModule", "openTime"))
    if opened:
        extra["store_open_since"] = cap(opened, 40)
    rating = _scalar(dig(data, "titleModule", "feedbackRating", "averageStar"))
    if rating:
        extra["rating"] = cap(rating, 10)
    listed = dig(data, "imageModule", "imagePathList")
    images = listed if isinstance(listed, list) else []
    sales = count_value(dig(data, "titleModule", "tradeCount"))
    if sales is None:
        sales = count_in(text_of(response, ".product-reviewer-sold"))
    return ListingItem(
        marketplace=marketplace,
        external_id=listing_id,
        url=f"https://www.aliexpress.com/item/{listing_id}.html",
        title=cap(title, 1000) or "",
        seller_name=store_name,
        seller_id=store_id,
        location_text=place,
        image_urls=_images(response, [u for u in images if isinstance(u, str)], structured.images),
        sales=sales,
        stock=count_value(dig(data, "quantityModule", "totalAvailQuantity")),
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
    response = readable(response)
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
