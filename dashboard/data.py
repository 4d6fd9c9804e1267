"""Every database read and write of the dashboard, as plain dataclasses (no Streamlit, no ORM objects out).

Reads run in `Database.read()` (short, never takes SQLite's write lock); writes in `Database.session()` (one
transaction each). Pagination happens in SQL, so the queue costs the same with ten findings or ten million.
Scraped values (titles, seller names, reasons, URLs) pass through unchanged: showing them as text is the UI's
job.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from core.db import Database
from core.images import sniff_media_type
from core.models import (
    SUSPECT_VERDICTS,
    AuditLog,
    CrawlRun,
    Evidence,
    Finding,
    Listing,
    ListingImage,
    ListingSnapshot,
    Marketplace,
    Product,
    ReferenceImage,
    Review,
    ReviewDecision,
    RunStatus,
    Seller,
    Verdict,
)
from core.money import to_decimal
from core.text import NAME_MAX, clean_line, clean_text

MAX_PAGE_SIZE = 200
NOTE_MAX = 4000
REGION_FILTER_MAX = 6  # ISO 3166-2 codes are at most 6 characters (CN-GD, US-CA)
SELLER_FILTER_MAX = 100
HISTORY_LIMIT = 1000  # newest snapshots shown on a detail page
EVIDENCE_MAX_BYTES = 32 * 1024 * 1024  # cap on decompressed evidence handed to a browser
SCREENSHOT_TYPES = ("image/png", "image/jpeg")
_SHA256 = re.compile(r"[0-9a-f]{64}")

# The audit action of each decision, e.g. "review.confirm".
REVIEW_ACTIONS: dict[ReviewDecision, str] = {
    ReviewDecision.CONFIRMED: "review.confirm",
    ReviewDecision.DISMISSED: "review.dismiss",
    ReviewDecision.ESCALATED: "review.escalate",
}


# ----------------------------------------------------------------------------------------------------
# Result types


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
class ReviewResult:
    decision: ReviewDecision
    reviewed: list[int]  # finding ids that got this review
    skipped: list[int]  # already reviewed by someone (and no override asked)
    missing: list[int] = field(default_factory=list)  # no such finding


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    reviewer: str
    decision: ReviewDecision
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class PriceBand:
    """A product's suggested price and floor in one currency (either may be unknown)."""

    currency: str
    suggested: Decimal | None
    floor: Decimal | None


@dataclass(frozen=True)
class ProductInfo:
    id: int
    sku: str
    name: str | None
    prices: list[PriceBand]

    def band(self, currency: str | None) -> PriceBand | None:
        return next((b for b in self.prices if currency and b.currency == currency.upper()), None)


@dataclass(frozen=True)
class SellerInfo:
    id: int
    name: str
    external_id: str | None
    location_text: str | None
    country: str | None
    region: str | None


@dataclass(frozen=True)
class ListingInfo:
    id: int
    marketplace: str
    external_id: str
    url: str  # shown as text only, never fetched or linked
    title: str
    price: Decimal | None
    price_high: Decimal | None
    currency: str | None
    location_text: str | None
    country: str | None
    region: str | None
    first_seen: datetime
    last_seen: datetime
    gone: bool
    gone_at: datetime | None


@dataclass(frozen=True)
class PricePoint:
    captured_at: datetime
    price: Decimal | None
    price_high: Decimal | None
    currency: str | None
    title: str
    stock: int | None
    sales: int | None
    crawl_run_id: int | None


@dataclass(frozen=True)
class EvidenceInfo:
    """Metadata of one captured file; its bytes come from `evidence_content` only when asked for."""

    sha256: str
    kind: str
    media_type: str
    encoding: str
    size: int
    captured_at: datetime
    snapshot_captured_at: datetime


@dataclass(frozen=True)
class EvidenceContent:
    sha256: str
    kind: str
    media_type: str
    data: bytes  # decompressed
    verified: bool  # SHA-256 of `data` equals the stored address
    truncated: bool  # larger than the cap; `data` is its first part

    @property
    def is_picture(self) -> bool:
        """A PNG or JPEG screenshot whose bytes are what its recorded media type says."""
        return self.media_type in SCREENSHOT_TYPES and sniff_media_type(self.data) == self.media_type


@dataclass(frozen=True)
class FindingInfo:
    id: int
    verdict: Verdict
    score: float
    reasons: list[str]
    rule_set_version: str
    image_distance: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ListingDetail:
    finding: FindingInfo
    listing: ListingInfo
    seller: SellerInfo | None
    product: ProductInfo | None
    listing_thumbnail: bytes | None  # stored thumbnail bytes only; image URLs are never read
    reference_thumbnail: bytes | None
    reference_ref_id: str | None
    price_history: list[PricePoint]  # oldest first
    evidence: list[EvidenceInfo]  # newest first
    reviews: list[ReviewInfo]  # oldest first

    @property
    def latest_review(self) -> ReviewInfo | None:
        return self.reviews[-1] if self.reviews else None


@dataclass(frozen=True)
class RunRow:
    id: int
    marketplace: str | None
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    pages: int
    items: int
    drops: int
    errors: int
    drop_detail: dict[str, Any]
    error_detail: dict[str, Any]


# ----------------------------------------------------------------------------------------------------
# Helpers


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything the models store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def reason_text(reason: object) -> str:
    """One reason as a sentence: matching stores strings, but tolerate {"text": ...} dicts."""
    if isinstance(reason, dict):
        for key in ("text", "message", "reason"):
            if isinstance(reason.get(key), str):
                return str(reason[key])
    return str(reason)


def _count_total(counts: object) -> int:
    """Sum of a {reason: count} map; entries that are not counts each count once."""
    if not isinstance(counts, dict):
        return 0
    return sum(v if isinstance(v, int) and not isinstance(v, bool) else 1 for v in counts.values())


def _unique_ids(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))


# ----------------------------------------------------------------------------------------------------
# Review queue


def _queue_where(filters: QueueFilters, *, with_verdicts: bool = True) -> list[ColumnElement[bool]]:
    verdicts = SUSPECT_VERDICTS
    if with_verdicts and filters.verdicts:
        verdicts = filters.verdicts & SUSPECT_VERDICTS  # the queue never shows ok/unrelated findings
    where: list[ColumnElement[bool]] = [
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
        .where(*_queue_where(filters, with_verdicts=False))
        .group_by(Finding.verdict)
    )
    counts = {v: 0 for v in sorted(SUSPECT_VERDICTS)}
    with db.read() as session:
        for verdict, count in session.execute(stmt):
            counts[Verdict(verdict)] = int(count)
    return counts


def _queue_select(filters: QueueFilters) -> Select[Any]:
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
        .where(*_queue_where(filters))
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
        .where(*_queue_where(filters))
    )
    with db.read() as session:
        if total is None:
            total = int(session.scalar(count_stmt) or 0)
        pages = max(1, -(-total // page_size))
        page = max(1, min(int(page), pages))
        stmt = (
            _queue_select(filters)
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
                created_at=_utc(r[5]),
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


@dataclass(frozen=True)
class ProductOption:
    id: int
    label: str  # "SKU · English name" (our own configured text, not scraped)


def products(db: Database) -> list[ProductOption]:
    """All products, by SKU, for the queue's product filter."""
    with db.read() as session:
        rows = session.execute(select(Product.id, Product.sku, Product.names).order_by(Product.sku)).all()
    options = []
    for product_id, sku, names in rows:
        english = names.get("en") if isinstance(names, dict) else None
        options.append(ProductOption(id=int(str(product_id)),
                                     label=clean_line(f"{sku} · {english or ''}".rstrip(" ·"), NAME_MAX)))
    return options


# ----------------------------------------------------------------------------------------------------
# Reviews


def review(
    db: Database,
    finding_ids: Iterable[int],
    decision: ReviewDecision | str,
    reviewer: str,
    note: str | None = None,
    *,
    override: bool = False,
) -> ReviewResult:
    """Record one decision on each finding, with an audit-log row each, all in one transaction.

    A finding that already has a review is skipped (and reported) unless `override` is set, so two analysts
    working the same queue never silently overwrite each other; the override is itself audited with the
    decision it replaces. Raises ValueError for an empty reviewer name or an unknown decision.
    """
    decision = ReviewDecision(decision)
    reviewer = clean_line(reviewer, NAME_MAX)
    if not reviewer:
        raise ValueError("a review needs the reviewer's name")
    note = clean_text(note or "", NOTE_MAX) or None
    ids = _unique_ids(finding_ids)
    if not ids:
        return ReviewResult(decision=decision, reviewed=[], skipped=[])
    action = REVIEW_ACTIONS[decision]
    with db.session() as session:
        # FOR UPDATE serialises concurrent reviewers on PostgreSQL; SQLite's BEGIN IMMEDIATE already does.
        found = set(session.scalars(select(Finding.id).where(Finding.id.in_(ids)).with_for_update()))
        previous = _latest_decisions(session, found)
        reviewed: list[int] = []
        skipped: list[int] = []
        for finding_id in ids:
            if finding_id not in found:
                continue
            if finding_id in previous and not override:
                skipped.append(finding_id)
                continue
            session.add(Review(finding_id=finding_id, reviewer=reviewer, decision=decision, note=note))
            detail: dict[str, Any] = {"note": note, "decision": decision.value}
            if finding_id in previous:
                detail["replaces"] = previous[finding_id].value
            session.add(
                AuditLog(
                    actor=reviewer,
                    action=action,
                    object_type="finding",
                    object_id=str(finding_id),
                    detail=detail,
                )
            )
            reviewed.append(finding_id)
    missing = [i for i in ids if i not in found]
    return ReviewResult(decision=decision, reviewed=reviewed, skipped=skipped, missing=missing)


def _latest_decisions(session: Session, finding_ids: set[int]) -> dict[int, ReviewDecision]:
    if not finding_ids:
        return {}
    rows = session.execute(
        select(Review.finding_id, Review.decision)
        .where(Review.finding_id.in_(sorted(finding_ids)))
        .order_by(Review.created_at, Review.id)
    )
    return {fid: ReviewDecision(dec) for fid, dec in rows}  # later rows win: the latest decision


# ----------------------------------------------------------------------------------------------------
# Listing detail


def listing_detail(db: Database, finding_id: int, *, history_limit: int = HISTORY_LIMIT) -> ListingDetail | None:
    """Everything the detail page shows about one finding, or None when there is no such finding."""
    with db.read() as session:
        finding = session.get(Finding, finding_id)
        if finding is None:
            return None
        listing = finding.listing
        marketplace_name = session.scalar(select(Marketplace.name).where(Marketplace.id == listing.marketplace_id))
        seller = session.get(Seller, listing.seller_id) if listing.seller_id is not None else None
        product = session.get(Product, finding.product_id) if finding.product_id is not None else None
        reference = (
            session.get(ReferenceImage, finding.matched_reference_id)
            if finding.matched_reference_id is not None
            else None
        )
        snapshots = list(
            session.scalars(
                select(ListingSnapshot)
                .where(ListingSnapshot.listing_id == listing.id)
                .order_by(ListingSnapshot.captured_at.desc(), ListingSnapshot.id.desc())
                .limit(history_limit)
            )
        )
        reviews = list(
            session.scalars(
                select(Review).where(Review.finding_id == finding.id).order_by(Review.created_at, Review.id)
            )
        )
        return ListingDetail(
            finding=FindingInfo(
                id=finding.id,
                verdict=Verdict(finding.verdict),
                score=float(finding.score),
                reasons=[reason_text(r) for r in (finding.reasons or [])],
                rule_set_version=finding.rule_set_version,
                image_distance=finding.image_distance,
                created_at=_utc(finding.created_at),
                updated_at=_utc(finding.updated_at),
            ),
            listing=ListingInfo(
                id=listing.id,
                marketplace=marketplace_name or "",
                external_id=listing.external_id,
                url=listing.url,
                title=listing.title,
                price=listing.price,
                price_high=listing.price_high,
                currency=listing.currency,
                location_text=listing.location_text,
                country=listing.country,
                region=listing.region,
                first_seen=_utc(listing.first_seen),
                last_seen=_utc(listing.last_seen),
                gone=bool(listing.gone),
                gone_at=_utc_opt(listing.gone_at),
            ),
            seller=None
            if seller is None
            else SellerInfo(
                id=seller.id,
                name=seller.name,
                external_id=seller.external_id,
                location_text=seller.location_text,
                country=seller.country,
                region=seller.region,
            ),
            product=None if product is None else _product_info(product),
            listing_thumbnail=_listing_thumbnail(session, listing.id, finding.matched_image_id),
            reference_thumbnail=reference.thumbnail if reference is not None else None,
            reference_ref_id=reference.ref_id if reference is not None else None,
            price_history=[
                PricePoint(
                    captured_at=_utc(s.captured_at),
                    price=s.price,
                    price_high=s.price_high,
                    currency=s.currency,
                    title=s.title,
                    stock=s.stock,
                    sales=s.sales,
                    crawl_run_id=s.crawl_run_id,
                )
                for s in reversed(snapshots)
            ],
            evidence=_evidence_infos(session, snapshots),
            reviews=[
                ReviewInfo(
                    id=r.id,
                    reviewer=r.reviewer,
                    decision=ReviewDecision(r.decision),
                    note=r.note,
                    created_at=_utc(r.created_at),
                )
                for r in reviews
            ],
        )


def _product_info(product: Product) -> ProductInfo:
    bands: list[PriceBand] = []
    for entry in product.prices or []:
        if isinstance(entry, dict) and isinstance(entry.get("currency"), str):
            bands.append(
                PriceBand(
                    currency=entry["currency"].upper(),
                    suggested=to_decimal(entry.get("suggested")),
                    floor=to_decimal(entry.get("floor")),
                )
            )
    names = product.names or {}
    name = names.get("en") or next((v for v in names.values() if isinstance(v, str) and v), None)
    return ProductInfo(id=product.id, sku=product.sku, name=name if isinstance(name, str) else None, prices=bands)


def _listing_thumbnail(session: Session, listing_id: int, matched_image_id: int | None) -> bytes | None:
    """The matched listing image's stored thumbnail, else the first stored one (only the bytes column)."""
    if matched_image_id is not None:
        thumb = session.scalar(
            select(ListingImage.thumbnail).where(
                ListingImage.id == matched_image_id, ListingImage.listing_id == listing_id
            )
        )
        if thumb:
            return thumb
    return session.scalar(
        select(ListingImage.thumbnail)
        .where(ListingImage.listing_id == listing_id, ListingImage.thumbnail.is_not(None))
        .order_by(ListingImage.position, ListingImage.id)
        .limit(1)
    )


def _evidence_infos(session: Session, snapshots: Sequence[ListingSnapshot]) -> list[EvidenceInfo]:
    owners: dict[str, datetime] = {}  # evidence sha -> newest snapshot that captured it
    for snap in snapshots:  # newest first
        for sha in (snap.screenshot_sha256, snap.html_sha256):
            if sha and sha not in owners:
                owners[sha] = _utc(snap.captured_at)
    if not owners:
        return []
    # Metadata columns only: the content stays in the database until someone asks for it.
    rows = session.execute(
        select(
            Evidence.sha256,
            Evidence.kind,
            Evidence.media_type,
            Evidence.encoding,
            Evidence.size,
            Evidence.captured_at,
        ).where(Evidence.sha256.in_(sorted(owners)))
    )
    infos = [
        EvidenceInfo(
            sha256=sha,
            kind=kind,
            media_type=media_type,
            encoding=encoding,
            size=int(size),
            captured_at=_utc(captured_at),
            snapshot_captured_at=owners[sha],
        )
        for sha, kind, media_type, encoding, size, captured_at in rows
    ]
    infos.sort(key=lambda e: (e.snapshot_captured_at, e.kind), reverse=True)
    return infos


def evidence_content(db: Database, sha256: str, *, max_bytes: int = EVIDENCE_MAX_BYTES) -> EvidenceContent | None:
    """The decompressed bytes of one evidence file, checked against its SHA-256; None when unknown.

    Decompression stops at `max_bytes` so a hostile page stored gzip'd cannot balloon in the dashboard.
    """
    if not _SHA256.fullmatch(sha256 or ""):
        return None
    with db.read() as session:
        evidence = session.get(Evidence, sha256)
        if evidence is None:
            return None
        kind, media_type, encoding, raw = (
            evidence.kind,
            evidence.media_type,
            evidence.encoding,
            evidence.content,
        )
    truncated = False
    if encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(raw, max_bytes)
            truncated = bool(inflater.unconsumed_tail)
        except zlib.error:
            data, truncated = b"", True
    else:
        data = raw[:max_bytes]
        truncated = len(raw) > max_bytes
    verified = not truncated and hashlib.sha256(data).hexdigest() == sha256
    return EvidenceContent(
        sha256=sha256, kind=kind, media_type=media_type, data=data, verified=verified, truncated=truncated
    )


# ----------------------------------------------------------------------------------------------------
# Crawl runs


def recent_runs(db: Database, limit: int = 50) -> list[RunRow]:
    """The newest crawl runs first."""
    limit = max(1, min(int(limit), 1000))
    stmt = (
        select(CrawlRun, Marketplace.name)
        .outerjoin(Marketplace, Marketplace.id == CrawlRun.marketplace_id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    with db.read() as session:
        return [
            RunRow(
                id=run.id,
                marketplace=name,
                status=RunStatus(run.status),
                started_at=_utc(run.started_at),
                finished_at=_utc_opt(run.finished_at),
                pages=run.pages or 0,
                items=run.items or 0,
                drops=_count_total(run.drops),
                errors=_count_total(run.errors),
                drop_detail=dict(run.drops or {}),
                error_detail=dict(run.errors or {}),
            )
            for run, name in session.execute(stmt)
        ]
