"""The generic extractor for any shop: schema.org Product data (JSON-LD, then microdata), then Open Graph."""

from __future__ import annotations

import hashlib

from scrapy.http import TextResponse

from crawler.extractors.charset import readable
from crawler.extractors.common import absolute, split_url, unique_urls
from crawler.extractors.structured import as_text, first_offer, image_list, jsonld_products, microdata_product
from crawler.items import ListingItem


def url_identity(url: str) -> str:
    """A stable id for a listing page whose marketplace id is unknown: a hash of its URL sans query (of the whole
    string where it cannot be parsed as a URL)."""
    parts = split_url(url)
    if parts is None:
        return hashlib.sha256(url.encode("utf-8", "replace")).hexdigest()[:20]
    return hashlib.sha256(f"{parts.netloc.lower()}{parts.path}".encode()).hexdigest()[:20]


def extract_listing(response: TextResponse, marketplace: str) -> ListingItem | None:
    response = readable(response)
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
    images = unique_urls(response, image_list(product.get("image"))) or unique_urls(
        response, response.css('meta[property="og:image"]::attr(content)').getall())
    # A product SKU is often the brand's, shared by many listings; the page's own URL identifies the listing. The
    # canonical link is hashed as the page writes it (identities stay as they were); one that cannot be parsed or
    # fetched is ignored.
    written = response.css('link[rel="canonical"]::attr(href)').get()
    canonical = absolute(response, written)
    external_id = url_identity(written if canonical and written else response.url)
    return ListingItem(
        marketplace=marketplace,
        external_id=external_id,
        url=canonical or response.url,
        title=title,
        price_text=price_text,
        currency=currency,
        seller_name=as_text(offer.get("seller")),
        image_urls=images,
        description=as_text(product.get("description")),
        extra={"sku": as_text(product.get("sku"))} if product.get("sku") else {},
    )
