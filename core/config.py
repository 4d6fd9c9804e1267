"""The brand configuration (`brandpatrol.yaml`): one file per brand, validated before anything runs.

Errors name the field, the line in the file and the fix, because the operator who edits this file is not
necessarily the person who wrote it.
"""

from __future__ import annotations

import re
import string
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from core import jsonpath
from core.batchcodes import parse_batch_range
from core.codes import CodesFileError, IssuedCodes, gtin_problem, load_issued_codes
from core.cookies import Cookie, CookieFileError, load_cookies
from core.egress import Proxy, parse_exemption
from core.money import CURRENCY_CODES
from core.regions import is_region_code

Lang = str  # BCP 47 language tag such as "en" or "zh"


class ConfigError(ValueError):
    """A brand configuration that cannot be used, with every problem found in it."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems) if problems else self.path)

    def __str__(self) -> str:
        lines = [f"{self.path} is not a valid BrandPatrol configuration:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _iso_currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCY_CODES:
        raise ValueError(f"'{value}' is not an ISO 4217 currency code; use one such as CNY, USD or EUR")
    return code


def _currency_pair(pair: str) -> str:
    """'USD/CNY', both sides ISO 4217; the error names the side that is not."""
    if not re.fullmatch(r"[A-Z]{3}/[A-Z]{3}", pair):
        raise ValueError(f"'{pair}' is not a currency pair; write it as 'USD/CNY'")
    unknown = [code for code in pair.split("/") if code not in CURRENCY_CODES]
    if unknown:
        verb = "is not an ISO 4217 currency code" if len(unknown) == 1 else "are not ISO 4217 currency codes"
        raise ValueError(f"{' and '.join(unknown)} in '{pair}' {verb}; write a pair of codes such as USD/CNY")
    return pair


CurrencyCode = Annotated[str, AfterValidator(_iso_currency)]
CurrencyPair = Annotated[str, AfterValidator(_currency_pair)]

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


class PricePoint(_Strict):
    currency: CurrencyCode = Field(description="ISO 4217 code, e.g. CNY")
    suggested: Decimal = Field(gt=0, description="suggested retail price")
    floor: Decimal = Field(gt=0, description="lowest price an authorised seller may advertise")

    @model_validator(mode="after")
    def _floor_below_suggested(self) -> PricePoint:
        if self.floor > self.suggested:
            raise ValueError(
                f"floor {self.floor} is above suggested {self.suggested}; the floor must not exceed it"
            )
        return self


class ReferenceImage(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    path: str = Field(description="file path, relative to this YAML file, or an http(s) URL")
    official_use_ok: bool = Field(
        False, description="the brand lets resellers use this photo: a match identifies the product, proves nothing"
    )


def _gtin(text: str) -> str:
    problem = gtin_problem(str(text))
    if problem:
        raise ValueError(f"{problem}; copy it from the product's barcode")
    return str(text).strip()


GtinText = Annotated[str, AfterValidator(_gtin)]


class Product(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    names: dict[Lang, str] = Field(min_length=1, description="product name per language")
    keywords: list[str] = Field(default_factory=list)
    prices: list[PricePoint] = Field(default_factory=list)
    reference_images: list[ReferenceImage] = Field(default_factory=list)
    gtins: list[GtinText] = Field(
        default_factory=list, description="GTIN-8/12/13/14 printed under the product's barcode: identifies it in photos"
    )

    @field_validator("gtins")
    @classmethod
    def _gtins_once(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a GTIN is listed twice; list each once")
        return v

    @field_validator("prices")
    @classmethod
    def _one_price_per_currency(cls, v: list[PricePoint]) -> list[PricePoint]:
        seen = [p.currency for p in v]
        dupes = sorted({c for c in seen if seen.count(c) > 1})
        if dupes:
            raise ValueError(f"more than one price for {', '.join(dupes)}; give one price per currency")
        return v

    def price_in(self, currency: str) -> PricePoint | None:
        return next((p for p in self.prices if p.currency == currency), None)


def _batch_range(text: str) -> str:
    """A batch range as `LOW..HIGH` of normalised codes; each bad entry is reported at its own line."""
    return str(parse_batch_range(text))


BatchRangeText = Annotated[str, AfterValidator(_batch_range)]


class AuthorisedSeller(_Strict):
    name: str = Field(min_length=1, max_length=200, description="seller or shop name as the marketplace shows it")
    marketplace: str
    seller_id: str | None = None
    regions: list[str] = Field(default_factory=list, description="ISO 3166 codes: CN, CN-GD, US ...")
    batch_prefixes: list[str] = Field(default_factory=list)
    batch_ranges: list[BatchRangeText] = Field(
        default_factory=list, description="lot codes shipped to this distributor, LOW..HIGH such as GD240100..GD240399"
    )
    distributor: str | None = Field(None, description="the distributor this seller belongs to")

    @field_validator("regions")
    @classmethod
    def _iso_regions(cls, v: list[str]) -> list[str]:
        out = []
        for code in v:
            norm = code.strip().upper()
            if not is_region_code(norm):
                raise ValueError(
                    f"'{code}' is not an ISO 3166 code; use a country such as CN or a subdivision such as CN-GD"
                )
            out.append(norm)
        return out


class FieldSelectors(_Strict):
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


class Marketplace(_Strict):
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


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron_weekdays(field: str) -> str:
    """A cron day-of-week field (0 or 7 = Sunday, 1 = Monday) in APScheduler's names.

    APScheduler 3 numbers weekdays from Monday = 0, so a crontab's `1` would otherwise mean Tuesday.
    """
    if field == "*":
        return field
    days: list[str] = []
    for token in field.split(","):
        part, _, step_text = token.partition("/")
        step = int(step_text) if step_text else 1
        if part == "*":
            numbers = list(range(0, 7))
        elif "-" in part and all(x.isdigit() for x in part.split("-")):
            low, high = (int(x) for x in part.split("-"))
            numbers = list(range(low, high + 1))
        elif part.isdigit():
            numbers = [int(part)]
        else:
            days.append(token)  # names such as mon-fri pass through
            continue
        days.extend(_CRON_DAYS[n % 7] for n in numbers[::step] if 0 <= n <= 7)
    return ",".join(dict.fromkeys(days))


def cron_trigger(expression: str, timezone: str) -> Any:
    """An APScheduler CronTrigger for a five-field crontab expression, with crontab's weekday numbers."""
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, weekdays = expression.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_cron_weekdays(weekdays),
                       timezone=timezone)


def _cron_problem(expression: str) -> str | None:
    if len(expression.split()) != 5:
        return f"'{expression}' is not a five-field cron expression such as '0 2 * * *'"
    try:
        cron_trigger(expression, "UTC")
    except ValueError as exc:
        return f"'{expression}' is not a valid cron expression ({exc})"
    return None


class Schedule(_Strict):
    """When `brandpatrol schedule` runs what. Cron expressions are read in `timezone`; an empty one disables a job."""

    cron: str = Field("0 2 * * *", description="nightly crawl of every marketplace, each followed by matching")
    timezone: str = Field("Asia/Shanghai", description="IANA time zone the cron expressions are read in")
    crawl_concurrency: int = Field(2, ge=1, le=32, description="crawl processes running at once")
    crawl_timeout_minutes: float = Field(
        240, gt=0, le=24 * 60, description="a crawl process still running after this is stopped, its run failed")
    stop_grace_seconds: float = Field(
        120, ge=0, le=3600, description="on shutdown, time a crawl gets to finish its current batch")
    removal_check_cron: str | None = Field("0 9 * * *", description="re-check listings under filed notices")
    digest_cron: str | None = Field("0 9 * * 1", description="weekly digest to the alert targets")
    expected_within_hours: float = Field(
        26, gt=0, le=24 * 31, description="no crawl of a marketplace for this long raises an alert")
    misfire_grace_hours: float = Field(
        6, gt=0, le=7 * 24, description="a fire missed while the scheduler was down still runs within this")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        problem = _cron_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("removal_check_cron", "digest_cron")
    @classmethod
    def _optional_cron(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        problem = _cron_problem(v)
        if problem:
            raise ValueError(problem + "; or leave it empty to disable the job")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{v}' is not a known time zone; use an IANA name such as Asia/Shanghai") from None
        return v


class Alerts(_Strict):
    """Where alerts go (Apprise URLs: mailto://, json://, wecombot://, dingtalk://, slack:// ...) and when."""

    urls: list[str] = Field(default_factory=list, description="Apprise notification URLs")
    min_score: float = Field(0.8, ge=0, le=1, description="new suspect findings at or over this score are alerted")
    top: int = Field(5, ge=0, le=50, description="how many of the highest-scoring findings a message lists")
    dashboard_url: str = Field("http://127.0.0.1:8501", description="base URL of the dashboard, for links")

    @field_validator("urls")
    @classmethod
    def _apprise_urls(cls, v: list[str]) -> list[str]:
        import apprise

        for i, url in enumerate(v):
            # Never echo the URL: it usually carries a token or a password.
            scheme = url.split("://", 1)[0][:20] if "://" in url else None
            if scheme is None or not apprise.Apprise().add(url):
                raise ValueError(
                    f"URL {i + 1} ({scheme + '://...' if scheme else 'no scheme'}) is not a notification URL "
                    "Apprise understands; see the Apprise wiki for the form of each service"
                )
        return v

    @field_validator("dashboard_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"'{v}' is not an http(s) URL such as http://127.0.0.1:8501")
        return v.rstrip("/")


class Thresholds(_Strict):
    image_distance: int = Field(10, ge=0, le=64, description="max Hamming distance of 64-bit hashes to match")
    counterfeit_price_ratio: Decimal = Field(
        Decimal("0.5"), gt=0, le=1, description="at or under this share of the suggested price: counterfeit risk"
    )
    min_score: float = Field(0.5, ge=0, le=1, description="findings scoring under this are not queued")
    gone_after_runs: int = Field(3, ge=1, le=100)
    image_confirm_distance: int = Field(
        18, ge=0, le=64, description="photos up to this distance match only when keypoints confirm them"
    )
    image_confirm_inliers: int = Field(12, ge=4, le=500, description="keypoints that must agree to confirm")
    price_drop_ratio: Decimal = Field(
        Decimal("0.3"), gt=0, lt=1, description="a price this share under the listing's earlier prices is a drop"
    )
    repeat_offender_findings: int = Field(
        2, ge=1, le=1000, description="confirmed findings on a seller's other listings that make it a repeat offender"
    )
    reference_flood_listings: int = Field(
        200, ge=1, description="a reference photo matching this many listings in one run is checked for a flood"
    )
    reference_flood_share: float = Field(
        0.5, ge=0, le=1, description="...and distrusted when this share of them do not name the brand"
    )
    # How near a spelling must be to read as the brand's or a product's name (matching.names): rapidfuzz's
    # normalised Indel similarity. At 0.88 a 6-7 letter name tolerates one letter dropped or added, not one
    # replaced ("Lumiina" is Lumina, "Lumena" is not); 8-15 letters one replaced. Set from the evaluation market.
    name_fuzzy_ratio: float = Field(
        0.88, ge=0.75, le=1, description="a word spelled at least this alike to a brand or product name names it"
    )
    name_fuzzy_min_length: int = Field(
        6, ge=4, le=64, description="names shorter than this (in letters) must match exactly, never fuzzily"
    )


class AllowedSeller(_Strict):
    """A seller the brand marks as fine: its listings are never flagged."""

    marketplace: str
    seller_id: str | None = None
    name: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=300, description="why, for the reasons people read")

    @model_validator(mode="after")
    def _identified(self) -> AllowedSeller:
        if not (self.seller_id or self.name):
            raise ValueError("an allowed seller needs seller_id or name")
        return self


class AllowList(_Strict):
    sellers: list[AllowedSeller] = Field(default_factory=list)
    images: list[str] = Field(
        default_factory=list, description="SHA-256 of official photos the brand publishes for anyone to use"
    )

    @field_validator("images")
    @classmethod
    def _sha256(cls, v: list[str]) -> list[str]:
        out = []
        for digest in v:
            norm = digest.strip().lower()
            if not re.fullmatch(r"[0-9a-f]{64}", norm):
                raise ValueError(f"'{digest}' is not a SHA-256 (64 hex digits); copy it from `sha256sum FILE`")
            out.append(norm)
        return out


class Egress(_Strict):
    """Services the crawler may reach although they resolve to private or loopback addresses."""

    allow_private_hosts: list[str] = Field(default_factory=list, description="host:port entries, e.g. 127.0.0.1:8123")

    @field_validator("allow_private_hosts")
    @classmethod
    def _host_and_port(cls, v: list[str]) -> list[str]:
        for entry in v:
            parse_exemption(entry)  # ValueError names the entry and the fix
        return v


# Registers a trademark can be recorded in besides a country: EU trade marks (EUIPO) and Madrid (WIPO).
_TRADEMARK_REGISTERS = frozenset({"EU", "WIPO"})


class Trademark(_Strict):
    """A registered mark the notices assert; marketplaces ask for the number, the register and the classes."""

    number: str = Field(min_length=1, max_length=64, description="registration number")
    jurisdiction: str = Field(description="ISO 3166 country (CN, US) or EU / WIPO")
    mark: str | None = Field(None, max_length=200, description="the mark as registered, e.g. LUMINA or 露米娜")
    classes: list[int] = Field(default_factory=list, description="Nice classes, e.g. [3]")
    expires: date | None = None
    registry_url: str | None = Field(None, max_length=2048, description="link to the register entry")

    @field_validator("jurisdiction")
    @classmethod
    def _register(cls, v: str) -> str:
        code = v.strip().upper()
        if code not in _TRADEMARK_REGISTERS and not (len(code) == 2 and is_region_code(code)):
            raise ValueError(f"'{v}' is not a register; use an ISO 3166 country code such as CN or US, EU or WIPO")
        return code

    @field_validator("classes")
    @classmethod
    def _nice_classes(cls, v: list[int]) -> list[int]:
        bad = [c for c in v if not 1 <= c <= 45]
        if bad:
            raise ValueError(f"Nice classes run from 1 to 45; {bad} is not one")
        return v


class CopyrightWork(_Strict):
    """A work a DMCA notice names (17 U.S.C. 512(c)(3)(A)(ii)), e.g. the brand's product photographs."""

    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=2000)
    registration: str | None = Field(None, max_length=64)
    url: str | None = Field(None, max_length=2048, description="where the original is published")


class RightsHolder(_Strict):
    name: str
    email: str | None = None
    address: str | None = None
    phone: str | None = None
    website: str | None = None
    signatory: str | None = Field(None, max_length=200, description="the person who signs notices")
    signatory_title: str | None = Field(None, max_length=200, description="their title, e.g. Legal Counsel")
    agent: str | None = Field(
        None, max_length=200, description="who files on the rights holder's behalf, when not the rights holder"
    )
    trademarks: list[Trademark] = Field(default_factory=list)
    copyright_works: list[CopyrightWork] = Field(default_factory=list)


class Privacy(_Strict):
    """Seller personal data (PIPL / GDPR): how long contact details are kept, and whether exports carry them."""

    seller_contact_retention_days: int = Field(
        365, ge=1, le=36_500, description="seller contact details unseen for this long are removed"
    )
    redact_exports: bool = Field(True, description="leave seller contact details and addresses out of exports")


class Brand(_Strict):
    name: str = Field(min_length=1, max_length=200)
    names: dict[Lang, str] = Field(default_factory=dict)
    other_brands: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None, max_length=2000,
        description="competitors' names (any language): a title naming one needs more than a look-alike photo to be "
                    "called the brand's; unset: matching.brands.DEFAULT_OTHER_BRANDS, [] for none",
    )
    rights_holder: RightsHolder | None = None
    issued_codes: str | None = Field(
        None, description="CSV of the serial / QR codes the brand issued (code,distributor[,sku]), relative to the YAML"
    )


class BrandConfig(_Strict):
    brand: Brand
    products: list[Product] = Field(min_length=1)
    authorised_sellers: list[AuthorisedSeller] = Field(default_factory=list)
    marketplaces: list[Marketplace] = Field(default_factory=list)
    schedule: Schedule = Schedule()
    alerts: Alerts = Alerts()
    privacy: Privacy = Privacy()
    thresholds: Thresholds = Thresholds()
    exchange_rates: dict[CurrencyPair, Decimal] = Field(
        default_factory=dict, description="'USD/CNY': 7.2 means 1 USD = 7.2 CNY"
    )
    egress: Egress = Egress()
    allow_list: AllowList = AllowList()
    # Where the file was read from, so relative reference image paths resolve against it.
    source_dir: Path | None = Field(None, exclude=True)
    _issued: IssuedCodes = PrivateAttr(default_factory=IssuedCodes)
    _cookies: dict[str, list[Cookie]] = PrivateAttr(default_factory=dict)

    def cookies_of(self, marketplace: str) -> list[Cookie]:
        """The cookies of a marketplace's cookie_file, read and checked with the config; [] without one."""
        return self._cookies.get(marketplace, [])

    @property
    def issued_codes(self) -> IssuedCodes:
        """The brand's issued serials (brand.issued_codes), loaded and checked with the file; empty without one."""
        return self._issued

    def distributors(self) -> list[str]:
        """Each authorised seller's distributor, or its name where it has none: what issued codes are issued to."""
        return list(dict.fromkeys(s.distributor or s.name for s in self.authorised_sellers))

    @field_validator("exchange_rates")
    @classmethod
    def _pairs(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for pair, rate in v.items():
            if rate <= 0:
                raise ValueError(f"rate for {pair} must be positive")
        return v

    @model_validator(mode="after")
    def _cross_references(self) -> BrandConfig:
        names = [m.name for m in self.marketplaces]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"marketplace names must be unique; {', '.join(dupes)} repeats")
        skus = [p.sku for p in self.products]
        dupes = sorted({s for s in skus if skus.count(s) > 1})
        if dupes:
            raise ValueError(f"product SKUs must be unique; {', '.join(dupes)} repeats")
        for allowed in self.allow_list.sellers:
            if names and allowed.marketplace not in names:
                raise ValueError(
                    f"allow_list seller '{allowed.name or allowed.seller_id}' names marketplace "
                    f"'{allowed.marketplace}', which is not among the marketplaces ({', '.join(names)})"
                )
        for seller in self.authorised_sellers:
            if names and seller.marketplace not in names:
                raise ValueError(
                    f"authorised seller '{seller.name}' names marketplace '{seller.marketplace}', "
                    f"which is not among the marketplaces ({', '.join(names)})"
                )
        return self

    def marketplace(self, name: str) -> Marketplace:
        for m in self.marketplaces:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.marketplaces) or "none"
        raise ConfigError(self.source_dir or "config", [f"no marketplace named '{name}' (configured: {known})"])

    def resolve_path(self, relative: str) -> Path:
        path = Path(relative)
        if not path.is_absolute() and self.source_dir is not None:
            path = self.source_dir / path
        return path


# --- loading, with line numbers -------------------------------------------------------------------

def _line_index(node: yaml.Node, prefix: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*prefix, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*prefix, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*prefix, i), out)


def _describe(error: dict[str, Any], lines: dict[tuple[Any, ...], int]) -> str:
    loc = tuple(error["loc"])
    line = None
    probe = loc
    while probe and line is None:
        line = lines.get(probe)
        probe = probe[:-1]
    field = ".".join(str(p) for p in loc if p != "[key]") or "(top level)"  # a mapping key's own error
    where = f"line {line}" if line else "file"
    kind = error["type"]
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        fix = f"add '{loc[-1]}'"
    elif kind == "extra_forbidden":
        fix = f"remove '{loc[-1]}' or check its spelling"
    else:
        fix = "correct the value"
    return f"{field} ({where}): {msg} — {fix}"


MAX_CONFIG_BYTES = 2 * 1024 * 1024
# Values that aliases (*name, and << merges) may add to a document beyond those written in it. Sharing a block
# between a few marketplaces or products adds hundreds; a "billion laughs" of 414 bytes would add 10^9.
MAX_ALIAS_EXPANSION = 50_000


class AliasExpansionError(yaml.YAMLError):
    """Aliases that would expand the document past MAX_ALIAS_EXPANSION values."""

    def __init__(self, alias: str, mark: yaml.Mark, *, recursive: bool = False):
        self.problem_mark = mark
        self.problem = (
            f"alias *{alias} refers to a value that contains it, which never ends; refer to a finished value"
            if recursive else
            f"alias *{alias} makes the document's aliases repeat more than {MAX_ALIAS_EXPANSION:,} values "
            "(nested aliases multiply: a 'billion laughs'); write the repeated values out, or use fewer nested "
            "aliases"
        )
        super().__init__(self.problem)


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that counts, while composing, what each alias would add once expanded, and stops at the bound.

    The size of each composed node (itself plus everything under it, aliases expanded) is kept by node identity,
    so the count costs one addition per node and per alias, however deep the aliases nest; the sum over aliases
    of their targets' sizes is exactly what expansion adds to the written document.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._expanded_size: dict[int, int] = {}
        self._repeated = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = super().compose_node(parent, index)
            if id(target) not in self._expanded_size:  # its anchor is still open: the value would contain itself
                raise AliasExpansionError(str(event.anchor), event.start_mark, recursive=True)
            self._repeated += self._expanded_size[id(target)]
            if self._repeated > MAX_ALIAS_EXPANSION:
                raise AliasExpansionError(str(event.anchor), event.start_mark)
            return target
        node = super().compose_node(parent, index)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        self._expanded_size[id(node)] = 1 + sum(self._expanded_size.get(id(c), 1) for c in children)
        return node


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node graph (for line numbers) and its data, parsed once with aliases bounded."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _compose(text: str, source: Path | str) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    if len(text.encode("utf-8", "replace")) > MAX_CONFIG_BYTES:
        raise ConfigError(source, [f"file is larger than {MAX_CONFIG_BYTES} bytes; split or trim it"])
    try:
        node, data = _compose_and_construct(text)
    except AliasExpansionError as exc:
        raise ConfigError(source, [f"line {exc.problem_mark.line + 1}: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            source, [f"YAML syntax error at {where}: {problem} — fix the indentation or quoting"]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(source, ["the file must be a mapping with at least 'brand' and 'products'"])
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    return data, lines


def parse_config(text: str, source: Path | str = "<config>") -> BrandConfig:
    """One brand's configuration; a file listing several brands (`brands:`) is refused here (see parse_brands)."""
    configs = parse_brands(text, source)
    if len(configs) > 1:
        raise ConfigError(source, [f"the file lists brands {', '.join(c.brand.name for c in configs)}; "
                                   "say which with --brand NAME"])
    return configs[0]


def parse_brands(text: str, source: Path | str = "<config>") -> list[BrandConfig]:
    """Every brand a configuration holds: one brand's file, or a file listing several under `brands:`, each entry
    a brand's settings written in place or the path of its own file (relative to this one). Every brand is
    checked; a brand named twice is an error naming both entries."""
    data, lines = _compose(text, source)
    if "brands" not in data:
        return [_brand_config(data, lines, source, ())]
    extra = sorted(set(data) - {"brands"})
    entries = data["brands"]
    if extra or not isinstance(entries, list) or not entries:
        raise ConfigError(source, [f"brands (line {lines.get(('brands',), '?')}): a file listing brands holds only "
                                   "'brands:', a list of brand settings or brand files"
                                   + (f"; move {', '.join(map(str, extra))} into each brand" if extra else "")])
    source_dir = Path(source).resolve().parent if source != "<config>" else Path.cwd()
    configs: list[BrandConfig] = []
    first_entry: dict[str, int] = {}
    problems: list[str] = []
    for index, entry in enumerate(entries):
        where = f"brands.{index} (line {lines.get(('brands', index), '?')})"
        if isinstance(entry, str):
            path = Path(entry) if Path(entry).is_absolute() else source_dir / entry
            if path.resolve() == Path(source).resolve():
                raise ConfigError(source, [f"{where}: the file lists itself; name each brand's own file"])
            config = load_config(path)
        elif isinstance(entry, dict):
            config = _brand_config(entry, lines, source, ("brands", index))
        else:
            raise ConfigError(source, [f"{where}: write a brand's settings or the path of its file"])
        name = config.brand.name
        if name in first_entry:
            problems.append(f"{where}: brand '{name}' is named twice (also brands.{first_entry[name]}) — "
                            "give each brand one entry")
        first_entry.setdefault(name, index)
        configs.append(config)
    if problems:
        raise ConfigError(source, problems)
    return configs


def _brand_config(data: dict[str, Any], lines: dict[tuple[Any, ...], int], source: Path | str,
                  prefix: tuple[Any, ...]) -> BrandConfig:
    """One brand's settings, validated; `prefix` is where they sit in the file (for line numbers)."""
    source_dir = Path(source).resolve().parent if source != "<config>" else None
    try:
        config = BrandConfig.model_validate({**data, "source_dir": source_dir})
    except ValidationError as exc:
        raise ConfigError(source, [_describe({**dict(e), "loc": (*prefix, *e["loc"])}, lines)
                                   for e in exc.errors()]) from None
    if config.brand.issued_codes:
        path = config.resolve_path(config.brand.issued_codes)
        line = lines.get((*prefix, "brand", "issued_codes"))
        try:
            config._issued = load_issued_codes(path, config.distributors(), [p.sku for p in config.products])
        except CodesFileError as exc:
            where = f"line {line}" if line else "file"
            raise ConfigError(source, [f"brand.issued_codes ({where}): {path}: {p}" for p in exc.problems]
                              + ["correct those rows of the codes file; none of it was loaded"]) from None
    problems = []
    for index, market in enumerate(config.marketplaces):
        if market.cookie_file:
            line = lines.get((*prefix, "marketplaces", index, "cookie_file"))
            try:
                config._cookies[market.name] = load_cookies(config.resolve_path(market.cookie_file))
            except CookieFileError as exc:
                problems.append(f"marketplaces.{index}.cookie_file ({f'line {line}' if line else 'file'}): {exc}; "
                                "sign in to the marketplace by hand and export its cookies again")
    if problems:
        raise ConfigError(source, problems)
    return config


def load_config(path: Path | str, brand: str | None = None) -> BrandConfig:
    """One brand's configuration from `path`; `brand` picks one from a file listing several (or checks that a
    one-brand file is that brand's)."""
    configs = load_brands(path)
    if brand is None:
        if len(configs) > 1:
            raise ConfigError(path, [f"the file lists brands {', '.join(c.brand.name for c in configs)}; "
                                     "say which with --brand NAME"])
        return configs[0]
    for config in configs:
        if config.brand.name == brand:
            return config
    raise ConfigError(path, [f"no brand named '{brand}' here (it holds {', '.join(c.brand.name for c in configs)}); "
                             "check the name or pass the brand's own file"])


def load_brands(path: Path | str) -> list[BrandConfig]:
    """Every brand of a configuration file (see parse_brands)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found; pass the path of your brandpatrol.yaml"]) from None
    except UnicodeDecodeError:
        raise ConfigError(path, ["file is not UTF-8 text; save it as UTF-8"]) from None
    return parse_brands(text, path)
