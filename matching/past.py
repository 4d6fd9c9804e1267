"""What matching looks up about the past before it judges a batch: reviewers' decisions and takedowns.

- Seller records: how many findings on each seller's other listings reviewers confirmed (the latest review of a
  finding decides), with a few of those listings' ids.
- Taken-down listings: listings that went gone after a confirmed finding or a filed notice. A listing brings one
  back when it shares a photo with it (identical bytes, or pHash and dHash both within the image threshold), or
  when the same seller sells the same product in a listing first seen after the taken-down one. Photos that
  match one of the brand's reference photos are left out of the photo comparison: everyone shows the brand's
  photos, so sharing one ties nothing together. Relistings recorded by the removal checks (the `relisting`
  table) are read too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.models import (
    Finding,
    ImageStatus,
    Listing,
    ListingImage,
    Marketplace,
    Notice,
    NoticeListing,
    NoticeStatus,
    Product,
    Relisting,
    Review,
    ReviewDecision,
)
from core.reviews import latest_decisions_by_listing
from matching.facts import SellerRecord, TakenDown
from matching.references import ReferenceIndex, hash_int

EXAMPLES = 3
LOOKUP_CHUNK = 500


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start:start + LOOKUP_CHUNK]


def confirmed_listing_ids(session: Session, listing_ids: Sequence[int] | None = None) -> set[int]:
    """Listings whose finding's latest review confirmed it (among `listing_ids`, or all)."""
    latest = latest_decisions_by_listing(session, listing_ids)
    return {listing_id for listing_id, decision in latest.items() if decision == ReviewDecision.CONFIRMED}


def seller_records(session: Session, seller_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """For each seller: (listing id, external id) of its listings with a confirmed finding."""
    wanted = sorted(set(seller_ids))
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(wanted):
        rows = session.execute(select(Listing.id, Listing.seller_id, Listing.external_id)
                               .join(Finding, Finding.listing_id == Listing.id)
                               .where(Listing.seller_id.in_(chunk))
                               .order_by(Listing.id)).all()
        confirmed = confirmed_listing_ids(session, [r[0] for r in rows])
        for listing_id, seller_id, external_id in rows:
            if listing_id in confirmed and seller_id is not None:
                out[seller_id].append((listing_id, external_id))
    return out


def record_for(records: dict[int, list[tuple[int, str]]], seller_id: int | None,
               listing_id: int | None) -> SellerRecord | None:
    if seller_id is None:
        return None
    others = [name for i, name in records.get(seller_id, []) if i != listing_id]
    return SellerRecord(len(others), tuple(others[:EXAMPLES]))


@dataclass
class _Gone:
    listing_id: int
    marketplace: str
    external_id: str
    seller_id: int | None
    first_seen: datetime
    gone_at: datetime | None
    sku: str | None


@dataclass
class TakedownIndex:
    """Taken-down listings and their own photos (not the brand's), for relisting look-ups."""

    gone: dict[int, _Gone] = field(default_factory=dict)
    by_seller: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_sha256: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    phash: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    dhash: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    owner: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    recorded: dict[int, list[tuple[int, bool, int | None]]] = field(default_factory=lambda: defaultdict(list))

    def __len__(self) -> int:
        return len(self.gone)


def load_takedowns(session: Session, index: ReferenceIndex, threshold: int) -> TakedownIndex:
    out = TakedownIndex()
    noticed = select(NoticeListing.listing_id).join(Notice, Notice.id == NoticeListing.notice_id).where(
        Notice.status.in_([NoticeStatus.FILED, NoticeStatus.REMOVED]))
    gone_rows = session.execute(
        select(Listing.id, Marketplace.name, Listing.external_id, Listing.seller_id, Listing.first_seen,
               Listing.gone_at, Product.sku, Listing.id.in_(noticed))
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Finding, Finding.listing_id == Listing.id)
        .outerjoin(Product, Product.id == Finding.product_id)
        .where(Listing.gone.is_(True))
    ).all()
    confirmed = confirmed_listing_ids(session, [r[0] for r in gone_rows])
    for listing_id, market, external_id, seller_id, first_seen, gone_at, sku, in_notice in gone_rows:
        if listing_id in confirmed or in_notice:
            out.gone[listing_id] = _Gone(listing_id, market, external_id, seller_id, first_seen, gone_at, sku)
            if seller_id is not None:
                out.by_seller[seller_id].append(listing_id)
    phashes, dhashes, owners = [], [], []
    for chunk in _chunks(sorted(out.gone)):
        for listing_id, sha, phash, dhash in session.execute(
            select(ListingImage.listing_id, ListingImage.sha256, ListingImage.phash, ListingImage.dhash)
            .where(ListingImage.listing_id.in_(chunk), ListingImage.status == ImageStatus.OK)
        ):
            p, d = hash_int(phash), hash_int(dhash)
            if p is None or (len(index) and int(index.reference_distances(p, d).min()) <= threshold):
                continue  # the brand's own photo: shared by everyone, ties nothing together
            if sha:
                out.by_sha256[sha].append(listing_id)
            phashes.append(p)
            dhashes.append(d if d is not None else 0)
            owners.append(listing_id)
    out.phash = np.array(phashes, dtype=np.uint64)
    out.dhash = np.array(dhashes, dtype=np.uint64)
    out.owner = np.array(owners, dtype=np.int64)
    for row in session.execute(select(Relisting.removed_listing_id, Relisting.new_listing_id, Relisting.same_seller,
                                      Relisting.image_distance)):
        out.recorded[row[1]].append((row[0], bool(row[2]), row[3]))
    return out


def takedowns_for(takedowns: TakedownIndex, listing: Listing, threshold: int) -> tuple[TakenDown, ...]:
    """The taken-down listings this listing may bring back (never itself)."""
    if not takedowns.gone and not takedowns.recorded.get(listing.id):
        return ()
    found: dict[tuple[int, str], TakenDown] = {}

    def add(gone_id: int, link: str, position: int | None = None, distance: int | None = None) -> None:
        gone = takedowns.gone.get(gone_id)
        if gone is None or gone_id == listing.id or (gone_id, link) in found:
            return
        found[(gone_id, link)] = TakenDown(gone.marketplace, gone.external_id, gone.gone_at, link, gone.sku,
                                           position, distance)

    if listing.seller_id is not None:
        for gone_id in takedowns.by_seller.get(listing.seller_id, []):
            gone = takedowns.gone[gone_id]
            if listing.first_seen is None or gone.first_seen is None or listing.first_seen > gone.first_seen:
                add(gone_id, "same seller")
    for image in listing.images:
        if image.status != ImageStatus.OK:
            continue
        for gone_id in takedowns.by_sha256.get(image.sha256 or "", []):
            add(gone_id, "same photo", image.position, 0)
        p, d = hash_int(image.phash), hash_int(image.dhash)
        if p is None or takedowns.phash.size == 0:
            continue
        dp = np.bitwise_count(takedowns.phash ^ np.uint64(p))
        distance = dp if d is None else np.maximum(dp, np.bitwise_count(takedowns.dhash ^ np.uint64(d)))
        for k in np.flatnonzero(distance <= threshold).tolist():
            add(int(takedowns.owner[k]), "same photo" if int(distance[k]) == 0 else "near-identical photo",
                image.position, int(distance[k]))
    for removed_id, same_seller, distance in takedowns.recorded.get(listing.id, []):
        add(removed_id, "same seller" if same_seller else "near-identical photo", None, distance)
    return tuple(found.values())


def has_history(session: Session) -> bool:
    """Whether any review or notice exists at all (if not, the look-ups can be skipped)."""
    return session.scalar(select(Review.id).limit(1)) is not None or session.scalar(
        select(Notice.id).where(or_(Notice.status == NoticeStatus.FILED, Notice.status == NoticeStatus.REMOVED))
        .limit(1)) is not None
