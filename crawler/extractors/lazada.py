"""Lazada search pages (lazada.com.ph, .sg, .co.th, .com.my, .vn, .co.id): one `product-item` card per product.

The class names on Lazada's cards are generated and change with each build, so cards are read by their stable
hooks: `data-qa-locator="product-item"`, `data-item-id` (the listing's id), the title link's `title`, the first
text that reads as a price, and the seller's location as the last `span[title]` of the card ("Laguna", "Metro
Manila", "Overseas"). Locations are mapped to ISO 3166-2 subdivisions of the storefront's country (Laguna on
lazada.com.ph: PH-LAG); "Overseas" / 海外 / 跨境 mark a cross-border seller (`extra.cross_border`), shipping from
outside the country, which is where grey imports come from. Photos are lazy: placeholders (data: URIs) are skipped.
"""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector
from scrapy.http import TextResponse

from core.regions import subdivision_in
from crawler.extractors.cards import full_photo, search_page
from crawler.extractors.charset import readable
from crawler.extractors.common import (
    MAX_CARDS,
    absolute,
    attr,
    cap,
    count_in,
    split_url,
    text_of,
    unique_urls,
)
from crawler.extractors.common import money as money_fields
from crawler.extractors.generic import extract_listing as generic_listing
from crawler.items import ListingItem, SearchPage

_ITEM_ID = re.compile(r"^[0-9]{3,20}$")
_PRICE = re.compile(r"^\s*(₱|RM|S\$|฿|₫|Rp|\$)\s*[\d.,]+\s*$")
_CROSS_BORDER = re.compile(r"^\s*(overseas|海外|跨境|international)\s*$", re.IGNORECASE)
# Each storefront's country and currency, by the last labels of its host.
_STOREFRONTS = {"com.ph": ("PH", "PHP"), "sg": ("SG", "SGD"), "co.th": ("TH", "THB"), "com.my": ("MY", "MYR"),
                "vn": ("VN", "VND"), "co.id": ("ID", "IDR")}


def _storefront(response: TextResponse) -> tuple[str | None, str | None]:
    """The storefront's country and currency from the page's own links (a saved page's URL is a file path)."""
    urls = [response.url, *response.css('a[href*="lazada."]::attr(href)').getall()[:5]]
    for url in urls:
        parts = split_url(url)
        host = ((parts.hostname if parts else None) or "").lower()
        if ".lazada." not in f".{host}":
            continue
        suffix = host.split(".lazada.", 1)[-1] if ".lazada." in host else host.removeprefix("lazada.")
        if suffix in _STOREFRONTS:
            return _STOREFRONTS[suffix]
    return None, None


def _card(card: Selector, item_id: str, marketplace: str, response: TextResponse, country: str | None,
          currency: str | None) -> ListingItem | None:
    link = card.css("a[title]")
    title = cap(attr(link, "title") if link else None, 1000) or text_of(card, "a[title]")
    url = absolute(response, attr(link, "href") if link else None)
    if not title or not url:
        return None
    url = url.split("?", 1)[0]
    price = next((t.strip() for t in card.css("span::text, div::text").getall()[:60] if _PRICE.match(t)), None)
    places = card.css("span[title]::attr(title)").getall()
    location = cap(places[-1], 200) if places else None
    extra: dict[str, Any] = {"page": "search"}
    item_country = region = None
    if location and _CROSS_BORDER.match(location):
        extra["cross_border"] = True
    elif location and country:
        region = subdivision_in(country, location)
        item_country = country if region else None
    sold = next((t for t in card.css("span::text").getall()[:40] if "sold" in t.lower()), None)
    reviews = next((t for t in card.css("span::text").getall()[:40] if re.fullmatch(r"\(\d[\d,]*\)", t.strip())),
                   None)
    if reviews:
        extra["reviews_count"] = count_in(reviews)
    if card.css('i[style*="lazmall"]'):
        extra["lazmall"] = True
    photos = [full_photo(src) for src in card.css("img::attr(src)").getall()[:4] if not src.startswith("data:")]
    return ListingItem(
        marketplace=marketplace,
        external_id=item_id,
        url=url,
        title=title,
        location_text=location,
        country=item_country,
        region=region,
        image_urls=unique_urls(response, photos),
        sales=count_in(sold),
        extra=extra,
        **money_fields(price, currency),
    )


def extract_cards(response: TextResponse, marketplace: str = "lazada") -> list[ListingItem]:
    """One listing per `[data-qa-locator=product-item][data-item-id]` card; [] on any other layout."""
    response = readable(response)
    country, currency = _storefront(response)
    listings: list[ListingItem] = []
    seen: set[str] = set()
    for card in response.css('[data-qa-locator="product-item"][data-item-id]')[: MAX_CARDS * 2]:
        item_id = attr(card, "data-item-id") or ""
        if not _ITEM_ID.match(item_id) or item_id in seen:
            continue
        listing = _card(card, item_id, marketplace, response, country, currency)
        if listing is not None:
            seen.add(item_id)
            listings.append(listing)
    return listings[:MAX_CARDS]


def extract_search(response: TextResponse) -> SearchPage:
    return search_page(extract_cards(response))


def extract_listing(response: TextResponse, marketplace: str = "lazada") -> ListingItem | None:
    """A product page, by its schema.org data (no saved Lazada product page to build more on yet)."""
    return generic_listing(response, marketplace)


def extract_page(response: TextResponse, marketplace: str = "lazada") -> list[ListingItem]:
    cards = extract_cards(response, marketplace)
    if cards:
        return cards
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
