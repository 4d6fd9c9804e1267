"""Extractors for the bundled demo marketplace (both its server-rendered and its JavaScript-rendered shop).

Pure functions over a response: HTML in, listing out. JSON-LD is read first where the page has it.
"""

from __future__ import annotations

import re

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extractors.charset import readable
from crawler.extractors.common import absolute, attr, count_in, unique_urls
from crawler.extractors.structured import as_text, first_offer, image_list, jsonld_products
from crawler.items import ListingItem, SearchCard, SearchPage

_ITEM_ID = re.compile(r"/item/([A-Za-z0-9_-]{1,64})")
_LOCATION_LABEL = re.compile(r"^\s*(发货地|所在地|ships from|location)\s*[:：]\s*", re.IGNORECASE)


def _text(selector: Selector, css: str) -> str | None:
    value = " ".join(t.strip() for t in selector.css(css + " ::text").getall() if t.strip())
    return value or None


def extract_search(response: TextResponse) -> SearchPage:
    response = readable(response)
    cards = []
    skipped = 0
    for card in response.css("li.card"):
        url = absolute(response, card.css("a.card-link::attr(href)").get())
        if not url:
            skipped += 1
            continue
        cards.append(
            SearchCard(
                url=url,
                external_id=attr(card, "data-id"),
                title=_text(card, ".card-title"),
                price_text=_text(card, ".card-price"),
                location_text=_text(card, ".card-location"),
            )
        )
    next_url = absolute(response, response.css("a.next::attr(href), a[rel=next]::attr(href)").get())
    return SearchPage(cards=cards, next_url=next_url, skipped=skipped)


def extract_listing(response: TextResponse, marketplace: str) -> ListingItem | None:
    """The listing on an item page, or None when the page is not one (no title)."""
    response = readable(response)
    match = _ITEM_ID.search(response.url)
    products = jsonld_products(response.selector)
    product = products[0] if products else {}
    offer = first_offer(product)
    title = as_text(product.get("name")) or _text(response.selector, "h1.item-title")
    if not title or not match:
        return None
    price_node = response.css(".item-price")
    price_text = _text(response.selector, ".item-price")
    currency = as_text(offer.get("priceCurrency")) or (attr(price_node, "data-currency") if price_node else None)
    if offer.get("price") is not None:
        price_text = f"{currency or ''} {offer['price']}".strip()
    shop = response.css("a.shop-name")
    seller = as_text(offer.get("seller")) or _text(response.selector, "a.shop-name")
    location = _LOCATION_LABEL.sub("", _text(response.selector, ".ship-from") or "") or None
    images = image_list(product.get("image")) or response.css(".gallery img::attr(src)").getall()
    return ListingItem(
        marketplace=marketplace,
        external_id=match.group(1),
        url=response.url,
        title=title,
        price_text=price_text,
        currency=currency,
        seller_name=seller,
        seller_id=attr(shop, "data-shop-id") if shop else None,
        location_text=location,
        image_urls=unique_urls(response, images),
        # The description and the seller's notes, where shops leave contacts ("加V mei2688 拿货价").
        description="\n".join(filter(None, (_text(block, "") for block in response.css(".item-desc, .item-notes"))))
        or as_text(product.get("description")),
        sales=count_in(_text(response.selector, ".item-sales")),
    )
