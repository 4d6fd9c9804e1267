"""Extractors: pure functions from a response to listings. `PAGE_EXTRACTORS` maps a name to one that reads
any page of that marketplace (search results give one listing per card, with what the card shows)."""

from __future__ import annotations

from collections.abc import Callable

from scrapy.http import TextResponse

from crawler.extractors import aliexpress, amazon, demo, ebay, etsy, generic, taobao
from crawler.items import ListingItem

PageExtractor = Callable[[TextResponse, str], list[ListingItem]]


def _demo_page(response: TextResponse, marketplace: str) -> list[ListingItem]:
    page = demo.extract_search(response)
    if page.cards:
        return [
            ListingItem(marketplace=marketplace, external_id=card.external_id or "", url=card.url,
                        title=card.title or "", price_text=card.price_text, location_text=card.location_text)
            for card in page.cards
        ]
    listing = demo.extract_listing(response, marketplace)
    return [listing] if listing else []


def _generic_page(response: TextResponse, marketplace: str) -> list[ListingItem]:
    listing = generic.extract_listing(response, marketplace)
    return [listing] if listing else []


PAGE_EXTRACTORS: dict[str, PageExtractor] = {
    "demo": _demo_page,
    "generic": _generic_page,
    # Real marketplaces: search cards (eBay, Amazon) and item pages; tried after the generic reader when no
    # name is given, so they read what schema.org data alone does not give.
    "ebay": ebay.extract_page,
    "amazon": amazon.extract_page,
    "aliexpress": aliexpress.extract_page,
    "taobao": taobao.extract_page,
    "etsy": etsy.extract_page,
}


def extract_page(response: TextResponse, name: str | None) -> list[ListingItem]:
    """Listings on one page with the named extractor, or with each in turn until one finds something."""
    if name is not None:
        if name not in PAGE_EXTRACTORS:
            raise KeyError(f"no extractor named '{name}' (known: {', '.join(sorted(PAGE_EXTRACTORS))})")
        return PAGE_EXTRACTORS[name](response, name)
    for candidate, extractor in PAGE_EXTRACTORS.items():
        found = extractor(response, candidate)
        if found:
            return found
    return []
