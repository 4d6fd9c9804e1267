"""The generic extractor for any shop: schema.org Product data (JSON-LD, then microdata), then Open Graph."""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin, urlsplit

from scrapy.http import TextResponse

from crawler.extractors.structured import as_text, first_offer, image_list, jsonld_products, microdata_product
from crawler.items import ListingItem


def url_identity(url: str) -> str:
    """A stable id for a listing page whose marketplace id is unknown: a hash of its URL sans query."""
    parts = urlsplit(url)
    return hashlib.sha256(f"{parts.netloc.lower()}{parts.path}".encode()).hexdigest()[:20]


def extract_listing(response: TextResponse, marketplace: str) -> ListingItem | None:
    products = jsonld_products(response.selector)
    product = products[0] if products else (microdata_product(response.selector) or {})
    offer = first_offer(product)
    title = as_text(product.get("name")) or response.css('meta[property="og:title"]::attr(content)').get()
    if not title:
        return None
    price = as_text(offer.get("price") or offer.get("lowPrice"))
    high = as_text(offer.get("highPrice"))
    currency = as_text(offer.get("priceCurrency"))
    price_text = " ".join(p for p in (currency, price, "-" if high else None, high) if p) or None
    images = image_list(product.get("image")) or response.css('meta[property="og:image"]::attr(content)').getall()
    canonical = response.css('link[rel="canonical"]::attr(href)').get() or response.url
    # A product SKU is often the brand's, shared by many listings; the page's own URL identifies the listing.
    external_id = url_identity(canonical)
    return ListingItem(
        marketplace=marketplace,
        external_id=external_id,
        url=canonical,
        title=title,
        price_text=price_text,
        currency=currency,
        seller_name=as_text(offer.get("seller")),
        image_urls=[urljoin(response.url, u) for u in images],
        description=as_text(product.get("description")),
        extra={"sku": as_text(product.get("sku"))} if product.get("sku") else {},
    )
