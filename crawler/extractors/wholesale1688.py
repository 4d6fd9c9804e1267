"""1688.com (Alibaba's wholesale market) search pages: one `div.offer_item` card per offer, rendered in the HTML.

A card gives the title (`span.subject[title]`), the price split over React text nodes (`1` and `.74` make ¥1.74),
the seller's Wangwang nick (`data-nick`, URL-encoded where `data-encode="true"`), the offer's turnover ("成交2.4万+元")
or units sold ("销30+件"), and a photo. Organic offers link to `detail.1688.com/offer/<id>.html`; paid placements
link through a click tracker and carry no offer id, so they are identified by their photo's key on Alibaba's CDN
(`photo-O1CN01fc8pjr25B6BUQLFGE`), which stays with the offer across crawls.
Titles often say 适用 (compatible with) before a brand: that names an accessory for the brand, not the brand's goods;
matching reads it so.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extractors.cards import full_photo, search_page
from crawler.extractors.charset import readable
from crawler.extractors.common import MAX_CARDS, absolute, attr, cap, count_in, money, text_of, unique_urls
from crawler.extractors.generic import extract_listing as generic_listing
from crawler.items import ListingItem, SearchPage

_OFFER = re.compile(r"detail\.1688\.com/offer/(\d{6,20})\.html")
_PHOTO_KEY = re.compile(r"/([A-Za-z0-9_!-]{8,80}?)(?:_!!\d+)?(?:-\d-cib)?(?:\.\d{2,4}x\d{2,4})?\.(?:jpg|png|webp)")


def _price(card: Selector) -> str | None:
    # The yuan and the fraction are separate text nodes; joined with a space they would read as two numbers.
    digits = "".join(t.strip() for t in card.css(".price_num ::text").getall()[:6])
    symbol = (card.css(".price_tag::text").get() or "¥").strip()
    return f"{symbol}{digits}" if digits else None


def _identity(link: str, photo: str | None) -> tuple[str | None, bool]:
    """The offer id from an organic link, else the photo's CDN key for a sponsored card; (None, _) for neither."""
    offer = _OFFER.search(link)
    if offer:
        return offer.group(1), False
    key = _PHOTO_KEY.search(photo or "")
    return (f"photo-{key.group(1)}", True) if key else (None, True)


def _card(card: Selector, marketplace: str, response: TextResponse) -> ListingItem | None:
    title = cap(card.css("span.subject::attr(title)").get() or text_of(card, "span.subject"), 1000)
    link = absolute(response, card.css("a::attr(href)").get()) or ""
    photo = card.css(".mainPic img::attr(src)").get() or card.css("img::attr(src)").get()
    external_id, sponsored = _identity(link, photo)
    if not title or not external_id or not link:
        return None
    nick_node = card.css("[data-nick]")
    nick = attr(nick_node, "data-nick") if nick_node else None
    if nick and attr(nick_node, "data-encode") == "true":
        nick = unquote(nick)
    extra: dict[str, Any] = {"page": "search"}
    if sponsored:
        extra["sponsored"] = True
    activity = text_of(card, ".location", 60)
    if activity and "元" in activity:
        extra["turnover_text"] = activity
    sold = activity if activity and "件" in activity else None
    url = f"https://detail.1688.com/offer/{external_id}.html" if not sponsored else link
    return ListingItem(
        marketplace=marketplace,
        external_id=external_id,
        url=url,
        title=title,
        seller_name=cap(nick, 200),
        image_urls=unique_urls(response, [full_photo(photo)] if photo else []),
        sales=count_in(sold),
        extra=extra,
        **money(_price(card), "CNY"),
    )


def extract_cards(response: TextResponse, marketplace: str = "1688") -> list[ListingItem]:
    """One listing per `div.offer_item` card; [] on any other layout."""
    response = readable(response)
    listings: list[ListingItem] = []
    seen: set[str] = set()
    for card in response.css("div.offer_item")[: MAX_CARDS * 2]:
        listing = _card(card, marketplace, response)
        if listing is not None and listing.external_id not in seen:
            seen.add(listing.external_id)
            listings.append(listing)
    return listings[:MAX_CARDS]


def extract_search(response: TextResponse) -> SearchPage:
    return search_page(extract_cards(response))


def extract_listing(response: TextResponse, marketplace: str = "1688") -> ListingItem | None:
    """An offer page, by its schema.org / Open Graph data (no saved 1688 offer page to build more on yet)."""
    return generic_listing(response, marketplace)


def extract_page(response: TextResponse, marketplace: str = "1688") -> list[ListingItem]:
    cards = extract_cards(response, marketplace)
    if cards:
        return cards
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
