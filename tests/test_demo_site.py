"""The demo marketplace over real HTTP on 127.0.0.1: the HTML contract the crawler's extractors rely on,
pagination, the JavaScript style's empty shell and its JSON, images, escaping, and take-downs."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import pytest
from parsel import Selector

from brandpatrol.demo import DemoCatalogue, DemoListing, DemoServer, build_catalogue
from brandpatrol.demo.catalogue import ROUTE_PREFIX
from brandpatrol.demo.photos import PhotoRecipe


@pytest.fixture(scope="module")
def catalogue() -> DemoCatalogue:
    return build_catalogue()


@pytest.fixture(scope="module")
def server(catalogue: DemoCatalogue) -> Iterator[DemoServer]:
    with DemoServer(catalogue) as running:
        yield running


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def page(server: DemoServer, path: str) -> Selector:
    status, content_type, body = fetch(server.base_url + path)
    assert status == 200, path
    assert content_type == "text/html; charset=utf-8"
    return Selector(text=body.decode("utf-8"))


def crawl_search(server: DemoServer, style: str, query: str) -> list[str]:
    """Follow a.next from page 1 the way a crawler does; return the card ids in order."""
    ids: list[str] = []
    path: str | None = f"/{style}/search?q={quote(query)}&page=1"
    while path:
        sel = page(server, path)
        cards = sel.css("ul.results > li.card")
        assert len(cards) <= 10
        for card in cards:
            ident = card.attrib["data-id"]
            assert card.css("a.card-link::attr(href)").get() == f"/{style}/item/{ident}"
            assert card.css("span.card-title::text").get()
            assert re.fullmatch(r"¥ \d+\.\d\d", card.css("span.card-price::text").get() or "")
            assert card.css("span.card-location::text").get()
            ids.append(ident)
        path = sel.css("a.next[rel=next]::attr(href)").get()
        assert path is None or len(cards) == 10
    return ids


@pytest.mark.parametrize("query", ["露米娜", "Lumina", "lumina"])
def test_search_pages_reach_every_listing_exactly_once(server: DemoServer, catalogue: DemoCatalogue,
                                                       query: str) -> None:
    ids = crawl_search(server, "shop", query)
    expected = [x.external_id for x in catalogue.listings_for("demo-shop")]
    assert ids == expected  # the fixed order, every id once, across 4 pages
    assert server.hits["/shop/search"] >= 4


def test_search_cards_carry_listing_values(server: DemoServer, catalogue: DemoCatalogue) -> None:
    first = page(server, "/shop/search?q=Lumina&page=1").css("li.card")[0]
    listing = catalogue.listings_for("demo-shop")[0]
    assert first.attrib["data-id"] == listing.external_id
    assert first.css(".card-title::text").get() == listing.title
    assert first.css(".card-price::text").get() == f"¥ {listing.price:.2f}"
    assert first.css(".card-location::text").get() == listing.location


def test_unknown_query_finds_nothing_and_pages_past_the_end_are_empty(server: DemoServer,
                                                                       catalogue: DemoCatalogue) -> None:
    for path in ("/shop/search?q=nonexistent-brand&page=1", "/shop/search?q=&page=1",
                 "/shop/search?q=Lumina&page=99", "/shop/search?q=Lumina&page=bogus"):
        sel = page(server, path)
        cards = sel.css("li.card")
        if "bogus" in path:  # an unreadable page number means page 1
            assert len(cards) == 10
            continue
        assert sel.css("ul.results") and not cards and not sel.css("a.next"), path
    # An ordinary word narrows the search to listings containing it.
    unrelated = next(x for x in catalogue.listings_for("demo-shop") if x.label == "unrelated")
    word = unrelated.title.split()[1]
    titles = page(server, "/shop/search?q=" + quote(word)).css(".card-title::text").getall()
    assert unrelated.title in titles and len(titles) < 10


def _check_item_dom(sel: Selector, listing: DemoListing, style: str) -> None:
    assert sel.css("h1.item-title::text").get() == listing.title
    price = sel.css("span.item-price")
    assert price.attrib["data-currency"] == "CNY"
    assert price.css("::text").get() == f"¥ {listing.price:.2f}"
    shop = sel.css("a.shop-name")
    assert shop.attrib["data-shop-id"] == listing.seller_id
    assert shop.attrib["href"] == f"/{style}/seller/{listing.seller_id}"
    assert shop.css("::text").get() == listing.seller_name
    assert sel.css("span.ship-from::text").get() == f"发货地：{listing.location}"
    assert sel.css("span.item-sales::text").get() == f"月销 {listing.sales}"
    assert sel.css("div.gallery img::attr(src)").getall() == [f"/img/{n}.jpg" for n in listing.image_names]
    assert sel.css("div.item-desc::text").get() == listing.description


def test_item_pages_follow_the_contract(server: DemoServer, catalogue: DemoCatalogue) -> None:
    by_label = {x.label: x for x in catalogue.listings_for("demo-shop")}
    for label, listing in by_label.items():
        sel = page(server, listing.item_path)
        _check_item_dom(sel, listing, "shop")
        data = json.loads(sel.css('script[type="application/ld+json"]::text').get() or "")
        assert data["@type"] == "Product" and data["name"] == listing.title
        assert data["offers"]["price"] == f"{listing.price:.2f}" and isinstance(data["offers"]["price"], str)
        assert data["offers"]["priceCurrency"] == "CNY"
        assert data["offers"]["seller"]["name"] == listing.seller_name
        assert data["image"] == [server.base_url + p for p in listing.image_paths]
        assert data.get("sku") == (listing.sku if label in ("genuine", "diversion") else None)
    seller = page(server, f"/shop/seller/{listing.seller_id}")
    assert listing.external_id in seller.css("li.card::attr(data-id)").getall()


def test_js_style_shell_has_no_listing_data_and_api_has_it(server: DemoServer, catalogue: DemoCatalogue) -> None:
    listing = catalogue.listings_for("demo-js")[0]
    for path in ("/js/search?q=Lumina&page=1", listing.item_path):
        status, content_type, body = fetch(server.base_url + path)
        text = body.decode("utf-8")
        assert status == 200 and content_type == "text/html; charset=utf-8"
        assert '<div id="app"></div>' in text and '<script src="/static/app.js"></script>' in text
        assert "card" not in text and "item-title" not in text
        for x in catalogue.listings_for("demo-js")[:10]:
            assert x.title not in text and x.seller_name not in text and f"{x.price:.2f}" not in text
    status, content_type, body = fetch(server.base_url + "/api/search?q=%E9%9C%B2%E7%B1%B3%E5%A8%9C&page=1")
    assert status == 200 and content_type == "application/json; charset=utf-8"
    data = json.loads(body)
    assert [r["id"] for r in data["results"]] == [x.external_id for x in catalogue.listings_for("demo-js")[:10]]
    assert data["results"][0]["url"] == listing.item_path and data["pages"] == 5
    assert data["next"] == "/js/search?q=%E9%9C%B2%E7%B1%B3%E5%A8%9C&page=2"
    item = json.loads(fetch(server.base_url + f"/api/item/{listing.external_id}")[2])
    assert item["title"] == listing.title and Decimal(item["price"]) == listing.price
    assert item["seller"] == {"id": listing.seller_id, "name": listing.seller_name,
                              "url": f"/js/seller/{listing.seller_id}"}
    assert item["images"] == listing.image_paths and item["sales"] == listing.sales
    # Each style serves only its own marketplace's listings.
    shop_listing = catalogue.listings_for("demo-shop")[0]
    assert fetch(server.base_url + f"/api/item/{shop_listing.external_id}")[0] == 404
    assert fetch(server.base_url + f"/shop/item/{listing.external_id}")[0] == 404
    status, _, script = fetch(server.base_url + "/static/app.js")
    assert status == 200 and b"innerHTML" not in script.replace(b"never innerHTML", b"")
    assert b"dataset.ready" in script


def test_images_robots_home_and_not_found(server: DemoServer, catalogue: DemoCatalogue) -> None:
    name = catalogue.listings[0].image_names[0]
    status, content_type, body = fetch(f"{server.base_url}/img/{name}.jpg")
    assert (status, content_type) == (200, "image/jpeg") and body == catalogue.image_bytes(name)
    for path in ("/img/nope.jpg", f"/img/{name}.png", "/img/..%2Fsite.py", "/nowhere", "/shop/item/0",
                 "/static/../site.py"):
        status, content_type, _ = fetch(server.base_url + path)
        assert status == 404, path
    assert fetch(server.base_url + "/api/item/0")[1] == "application/json; charset=utf-8"
    status, content_type, body = fetch(server.base_url + "/robots.txt")
    assert status == 200 and b"Allow: /" in body
    home = page(server, "/")
    assert {"/shop/search", "/js/search"} <= {h.split("?")[0] for h in home.css("a::attr(href)").getall()}
    assert server.hits["/robots.txt"] >= 1 and server.hits[f"/img/{name}.jpg"] >= 1


def test_values_are_escaped() -> None:
    hostile = DemoListing(
        marketplace="demo-shop", external_id="666", title='<script>alert(1)</script>"&', price=Decimal("9.90"),
        currency="CNY", seller_name="<b>shop</b>", seller_id="s-1", location="广东 <深圳>",
        image_names=["666-1"], description="</script><img src=x onerror=alert(1)>", sales=1,
        label="counterfeit", sku="LM-100")
    catalogue = DemoCatalogue(seed=0, listings=[hostile], recipes={"666-1": PhotoRecipe("coffee", size=64)})
    with DemoServer(catalogue) as server:
        _, _, body = fetch(server.base_url + "/shop/item/666")
        text = body.decode("utf-8")
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>shop" not in text
        sel = Selector(text=text)
        assert sel.css("h1.item-title::text").get() == hostile.title
        assert sel.css("div.item-desc::text").get() == hostile.description
        ld = sel.css('script[type="application/ld+json"]::text').get() or ""
        assert "\\u003c/script\\u003e" in ld and json.loads(ld)["description"] == hostile.description
        cards = Selector(text=fetch(server.base_url + "/shop/search?q=alert")[2].decode())
        assert cards.css(".card-title::text").get() == hostile.title


def test_take_down_removes_a_listing_and_restore_brings_it_back(catalogue: DemoCatalogue) -> None:
    listing = catalogue.listings_for("demo-shop")[3]
    with DemoServer(catalogue) as server:
        server.take_down(listing.external_id)
        assert fetch(server.base_url + listing.item_path)[0] == 404
        assert listing.external_id not in crawl_search(server, "shop", "Lumina")
        server.restore(listing.external_id)
        assert fetch(server.base_url + listing.item_path)[0] == 200
    assert server.base_url.startswith("http://127.0.0.1:")


def test_server_binds_loopback_and_stops(catalogue: DemoCatalogue) -> None:
    server = DemoServer(catalogue).start()
    url = server.base_url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    assert fetch(url + "/")[0] == 200
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/", timeout=2)


@pytest.mark.browser
def test_chromium_renders_the_js_style_to_the_same_dom(server: DemoServer, catalogue: DemoCatalogue) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from core.settings import get_settings

    executable = get_settings().browser_executable()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(executable) if executable else None, args=["--no-sandbox"])
            try:
                tab = browser.new_page()
                tab.goto(server.base_url + "/js/search?q=Lumina&page=1")
                tab.wait_for_selector("body[data-ready]", timeout=10_000)
                sel = Selector(text=tab.content())
                expected = catalogue.listings_for("demo-js")
                assert sel.css("li.card::attr(data-id)").getall() == [x.external_id for x in expected[:10]]
                assert sel.css("li.card .card-title::text").getall() == [x.title for x in expected[:10]]
                assert sel.css("a.next[rel=next]::attr(href)").get() == "/js/search?q=Lumina&page=2"
                listing = expected[4]
                tab.goto(server.base_url + listing.item_path)
                tab.wait_for_selector("body[data-ready]", timeout=10_000)
                _check_item_dom(Selector(text=tab.content()), listing, ROUTE_PREFIX["demo-js"])
            finally:
                browser.close()
    except sync_api.Error as error:
        if "Executable doesn't exist" in str(error) or "executable" in str(error).lower():
            pytest.skip(f"no Chromium for Playwright: {error}")
        raise
