"""The brand configuration (`brandpatrol.yaml`): one file per brand, validated before anything runs.

Errors name the field, the line in the file and the fix, because the operator who edits this file is not
necessarily the person who wrote it.

The brand, its products, sellers and rights are here; the parts live beside it (config_base: the error and the
strict model; config_marketplace; config_schedule: schedule and alerts; config_yaml: reading with line numbers),
and every name is importable from here.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from core.batchcodes import parse_batch_range
from core.codes import CodesFileError, IssuedCodes, gtin_problem, load_issued_codes
from core.config_base import ConfigError, CurrencyCode, CurrencyPair, Lang, Strict
from core.config_marketplace import SEARCH_URL_PLACEHOLDERS as SEARCH_URL_PLACEHOLDERS
from core.config_marketplace import FieldSelectors as FieldSelectors
from core.config_marketplace import Marketplace
from core.config_marketplace import search_url_problem as search_url_problem
from core.config_schedule import Alerts, Schedule
from core.config_schedule import cron_trigger as cron_trigger
from core.config_yaml import MAX_ALIAS_EXPANSION as MAX_ALIAS_EXPANSION
from core.config_yaml import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from core.config_yaml import AliasExpansionError as AliasExpansionError
from core.config_yaml import compose, describe
from core.cookies import Cookie, CookieFileError, load_cookies
from core.egress import parse_exemption
from core.regions import is_region_code


class PricePoint(Strict):
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


class ReferenceImage(Strict):
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


class Product(Strict):
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


class AuthorisedSeller(Strict):
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


class Thresholds(Strict):
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


class AllowedSeller(Strict):
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


class AllowList(Strict):
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


class Egress(Strict):
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


class Trademark(Strict):
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


class CopyrightWork(Strict):
    """A work a DMCA notice names (17 U.S.C. 512(c)(3)(A)(ii)), e.g. the brand's product photographs."""

    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=2000)
    registration: str | None = Field(None, max_length=64)
    url: str | None = Field(None, max_length=2048, description="where the original is published")


class RightsHolder(Strict):
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


class Privacy(Strict):
    """Seller personal data (PIPL / GDPR): how long contact details are kept, and whether exports carry them."""

    seller_contact_retention_days: int = Field(
        365, ge=1, le=36_500, description="seller contact details unseen for this long are removed"
    )
    redact_exports: bool = Field(True, description="leave seller contact details and addresses out of exports")


class Brand(Strict):
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


class BrandConfig(Strict):
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
    data, lines = compose(text, source)
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
        raise ConfigError(source, [describe({**dict(e), "loc": (*prefix, *e["loc"])}, lines)
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
