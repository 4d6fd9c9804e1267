"""Structured data first: schema.org Product / Offer from JSON-LD and microdata, the fallback for any shop.

JSON-LD is read with common.load_json (never raises; too-deep nesting, NaN and outlandish numbers read as null) and
walked to a bounded depth, so a block a seller shaped to break the reader costs at most that block's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

from crawler.extractors.common import MAX_JSON_DEPTH, attr, load_json

MAX_JSONLD_BYTES = 1_000_000
MAX_STRUCTURED_IMAGES = 20
MAX_PRODUCTS = 100  # schema.org Products read from one page's JSON-LD
# Microdata vocabularies that describe a product: schema.org and its predecessor, Google's data-vocabulary.org
# (still on older shop pages such as Etsy's).
_PRODUCT_TYPES = ("schema.org/Product", "data-vocabulary.org/Product")
_OFFER_TYPES = ("schema.org/Offer", "schema.org/AggregateOffer", "data-vocabulary.org/Offer")


def _walk(node: Any, found: list[dict[str, Any]], depth: int = 0) -> None:
    """Every Product in a JSON-LD value, in document order, into `found` (at most MAX_PRODUCTS); no deeper than
    MAX_JSON_DEPTH."""
    if depth > MAX_JSON_DEPTH or len(found) >= MAX_PRODUCTS:
        return
    if isinstance(node, list):
        for child in node:
            _walk(child, found, depth + 1)
    elif isinstance(node, dict):
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "Product" in kinds or "ProductGroup" in kinds:
            found.append(node)
        for key in ("@graph", "mainEntity", "itemListElement", "item"):
            if key in node:
                _walk(node[key], found, depth + 1)


def jsonld_products(selector: Selector) -> list[dict[str, Any]]:
    """Every schema.org Product in the page's JSON-LD blocks; malformed blocks are skipped."""
    products: list[dict[str, Any]] = []
    for raw in selector.xpath('//script[@type="application/ld+json"]/text()').getall():
        if len(raw) > MAX_JSONLD_BYTES:
            continue
        _walk(load_json(raw), products)
    return products[:MAX_PRODUCTS]


def first_offer(product: dict[str, Any]) -> dict[str, Any]:
    offers = product.get("offers")
    if isinstance(offers, list):
        offers = offers[0] if offers else {}
    if isinstance(offers, dict) and offers.get("@type") == "AggregateOffer" and "offers" in offers:
        inner = offers["offers"]
        first = inner[0] if isinstance(inner, list) and inner else inner
        return {**offers, **(first if isinstance(first, dict) else {})}
    return offers if isinstance(offers, dict) else {}


def as_text(value: Any, depth: int = 0) -> str | None:
    """A schema.org value as text: a thing's name (or @id), a list's first value; None for nothing."""
    if value is None or depth > MAX_JSON_DEPTH:
        return None
    if isinstance(value, dict):
        return as_text(value.get("name") or value.get("@id"), depth + 1)
    if isinstance(value, list):
        return as_text(value[0], depth + 1) if value else None
    return str(value)


def image_list(value: Any, depth: int = 0) -> list[str]:
    """The image URLs a schema.org `image` gives (a URL, an ImageObject, a list of either), at most
    MAX_STRUCTURED_IMAGES; not yet resolved or checked (common.unique_urls does that)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        url = value.get("url") or value.get("contentUrl")
        return [url] if isinstance(url, str) else []
    if isinstance(value, list) and depth < MAX_JSON_DEPTH:
        found: list[str] = []
        for item in value:
            found.extend(image_list(item, depth + 1))
            if len(found) >= MAX_STRUCTURED_IMAGES:
                break
        return found[:MAX_STRUCTURED_IMAGES]
    return []


def _scope(selector: Selector, kinds: tuple[str, ...]) -> Selector | None:
    condition = " or ".join(f'contains(@itemtype, "{kind}")' for kind in kinds)
    found = selector.xpath(f"//*[@itemtype and ({condition})]")
    return found[0] if found else None


def _microdata_values(root: Selector, name: str) -> list[str]:
    found = []
    for node in root.xpath(f'.//*[@itemprop="{name}"]')[:MAX_STRUCTURED_IMAGES]:
        value = (attr(node, "content") or attr(node, "src") or attr(node, "href")
                 or " ".join(node.xpath(".//text()").getall()).strip())
        if value:
            found.append(value)
    return found


def microdata_product(selector: Selector) -> dict[str, Any] | None:
    """A Product from microdata attributes (schema.org or data-vocabulary.org), in the JSON-LD shape; a page
    that marks up only its Offer (AliExpress) gives a Product with just that offer."""
    product = _scope(selector, _PRODUCT_TYPES)
    offer = _scope(product, _OFFER_TYPES) if product is not None else _scope(selector, _OFFER_TYPES)
    if product is None and offer is None:
        return None

    def prop(root: Selector | None, name: str) -> str | None:
        found = _microdata_values(root, name) if root is not None else []
        return found[0] if found else None

    # Without a separate Offer scope, offer properties sit on the Product itself.
    offer_root = offer if offer is not None else product
    return {
        "name": prop(product, "name"),
        "sku": prop(product, "sku"),
        "image": _microdata_values(product, "image") if product is not None else [],
        "description": prop(product, "description"),
        "offers": {
            "price": prop(offer_root, "price"),
            "lowPrice": prop(offer_root, "lowPrice"),
            "highPrice": prop(offer_root, "highPrice"),
            "priceCurrency": prop(offer_root, "priceCurrency") or prop(offer_root, "currency"),
            "itemCondition": prop(offer_root, "itemCondition") or prop(offer_root, "condition"),
        },
    }


_CONDITIONS = {"newcondition": "New", "usedcondition": "Used", "refurbishedcondition": "Refurbished",
               "damagedcondition": "Damaged", "new": "New", "used": "Used", "refurbished": "Refurbished"}


def condition_name(value: Any) -> str | None:
    """'https://schema.org/NewCondition' -> 'New'; None for anything not a schema.org item condition."""
    text = as_text(value)
    if not text:
        return None
    return _CONDITIONS.get(text.rstrip("/").rsplit("/", 1)[-1].lower())


@dataclass(frozen=True)
class ProductData:
    """What a page's schema.org Product says (JSON-LD first, then microdata); every field None if nothing."""

    name: str | None = None
    price: str | None = None
    price_high: str | None = None
    currency: str | None = None
    seller: str | None = None
    condition: str | None = None
    description: str | None = None
    sku: str | None = None
    brand: str | None = None
    url: str | None = None
    images: list[str] = field(default_factory=list)

    @property
    def price_text(self) -> str | None:
        """The price as one string parse_price reads ('EUR 97.39 - 128.72'), None without an amount."""
        if not self.price:
            return None
        high = f" - {self.price_high}" if self.price_high and self.price_high != self.price else ""
        return f"{self.currency or ''} {self.price}{high}".strip()


def product_data(selector: Selector) -> ProductData:
    """The first schema.org Product on the page, read from JSON-LD, else from microdata."""
    products = jsonld_products(selector)
    product = products[0] if products else microdata_product(selector)
    if not product:
        return ProductData()
    offer = first_offer(product)
    return ProductData(
        name=as_text(product.get("name")),
        price=as_text(offer.get("price") or offer.get("lowPrice")),
        price_high=as_text(offer.get("highPrice")),
        currency=as_text(offer.get("priceCurrency")),
        seller=as_text(offer.get("seller")),
        condition=condition_name(offer.get("itemCondition") or product.get("itemCondition")),
        description=as_text(product.get("description")),
        sku=as_text(product.get("sku")),
        brand=as_text(product.get("brand")),
        url=as_text(offer.get("url") or product.get("url")),
        images=image_list(product.get("image"))[:MAX_STRUCTURED_IMAGES],
    )
