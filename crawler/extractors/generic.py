"""The generic extractor for any shop: schema.org Product data (JSON-LD, then microdata), then Open Graph."""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin

from scrapy.http import TextResponse

from crawler.extractors.structured import as_text, first_offer, image_list, jsonld_products, microdata_product
from crawler.items import ListingItem


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
    external_id = (as_text(product.get("sku")) or as_text(product.get("productID"))
                   or hashlib.sha256(canonical.encode()).hexdigest()[:16])
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
    )
