"""The brand catalogue in the database: brand, products, reference photos and marketplaces, synced from the config.

The YAML file is the source of truth; the database holds what matching and the dashboard read, including the
reference photos' hashes. A sync is idempotent: re-running it with unchanged files changes nothing, and a reference
file is hashed again only when its SHA-256 changed. A reference that cannot be read or hashed is reported with the
product, the reference id, the path and the fix, and never stops the others. Nothing is ever deleted: products and
references dropped from the config stay (findings may point at them) and are listed in the report; matching reads
only what the config still names.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import config as cfg
from core.db import Database
from core.images import DEFAULT_MAX_BYTES, HASH_VERSION, ImageRejected, hash_image
from core.models import Brand, ImageStatus, Marketplace, Product, ReferenceImage

URL_NOT_FETCHED = "not fetched: URL references arrive with the egress gate"


@dataclass
class CatalogueSyncReport:
    """What a sync did. `errors` are sentences an operator can act on; `ok` is False when there are any."""

    brand: str
    brand_created: bool = False
    brand_updated: bool = False
    products_created: list[str] = field(default_factory=list)
    products_updated: list[str] = field(default_factory=list)
    products_not_in_config: list[str] = field(default_factory=list)
    references_hashed: list[str] = field(default_factory=list)
    references_unchanged: list[str] = field(default_factory=list)
    references_skipped: list[str] = field(default_factory=list)  # URL references, for now
    references_failed: list[str] = field(default_factory=list)
    references_not_in_config: list[str] = field(default_factory=list)
    marketplaces_created: list[str] = field(default_factory=list)
    marketplaces_updated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return bool(
            self.brand_created or self.brand_updated or self.products_created or self.products_updated
            or self.references_hashed or self.marketplaces_created or self.marketplaces_updated
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "changed": self.changed}


def prices_json(product: cfg.Product) -> list[dict[str, str]]:
    """A product's price points as stored: Decimal amounts as strings, so JSON never rounds them."""
    return [{"currency": p.currency, "suggested": str(p.suggested), "floor": str(p.floor)} for p in product.prices]


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def sync_catalogue(db: Database, config: cfg.BrandConfig) -> CatalogueSyncReport:
    """Upsert the brand, its products, their reference photos (hashed) and the marketplaces from `config`."""
    report = CatalogueSyncReport(brand=config.brand.name)
    with db.session() as session:
        brand = _upsert_brand(session, config, report)
        existing = {p.sku: p for p in session.scalars(select(Product).where(Product.brand_id == brand.id))}
        for product_cfg in config.products:
            product = _upsert_product(session, brand, existing.get(product_cfg.sku), product_cfg, report)
            _sync_references(session, config, product, product_cfg, report)
        configured = {p.sku for p in config.products}
        report.products_not_in_config = sorted(set(existing) - configured)
        _upsert_marketplaces(session, config, report)
    if report.products_not_in_config:
        report.notes.append(
            f"products {', '.join(report.products_not_in_config)} are in the database but no longer in the "
            "config; they are kept for their findings and no longer matched"
        )
    return report


def _upsert_brand(session: Session, config: cfg.BrandConfig, report: CatalogueSyncReport) -> Brand:
    brand = session.scalar(select(Brand).where(Brand.name == config.brand.name))
    names = dict(config.brand.names)
    if brand is None:
        brand = Brand(name=config.brand.name, names=names)
        session.add(brand)
        session.flush()
        report.brand_created = True
    elif brand.names != names:
        brand.names = names
        report.brand_updated = True
    return brand


def _upsert_product(session: Session, brand: Brand, product: Product | None, product_cfg: cfg.Product,
                    report: CatalogueSyncReport) -> Product:
    wanted: dict[str, Any] = {
        "names": dict(product_cfg.names),
        "keywords": list(product_cfg.keywords),
        "prices": prices_json(product_cfg),
    }
    if product is None:
        product = Product(brand_id=brand.id, sku=product_cfg.sku, **wanted)
        session.add(product)
        session.flush()
        report.products_created.append(product_cfg.sku)
        return product
    changed = False
    for attr, value in wanted.items():
        if getattr(product, attr) != value:
            setattr(product, attr, value)
            changed = True
    if changed:
        report.products_updated.append(product_cfg.sku)
    return product


def _sync_references(session: Session, config: cfg.BrandConfig, product: Product, product_cfg: cfg.Product,
                     report: CatalogueSyncReport) -> None:
    stored = {r.ref_id: r for r in session.scalars(
        select(ReferenceImage).where(ReferenceImage.product_id == product.id)
    )}
    for ref_cfg in product_cfg.reference_images:
        label = f"{product_cfg.sku}/{ref_cfg.id}"
        row = stored.get(ref_cfg.id)
        if row is None:
            row = ReferenceImage(product_id=product.id, ref_id=ref_cfg.id, source=ref_cfg.path,
                                 status=ImageStatus.PENDING)
            session.add(row)
        elif row.source != ref_cfg.path:
            row.source = ref_cfg.path
        if is_url(ref_cfg.path):
            report.references_skipped.append(label)
            report.notes.append(f"{label} ({ref_cfg.path}): {URL_NOT_FETCHED}")
            continue
        _hash_reference_file(config, product_cfg.sku, ref_cfg, row, label, report)
    gone = sorted(set(stored) - {r.id for r in product_cfg.reference_images})
    report.references_not_in_config += [f"{product_cfg.sku}/{ref_id}" for ref_id in gone]


def reference_problems(config: cfg.BrandConfig) -> list[str]:
    """Every reference photo file the config names that sync_catalogue could not hash (missing, unreadable, too
    large, not a usable picture), each as a sentence with the product, the reference id, the path and the fix.

    What `brandpatrol check-config` adds to the schema's checks; it reads the files and touches no database.
    URL references are left to the sync.
    """
    problems: list[str] = []
    for product_cfg in config.products:
        for ref_cfg in product_cfg.reference_images:
            if is_url(ref_cfg.path):
                continue
            path = config.resolve_path(ref_cfg.path)
            where = _where(product_cfg.sku, ref_cfg, path)
            data = _read_reference(path, where, problems)
            if data is not None:
                try:
                    hash_image(data)
                except ImageRejected as exc:
                    problems.append(_rejected(where, exc))
    return problems


def _where(sku: str, ref_cfg: cfg.ReferenceImage, path: Path) -> str:
    return f"product {sku}, reference '{ref_cfg.id}', file {path}"


def _rejected(where: str, exc: ImageRejected) -> str:
    return (f"{where}: {exc.reason} ({exc.status.value}) — replace it with a clear JPEG, PNG, WebP or GIF "
            "photo of the product")


def _hash_reference_file(config: cfg.BrandConfig, sku: str, ref_cfg: cfg.ReferenceImage, row: ReferenceImage,
                         label: str, report: CatalogueSyncReport) -> None:
    path = config.resolve_path(ref_cfg.path)
    where = _where(sku, ref_cfg, path)
    data = _read_reference(path, where, report.errors)
    if data is None:
        _mark_failed(row, ImageStatus.FETCH_FAILED)
        report.references_failed.append(label)
        return
    sha256 = hashlib.sha256(data).hexdigest()
    if row.sha256 == sha256 and row.status == ImageStatus.OK and row.hash_version == HASH_VERSION:
        report.references_unchanged.append(label)
        return
    try:
        hashes = hash_image(data, thumbnail=True)
    except ImageRejected as exc:
        report.errors.append(_rejected(where, exc))
        _mark_failed(row, exc.status)
        report.references_failed.append(label)
        return
    row.sha256, row.phash, row.dhash, row.phash_mirror = sha256, hashes.phash, hashes.dhash, hashes.phash_mirror
    row.thumbnail, row.status, row.hash_version = hashes.thumbnail, ImageStatus.OK, HASH_VERSION
    report.references_hashed.append(label)


def _read_reference(path: Path, where: str, errors: list[str]) -> bytes | None:
    """The file's bytes, or None with the reason appended to `errors`."""
    fix = "fix the path in the config (it is relative to the config file) or put the file there"
    try:
        size = path.stat().st_size
        if size > DEFAULT_MAX_BYTES:
            errors.append(f"{where}: {size} bytes is over the {DEFAULT_MAX_BYTES}-byte cap — save a smaller copy")
            return None
        return path.read_bytes()
    except FileNotFoundError:
        errors.append(f"{where}: file not found — {fix}")
    except IsADirectoryError:
        errors.append(f"{where}: is a folder, not an image file — {fix}")
    except OSError as exc:
        errors.append(f"{where}: cannot be read ({exc.strerror or exc}) — check the file's permissions")
    return None


def _mark_failed(row: ReferenceImage, status: ImageStatus) -> None:
    # Hashes from an earlier good sync stay: a photo that went missing is still the brand's photo.
    if row.status != ImageStatus.OK:
        row.status = status


def _upsert_marketplaces(session: Session, config: cfg.BrandConfig, report: CatalogueSyncReport) -> None:
    existing = {m.name: m for m in session.scalars(select(Marketplace))}
    for market_cfg in config.marketplaces:
        market = existing.get(market_cfg.name)
        if market is None:
            session.add(Marketplace(name=market_cfg.name, base_url=market_cfg.base_url))
            report.marketplaces_created.append(market_cfg.name)
        elif market_cfg.base_url is not None and market.base_url != market_cfg.base_url:
            market.base_url = market_cfg.base_url
            report.marketplaces_updated.append(market_cfg.name)
