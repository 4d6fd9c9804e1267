"""A finding's seller in context, for the detail page: the seller's other listings (with their findings and latest
decisions) and the network of shops it belongs to (matching/clusters.py), each shop with its suspect findings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select

from core.db import Database
from core.models import SUSPECT_VERDICTS, Finding, Listing, Marketplace, Review, ReviewDecision, Seller, SellerCluster
from core.reviews import latest_review_ids

OTHER_LISTINGS_MAX = 100
NETWORK_SHOPS_MAX = 200


@dataclass(frozen=True)
class OtherListing:
    listing_id: int
    finding_id: int | None
    title: str  # scraped: shown only as text
    price: Decimal | None
    currency: str | None
    verdict: str | None
    score: float | None
    decision: ReviewDecision | None  # the latest review of its finding
    gone: bool


@dataclass(frozen=True)
class NetworkShop:
    seller_id: int
    name: str  # scraped
    marketplace: str
    suspect_findings: int
    confirmed: int


@dataclass(frozen=True)
class Network:
    id: int
    size: int
    links: list[dict[str, Any]]  # why each shop is in it: {"a", "b", "kind", "detail"} (detail may quote scraped text)
    shops: list[NetworkShop]


def seller_listings(db: Database, seller_id: int, *, except_listing: int | None = None,
                    limit: int = OTHER_LISTINGS_MAX) -> list[OtherListing]:
    """The seller's other listings, those with the highest-scoring findings first (then the newest)."""
    latest = latest_review_ids()
    stmt = (
        select(Listing.id, Finding.id, Listing.title, Listing.price, Listing.currency, Finding.verdict, Finding.score,
               Review.decision, Listing.gone)
        .outerjoin(Finding, and_(Finding.listing_id == Listing.id, db.scope.clause(Finding)))  # the brand's own
        .outerjoin(latest, latest.c.finding_id == Finding.id)
        .outerjoin(Review, Review.id == latest.c.review_id)
        .where(Listing.seller_id == seller_id, Listing.id != (except_listing or -1), db.scope.clause(Listing))
        .order_by(Finding.score.desc().nulls_last(), Listing.first_seen.desc(), Listing.id.desc())
        .limit(max(1, min(int(limit), OTHER_LISTINGS_MAX)))
    )
    with db.read() as session:
        return [OtherListing(listing_id=r[0], finding_id=r[1], title=r[2], price=r[3], currency=r[4],
                             verdict=str(r[5].value if hasattr(r[5], "value") else r[5]) if r[5] else None,
                             score=float(r[6]) if r[6] is not None else None,
                             decision=ReviewDecision(r[7]) if r[7] else None, gone=bool(r[8]))
                for r in session.execute(stmt)]


def seller_network(db: Database, seller_id: int) -> Network | None:
    """The network of shops the seller belongs to, with each shop's suspect and confirmed findings; None if none."""
    latest = latest_review_ids()
    suspects = func.count(func.distinct(Finding.id))
    confirmed = func.count(func.distinct(Review.finding_id))
    with db.read() as session:
        cluster = session.scalar(select(SellerCluster).join(Seller, Seller.cluster_id == SellerCluster.id)
                                 .where(Seller.id == seller_id))
        if cluster is None:
            return None
        rows = session.execute(
            select(Seller.id, Seller.name, Marketplace.name, suspects, confirmed)
            .join(Marketplace, Marketplace.id == Seller.marketplace_id)
            .outerjoin(Listing, Listing.seller_id == Seller.id)
            .outerjoin(Finding, and_(Finding.listing_id == Listing.id, Finding.verdict.in_(sorted(SUSPECT_VERDICTS)),
                                     db.scope.clause(Finding)))
            .outerjoin(latest, latest.c.finding_id == Finding.id)
            .outerjoin(Review, and_(Review.id == latest.c.review_id, Review.decision == ReviewDecision.CONFIRMED))
            .where(Seller.cluster_id == cluster.id)
            .group_by(Seller.id, Seller.name, Marketplace.name)
            .order_by(suspects.desc(), Seller.id)
            .limit(NETWORK_SHOPS_MAX)).all()
        return Network(id=cluster.id, size=cluster.size, links=[dict(link) for link in cluster.links or []
                                                                 if isinstance(link, dict)],
                       shops=[NetworkShop(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows])
