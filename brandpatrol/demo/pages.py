"""HTML and JSON of the demo marketplace. Every value is escaped: the demo is also a fixture for extractors,
and the habit matters more than the (trusted) data.

The DOM shapes here are a contract with the crawler's demo extractors, and static/app.js builds the very same
shapes in the browser for the JavaScript-rendered style:

    search:  ul.results > li.card[data-id] > a.card-link[href] > span.card-title
                                           + span.card-price + span.card-location;  a.next[rel=next]
    item:    h1.item-title, span.item-price[data-currency], a.shop-name[data-shop-id][href],
             span.ship-from, span.item-sales, div.gallery > img[src], div.item-desc
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import urlencode

from brandpatrol.demo.brand import DemoSeller
from brandpatrol.demo.catalogue import DemoListing

PAGE_SIZE = 10
SITE_NAME = "演示商城 BrandPatrol Demo Market"


def price_text(price: Decimal) -> str:
    return f"¥ {price:.2f}"


def search_href(route: str, query: str, page: int) -> str:
    return f"/{route}/search?" + urlencode({"q": query, "page": page})


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def layout(title: str, body: str, *, route: str = "shop", query: str = "") -> str:
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · {escape(SITE_NAME)}</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header class="site-header">
  <a class="site-home" href="/">{escape(SITE_NAME)}</a>
  <form class="search-form" action="/{route}/search" method="get">
    <input type="search" name="q" value="{escape(query)}" placeholder="搜索商品 Search">
    <button type="submit">搜索</button>
  </form>
</header>
<main>
{body}
</main>
<footer class="site-footer">Fictional shops and generated listings, served by BrandPatrol's demo.</footer>
</body>
</html>
"""


def card(listing: DemoListing, route: str) -> str:
    lid = escape(listing.external_id)
    return (
        f'  <li class="card" data-id="{lid}"><a class="card-link" href="/{route}/item/{lid}">'
        f'<span class="card-title">{escape(listing.title)}</span></a>\n'
        f'      <span class="card-price">{escape(price_text(listing.price))}</span> '
        f'<span class="card-location">{escape(listing.location)}</span></li>'
    )


def results(listings: Iterable[DemoListing], route: str) -> str:
    cards = "\n".join(card(x, route) for x in listings)
    return f'<ul class="results">\n{cards}\n</ul>' if cards else '<ul class="results"></ul>'


def search_page(query: str, page: int, found: list[DemoListing]) -> str:
    pages = page_count(len(found))
    shown = found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    parts = [f'<h1 class="search-heading">搜索 “{escape(query)}” · 共 {len(found)} 件</h1>', results(shown, "shop")]
    if not shown:
        parts.append('<p class="empty">没有找到相关商品。</p>')
    nav = []
    if page > 1 and shown:
        nav.append(f'<a class="prev" rel="prev" href="{escape(search_href("shop", query, page - 1))}">上一页</a>')
    if page < pages:
        nav.append(f'<a class="next" rel="next" href="{escape(search_href("shop", query, page + 1))}">下一页</a>')
    if nav:
        parts.append(f'<nav class="pager">{" ".join(nav)} <span class="page-no">{page} / {pages}</span></nav>')
    return layout(f"搜索 {query}", "\n".join(parts), query=query)


def _json_ld(listing: DemoListing, base_url: str) -> str:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": listing.title,
        "image": [base_url + path for path in listing.image_paths],
        "description": listing.description,
        "offers": {
            "@type": "Offer",
            "url": base_url + listing.item_path,
            "price": f"{listing.price:.2f}",
            "priceCurrency": listing.currency,
            "availability": "https://schema.org/InStock",
            "seller": {"@type": "Organization", "name": listing.seller_name},
        },
    }
    if listing.sku and listing.label in ("genuine", "diversion"):
        # Shops selling the real product quote its SKU; fakes and look-alikes do not.
        data["sku"] = listing.sku
    text = json.dumps(data, ensure_ascii=False, indent=1)
    # "</script>" inside a string must not end the block; \u003c is the same character to a JSON parser.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def item_page(listing: DemoListing, base_url: str) -> str:
    images = "".join(f'<img src="{escape(path)}" alt="{escape(listing.title)}">' for path in listing.image_paths)
    sid = escape(listing.seller_id)
    body = f"""<article class="item">
<h1 class="item-title">{escape(listing.title)}</h1>
<div class="item-meta">
  <span class="item-price" data-currency="{escape(listing.currency)}">{escape(price_text(listing.price))}</span>
  <a class="shop-name" data-shop-id="{sid}" href="/shop/seller/{sid}">{escape(listing.seller_name)}</a>
  <span class="ship-from">发货地：{escape(listing.location)}</span>
  <span class="item-sales">月销 {listing.sales}</span>
</div>
<div class="gallery">{images}</div>
<div class="item-desc">{escape(listing.description)}</div>
</article>
<script type="application/ld+json">
{_json_ld(listing, base_url)}
</script>"""
    return layout(listing.title, body)


def seller_page(seller: DemoSeller, listings: list[DemoListing]) -> str:
    body = (
        f'<h1 class="seller-name" data-shop-id="{escape(seller.seller_id)}">{escape(seller.name)}</h1>\n'
        f'<p class="seller-location">所在地：{escape(seller.home[0])}</p>\n' + results(listings, "shop")
    )
    return layout(seller.name, body)


def home_page() -> str:
    q = "露米娜"
    body = f"""<h1>{escape(SITE_NAME)}</h1>
<p>Two styles of the same kind of shop, for BrandPatrol to crawl:</p>
<ul class="shops">
  <li><a href="{escape(search_href("shop", q, 1))}">demo-shop</a>: pages rendered on the server.</li>
  <li><a href="{escape(search_href("js", q, 1))}">demo-js</a>: listings rendered by JavaScript in the browser.</li>
</ul>"""
    return layout("首页", body)


def js_shell() -> str:
    """The JavaScript style's only HTML: no listing data at all, app.js fetches and renders it."""
    return layout("露米娜演示商城", '<div id="app"></div>\n<script src="/static/app.js"></script>', route="js")


def not_found_page() -> str:
    return layout("404", '<h1 class="not-found">404 找不到页面</h1>\n<p>该商品不存在或已下架。</p>')


# --- JSON for the JavaScript style ------------------------------------------------------------------------

def card_json(listing: DemoListing) -> dict[str, Any]:
    return {
        "id": listing.external_id,
        "title": listing.title,
        "price": f"{listing.price:.2f}",
        "currency": listing.currency,
        "location": listing.location,
        "url": listing.item_path,
    }


def search_json(query: str, page: int, found: list[DemoListing]) -> dict[str, Any]:
    pages = page_count(len(found))
    shown = found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return {
        "query": query,
        "page": page,
        "pages": pages,
        "total": len(found),
        "results": [card_json(x) for x in shown],
        "next": search_href("js", query, page + 1) if page < pages else None,
        "prev": search_href("js", query, page - 1) if page > 1 and shown else None,
    }


def item_json(listing: DemoListing) -> dict[str, Any]:
    return {
        **card_json(listing),
        "seller": {"id": listing.seller_id, "name": listing.seller_name,
                   "url": f"/js/seller/{listing.seller_id}"},
        "sales": listing.sales,
        "images": listing.image_paths,
        "description": listing.description,
    }


def seller_json(seller: DemoSeller, listings: list[DemoListing]) -> dict[str, Any]:
    return {"id": seller.seller_id, "name": seller.name, "location": seller.home[0],
            "results": [card_json(x) for x in listings]}
