"""The review queue: unreviewed suspect findings under the analyst's filters, counted per verdict and paged in SQL.

Also the stored thumbnails of a page's rows (the listing's photo and the reference it matched), and the marketplace
and product options the filters pick from (the takedown desk reuses the marketplace list).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from core.db import Database
from core.models import (
    SUSPECT_VERDICTS,
    Finding,
    Listing,
    ListingImage,
    Marketplace,
    Product,
    ReferenceImage,
    Review,
    Seller,
    Verdict,
    as_utc,
)
from core.scope import BrandScope
from core.text import NAME_MAX, clean_line
from dashboard.data.common import reason_text

MAX_PAGE_SIZE = 200
REGION_FILTER_MAX = 6  # ISO 3166-2 codes are at most 6 characters (CN-GD, US-CA)
SELLER_FILTER_MAX = 100


@dataclass(frozen=True)
class QueueFilters:
    """What the review queue shows. Empty `verdicts` or `marketplace_ids` means all of them."""

    verdicts: frozenset[Verdict] = frozenset()
    marketplace_ids: frozenset[int] = frozenset()
    min_score: float = 0.0
    include_gone: bool = True
    product_ids: frozenset[int] = frozenset()
    region: str = ""  # ISO 3166: "CN" matches CN and CN-GD; "CN-GD" only that subdivision
    seller: str = ""  # part of the seller's name, case-insensitive
    since: date | None = None  # findings created on or after this day (UTC)
    until: date | None = None  # findings created on or before this day (UTC)


@dataclass(frozen=True)
class QueueRow:
    finding_id: int
    listing_id: int
    score: float
    verdict: Verdict
    title: str
    price: Decimal | None
    price_high: Decimal | None
    currency: str | None
    seller: str | None
    ship_from: str | None  # ISO 3166 code (CN-GD, DE) where known, else the location as written
    marketplace: str
    first_reason: str | None
    gone: bool
    created_at: datetime
    seller_id: int | None = None
    cluster_id: int | None = None  # the seller's network of shops, if any
    product_id: int | None = None
    # Stored thumbnail bytes (never a scraped URL), filled by queue_page(..., thumbnails=True): the matched listing
    # photo (else its first kept one) and the reference photo it matched.
    photo: bytes | None = None
    reference_photo: bytes | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int  # 1-based, clamped to the last page
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class MarketplaceOption:
    id: int
    name: str


@dataclass(frozen=True)
class ProductOption:
    id: int
    label: str  # "SKU · English name" (our own configured text, not scraped)


def queue_where(scope: BrandScope, filters: QueueFilters, *, with_verdicts: bool = True) -> list[ColumnElement[bool]]:
    """The conditions of the queue under `filters` (unreviewed suspect findings of the scope's brands), over Finding
    joined to Listing when they read it (see with_listing, which must know every filter that reads Listing)."""
    verdicts = SUSPECT_VERDICTS
    if with_verdicts and filters.verdicts:
        verdicts = filters.verdicts & SUSPECT_VERDICTS  # the queue never shows ok/unrelated findings
    where: list[ColumnElement[bool]] = [
        scope.clause(Finding),
        Finding.verdict.in_(sorted(verdicts)),
        ~exists().where(Review.finding_id == Finding.id),
    ]
    if filters.marketplace_ids:
        where.append(Listing.marketplace_id.in_(sorted(filters.marketplace_ids)))
    if filters.min_score > 0:
        where.append(Finding.score >= filters.min_score)
    if not filters.include_gone:
        where.append(Listing.gone.is_(False))
    if filters.product_ids:
        where.append(Finding.product_id.in_(sorted(filters.product_ids)))
    region = filters.region.strip().upper()[:REGION_FILTER_MAX]
    if region:
        where.append(or_(Listing.region == region, Listing.region.startswith(region + "-", autoescape=True),
                         Listing.country == region))
    seller = filters.seller.strip()[:SELLER_FILTER_MAX]
    if seller:
        where.append(Listing.seller_id.in_(select(Seller.id).where(Seller.name.icontains(seller, autoescape=True))))
    if filters.since is not None:
        where.append(Finding.created_at >= datetime.combine(filters.since, time.min, tzinfo=UTC))
    if filters.until is not None:
        where.append(Finding.created_at < datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=UTC))
    return where


AnySelect = TypeVar("AnySelect", bound=Select)  # any number of columns (Select is variadic)


def with_listing(stmt: AnySelect, filters: QueueFilters) -> AnySelect:
    """`stmt` over Finding, joined to Listing when the filters read it (a marketplace, gone listings, a region or a
    seller): the queue's default view then counts and sorts findings alone, a third faster at 100,000."""
    uses_listing = (filters.marketplace_ids or not filters.include_gone or filters.region.strip()
                    or filters.seller.strip())
    return stmt.join(Listing, Listing.id == Finding.listing_id) if uses_listing else stmt


def queue_counts(db: Database, filters: QueueFilters | None = None) -> dict[Verdict, int]:
    """Unreviewed suspect findings per verdict under the marketplace / score / gone filters.

    The verdict filter is ignored on purpose: the counts are the overview an analyst picks a verdict from.
    Every suspect verdict is present in the result, with 0 where there are none.
    """
    filters = filters or QueueFilters()
    stmt = (
        with_listing(select(Finding.verdict, func.count()).select_from(Finding), filters)
        .where(*queue_where(db.scope, filters, with_verdicts=False))
        .group_by(Finding.verdict)
    )
    counts = {v: 0 for v in sorted(SUSPECT_VERDICTS)}
    with db.read() as session:
        for verdict, count in session.execute(stmt):
            counts[Verdict(str(verdict))] = int(str(count))
    return counts


def _queue_select(scope: BrandScope, filters: QueueFilters) -> Select[Any]:
    """Every column a queue row shows, for the findings under `filters`."""
    return _queue_columns().where(*queue_where(scope, filters))


def _queue_columns() -> Select[Any]:
    return (
        select(
            Finding.id.label("finding_id"),
            Finding.listing_id,
            Finding.score,
            Finding.verdict,
            Finding.reasons,
            Finding.created_at,
            Finding.product_id,
            Finding.matched_image_id,
            Finding.matched_reference_id,
            Listing.title,
            Listing.price,
            Listing.price_high,
            Listing.currency,
            Listing.region.label("listing_region"),
            Listing.country.label("listing_country"),
            Listing.location_text,
            Listing.gone,
            Marketplace.name.label("marketplace"),
            Listing.seller_id,
            Seller.name.label("seller"),
            Seller.region.label("seller_region"),
            Seller.country.label("seller_country"),
            Seller.cluster_id,
        )
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
    )


def ship_from(row: Row[Any]) -> str | None:
    """Where a listing ships from, for the queue: the listing's ISO 3166 code, else its seller's, else the place
    as written."""
    return (row.listing_region or row.listing_country or row.seller_region or row.seller_country
            or row.location_text)


def queue_total(counts: dict[Verdict, int], filters: QueueFilters) -> int:
    """The queue's length under `filters`, from queue_counts() of the same filters (saves a second count)."""
    wanted = (filters.verdicts & SUSPECT_VERDICTS) if filters.verdicts else SUSPECT_VERDICTS
    return sum(n for verdict, n in counts.items() if verdict in wanted)


def queue_page(db: Database, filters: QueueFilters | None = None, page: int = 1, page_size: int = 50,
               *, total: int | None = None, thumbnails: bool = False) -> QueuePage:
    """One page (1-based) of unreviewed suspect findings, highest score first (ties: oldest finding first).

    `page` past the end is clamped to the last page; `page_size` is capped at MAX_PAGE_SIZE. `total` may be
    passed from queue_total() when the counts were just taken, so the queue is counted once per render. With
    `thumbnails`, each row carries its stored thumbnails (two more queries for the page, whatever its size).
    """
    filters = filters or QueueFilters()
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    count_stmt = (with_listing(select(func.count()).select_from(Finding), filters)
                  .where(*queue_where(db.scope, filters)))
    with db.read() as session:
        if total is None:
            total = int(session.scalar(count_stmt) or 0)
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        # The page's ids first, sorted over the narrow rows, then the wide columns of those ids only: sorting
        # every queued finding with its title and reasons attached cost a third more at 100,000 findings.
        page_ids = list(session.scalars(
            with_listing(select(Finding.id), filters)
            .where(*queue_where(db.scope, filters))
            .order_by(Finding.score.desc(), Finding.id.asc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ))
        position = {finding_id: i for i, finding_id in enumerate(page_ids)}
        raw = sorted(session.execute(_queue_columns().where(Finding.id.in_(page_ids))) if page_ids else [],
                     key=lambda r: position[r.finding_id])
        rows = [_queue_row(r) for r in raw]
        if thumbnails and rows:
            rows = _with_thumbnails(session, rows, raw)
    return QueuePage(rows=rows, total=total, page=page, page_size=page_size)


def _queue_row(r: Row[Any]) -> QueueRow:
    return QueueRow(
        finding_id=r.finding_id,
        listing_id=r.listing_id,
        score=float(r.score),
        verdict=Verdict(r.verdict),
        first_reason=reason_text(r.reasons[0]) if isinstance(r.reasons, list) and r.reasons else None,
        created_at=as_utc(r.created_at),
        title=r.title,
        price=r.price,
        price_high=r.price_high,
        currency=r.currency,
        ship_from=ship_from(r),
        gone=bool(r.gone),
        marketplace=r.marketplace,
        seller=r.seller,
        seller_id=r.seller_id,
        cluster_id=r.cluster_id,
        product_id=r.product_id,
    )


def _with_thumbnails(session: Session, rows: list[QueueRow], raw: list[Row[Any]]) -> list[QueueRow]:
    """The rows with their listing and reference thumbnails, read in two queries for the whole page."""
    matched = {r.finding_id: r.matched_image_id for r in raw}
    references = {r.finding_id: r.matched_reference_id for r in raw}
    listing_ids = [row.listing_id for row in rows]
    image_ids = sorted({i for i in matched.values() if i is not None})
    # The matched photo where it has a thumbnail, else the listing's first photo with one.
    first = (select(ListingImage.listing_id, func.min(ListingImage.position).label("position"))
             .where(ListingImage.listing_id.in_(listing_ids), ListingImage.thumbnail.is_not(None))
             .group_by(ListingImage.listing_id).subquery())
    by_image: dict[int, bytes] = {}
    first_photo: dict[int, bytes] = {}
    photo_rows = session.execute(
        select(ListingImage.id, ListingImage.listing_id, ListingImage.thumbnail, first.c.position.is_not(None))
        .outerjoin(first, and_(first.c.listing_id == ListingImage.listing_id,
                               first.c.position == ListingImage.position))
        .where(ListingImage.listing_id.in_(listing_ids), ListingImage.thumbnail.is_not(None),
               or_(ListingImage.id.in_(image_ids), first.c.position.is_not(None))))
    for image_id, listing_id, thumbnail, is_first in photo_rows:
        if thumbnail is None:
            continue
        by_image[image_id] = thumbnail
        if is_first:
            first_photo.setdefault(listing_id, thumbnail)
    reference_ids = sorted({i for i in references.values() if i is not None})
    reference_photos: dict[int, bytes] = {}
    if reference_ids:
        reference_photos = {ref_id: thumbnail for ref_id, thumbnail in session.execute(
            select(ReferenceImage.id, ReferenceImage.thumbnail)
            .where(ReferenceImage.id.in_(reference_ids), ReferenceImage.thumbnail.is_not(None))) if thumbnail}
    out = []
    for row in rows:
        image_id, reference_id = matched[row.finding_id], references[row.finding_id]
        photo = by_image.get(image_id) if image_id is not None else None
        out.append(replace(row, photo=photo or first_photo.get(row.listing_id),
                           reference_photo=reference_photos.get(reference_id) if reference_id else None))
    return out


def marketplaces(db: Database) -> list[MarketplaceOption]:
    """All marketplaces, by name, for filter pickers."""
    with db.read() as session:
        rows = session.execute(select(Marketplace.id, Marketplace.name).order_by(Marketplace.name))
        return [MarketplaceOption(id=i, name=n) for i, n in rows]


def products(db: Database) -> list[ProductOption]:
    """The scope's products, by SKU, for the queue's product filter."""
    with db.read() as session:
        rows = session.execute(db.scope.select(Product, Product.id, Product.sku, Product.names)
                               .order_by(Product.sku)).all()
    options = []
    for product_id, sku, names in rows:
        english = names.get("en") if isinstance(names, dict) else None
        options.append(ProductOption(id=int(str(product_id)),
                                     label=clean_line(f"{sku} · {english or ''}".rstrip(" ·"), NAME_MAX)))
    return options
