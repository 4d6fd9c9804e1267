"""What the search-card extractors of Chinese and Southeast Asian marketplaces (Taobao, JD, 1688, Lazada) share:
one listing per card, a search page turned into the spider's SearchPage, and image URLs as the CDN serves them.

A layout an extractor does not know yields no listings; the caller (the spider, `brandpatrol parse`) warns about
a page with no cards, so an unknown layout is never read as a wrong price.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable

from scrapy.http import TextResponse

from crawler.extractors.common import ALICDN_SIZE_SUFFIX, cap
from crawler.items import ListingItem, SearchCard, SearchPage

CardReader = Callable[[TextResponse, str], list[ListingItem]]

# JD and Lazada serve photos in AVIF or WebP by a suffix on the JPEG/PNG's URL ('x.jpg.avif', 'x.png_.webp');
# the image pipeline's format allow-list takes the JPEG/PNG the URL names without the suffix.
_MODERN_SUFFIX = re.compile(r"(?<=\.(?:jpg|png))(?:_?\.(?:avif|webp))$", re.IGNORECASE)
# 1688's thumbnails put the size before the extension: 'x-0-cib.220x220.jpg' is 'x-0-cib.jpg' at 220 pixels.
_DOTTED_SIZE = re.compile(r"\.\d{2,4}x\d{2,4}(?=\.(?:jpg|png)$)", re.IGNORECASE)


def full_photo(url: str) -> str:
    """The full-size JPEG/PNG of a CDN thumbnail URL: size and modern-format suffixes removed."""
    return _DOTTED_SIZE.sub("", ALICDN_SIZE_SUFFIX.sub("", _MODERN_SUFFIX.sub("", url)))


def search_page(cards: list[ListingItem], next_url: str | None = None) -> SearchPage:
    """The spider's view of a search page: each card as a link to follow with what the card shows."""
    return SearchPage(
        cards=[card_of(c) for c in cards],
        next_url=next_url,
    )


def card_of(listing: ListingItem) -> SearchCard:
    """A card read as a listing, as the spider follows it or keeps it."""
    return SearchCard(url=listing.url, external_id=listing.external_id, title=listing.title,
                      price_text=listing.price_text, location_text=listing.location_text,
                      image_url=listing.image_urls[0] if listing.image_urls else None,
                      seller_name=listing.seller_name, listing=listing)


def card_fingerprint(title: str | None, price_text: str | None, seller: str | None, photo: str | None) -> str:
    """SHA-256 (hex) of what a card shows that matters to matching: title, price as shown, seller and first photo.
    The same card tomorrow gives the same fingerprint, so its listing's item page need not be fetched again."""
    parts = (title or "", price_text or "", seller or "", photo or "")
    return hashlib.sha256("\x1f".join(p.strip() for p in parts).encode("utf-8", "surrogatepass")).hexdigest()


def card_identity(card: SearchCard, id_pattern: str | None = None) -> str | None:
    """The listing id a card gives: its own, else the one its link gives by the marketplace's `id_from_url`."""
    if card.external_id and card.external_id.strip():
        return cap(card.external_id.strip(), 200)
    match = re.search(id_pattern, card.url) if id_pattern and card.url else None
    if match is None:
        return None
    return cap(match.group(1) if match.groups() else match.group(0), 200)


def card_listing(card: SearchCard, marketplace: str, id_pattern: str | None = None) -> ListingItem | None:
    """The listing a search card shows, marked seen from a card with its fingerprint; None for a card without an id,
    a link or a title (the caller counts it: a card is never stored half). Its price stays as shown: one that does
    not parse is left unknown by normalisation, never 0."""
    external_id = card_identity(card, id_pattern)
    if not external_id or not card.url or not (card.title or "").strip():
        return None
    if card.listing is not None:
        listing = dataclasses.replace(card.listing, marketplace=marketplace, external_id=external_id,
                                      image_urls=list(card.listing.image_urls), extra=dict(card.listing.extra))
    else:
        listing = ListingItem(marketplace=marketplace, external_id=external_id, url=card.url, title=card.title or "",
                              price_text=card.price_text, location_text=card.location_text,
                              seller_name=card.seller_name, image_urls=[card.image_url] if card.image_url else [])
    listing.seen_from = "card"
    listing.card_sha256 = card_fingerprint_of(card)
    return listing


def card_fingerprint_of(card: SearchCard) -> str:
    seller = (card.listing.seller_id or card.listing.seller_name) if card.listing is not None else card.seller_name
    return card_fingerprint(card.title, card.price_text, seller, card.image_url)
