"""Configured marketplaces that address JSON with JMESPath (`json:` selectors over `selectors.data`): JSON in a
script assignment, __NEXT_DATA__, JSON-LD, a JSON API response and JSON the browser kept; bad expressions refused by
check-config with their field and line; missing or broken JSON a warning, never a crash; a JSON API crawled end to
end from the YAML alone.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse
from sqlalchemy import select

from brandpatrol import jobs
from core.config import ConfigError, FieldSelectors, load_config
from core.models import Evidence, Listing, RunStatus
from crawler.extractors import configured, jsondata
from tests.crawl_kit import configured_shop, needs_chromium, write_config
from tests.loopback import reply

CARDS = [{"id": 101, "name": "Acme widget one", "price": {"amount": "12.50"}, "shop": {"city": "深圳"},
          "href": "/item/101"},
         {"id": 102, "name": "Acme widget two", "price": {"amount": 9}, "shop": {"city": "杭州"},
          "href": "/item/102"}]
SEARCH = {"item": "json:result.cards[]", "link": "json:href", "title": "json:name", "price": "json:price.amount",
          "location": "json:shop.city", "external_id": "json:to_string(id)"}
LISTING = {"title": "json:item.title", "price": "json:item.price", "seller": "json:item.seller.name",
           "location": "json:item.ships_from", "image": "json:item.photos[]", "external_id": "json:item.id"}


def html(body: str, url: str = "https://shop.example/search?q=x") -> HtmlResponse:
    return HtmlResponse(url=url, body=f"<html><head></head><body>{body}</body></html>".encode())


def cards(response: TextResponse, data: str) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    page = configured.extract_search(response, FieldSelectors(data=data, **SEARCH))
    assert not page.warnings
    return [(c.url, c.external_id, c.title, c.price_text, c.location_text) for c in page.cards]


EXPECTED = [("https://shop.example/item/101", "101", "Acme widget one", "12.50", "深圳"),
            ("https://shop.example/item/102", "102", "Acme widget two", "9", "杭州")]


def test_cards_from_a_script_assignment() -> None:
    script = f"<script>var x = 1; g_page_config = {json.dumps({'result': {'cards': CARDS}})};\nother();</script>"
    assert cards(html(script), "script:g_page_config") == EXPECTED
    window = f"<script>window.__INIT_DATA__ = {json.dumps({'result': {'cards': CARDS}})}</script>"
    assert cards(html(window), "script:window.__INIT_DATA__") == EXPECTED


def test_cards_from_next_data_jsonld_and_a_json_body() -> None:
    next_data = json.dumps({"result": {"cards": CARDS}})
    assert cards(html(f'<script id="__NEXT_DATA__" type="application/json">{next_data}</script>'),
                 "next_data") == EXPECTED
    jsonld = f'<script type="application/ld+json">{json.dumps({"result": {"cards": CARDS}})}</script>'
    page = configured.extract_search(html(jsonld), FieldSelectors(data="jsonld", **{
        **SEARCH, "item": "json:[].result.cards[]"}))
    assert [c.title for c in page.cards] == ["Acme widget one", "Acme widget two"]
    api = TextResponse(url="https://shop.example/api/search?q=x", headers={"Content-Type": "application/json"},
                       body=json.dumps({"result": {"cards": CARDS}}).encode())
    assert cards(api, "body") == EXPECTED


def test_cards_from_json_the_browser_kept() -> None:
    request = Request("https://shop.example/search?q=x", meta={jsondata.CAPTURED_JSON_META: [
        ("https://shop.example/api/ads", {"result": {"cards": [{"name": "an advert"}]}}),
        ("https://shop.example/api/search?page=1", {"result": {"cards": CARDS}}),
    ]})
    response = HtmlResponse(url=request.url, body=b"<html><body><div id=app></div></body></html>", request=request)
    page = configured.extract_search(response, FieldSelectors(data="xhr:/api/search", **{
        **SEARCH, "item": "json:[].result.cards[]"}))
    assert [(c.url, c.title) for c in page.cards] == [(u, t) for u, _i, t, _p, _l in EXPECTED]


def test_listing_fields_from_json_with_css_beside_them() -> None:
    item = {"item": {"id": "X9", "title": "Acme Widget 原装", "price": 88.8, "seller": {"name": "acme-outlet"},
                     "ships_from": "广东 深圳", "photos": ["/img/a.jpg", "https://cdn.example/b.jpg", 7, None]}}
    body = f"<h1 class=t>ignored</h1><p class=cur>CNY</p><script>window.DATA = {json.dumps(item)};</script>"
    selectors = FieldSelectors(data="script:window.DATA", currency=".cur::text", **LISTING)
    result = configured.extract_listing(html(body, "https://shop.example/item/X9"), "shop", selectors)
    listing = result.item
    assert listing is not None and result.missing == []
    assert (listing.external_id, listing.title, listing.price_text, listing.currency) == (
        "X9", "Acme Widget 原装", "88.8", "CNY")
    assert (listing.seller_name, listing.location_text) == ("acme-outlet", "广东 深圳")
    assert listing.image_urls == ["https://shop.example/img/a.jpg", "https://cdn.example/b.jpg",
                                  "https://shop.example/item/7"]


@pytest.mark.parametrize("body", [
    "<p>no data here</p>",  # the script is missing: a login wall, another layout
    "<script>window.DATA = {\"item\": {\"title\": </script>",  # JSON cut short
    "<script>window.DATA = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]</script>",
])
def test_missing_or_broken_json_is_a_warning_never_a_crash(body: str) -> None:
    selectors = FieldSelectors(data="script:window.DATA", **LISTING)
    result = configured.extract_listing(html(body, "https://shop.example/item/1"), "shop", selectors)
    assert result.item is None and result.missing[0] == "data"
    page = configured.extract_search(html(body), FieldSelectors(data="script:window.DATA", **SEARCH))
    assert page.cards == [] and page.warnings == ["no JSON data (script:window.DATA) on https://shop.example/search?q=x"]


def test_an_expression_that_selects_nothing_gives_nothing() -> None:
    api = TextResponse(url="https://shop.example/api", body=b'{"result": {"other": 1}}')
    assert configured.extract_search(api, FieldSelectors(data="body", **SEARCH)).cards == []
    strings = TextResponse(url="https://shop.example/api", body=b'{"result": {"cards": ["a", 1, null, {"x": {}}]}}')
    assert configured.extract_search(strings, FieldSelectors(data="body", **SEARCH)).cards == []


def _check(tmp_path: Path, selectors: dict[str, str]) -> str:
    path = write_config(tmp_path / "b.yaml", "https://shop.example", marketplace={"selectors": selectors})
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return str(raised.value)


def test_check_config_names_a_jmespath_that_does_not_compile(tmp_path: Path) -> None:
    message = _check(tmp_path, {"data": "body", "item": "json:result.cards[", "link": "json:href"})
    assert "selectors.item" in message and "line" in message and "does not compile" in message
    assert "json:result.cards[" in message


def test_check_config_refuses_json_without_data_and_unknown_sources(tmp_path: Path) -> None:
    message = _check(tmp_path, {"title": "json:item.title"})
    assert "title read JSON (json:) but no data says where it is" in message
    message = _check(tmp_path, {"data": "window.DATA", "title": "json:item.title"})
    assert "selectors.data" in message and "script:NAME, next_data, jsonld, body or xhr:REGEX" in message
    message = _check(tmp_path, {"data": "xhr:(unclosed", "title": "json:item.title"})
    assert "not a regular expression" in message


def test_a_json_api_marketplace_is_crawled_from_its_yaml_alone(tmp_path: Path) -> None:
    def item(n: int) -> bytes:
        return json.dumps({"item": {"id": f"A{n}", "title": f"Acme Widget {n}", "price": f"{10 + n}.00",
                                    "seller": {"name": "acme-outlet"}, "ships_from": "Shenzhen, China",
                                    "photos": []}}).encode()
    routes = {"/api/search": reply(json.dumps({"result": {"cards": [
        {"id": n, "name": f"card {n}", "href": f"/api/item/{n}"} for n in (1, 2, 3)]}}).encode(), "application/json")}
    routes.update({f"/api/item/{n}": reply(item(n), "application/json") for n in (1, 2, 3)})
    market = {"start_urls": [], "search_url": "{base}/api/search?q={query}", "search_terms": ["acme"],
              "id_from_url": None, "selectors": {"data": "body", **{k: v for k, v in SEARCH.items() if k in (
                  "item", "link")}, **LISTING}}
    with configured_shop(tmp_path, routes) as (server, config, settings):
        # The search URL needs the server's port, known only now: the kit's file is written again with it.
        write_config(config, server.base_url, marketplace=json.loads(
            json.dumps(market).replace("{base}", server.base_url)))
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        with jobs.open_database(settings).read() as session:
            stored = {row.external_id: row for row in session.scalars(select(Listing))}
        assert set(stored) == {"A1", "A2", "A3"}
        assert stored["A2"].title == "Acme Widget 2" and stored["A2"].price == Decimal("12.00")
        assert stored["A2"].country == "CN" and stored["A2"].region == "CN-GD"
        assert server.hits["/api/search"] == 1


XHR_SHELL = """<html><body><div id=app>loading</div><script>
fetch('/api/%s').then(r => r.json()).then(d => {
  document.getElementById('app').textContent = JSON.stringify(d).length + ' bytes drawn';
  document.body.dataset.ready = '1';
});</script></body></html>"""


@pytest.mark.browser
def test_a_marketplace_that_serves_listings_only_through_xhr_is_crawled_from_the_json(tmp_path: Path) -> None:
    needs_chromium()
    cards = {"result": {"cards": [{"id": n, "name": f"card {n}", "href": f"/item/{n}"} for n in (1, 2)]}}
    routes = {"/search": reply((XHR_SHELL % "search?q=acme").encode()),
              "/api/search": reply(json.dumps(cards).encode(), "application/json")}
    for n in (1, 2):
        routes[f"/item/{n}"] = reply((XHR_SHELL % f"item/{n}").encode())
        routes[f"/api/item/{n}"] = reply(json.dumps({"item": {
            "id": f"X{n}", "title": f"Acme Widget {n}", "price": f"{20 + n}.50", "seller": {"name": "acme-outlet"},
            "ships_from": "杭州", "photos": []}}).encode(), "application/json")
    # JSON the browser kept is a list (a page may fetch several), so each expression starts with a projection.
    selectors = {"data": "xhr:/api/(search|item)\\b", "item": "json:[].result.cards[]", "link": "json:href",
                 **{name: "json:[]." + path.removeprefix("json:") for name, path in LISTING.items()}}
    with configured_shop(tmp_path, routes, marketplace={"javascript": True, "id_from_url": None,
                                                        "selectors": selectors}) as (server, config, settings):
        result = jobs.crawl_one(settings, config, "shop")
        assert result.status == RunStatus.OK, result.summary()
        with jobs.open_database(settings).read() as session:
            stored = {row.external_id: row for row in session.scalars(select(Listing))}
    assert set(stored) == {"X1", "X2"}
    assert stored["X2"].title == "Acme Widget 2" and stored["X2"].price == Decimal("22.50")
    assert stored["X2"].region == "CN-ZJ"
    # The listings came from the JSON the pages fetched: their HTML never held a title.
    assert server.hits["/api/search"] == 1 and server.hits["/api/item/1"] == 1 and server.hits["/api/item/2"] == 1


def test_json_that_does_not_parse_is_warned_about_and_the_page_kept(tmp_path: Path) -> None:
    broken = b'{"result": {"cards": [{"id": 1, "href": "/api/item/1"'  # cut short
    routes = {"/api/search": reply(broken, "application/json")}
    market = {"start_urls": ["{base}/api/search?q=acme"], "id_from_url": None,
              "selectors": {"data": "body", "item": "json:result.cards[]", "link": "json:href", **LISTING}}
    with configured_shop(tmp_path, routes) as (server, config, settings):
        write_config(config, server.base_url, marketplace=json.loads(
            json.dumps(market).replace("{base}", server.base_url)))
        result = jobs.crawl_one(settings, config, "shop")
        assert result.errors["brandpatrol/selector_miss/data"] == 1, result.summary()
        with jobs.open_database(settings).read() as session:
            kept = session.scalars(select(Evidence).where(Evidence.url == f"{server.base_url}/api/search?q=acme")).one()
        assert gzip.decompress(kept.content) == broken
