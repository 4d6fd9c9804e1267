"""The review queue: unreviewed suspect findings under the analyst's filters, counted per verdict and paged in SQL.

Also the marketplace and product options the filters pick from (the takedown desk reuses the marketplace list).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select

from core.db import Database
from core.models import SUSPECT_VERDICTS, Finding, Listing, Marketplace, Product, Review, Seller, Verdict, as_utc
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


def _queue_where(scope: BrandScope, filters: QueueFilters, *, with_verdicts: bool = True) -> list[ColumnElement[bool]]:
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


def queue_counts(db: Database, filters: QueueFilters | None = None) -> dict[Verdict, int]:
    """Unreviewed suspect findings per verdict under the marketplace / score / gone filters.

    The verdict filter is ignored on purpose: the counts are the overview an analyst picks a verdict from.
    Every suspect verdict is present in the result, with 0 where there are none.
    """
    filters = filters or QueueFilters()
    stmt = (
        select(Finding.verdict, func.count())
        .join(Listing, Listing.id == Finding.listing_id)
        .where(*_queue_where(db.scope, filters, with_verdicts=False))
        .group_by(Finding.verdict)
    )
    counts = {v: 0 for v in sorted(SUSPECT_VERDICTS)}
    with db.read() as session:
        for verdict, count in session.execute(stmt):
            counts[Verdict(verdict)] = int(count)
    return counts


def _queue_select(scope: BrandScope, filters: QueueFilters) -> Select[Any]:
    return (
        select(
            Finding.id,
            Finding.listing_id,
            Finding.score,
            Finding.verdict,
            Finding.reasons,
            Finding.created_at,
            Listing.title,
            Listing.price,
            Listing.price_high,
            Listing.currency,
            Listing.region,
            Listing.country,
            Listing.location_text,
            Listing.gone,
            Marketplace.name,
            Seller.name,
            Seller.region,
            Seller.country,
        )
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(*_queue_where(scope, filters))
    )


def queue_total(counts: dict[Verdict, int], filters: QueueFilters) -> int:
    """The queue's length under `filters`, from queue_counts() of the same filters (saves a second count)."""
    wanted = (filters.verdicts & SUSPECT_VERDICTS) if filters.verdicts else SUSPECT_VERDICTS
    return sum(n for verdict, n in counts.items() if verdict in wanted)


def queue_page(db: Database, filters: QueueFilters | None = None, page: int = 1, page_size: int = 50,
               *, total: int | None = None) -> QueuePage:
    """One page (1-based) of unreviewed suspect findings, highest score first (ties: oldest finding first).

    `page` past the end is clamped to the last page; `page_size` is capped at MAX_PAGE_SIZE. `total` may be
    passed from queue_total() when the counts were just taken, so the queue is counted once per render.
    """
    filters = filters or QueueFilters()
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    count_stmt = (
        select(func.count())
        .select_from(Finding)
        .join(Listing, Listing.id == Finding.listing_id)
        .where(*_queue_where(db.scope, filters))
    )
    with db.read() as session:
        if total is None:
            total = int(session.scalar(count_stmt) or 0)
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        stmt = (
            _queue_select(db.scope, filters)
            .order_by(Finding.score.desc(), Finding.id.asc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        rows = [
            QueueRow(
                finding_id=r[0],
                listing_id=r[1],
                score=float(r[2]),
                verdict=Verdict(r[3]),
                first_reason=reason_text(r[4][0]) if isinstance(r[4], list) and r[4] else None,
                created_at=as_utc(r[5]),
                title=r[6],
                price=r[7],
                price_high=r[8],
                currency=r[9],
                ship_from=r[10] or r[11] or r[16] or r[17] or r[12],
                gone=bool(r[13]),
                marketplace=r[14],
                seller=r[15],
            )
            for r in session.execute(stmt)
        ]
    return QueuePage(rows=rows, total=total, page=page, page_size=page_size)


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
