"""Amazon (every storefront): search results (`s-search-result` cards) and product pages.

The ASIN is the listing's id: one product page is one listing, whoever holds the buy box. The seller is the
buy box's "Sold by" (`#sellerProfileTriggerId`, its seller id from the link), "Ships from" goes to `extra`:
it names who dispatches (often Amazon itself), not where. Amazon shows no seller location on these pages.
schema.org data is read first where a page carries it (Amazon's product pages currently carry none).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extractors.cards import card_of
from crawler.extractors.charset import readable
from crawler.extractors.common import (
    MAX_CARDS,
    MAX_IMAGES,
    amount,
    attr,
    canonical_url,
    cap,
    count_in,
    first_text,
    join_url,
    load_json,
    money,
    one_per_photo,
    site_currency,
    split_url,
    text_of,
    unique_urls,
)
from crawler.extractors.structured import product_data
from crawler.items import ListingItem, SearchPage

_ASIN = re.compile(r"^[A-Z0-9]{10}$")
_ASIN_IN_URL = re.compile(r"/(?:dp|gp/product|gp/aw/d|product-reviews)/([A-Z0-9]{10})(?:[/?#]|$)")
_AMAZON_HOST = re.compile(r"(?:^|\.)amazon\.[a-z.]{2,12}$")
_STOREFRONT = re.compile(r"ue_sn\s*=\s*'((?:www\.)?amazon\.[a-z.]{2,12})'")
_PHOTO_ID = re.compile(r"/images/I/([A-Za-z0-9+%-]{5,40})\.")
_HIRES = re.compile(r'"hiRes"\s*:\s*"(https://[^"]{1,500})"')
_CONDITION = re.compile(r"^(New|Used|Renewed|Refurbished|Collectible)\b.{0,60}$", re.IGNORECASE)

# Where the price to pay sits, in order of preference: the current core-price widgets, then the older blocks,
# then the buy box of a used-only or third-party offer.
_PRICE = (
    "#corePrice_feature_div .a-price:not([data-a-strike]) .a-offscreen",
    "#corePriceDisplay_desktop_feature_div .priceToPay .a-offscreen",
    "#corePriceDisplay_desktop_feature_div .a-price:not([data-a-strike]) .a-offscreen",
    "#corePrice_desktop .a-price:not([data-a-strike]) .a-offscreen",
    "#apex_desktop .priceToPay .a-offscreen",
    "#priceblock_dealprice", "#priceblock_ourprice", "#priceblock_saleprice", "#price_inside_buybox",
    "#newBuyBoxPrice", "#kindle-price", "#buybox .offer-price", "#usedBuySection .offer-price", "#price",
)
_ORIGINAL = (
    "#corePriceDisplay_desktop_feature_div .basisPrice .a-offscreen",
    "#corePriceDisplay_desktop_feature_div .a-price[data-a-strike] .a-offscreen",
    "#corePrice_desktop .a-price[data-a-strike] .a-offscreen",
    "#corePrice_feature_div .a-price[data-a-strike] .a-offscreen",
    "#priceblock_listprice", "#listPrice", ".priceBlockStrikePriceString",
)


def asin_in(url: str | None) -> str | None:
    match = _ASIN_IN_URL.search(url or "")
    return match.group(1) if match else None


def _origin(response: TextResponse) -> str:
    """https://www.amazon.<tld> of the storefront a page belongs to, also for a saved copy (file://): its
    scripts name the storefront (`ue_sn = 'www.amazon.in'`). Unknown: amazon.com."""
    for url in (response.url, canonical_url(response)):
        parts = split_url(url)
        host = (parts.hostname if parts else None) or ""
        if _AMAZON_HOST.search(host):
            return f"https://{host}"
    match = _STOREFRONT.search(response.text[:400_000])
    return f"https://{match.group(1)}" if match else "https://www.amazon.com"


# --- search pages ------------------------------------------------------------------------------------------


def _card(card: Selector, asin: str, marketplace: str, origin: str, currency: str | None,
          response: TextResponse) -> ListingItem | None:
    title = (text_of(card, "[data-cy=title-recipe] a h2") or card.css("h2::attr(aria-label)").get()
             or text_of(card, "h2"))
    if not title:
        return None
    price = first_text(card, "[data-cy=price-recipe] .a-price[data-a-color=base] .a-offscreen",
                       ".a-price:not(.a-text-price) .a-offscreen", ".a-price .a-offscreen")
    original = text_of(card, ".a-price[data-a-strike] .a-offscreen")
    extra: dict[str, Any] = {"page": "search"}
    rating = card.css(".a-icon-star-small .a-icon-alt::text, .a-icon-star-mini .a-icon-alt::text, "
                      "i[class*=a-star] .a-icon-alt::text").get()
    if rating:
        extra["rating"] = cap(rating, 40)
    reviews = text_of(card, "[data-cy=reviews-block] a[href*=customerReviews]", 40) or text_of(
        card, "a[href*='#customerReviews']", 40)
    if reviews:
        extra["ratings_count"] = count_in(reviews)
    bought = next((t for t in card.css("[data-cy=reviews-block] span::text, .a-row span::text").getall()
                   if "bought in past" in t), None)
    if bought:
        extra["bought_recently"] = cap(bought, 60)
    link = card.css("h2 a::attr(href), a.s-no-outline::attr(href), a.a-link-normal::attr(href)").get() or ""
    if "/sspa/" in link or card.css(".puis-sponsored-label-text, .s-sponsored-label-text"):
        extra["sponsored"] = True
    image = card.css("img.s-image::attr(src)").get()
    return ListingItem(
        marketplace=marketplace, external_id=asin, url=f"{origin}/dp/{asin}", title=cap(title, 1000) or "",
        original_price=amount(original, currency) if original else None,
        image_urls=unique_urls(response, [image]), extra=extra, **money(price, currency),
    )


def extract_cards(response: TextResponse, marketplace: str = "amazon") -> list[ListingItem]:
    """One listing per search-result card as the card shows it; at most MAX_CARDS, each ASIN once."""
    response = readable(response)
    origin = _origin(response)
    currency = site_currency(origin)
    listings: list[ListingItem] = []
    seen: set[str] = set()
    for card in response.css('[data-component-type="s-search-result"][data-asin]')[: MAX_CARDS * 2]:
        asin = (attr(card, "data-asin") or "")
        if not _ASIN.match(asin) or asin in seen:
            continue
        listing = _card(card, asin, marketplace, origin, currency, response)
        if listing is not None:
            seen.add(asin)
            listings.append(listing)
            if len(listings) >= MAX_CARDS:
                break
    return listings


def next_page(response: TextResponse) -> str | None:
    href = response.css("a.s-pagination-next::attr(href)").get()
    return join_url(_origin(response) + "/", href) if href else None


def extract_search(response: TextResponse) -> SearchPage:
    response = readable(response)
    cards = [card_of(listing) for listing in extract_cards(response)]
    return SearchPage(cards=cards, next_url=next_page(response))


# --- product pages -----------------------------------------------------------------------------------------


def _offer_line(response: TextResponse, feature: str, label: str) -> str | None:
    """The text of an offer-display line ('Sold by', 'Ships from'), in its current or its tabular form."""
    value = first_text(response, f"#{feature}_feature_div .offer-display-feature-text-message",
                       f"#{feature}_feature_div .offer-display-feature-text")
    if value:
        return value
    for row in response.css("#tabular-buybox .tabular-buybox-container > *, #tabular-buybox tr")[:20]:
        if (text_of(row, ".tabular-buybox-label, td:first-child") or "").strip().lower() == label.lower():
            return text_of(row, ".tabular-buybox-text, td:last-child")
    return None


def _seller(response: TextResponse) -> tuple[str | None, str | None]:
    trigger = response.css("#sellerProfileTriggerId")
    if trigger:
        parts = split_url(attr(trigger[0], "href") or "")
        seller = parse_qs(parts.query).get("seller", [None])[0] if parts else None
        return text_of(trigger[0]), seller if seller and re.fullmatch(r"[A-Z0-9]{5,20}", seller) else None
    sold_by = _offer_line(response, "merchantInfoFeature", "Sold by")
    if sold_by:
        return sold_by, None
    merchant = text_of(response, "#merchant-info")
    match = re.search(r"sold by\s+(.{1,100}?)(?:\s+and\b|\.|$)", merchant or "", re.IGNORECASE)
    return (match.group(1).strip(), None) if match else (None, None)


def _largest_side(size: Any) -> float:
    """The largest number in a [width, height] pair of the image data; 0 for anything else."""
    if not isinstance(size, list):
        return 0
    return max((n for n in size if isinstance(n, int | float) and not isinstance(n, bool)), default=0)


def _images(response: TextResponse, structured: list[str]) -> list[str]:
    landing = response.css("#landingImage, #imgBlkFront, #ebooksImgBlkFront, #main-image")
    candidates: list[str | None] = [*structured]
    if landing:
        candidates.append(attr(landing[0], "data-old-hires"))
        # {"url": [width, height], ...}: the largest first.
        sizes = load_json((attr(landing[0], "data-a-dynamic-image") or "")[:20_000])
        if isinstance(sizes, dict):
            candidates.extend(sorted((u for u in sizes if isinstance(u, str)), key=lambda u: -_largest_side(sizes[u])))
    # hiRes photos of the gallery, from the image block's script (the first one is the landing image).
    for script in response.xpath("//script[contains(., 'colorImages')]/text()").getall()[:3]:
        candidates.extend(_HIRES.findall(script[:500_000])[:MAX_IMAGES])
    if landing:
        candidates.append(attr(landing[0], "src"))
    # One photo comes in many sizes (_SL1500_, _SX679_, ...): the first listed, the largest, is kept.
    urls = unique_urls(response, [u for u in candidates if u and not u.startswith("data:")], limit=200)
    return one_per_photo(urls, _PHOTO_ID)[:MAX_IMAGES]


def _condition(response: TextResponse) -> str | None:
    for css in ("#usedOnlyBuybox strong", "#usedbuyBox strong", "#renewedBuyBoxPrice ~ strong",
                "#buyBoxAccordion .a-accordion-active strong"):
        value = text_of(response, css, 80)
        if value and _CONDITION.match(value):
            return value
    return None


def extract_listing(response: TextResponse, marketplace: str = "amazon") -> ListingItem | None:
    """The listing of a product page, or None when the page is not one (no ASIN or no title)."""
    response = readable(response)
    structured = product_data(response.selector)
    url = canonical_url(response)
    asin = next((a for a in (response.css("input#ASIN::attr(value), input[name='ASIN']::attr(value)").get(),
                             asin_in(url), asin_in(response.url)) if a and _ASIN.match(a)), None)
    title = structured.name or first_text(response, "#productTitle", "#title", "#ebooksProductTitle")
    if not asin or not title:
        return None
    origin = _origin(response)
    currency = site_currency(origin)
    fields = money(structured.price_text, currency) if structured.price else money(
        first_text(response, *_PRICE), currency)
    original = first_text(response, *_ORIGINAL)
    seller_name, seller_id = _seller(response)
    extra: dict[str, Any] = {"page": "product"}
    ships_from = _offer_line(response, "fulfillerInfoFeature", "Ships from")
    if ships_from:
        extra["ships_from"] = cap(ships_from, 200)
    for key, css in (("byline", "#bylineInfo"), ("availability", "#availability"),
                     ("ratings_count", "#acrCustomerReviewText")):
        value = text_of(response, css, 300)
        if value:
            extra[key] = count_in(value) if key == "ratings_count" else value
    rating = response.css("#acrPopover::attr(title)").get()
    if rating:
        extra["rating"] = cap(rating, 40)
    return ListingItem(
        marketplace=marketplace,
        external_id=asin,
        url=f"{origin}/dp/{asin}",
        title=title,
        original_price=amount(original, currency) if original else None,
        seller_name=seller_name or structured.seller,
        seller_id=seller_id,
        image_urls=_images(response, structured.images),
        description=cap(text_of(response, "#feature-bullets", 5000) or structured.description, 5000),
        condition=_condition(response) or structured.condition,
        extra=extra,
        **fields,
    )


def extract_page(response: TextResponse, marketplace: str = "amazon") -> list[ListingItem]:
    """Every listing a page shows: one per search-result card, or the one of a product page."""
    response = readable(response)
    cards = extract_cards(response, marketplace)
    if cards:
        return cards
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
