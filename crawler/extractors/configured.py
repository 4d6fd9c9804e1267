"""Extraction driven by selectors from the brand configuration, for marketplaces no code knows.

A selector is CSS (with Scrapy's `::text` / `::attr(name)`), XPath when prefixed with `xpath:`, or JMESPath over the
page's data (`selectors.data`: JSON in a script, `__NEXT_DATA__`, JSON-LD, a JSON API response or JSON the browser
saw; see jsondata) when prefixed with `json:`. A `json:` item selector makes each card a piece of that data, and the
card's own `json:` fields are read relative to it. Fields a page does not give through selectors fall back to the
page's schema.org data. The description is every block the `description` selector matches (description, seller's
notes), one per line, else the schema.org description. Links and photos are resolved with common.absolute: one
that cannot be parsed or fetched is left out (that card, that photo), never raised on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from core.config import FieldSelectors
from core.jsonpath import is_json_selector
from crawler.extractors import generic, jsondata
from crawler.extractors.charset import readable
from crawler.extractors.common import absolute, unique_urls
from crawler.items import ListingItem, SearchCard, SearchPage

LISTING_FIELDS = ("title", "price", "currency", "seller", "seller_id", "location", "image", "external_id")
SEARCH_SELECTORS = ("item", "link", "next_page")


@dataclass(frozen=True)
class JsonNode:
    """A piece of a page's JSON data that `json:` selectors read (the whole document, or one card of it)."""

    value: Any


Scope = Selector | SelectorList[Selector] | JsonNode


def _apply(node: Selector | SelectorList[Selector], expression: str) -> SelectorList[Selector]:
    if expression.startswith("xpath:"):
        return node.xpath(expression.removeprefix("xpath:").strip())
    return node.css(expression)


def select_all(node: Scope, expression: str | None) -> list[str]:
    """Every value `expression` selects below `node`: `json:` selectors read JSON nodes, CSS/XPath read markup; a
    selector of one kind finds nothing in a node of the other."""
    if not expression:
        return []
    if isinstance(node, JsonNode) or is_json_selector(expression):
        if not isinstance(node, JsonNode) or not is_json_selector(expression):
            return []
        return jsondata.values(node.value, expression)
    values = []
    for found in _apply(node, expression):
        text = found.get() if found.root is None or isinstance(found.root, str) else " ".join(
            t.strip() for t in found.xpath(".//text()").getall() if t.strip())
        if text and text.strip():
            values.append(re.sub(r"\s+", " ", text).strip())
    return values


def select_first(node: Scope, expression: str | None) -> str | None:
    values = select_all(node, expression)
    return values[0] if values else None


class PageData:
    """A page's markup and, where the marketplace names one, its JSON document: the root each selector reads."""

    def __init__(self, response: TextResponse, selectors: FieldSelectors):
        self.markup = response.selector
        self.warnings: list[str] = []
        self.document: JsonNode | None = None
        if selectors.data:
            found = jsondata.document(response, selectors.data)
            if found is None:
                self.warnings.append(f"no JSON data ({selectors.data}) on {response.url[:200]}")
            else:
                self.document = JsonNode(found)

    def root(self, expression: str | None) -> Scope:
        if is_json_selector(expression):
            return self.document or JsonNode(None)
        return self.markup

    def first(self, expression: str | None) -> str | None:
        return select_first(self.root(expression), expression)

    def all(self, expression: str | None) -> list[str]:
        return select_all(self.root(expression), expression)

    def items(self, expression: str) -> list[Scope]:
        root = self.root(expression)
        if isinstance(root, JsonNode):
            return [JsonNode(value) for value in jsondata.scopes(root.value, expression)]
        return list(_apply(root, expression))


def extract_search(response: TextResponse, selectors: FieldSelectors) -> SearchPage:
    response = readable(response)
    data = PageData(response, selectors)
    cards: list[SearchCard] = []
    skipped = 0
    scopes: list[Scope] = data.items(selectors.item) if selectors.item else [data.root(selectors.link)]
    for scope in scopes:
        links = select_all(scope, selectors.link) if selectors.link else []
        if selectors.item and not links:
            skipped += 1  # a card without a link
        for link in links[:1] if selectors.item else links:
            url = absolute(response, link)
            if url is None:
                skipped += 1
                continue  # a link no request can be made to costs its own card only
            card = scope if selectors.item else None
            cards.append(SearchCard(url=url, external_id=select_first(card, selectors.external_id) if card else None,
                                    title=select_first(card, selectors.title) if card else None,
                                    price_text=select_first(card, selectors.price) if card else None,
                                    location_text=select_first(card, selectors.location) if card else None,
                                    seller_name=select_first(card, selectors.seller) if card else None,
                                    image_url=_card_photo(response, card, selectors.image)))
    return SearchPage(cards=cards, next_url=absolute(response, data.first(selectors.next_page)),
                      warnings=data.warnings, skipped=skipped)


def _card_photo(response: TextResponse, card: Scope | None, selector: str | None) -> str | None:
    """The first photo a card shows that a request can be made to."""
    photos = unique_urls(response, select_all(card, selector)[:4]) if card is not None and selector else []
    return photos[0] if photos else None


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
    data = PageData(response, selectors)
    values = {name: data.first(getattr(selectors, name)) for name in LISTING_FIELDS}
    description = "\n".join(data.all(selectors.description)) or None
    missing = [name for name in (*LISTING_FIELDS, "description")
               if getattr(selectors, name) and (description if name == "description" else values[name]) is None]
    if data.warnings:
        missing.insert(0, "data")
    images = data.all(selectors.image)
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
