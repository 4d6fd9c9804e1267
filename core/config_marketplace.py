"""A marketplace in the brand configuration: where and how to crawl it (search URL, selectors, browser, proxies,
politeness, two stages)."""

from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from core import jsonpath
from core.config_base import CurrencyCode, Strict
from core.egress import Proxy

SEARCH_URL_PLACEHOLDERS = ("query", "page")


def search_url_problem(template: str) -> str | None:
    """Why a search_url template cannot be filled with {query} and {page}, or None when it can."""
    allowed = " and ".join("{" + name + "}" for name in SEARCH_URL_PLACEHOLDERS)
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"{exc}; write a literal brace as {{{{ or }}}}"
    unknown = sorted({name for name in fields if name not in SEARCH_URL_PLACEHOLDERS})
    if unknown:
        named = ", ".join("{" + name + "}" for name in unknown)
        return f"placeholder {named} is not known; the placeholders allowed are {allowed}"
    if "query" not in fields:
        return "search_url must contain {query} where the search term goes"
    try:
        template.format(query="q", page=1)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        return f"cannot be filled in ({exc}); use plain {allowed}"
    return None


class FieldSelectors(Strict):
    """CSS (default), XPath (prefix `xpath:`) or JMESPath over the page's data (prefix `json:`) selectors of a
    configured marketplace; `data` names where the JSON is (see crawler/extractors/jsondata.py)."""

    data: str | None = Field(None, description=f"where json: selectors read: {jsonpath.DATA_SOURCES}")

    item: str | None = None
    link: str | None = None
    next_page: str | None = None
    title: str | None = None
    price: str | None = None
    currency: str | None = None
    seller: str | None = None
    seller_id: str | None = None
    location: str | None = None
    image: str | None = None
    external_id: str | None = None
    # Every block of the item page's free text (description, seller's notes): contact details hide there.
    description: str | None = None

    @field_validator("data")
    @classmethod
    def _data_source(cls, value: str | None) -> str | None:
        return jsonpath.check_source(value) if value is not None else None

    @field_validator("*")
    @classmethod
    def _json_compiles(cls, value: str | None) -> str | None:
        if jsonpath.is_json_selector(value):
            jsonpath.compiled(value)
        return value

    @model_validator(mode="after")
    def _json_needs_data(self) -> FieldSelectors:
        named = [name for name, value in self if name != "data" and jsonpath.is_json_selector(value)]
        if named and not self.data:
            raise ValueError(f"{', '.join(named)} read JSON (json:) but no data says where it is; "
                             f"add data: {jsonpath.DATA_SOURCES}")
        return self


class Marketplace(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$", description="short id, e.g. taobao")
    spider: Literal["configured", "ebay", "amazon", "aliexpress", "taobao", "etsy", "jd", "1688", "lazada",
                    "demo"] = "configured"
    base_url: str | None = None
    search_url: str | None = Field(None, description="template with {query} and optionally {page}")
    start_urls: list[str] = Field(default_factory=list)
    search_terms: list[str] = Field(default_factory=list)
    javascript: bool = Field(False, description="render pages in Chromium before extracting")
    wait_for: str | None = Field(None, description="CSS selector a rendered page shows once its data is in")
    extractor: str | None = Field(None, description="named extractor for listing pages, e.g. demo")
    selectors: FieldSelectors | None = None
    id_from_url: str | None = Field(None, description="regex whose first group is the listing id in its URL")
    max_pages: int = Field(50, ge=1, le=10_000)
    download_delay: float = Field(0.0, ge=0, le=600)
    concurrency: int = Field(4, ge=1, le=64)
    obey_robots: bool = True
    autothrottle: bool = Field(True, description="adapt the pace to the site's response times (Scrapy AutoThrottle)")
    currency: CurrencyCode | None = Field(None, description="currency to assume where the page shows only a symbol")
    proxy: str | None = Field(None, description="proxy URL for this marketplace, e.g. http://user:pass@host:3128")
    proxies: list[str] = Field(
        default_factory=list, max_length=100,
        description="proxy URLs used in turn, one per crawl; one the marketplace blocked rests "
        "(see proxy_backoff_minutes)")
    proxy_backoff_minutes: float = Field(
        60, gt=0, le=7 * 24 * 60,
        description="how long a proxy rests after a blocked crawl; doubled for each block in a row")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    cookies: dict[str, str] = Field(default_factory=dict, description="cookies sent with every request")
    cookie_file: str | None = Field(
        None, min_length=1, description="cookies exported after signing in by hand (Netscape cookies.txt or "
        "Playwright storage_state JSON), relative to this file; sent by the crawler and the browser")
    timeout_minutes: int = Field(180, ge=1, le=24 * 60, description="a crawl still running after this is closed")
    download_timeout_s: float = Field(30, gt=0, le=600, description="give up on one page after this long")
    retries: int = Field(2, ge=0, le=10, description="retries of a failed page, with exponential back-off")
    max_errors: int = Field(500, ge=0, le=1_000_000,
                            description="pages whose parsing raised after which the crawl stops (0: never)")
    parallel_shards: int = Field(
        1, ge=1, le=64, description="team mode: this many of the marketplace's shards (a search term or start URL "
        "each) may be crawled at once, each through its own proxy from `proxies`; 1: one after another")
    item_pages: Literal["all", "relevant"] | None = Field(
        None, description="all: follow every search card to its item page; relevant (the default): keep each card "
        "that shows title and price as a listing and fetch item pages only for the brand's flagged or undecided "
        "listings; a card that shows less is followed")
    item_page_budget: int = Field(
        500, ge=0, le=1_000_000,
        description="item pages the second stage may fetch per night (item_pages: relevant); 0: cards only")

    @property
    def item_pages_mode(self) -> Literal["all", "relevant"]:
        """`item_pages` as configured, else relevant: a card that shows title and price is kept as a listing, one
        that does not is followed to its item page (crawler/spiders/base.py)."""
        return self.item_pages or "relevant"

    @field_validator("search_url")
    @classmethod
    def _fillable_search_url(cls, v: str | None) -> str | None:
        if v is not None and (problem := search_url_problem(v)):
            raise ValueError(f"'{v}': {problem}")
        return v

    @field_validator("proxy")
    @classmethod
    def _http_proxy(cls, v: str | None) -> str | None:
        if v is not None:
            Proxy.from_url(v)  # ValueError names the proxy with its credentials masked
        return v

    @field_validator("proxies")
    @classmethod
    def _http_proxies(cls, v: list[str]) -> list[str]:
        for url in v:
            Proxy.from_url(url)
        return v

    @model_validator(mode="after")
    def _a_proxy_per_parallel_shard(self) -> Marketplace:
        # Shards crawled at once from one address would multiply the load the marketplace sees from us.
        if self.parallel_shards > 1 and len(self.proxies) < self.parallel_shards:
            raise ValueError(f"parallel_shards: {self.parallel_shards} needs as many proxies (each shard crawled at "
                             f"once goes through its own); list {self.parallel_shards} under proxies, or set "
                             "parallel_shards: 1")
        return self

    @model_validator(mode="after")
    def _one_proxy_setting(self) -> Marketplace:
        if self.proxy and self.proxies:
            raise ValueError("give either proxy (one) or proxies (used in turn), not both; "
                             "put the single proxy into the proxies list")
        return self

    @model_validator(mode="after")
    def _has_a_start(self) -> Marketplace:
        if not (self.start_urls or (self.search_url and self.search_terms)):
            raise ValueError(
                f"marketplace '{self.name}' has nowhere to start; give start_urls, or search_url with search_terms"
            )
        if self.id_from_url:
            try:
                re.compile(self.id_from_url)
            except re.error as exc:
                raise ValueError(f"id_from_url is not a valid regular expression: {exc}") from None
        return self
