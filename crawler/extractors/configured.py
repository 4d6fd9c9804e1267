"""Extraction driven by selectors from the brand configuration, for marketplaces no code knows.

A selector is CSS (with Scrapy's `::text` / `::attr(name)`) or XPath when prefixed with `xpath:`. Fields a page
does not give through selectors fall back to the page's schema.org data. The description is every block the
`description` selector matches (description, seller's notes), one per line, else the schema.org description.
Links and photos are resolved with common.absolute: one that cannot be parsed or fetched is left out (that card,
that photo), never raised on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from core.config import FieldSelectors
from crawler.extractors import generic
from crawler.extractors.charset import readable
from crawler.extractors.common import absolute, unique_urls
from crawler.items import ListingItem, SearchCard, SearchPage

LISTING_FIELDS = ("title", "price", "currency", "seller", "seller_id", "location", "image", "external_id")


def _apply(node: Selector | SelectorList[Selector], expression: str) -> SelectorList[Selector]:
    if expression.startswith("xpath:"):
        return node.xpath(expression.removeprefix("xpath:").strip())
    return node.css(expression)


def select_all(node: Selector | SelectorList[Selector], expression: str | None) -> list[str]:
    if not expression:
        return []
    values = []
    for found in _apply(node, expression):
        text = found.get() if found.root is None or isinstance(found.root, str) else " ".join(
            t.strip() for t in found.xpath(".//text()").getall() if t.strip())
        if text and text.strip():
            values.append(re.sub(r"\s+", " ", text).strip())
    return values


def select_first(node: Selector | SelectorList[Selector], expression: str | None) -> str | None:
    values = select_all(node, expression)
    return values[0] if values else None


def extract_search(response: TextResponse, selectors: FieldSelectors) -> SearchPage:
    response = readable(response)
    cards: list[SearchCard] = []
    scopes = _apply(response.selector, selectors.item) if selectors.item else [response.selector]
    for scope in scopes:
        links = select_all(scope, selectors.link) if selectors.link else []
        for link in links[:1] if selectors.item else links:
            url = absolute(response, link)
            if url is None:
                continue  # a link no request can be made to costs its own card only
            cards.append(SearchCard(url=url, external_id=None,
                                    title=select_first(scope, selectors.title) if selectors.item else None,
                                    price_text=select_first(scope, selectors.price) if selectors.item else None,
                                    location_text=select_first(scope, selectors.location) if selectors.item else None))
    return SearchPage(cards=cards, next_url=absolute(response, select_first(response.selector, selectors.next_page)))


@dataclass
class ConfiguredExtraction:
    item: ListingItem | None
    missing: list[str] = field(default_factory=list)  # configured selectors that matched nothing


def id_from_url(url: str, pattern: str | None) -> str | None:
    match = re.search(pattern, url) if pattern else None
    return (match.group(1) if match.groups() else match.group(0)) if match else None


def extract_listing(response: TextResponse, marketplace: str, selectors: FieldSelectors,
                    id_pattern: str | None = None) -> ConfiguredExtraction:
    response = readable(response)
    values = {name: select_first(response.selector, getattr(selectors, name)) for name in LISTING_FIELDS}
    description = "\n".join(select_all(response.selector, selectors.description)) or None
    missing = [name for name in (*LISTING_FIELDS, "description")
               if getattr(selectors, name) and (description if name == "description" else values[name]) is None]
    images = select_all(response.selector, selectors.image)
    # The page's structured data fills what the selectors did not give; read only when something is missing.
    needs_fallback = not (values["title"] and values["price"] and values["seller"] and description) or (
        not images and not selectors.image)
    fallback = generic.extract_listing(response, marketplace) if needs_fallback else None
    title = values["title"] or (fallback.title if fallback else None)
    if not title:
        return ConfiguredExtraction(None, missing)
    if not images and fallback:
        images = fallback.image_urls
    external_id = values["external_id"] or id_from_url(response.url, id_pattern) or generic.url_identity(response.url)
    item = ListingItem(
        marketplace=marketplace,
        external_id=external_id,
        url=response.url,
        title=title,
        price_text=values["price"] or (fallback.price_text if fallback else None),
        currency=values["currency"] or (fallback.currency if fallback else None),
        seller_name=values["seller"] or (fallback.seller_name if fallback else None),
        seller_id=values["seller_id"],
        location_text=values["location"],
        image_urls=unique_urls(response, images),
        description=description or (fallback.description if fallback else None),
    )
    return ConfiguredExtraction(item, missing)
