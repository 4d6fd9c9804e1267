"""Extractors: pure functions from a response to listings. `PAGE_EXTRACTORS` maps a name to one that reads
any page of that marketplace (search results give one listing per card, with what the card shows)."""

from __future__ import annotations

from collections.abc import Callable

from scrapy.http import TextResponse

from crawler.extractors import aliexpress, amazon, demo, ebay, etsy, generic, jd, lazada, taobao, wholesale1688
from crawler.extractors.charset import readable
from crawler.extractors.common import split_url
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
    # Real marketplaces: search cards (eBay, Amazon) and item pages.
    "ebay": ebay.extract_page,
    "amazon": amazon.extract_page,
    "aliexpress": aliexpress.extract_page,
    "taobao": taobao.extract_page,
    "etsy": etsy.extract_page,
    # Search cards of the marketplaces where diversion is sold (item pages by their schema.org data).
    "jd": jd.extract_page,
    "1688": wholesale1688.extract_page,
    "lazada": lazada.extract_page,
}


# Hosts of the marketplaces with their own extractor; a saved page is recognised by its canonical URL.
HOSTS = {"ebay": "ebay", "amazon": "amazon", "aliexpress": "aliexpress", "taobao": "taobao", "tmall": "taobao",
         "etsy": "etsy", "jd": "jd", "1688": "1688", "lazada": "lazada"}


def extractor_for(response: TextResponse) -> str | None:
    """The extractor a page's own address (URL, canonical link or og:url) names, if it is a known marketplace."""
    candidates = [response.url, response.css('link[rel="canonical"]::attr(href)').get() or "",
                  response.css('meta[property="og:url"]::attr(content)').get() or ""]
    for url in candidates:
        parts = split_url(url)
        host = ((parts.hostname if parts else None) or "").lower()
        for label in host.split("."):
            if label in HOSTS:
                return HOSTS[label]
    return None


def extract_page(response: TextResponse, name: str | None) -> list[ListingItem]:
    """Listings on one page with the named extractor, else the one its address names, else each in turn
    until one finds something."""
    response = readable(response)
    name = name or extractor_for(response)
    if name is not None:
        if name not in PAGE_EXTRACTORS:
            raise KeyError(f"no extractor named '{name}' (known: {', '.join(sorted(PAGE_EXTRACTORS))})")
        return PAGE_EXTRACTORS[name](response, name)
    for candidate, extractor in PAGE_EXTRACTORS.items():
        found = extractor(response, candidate)
        if found:
            return found
    return []
