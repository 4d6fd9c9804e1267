"""What the search-card extractors of Chinese and Southeast Asian marketplaces (Taobao, JD, 1688, Lazada) share:
one listing per card, a search page turned into the spider's SearchPage, and image URLs as the CDN serves them.

A layout an extractor does not know yields no listings; the caller (the spider, `brandpatrol parse`) warns about
a page with no cards, so an unknown layout is never read as a wrong price.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from scrapy.http import TextResponse

from crawler.extractors.common import ALICDN_SIZE_SUFFIX
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
        cards=[SearchCard(url=c.url, external_id=c.external_id, title=c.title, price_text=c.price_text,
                          location_text=c.location_text, image_url=c.image_urls[0] if c.image_urls else None)
               for c in cards],
        next_url=next_url,
    )
