"""Structured data first: schema.org Product / Offer from JSON-LD and microdata, the fallback for any shop."""

from __future__ import annotations

import json
from typing import Any

from parsel import Selector

MAX_JSONLD_BYTES = 1_000_000


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for child in node:
            found.extend(_walk(child))
    elif isinstance(node, dict):
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "Product" in kinds or "ProductGroup" in kinds:
            found.append(node)
        for key in ("@graph", "mainEntity", "itemListElement", "item"):
            if key in node:
                found.extend(_walk(node[key]))
    return found


def jsonld_products(selector: Selector) -> list[dict[str, Any]]:
    """Every schema.org Product in the page's JSON-LD blocks; malformed blocks are skipped."""
    products: list[dict[str, Any]] = []
    for raw in selector.xpath('//script[@type="application/ld+json"]/text()').getall():
        if len(raw) > MAX_JSONLD_BYTES:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        products.extend(_walk(data))
    return products


def first_offer(product: dict[str, Any]) -> dict[str, Any]:
    offers = product.get("offers")
    if isinstance(offers, list):
        offers = offers[0] if offers else {}
    if isinstance(offers, dict) and offers.get("@type") == "AggregateOffer" and "offers" in offers:
        inner = offers["offers"]
        return {**offers, **(inner[0] if isinstance(inner, list) and inner else {})}
    return offers if isinstance(offers, dict) else {}


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return as_text(value.get("name") or value.get("@id"))
    if isinstance(value, list):
        return as_text(value[0]) if value else None
    return str(value)


def image_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        url = value.get("url") or value.get("contentUrl")
        return [url] if isinstance(url, str) else []
    if isinstance(value, list):
        return [u for item in value for u in image_list(item)]
    return []


def microdata_product(selector: Selector) -> dict[str, Any] | None:
    """A schema.org Product from microdata attributes, in the JSON-LD shape the extractors read."""
    scope = selector.xpath('//*[@itemtype and contains(@itemtype, "schema.org/Product")]')
    if not scope:
        return None
    root = scope[0]

    def prop(name: str) -> str | None:
        node = root.xpath(f'.//*[@itemprop="{name}"]')
        if not node:
            return None
        return (node[0].attrib.get("content") or node[0].attrib.get("src") or node[0].attrib.get("href")
                or " ".join(node[0].xpath(".//text()").getall()).strip() or None)

    return {
        "name": prop("name"),
        "sku": prop("sku"),
        "image": prop("image"),
        "offers": {"price": prop("price"), "priceCurrency": prop("priceCurrency")},
    }
