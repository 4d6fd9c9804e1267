"""Taobao and Tmall item pages (item.taobao.com / detail.tmall.com), which are often GBK-encoded, and search pages
(their cards are JSON in a script: see taobao_search).

The page is first re-decoded with the charset it declares (`charset.with_declared_charset`). The seller is the
shop keeper (掌柜, the account that owns the shop, with its numeric user id); the shop's own name and id go to
`extra`. Prices are in CNY; a range over variants keeps low and high, a promotion price is the price and the
list price (淘宝价 / 价格) the original price. schema.org data is read first where a page carries it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from scrapy.http import TextResponse

from crawler.extractors import taobao_search
from crawler.extractors.cards import search_page
from crawler.extractors.charset import readable, with_declared_charset
from crawler.extractors.common import (
    ALICDN_SIZE_SUFFIX,
    amount,
    attr,
    canonical_url,
    cap,
    count_in,
    first_text,
    json_number,
    json_string,
    load_json,
    money,
    split_url,
    text_of,
    texts_of,
    unique_urls,
)
from crawler.extractors.structured import product_data
from crawler.items import ListingItem, SearchPage

_TITLE_SUFFIX = re.compile(r"\s*[-–]\s*(淘宝网|tmall\.com天猫|天猫Tmall\.com|天猫)\s*$", re.IGNORECASE)
_KEEPER_LABEL = re.compile(r"^\s*(掌柜|店主|卖家)\s*[:：]\s*")
_LOCATION_LABEL = re.compile(r"^\s*(发货地|所在地|发货)\s*[:：]?\s*")
_IMAGES = re.compile(r"auctionImages\s*:\s*(\[[^\]]{0,20000}\])")
_SCRIPT_SCAN = 600_000  # characters of the page searched for the item's script config (g_config / TShop)
MAX_ATTRIBUTES = 40


def item_id(url: str | None) -> str | None:
    """The id of an item URL (`item.htm?id=562283240178`)."""
    parts = split_url(url)
    values = (parse_qs(parts.query).get("id") or []) if parts else []
    return values[0] if values and re.fullmatch(r"[0-9]{6,20}", values[0]) else None


def _is_taobao_page(canonical: str, fetched: str, scripts: str) -> bool:
    """A Taobao/Tmall page by its address, or a saved one by its item script (`?id=` alone is in many URLs)."""
    for url in (canonical, fetched):
        parts = split_url(url)
        host = (parts.hostname if parts else None) or ""
        if re.search(r"(?:^|\.)(?:taobao\.com|tmall\.com|tmall\.hk)$", host):
            return True
    return "g_config" in scripts or "TShop.Setup" in scripts


def _attributes(response: TextResponse) -> dict[str, str]:
    """The item's attribute list ('品牌: KBDfans'), as the page writes it."""
    attributes: dict[str, str] = {}
    for line in texts_of(response, ".attributes-list li, #J_AttrUL li, .tb-attributes-list li", MAX_ATTRIBUTES):
        parts = re.split(r"[:：]", line, maxsplit=1)
        name, value = (cap(part.replace("\xa0", " "), 300) for part in parts) if len(parts) == 2 else (None, None)
        if name and value:
            attributes[name[:60]] = value
    return attributes


def _price(response: TextResponse) -> dict[str, Any]:
    """Price fields: the promotion price where one is shown (the list price is then the original price)."""
    promo = first_text(response, "#J_PromoPriceNum", "#J_PromoPrice .tm-price", ".tb-promo-price .tb-rmb-num")
    listed = first_text(response, "#J_StrPrice .tb-rmb-num", "#J_StrPriceModBox .tm-price", ".tb-rmb-num",
                        ".tm-price")
    # The ¥ sits in its own element before the amount; an amount alone is CNY.
    fields = money(promo or listed, "CNY")
    if promo and listed:
        fields["original_price"] = amount(listed, "CNY")
    return fields


def extract_listing(response: TextResponse, marketplace: str = "taobao") -> ListingItem | None:
    """The listing on a Taobao or Tmall item page, or None when the page is not one."""
    response = readable(response)
    response = with_declared_charset(response)
    structured = product_data(response.selector)
    scripts = response.text[:_SCRIPT_SCAN]
    url = canonical_url(response)
    listing_id = item_id(url) or item_id(response.url) or json_number(scripts, "itemId")
    title = (structured.name or first_text(response, "#J_Title .tb-main-title", ".tb-main-title",
                                           ".tb-detail-hd h1", "[data-spm='1000983'] h1")
             or _TITLE_SUFFIX.sub("", text_of(response, "title") or ""))
    if not listing_id or not title or not _is_taobao_page(url, response.url, scripts):
        return None
    fields = money(structured.price_text, "CNY") if structured.price else _price(response)
    extra: dict[str, Any] = {}
    keeper = text_of(response, ".tb-shop-seller .tb-seller-name") or _KEEPER_LABEL.sub(
        "", text_of(response, ".tb-shop-seller") or "") or json_string(scripts, "sellerNick") or first_text(
        response, ".shopkeeper .J_WangWang", ".slogo-shopkeeper")
    seller_id = json_number(scripts, "sellerId") or json_number(scripts, "userId")
    if not seller_id:
        microscope = response.css('meta[name="microscope-data"]::attr(content)').get() or ""
        match = re.search(r"userid=(\d{1,20})", microscope)
        seller_id = match.group(1) if match else None
    shop = first_text(response, ".tb-shop-name", ".slogo-shopname", ".shop-name-link") or json_string(
        scripts, "shopName")
    if shop:
        extra["shop_name"] = shop
    shop_id = json_number(scripts, "shopId")
    if shop_id:
        extra["shop_id"] = shop_id
    attributes = _attributes(response)
    if attributes:
        extra["attributes"] = attributes
    location = first_text(response, "#J_deliveryAdd", ".tb-deliveryAdd", "#J_EmStock .tb-deliveryAdd",
                          ".tm-delivery-add")
    images_match = _IMAGES.search(scripts)
    listed = load_json(images_match.group(1)) if images_match else None
    script_images = [u for u in listed if isinstance(u, str)] if isinstance(listed, list) else []
    gallery = [attr(img, "data-src") or attr(img, "src") or ""
               for img in response.css("#J_UlThumb img")]
    images = script_images or [*structured.images, *(ALICDN_SIZE_SUFFIX.sub("", u) for u in gallery if u),
                               response.css("#J_ImgBooth::attr(src)").get() or ""]
    sold = text_of(response, "#J_SellCounter") or text_of(response, ".tm-ind-sellCount .tm-count")
    parts = split_url(url)
    tmall = (parts is not None and "tmall" in parts.netloc) or "TShop.Setup" in scripts
    host = "detail.tmall.com" if tmall else "item.taobao.com"
    return ListingItem(
        marketplace=marketplace,
        external_id=listing_id,
        url=f"https://{host}/item.htm?id={listing_id}",
        title=cap(title, 1000) or "",
        seller_name=cap(keeper, 200),
        seller_id=seller_id,
        location_text=cap(_LOCATION_LABEL.sub("", location or ""), 200),
        image_urls=unique_urls(response, [u for u in images if u]),
        sales=count_in(sold),
        extra={"page": "item", **extra},
        **fields,
    )


def extract_search(response: TextResponse) -> SearchPage:
    return search_page(taobao_search.extract_cards(readable(response)))


def extract_page(response: TextResponse, marketplace: str = "taobao") -> list[ListingItem]:
    """The cards of a search page (see taobao_search), else the listing of an item page."""
    response = readable(response)
    cards = taobao_search.extract_cards(response, marketplace)
    if cards:
        return cards
    listing = extract_listing(response, marketplace)
    return [listing] if listing else []
