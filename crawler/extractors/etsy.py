"""Etsy listing pages: schema.org data (JSON-LD on current pages, data-vocabulary.org microdata on older ones)
first, then the page's own context object (`Etsy.Context`), then the DOM.

The shop is the seller (its name; its numeric shop id). The price is the one the page shows for the default
variation; where variations cost more, the highest goes to `extra`. 'Ships from' / 'Ships worldwide from' is
the seller's location.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from scrapy.http import TextResponse

from crawler.extractors.charset import readable
from crawler.extractors.common import (
    canonical_url,
    cap,
    count_value,
    decimal_value,
    dig,
    embedded_json,
    first_text,
    id_value,
    json_number,
    money,
    one_per_photo,
    texts_of,
    unique_urls,
)
from crawler.extractors.structured import product_data
from crawler.items import ListingItem

_LISTING_ID = re.compile(r"/listing/(\d{5,15})(?:[/?#]|$)")
_SHOP_NAME = re.compile(r"/shop/([A-Za-z0-9_-]{1,60})(?:[/?#]|$)")
_PHOTO_ID = re.compile(r"/il_[0-9a-zA-Z]{1,12}\.(\d{5,15})_")
_LOCATION_LABEL = re.compile(r"^\s*(ships (?:worldwide )?from|dispatched from|located in)\s*:?\s*", re.IGNORECASE)


def listing_id(url: str | None) -> str | None:
    match = _LISTING_ID.search(url or "")
    return match.group(1) if match else None


def _context(response: TextResponse) -> dict[str, Any]:
    data = dig(embedded_json(response.text[:3_000_000], "Etsy.Context="), "data")
    return data if isinstance(data, dict) else {}


def _highest_variation(context: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    prices = context.get("variation_prices")
    if not isinstance(prices, dict):
        return None, None
    highest: Decimal | None = None
    currency = None
    for entry in list(prices.values())[:500]:
        if not isinstance(entry, dict):
            continue
        value = decimal_value(entry.get("price"))
        if value is not None and (highest is None or value > highest):
            highest, currency = value, entry.get("currency_code")
    return highest, currency if isinstance(currency, str) else None


def _location(response: TextResponse) -> str | None:
    origin = first_text(response, "#item-overview .origin", ".origin")
    if origin:
        return origin
    for line in texts_of(response, "#item-overview li, [data-shipping-from], .shipping-from, "
                         "[data-estimated-delivery] p, div.wt-text-body-01", 200):
        if _LOCATION_LABEL.match(line):
            return cap(_LOCATION_LABEL.sub("", line), 200)
    return None


def extract_listing(response: TextResponse, marketplace: str = "etsy") -> ListingItem | None:
    """The listing of an Etsy listing page, or None when the page is not one."""
    response = readable(response)
    structured = product_data(response.selector)
    context = _context(response)
    url = canonical_url(response)
    listing = (listing_id(url) or listing_id(response.url) or listing_id(structured.url)
               or id_value(context.get("listing_id"))
               or response.css("input[name=listing_id]::attr(value)").get())
    title = (structured.name or first_text(response, "#listing-page-cart h1", "h1[data-buy-box-listing-title]", "h1")
             or response.css('meta[property="og:title"]::attr(content)').get())
    if not listing or not re.fullmatch(r"\d{5,15}", listing) or not title:
        return None
    currency = structured.currency or response.css(
        'meta[property="etsymarketplace:currency_code"]::attr(content), '
        'meta[property="product:price:currency"]::attr(content)').get()
    price = structured.price_text
    if not price:
        value = response.css('meta[property="etsymarketplace:price_value"]::attr(content), '
                             'meta[property="product:price:amount"]::attr(content)').get()
        price = f"{currency or ''} {value}".strip() if value else first_text(
            response, "#listing-price", "[data-buy-box-region=price] p.wt-text-title-03", ".currency-value")
    fields = money(price, currency)
    extra: dict[str, Any] = {"page": "listing"}
    highest, highest_currency = _highest_variation(context)
    if highest is not None and fields.get("price") is not None and highest > fields["price"] \
            and highest_currency == fields.get("currency"):
        extra["variation_price_high"] = str(highest)
    shop_link = response.css("#seller .shop-name a::attr(href), a[href*='/shop/']::attr(href)").get() or ""
    shop_match = _SHOP_NAME.search(shop_link)
    # A schema.org brand is not taken for the shop: it may name the maker of what the shop sells.
    shop = (context.get("shop_name") if isinstance(context.get("shop_name"), str) else None) or first_text(
        response, "#seller .shop-name [itemprop=title]", "#seller .shop-name") or (
        shop_match.group(1) if shop_match else None)
    shop_id = id_value(context.get("shopId")) or json_number(
        response.text[:3_000_000], "shop_id")
    rating = response.css('[itemprop="rating"]::attr(content), [itemprop="ratingValue"]::attr(content)').get()
    if rating:
        extra["shop_rating"] = cap(rating, 20)
    reviews = response.css('[itemprop="count"]::attr(content), [itemprop="reviewCount"]::attr(content)').get()
    if count_value(reviews) is not None:
        extra["reviews"] = count_value(reviews)
    overview = [line for line in texts_of(response, "#item-overview li", 20) if not _LOCATION_LABEL.match(line)]
    if overview:
        extra["overview"] = overview
    listed = context.get("all_image_urls")
    images: list[Any] = listed if isinstance(listed, list) else []
    return ListingItem(
        marketplace=marketplace,
        external_id=listing,
        url=f"https://www.etsy.com/listing/{listing}",
        title=cap(title, 1000) or "",
        seller_name=cap(shop, 200),
        seller_id=shop_id,
        location_text=_location(response),
        image_urls=one_per_photo(unique_urls(response, [
            *structured.images, *(u for u in images if isinstance(u, str)),
            response.css('meta[property="og:image"]::attr(content)').get(),
            *response.css("#image-carousel img::attr(data-full-image-href), "
                          "[data-carousel-pane] img::attr(data-src-zoom-image)").getall()]), _PHOTO_ID),
        description=cap(structured.description or response.css(
            'meta[property="og:description"]::attr(content)').get(), 5000),
        condition=structured.condition,
        extra=extra,
        **fields,
    )


def extract_page(response: TextResponse, marketplace: str = "etsy") -> list[ListingItem]:
    """The listing of a listing page. Search pages are not read yet: there is no saved one to build against."""
    response = readable(response)
    found = extract_listing(response, marketplace)
    return [found] if found else []
