"""One finding as the detail page shows it: the listing, its seller and product, price history, evidence, reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import Database
from core.models import (
    Finding,
    ListingImage,
    ListingSnapshot,
    Marketplace,
    Product,
    ReferenceImage,
    Review,
    ReviewDecision,
    Seller,
    Verdict,
    as_utc,
)
from core.money import to_decimal
from dashboard.data.common import reason_text, utc_opt
from dashboard.data.evidence import EvidenceInfo, evidence_infos
from dashboard.data.reviews import ReviewInfo
from matching.photos.draw import render_photo_reading

HISTORY_LIMIT = 1000  # newest snapshots shown on a detail page


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
    card_only: bool = False  # seen only on search cards: no item page stands behind it yet (issue #18)


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


def listing_detail(db: Database, finding_id: int, *, history_limit: int = HISTORY_LIMIT) -> ListingDetail | None:
    """Everything the detail page shows about one finding, or None when there is no such finding in the scope."""
    with db.read() as session:
        finding = db.scope.get(session, Finding, finding_id)
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
                created_at=as_utc(finding.created_at),
                updated_at=as_utc(finding.updated_at),
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
                first_seen=as_utc(listing.first_seen),
                last_seen=as_utc(listing.last_seen),
                gone=bool(listing.gone),
                gone_at=utc_opt(listing.gone_at),
                card_only=listing.card_only,
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
                    captured_at=as_utc(s.captured_at),
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
            evidence=evidence_infos(session, snapshots),
            reviews=[
                ReviewInfo(
                    id=r.id,
                    reviewer=r.reviewer,
                    decision=ReviewDecision(r.decision),
                    note=r.note,
                    created_at=as_utc(r.created_at),
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


def photo_readings(db: Database, finding_id: int) -> list[tuple[int, bytes]]:
    """(photo position, PNG with the boxes drawn) of each photo a finding's photo signals quote, words the reasons
    rest on in red; only photos that were read, from stored bytes (matching.photos.draw)."""
    with db.read() as session:
        signals: dict[str, Any] = session.scalar(db.scope.select(Finding, Finding.signals)
                                                 .where(Finding.id == finding_id)) or {}
    quoted: dict[str, set[str]] = {}
    positions: dict[str, int] = {}
    for name in ("photo.text", "text.counterfeit", "batch_code", "photo.codes"):
        evidence = (signals.get(name) or {}).get("evidence") or {}
        for photo in [evidence.get("photo"), *(evidence.get("photos") or [])]:
            if isinstance(photo, dict) and isinstance(photo.get("sha256"), str):
                positions.setdefault(photo["sha256"], int(photo.get("position") or 0))
                quoted.setdefault(photo["sha256"], set()).update(str(m[0]) for m in photo.get("matched") or [])
    out = []
    with db.read() as session:
        for sha, position in sorted(positions.items(), key=lambda kv: kv[1])[:6]:
            drawn = render_photo_reading(session, sha, quoted.get(sha, set()))
            if drawn is not None:
                out.append((position, drawn))
    return out
