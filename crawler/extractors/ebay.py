"""eBay: search results (the newer `s-card` / `su-card-container` cards and the older `s-item` list) and item
pages (the modern `x-` modules, the legacy ids as a fallback).

Prices keep the currency the page shows: a page geo-localised to Indonesia says IDR and stays IDR. On an item
page priced by the seller in another currency, the seller's price (`x-price-primary`) is the listing's price;
eBay's conversion for the viewer (the 'Approximately' line, also what its JSON-LD carries) goes into `extra`.
"""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extractors.cards import card_of
from crawler.extractors.charset import readable
from crawler.extractors.common import (
    MAX_CARDS,
    absolute,
    amount,
    attr,
    canonical_url,
    cap,
    count_in,
    first_text,
    money,
    one_per_photo,
    site_currency,
    split_url,
    text_of,
    texts_of,
    unique_urls,
)
from crawler.extractors.structured import product_data
from crawler.items import ListingItem, SearchPage

_ITEM_ID = re.compile(r"/itm/(?:[^/?#]{1,300}/)?(\d{9,15})(?:[/?#]|$)")
_SELLER_ROW = re.compile(r"^(?P<name>\S{1,80})\s+\((?P<count>[\d,.]+[Kk]?)\)\s+(?P<positive>[\d.]+%)")
# eBay's condition vocabulary as cards write it (subtitles also carry free text, which is not a condition).
_CONDITION = re.compile(
    r"^(Brand New|New|New \(Other\)|New with tags|New without tags|New with box|New without box|"
    r"New with defects|Open Box|Pre-Owned|Used|Parts Only|For parts or not working|"
    r"(?:Certified|Excellent|Very Good|Good|Seller)?\s*-?\s*Refurbished)$",
    re.IGNORECASE,
)
_PLACEHOLDER_TITLES = {"shop on ebay"}
_PHOTO_KEY = re.compile(r"/images/g/([^/]{1,64})/")  # eBay's template card at the top of every result list


def item_id(url: str | None) -> str | None:
    match = _ITEM_ID.search(url or "")
    return match.group(1) if match else None


def _item_url(link: str, listing_id: str) -> str:
    """The listing's stable URL: the tracking query eBay appends to every card link is dropped."""
    parts = split_url(link)
    netloc = (parts.netloc if parts else "") or "www.ebay.com"
    if netloc == "ebay.com":
        netloc = "www.ebay.com"
    scheme = parts.scheme if parts and parts.scheme in ("http", "https") else "https"  # a saved page's is file:
    return f"{scheme}://{netloc}/itm/{listing_id}"


# --- search pages ------------------------------------------------------------------------------------------


def _classify_row(row: str, fields: dict[str, Any], extra: dict[str, Any]) -> None:
    """Sort one attribute line of a card into the field it tells."""
    lowered = row.lower()
    seller = _SELLER_ROW.match(row)
    if lowered.startswith("located in") or lowered.startswith("from "):
        fields["location_text"] = row
    elif seller:
        fields["seller_name"] = fields["seller_id"] = seller.group("name")
        extra["seller_feedback_count"] = count_in(seller.group("count"))
        extra["seller_positive"] = seller.group("positive")
    elif "delivery" in lowered or "shipping" in lowered or "postage" in lowered:
        extra["shipping"] = row
    elif re.search(r"\bsold\b", lowered):
        fields["sales"] = count_in(row)
    elif "watcher" in lowered:
        extra["watchers"] = count_in(row)
    elif lowered in ("buy it now", "or best offer", "best offer accepted") or re.search(r"\d+ bids?\b", lowered):
        extra["buying_format"] = row
    elif _CONDITION.match(row):
        fields["condition"] = row
    elif "free returns" in lowered:
        extra["free_returns"] = True


def _card_image(card: Selector) -> str | None:
    image = card.css("img.s-card__image, .s-item__image img, .s-item__image-wrapper img, img")
    if not image:
        return None
    for name in ("data-defer-load", "src", "data-src"):
        url = attr(image[0], name)
        if url and not url.startswith("data:") and "ebaystatic.com" not in url:
            return url
    return None


def _new_card(card: Selector, marketplace: str, response: TextResponse) -> ListingItem | None:
    """A card of the newer layout (`s-card`, `su-card-container`)."""
    link = absolute(response, card.css("a.s-card__link::attr(href), a[href*='/itm/']::attr(href)").get())
    listing_id = item_id(link)  # the template card's link ('/itm/123456') has no real id
    if not link or not listing_id:
        return None  # no card without a link a request can be made to
    title = cap(" ".join(card.css(".s-card__title :not(.clipped)::text, .s-card__title::text").getall()), 1000)
    if not title or title.lower() in _PLACEHOLDER_TITLES:
        return None
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    default_currency = site_currency(link)
    price = cap(" ".join(card.css(".s-card__price::text").getall()))
    fields.update(money(price, default_currency))
    original = text_of(card, ".su-card-container__attributes .strikethrough, .s-card__price--strikethrough")
    if original:
        fields["original_price"] = amount(original, default_currency)
    subtitle = texts_of(card, ".s-card__subtitle .su-styled-text, .s-card__subtitle span")
    if subtitle:
        first = subtitle[0].split("·")[0].strip()
        if _CONDITION.match(first):
            fields["condition"] = first
    for row in card.css(".s-card__attribute-row"):
        pieces = [t for t in row.css(".su-styled-text:not(.s-card__price):not(.strikethrough)") if text_of(t)]
        line = cap(" ".join(text_of(p) or "" for p in pieces), 300)
        if line:
            _classify_row(line, fields, extra)
    return _card_listing(marketplace, listing_id, _item_url(link, listing_id), title,
                         fields, extra, _card_image(card), response)


def _old_card(card: Selector, marketplace: str, response: TextResponse) -> ListingItem | None:
    """A card of the older list layout (`li.s-item`)."""
    link = absolute(response, card.css("a.s-item__link::attr(href)").get())
    listing_id = item_id(link)
    if not link or not listing_id:
        return None
    title = cap(" ".join(card.css(".s-item__title :not(.LIGHT_HIGHLIGHT):not(.clipped)::text, "
                                  ".s-item__title::text").getall()), 1000)
    if not title or title.lower() in _PLACEHOLDER_TITLES:
        return None
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    default_currency = site_currency(link)
    fields.update(money(text_of(card, ".s-item__price"), default_currency))
    original = text_of(card, ".s-item__additional-price .STRIKETHROUGH, .s-item__trending-price .STRIKETHROUGH")
    if original:
        fields["original_price"] = amount(original, default_currency)
    condition = text_of(card, ".s-item__subtitle .SECONDARY_INFO")
    if condition:
        fields["condition"] = condition
    location = text_of(card, ".s-item__location, .s-item__itemLocation")
    if location:
        fields["location_text"] = location
    for css in (".s-item__shipping", ".s-item__quantitySold", ".s-item__watchCountTotal", ".s-item__seller-info-text",
                ".s-item__purchase-options", ".s-item__formatBuyItNow", ".s-item__formatBestOfferEnabled",
                ".s-item__bids", ".s-item__free-returns"):
        line = text_of(card, css, 300)
        if line:
            _classify_row(line, fields, extra)
    discount = text_of(card, ".s-item__discount")
    if discount:
        extra["discount"] = discount
    return _card_listing(marketplace, listing_id, _item_url(link, listing_id), title,
                         fields, extra, _card_image(card), response)


def _card_listing(marketplace: str, listing_id: str, url: str, title: str, fields: dict[str, Any],
                  extra: dict[str, Any], image: str | None, response: TextResponse) -> ListingItem:
    return ListingItem(
        marketplace=marketplace, external_id=listing_id, url=url, title=title,
        image_urls=unique_urls(response, [image]), extra={"page": "search", **extra}, **fields,
    )


def extract_cards(response: TextResponse, marketplace: str = "ebay") -> list[ListingItem]:
    """One listing per result card (either layout) as the card shows it; at most MAX_CARDS, each id once."""
    response = readable(response)
    listings: list[ListingItem] = []
    seen: set[str] = set()
    cards = response.css(".s-card[data-listingid], li.s-item")
    for card in cards[: MAX_CARDS * 2]:
        classes = (attr(card, "class") or "").split()
        listing = _new_card(card, marketplace, response) if "s-card" in classes \
            else _old_card(card, marketplace, response)
        if listing is None or listing.external_id in seen:
            continue
        seen.add(listing.external_id)
        listings.append(listing)
        if len(listings) >= MAX_CARDS:
            break
    return listings


def next_page(response: TextResponse) -> str | None:
    return absolute(response, response.css("a.pagination__next::attr(href), a[rel=next]::attr(href)").get())


def extract_search(response: TextResponse) -> SearchPage:
    response = readable(response)
    cards = [card_of(listing) for listing in extract_cards(response)]
    return SearchPage(cards=cards, next_url=next_page(response))


# --- item pages ----------------------------------------------------------------------------------------------

_LOCATION_LABEL = re.compile(r"^\s*(located in|item location|ships from)\s*:\s*", re.IGNORECASE)


def _location(response: TextResponse) -> str | None:
    for text in response.xpath(
        "//*[contains(@class, 'ux-textspans') or @id='itemLocation' or contains(@class, 'iti-eu-txt')]"
        "[starts-with(normalize-space(.), 'Located in') or starts-with(normalize-space(.), 'Item location')]"
    )[:5]:
        value = text_of(text, limit=300)
        if value:
            stripped = _LOCATION_LABEL.sub("", value).strip()
            if stripped:
                return stripped
    legacy = first_text(response, "#itemLocation .u-flL", "#itemLocation", ".iti-eu-bld-gry")
    if not legacy:
        return None
    return _LOCATION_LABEL.sub("", legacy).strip() or None


def _seller(response: TextResponse) -> tuple[str | None, str | None, dict[str, Any]]:
    extra: dict[str, Any] = {}
    card = response.css(".x-sellercard-atf, .ux-seller-section, #RightSummaryPanel, .si-content")
    name = first_text(card, ".x-sellercard-atf__info__about-seller a .ux-textspans",
                      ".ux-seller-section__item--seller a", ".mbg-nw", ".si-inner .mbg a")
    link = card.css(".x-sellercard-atf__info__about-seller a::attr(href), .ux-seller-section__item--seller "
                    "a::attr(href), a[href*='/usr/']::attr(href), a[href*='/str/']::attr(href)").get() or ""
    match = re.search(r"/(?:sch|usr|str)/([^/?#]{1,80})", link)
    seller_id = match.group(1) if match else name
    feedback = first_text(card, ".x-sellercard-atf__about-seller", ".mbg-l a", ".ux-seller-section__item--seller "
                          ".ux-textspans--SECONDARY")
    if feedback:
        extra["seller_feedback_count"] = count_in(feedback)
    positive = next((t for t in texts_of(card, ".x-sellercard-atf__data-item, #si-fb") if "%" in t), None)
    if positive:
        extra["seller_positive"] = cap(positive.split()[0], 20)
    return name, seller_id, extra


def _images(response: TextResponse, structured: list[str]) -> list[str]:
    carousel = response.css(".ux-image-carousel-item img, .ux-image-filmstrip-carousel-item img, #icImg, "
                            "#vi_main_img_fs img")
    large = [attr(img, "data-zoom-src") or attr(img, "src") or attr(img, "data-src")
             for img in carousel]
    og = response.css('meta[property="og:image"]::attr(content)').get()
    # One photo comes in several sizes (s-l1600, s-l500, ...): the first listed, the largest, is kept.
    return one_per_photo(unique_urls(response, [*structured, *(u for u in large if u and "/thumbs/" not in u), og]),
                         _PHOTO_KEY)


def extract_listing(response: TextResponse, marketplace: str = "ebay") -> ListingItem | None:
    """The listing on an item page (modern or legacy), or None when the page is not one."""
    response = readable(response)
    structured = product_data(response.selector)
    url = canonical_url(response)
    listing_id = (item_id(url) or item_id(response.url) or item_id(structured.url)
                  or text_of(response, ".ux-layout-section__textual-display--itemId .ux-textspans--BOLD")
                  or text_of(response, "#descItemNumber"))
    title = structured.name or first_text(
        response, ".x-item-title__mainTitle", "h1.x-item-title", "#itemTitle", "h1")
    if title:
        title = re.sub(r"^Details about\s+", "", title)
    if not listing_id or not title or not re.fullmatch(r"\d{9,15}", listing_id):
        return None
    default_currency = site_currency(url)
    shown = first_text(response, ".x-price-primary", "#prcIsum", "#mm-saleDscPrc", "#prcIsum_bidPrice",
                       ".display-price")
    fields = money(shown, default_currency) if shown else money(structured.price_text, default_currency)
    extra: dict[str, Any] = {"page": "item"}
    approx = first_text(response, ".x-price-approx__price", "#convbinPrice", "#prcIsumConv")
    if approx:
        extra["approx_price"] = cap(approx, 100)
    elif structured.price_text and shown and structured.currency and structured.currency != fields.get("currency"):
        extra["approx_price"] = structured.price_text
    original = first_text(response, ".x-additional-info .ux-textspans--STRIKETHROUGH", "#orgPrc", "#mm-saleOrgPrc")
    name, seller_id, seller_extra = _seller(response)
    extra.update(seller_extra)
    shipping = first_text(response, ".ux-labels-values--shipping .ux-labels-values__values", "#fshippingCost")
    if shipping:
        extra["shipping"] = cap(shipping, 300)
    condition = first_text(response, ".x-item-condition-text .ux-textspans", "#vi-itm-cond") or structured.condition
    availability = first_text(response, ".x-quantity__availability", "#qtySubTxt")
    sold = re.search(r"(\d[\d,]*)\s+sold", availability or "")
    return ListingItem(
        marketplace=marketplace,
        external_id=listing_id,
        url=_item_url(url, listing_id),
        title=title,
        original_price=amount(original, default_currency) if original else None,
        seller_name=name,
        seller_id=seller_id,
        location_text=_location(response),
        image_urls=_images(response, structured.images),
        condition=cap(condition, 100),
        sales=count_in(sold.group(1)) if sold else None,
        extra=extra,
        **fields,
    )


def extract_page(response: TextResponse, marketplace: str = "ebay") -> list[ListingItem]:
    """Every listing a page shows: one per search card, or the one of an item page."""
    response = readable(response)
    cards = extract_cards(response, marketplace)
    if cards:
        return cards
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
