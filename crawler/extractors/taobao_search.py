"""Taobao search pages (s.taobao.com/search): the cards are not in the HTML but JSON in a script,
`g_page_config = {...};`, at `mods.itemlist.data.auctions`.

Each auction gives the item id (`nid`), the title as the seller wrote it (`raw_title`; `title` carries highlight
markup), the price shown (`view_price`, CNY), the seller's province and city (`item_loc`, "广东 深圳"), the seller's
nick and user id, a photo, the buyers count ("8人付款") and whether the shop is on Tmall (`shopcard.isTmall`).
Paid placements (`p4p`) link through a click tracker; the listing URL is built from the item id either way.
"""

from __future__ import annotations

import re
from typing import Any

from scrapy.http import TextResponse

from crawler.extractors.cards import full_photo
from crawler.extractors.common import MAX_CARDS, cap, count_in, dig, embedded_json, id_value, money, unique_urls
from crawler.items import ListingItem

_MARKUP = re.compile(r"<[^>]{0,200}>")
_NID = re.compile(r"^[0-9]{6,20}$")


def _card(auction: dict[str, Any], marketplace: str, response: TextResponse) -> ListingItem | None:
    nid = id_value(auction.get("nid"))
    raw_title = auction.get("raw_title") or _MARKUP.sub("", str(auction.get("title") or ""))
    title = cap(str(raw_title), 1000)
    if not nid or not _NID.match(nid) or not title:
        return None
    tmall = dig(auction, "shopcard", "isTmall") is True
    price = auction.get("view_price")
    photo = auction.get("pic_url")
    extra: dict[str, Any] = {"page": "search", "tmall": tmall}
    if auction.get("p4p"):
        extra["sponsored"] = True
    if isinstance(auction.get("reserve_price"), str):
        extra["reserve_price"] = cap(auction["reserve_price"], 40)
    host = "detail.tmall.com" if tmall else "item.taobao.com"
    return ListingItem(
        marketplace=marketplace,
        external_id=nid,
        url=f"https://{host}/item.htm?id={nid}",
        title=title,
        seller_name=cap(str(auction.get("nick") or ""), 200),
        seller_id=id_value(auction.get("user_id")),
        location_text=cap(str(auction.get("item_loc") or ""), 200),
        image_urls=unique_urls(response, [full_photo(photo)] if isinstance(photo, str) else []),
        sales=count_in(str(auction.get("view_sales") or "")),
        extra=extra,
        **money(str(price) if isinstance(price, str | int | float) else None, "CNY"),
    )


def extract_cards(response: TextResponse, marketplace: str = "taobao") -> list[ListingItem]:
    """One listing per auction in the page's `g_page_config`; [] where the page has none (a login wall, a
    captcha, another layout)."""
    config = embedded_json(response.text, "g_page_config")
    auctions = dig(config, "mods", "itemlist", "data", "auctions")
    if not isinstance(auctions, list):
        return []
    listings: list[ListingItem] = []
    seen: set[str] = set()
    for auction in auctions[: MAX_CARDS * 2]:
        listing = _card(auction, marketplace, response) if isinstance(auction, dict) else None
        if listing is not None and listing.external_id not in seen:
            seen.add(listing.external_id)
            listings.append(listing)
    return listings[:MAX_CARDS]
