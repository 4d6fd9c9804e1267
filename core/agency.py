"""The agency's view across brands: sellers that offend several of the agency's brands, worst first.

An agency files against the sellers that hurt most of its clients first. For each seller with suspect findings
(counterfeit, diversion, price-floor breach) for at least `min_brands` of the brands in the scope: how many brands,
and per brand the suspect and confirmed findings (the latest review decides), by verdict, with the brand's
highest-scoring findings as evidence (finding id, listing, score, first reason) to open in that brand's workspace.

Worst first: confirmed findings across brands weigh most (a reviewer said so), then the number of brands, then
suspect findings, then the highest score. The same ordering gives `offence_score`, which counts across brands.
Only brands in the caller's scope are counted or shown (core/scope.py): an analyst of one brand sees nothing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from core.db import Database
from core.models import SUSPECT_VERDICTS, Brand, Finding, Listing, Marketplace, Seller, Verdict
from core.reviews import confirmed_finding_ids

EVIDENCE_PER_BRAND = 5
MAX_OFFENDERS = 1000


@dataclass(frozen=True)
class OffenceEvidence:
    """One finding behind a brand's count: what to open to check it."""

    finding_id: int
    listing_id: int
    external_id: str
    url: str  # scraped: shown as text only
    title: str  # scraped: shown as text only
    verdict: Verdict
    score: float
    confirmed: bool
    reason: str | None


@dataclass
class BrandOffence:
    brand_id: int
    brand: str
    suspect_findings: int = 0
    confirmed: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    evidence: list[OffenceEvidence] = field(default_factory=list)  # highest score first


@dataclass
class AgencyOffender:
    seller_id: int
    seller: str  # scraped: shown as text only
    marketplace: str
    region: str | None
    per_brand: list[BrandOffence] = field(default_factory=list)  # the worst-hit brand first

    @property
    def brands(self) -> int:
        return len(self.per_brand)

    @property
    def suspect_findings(self) -> int:
        return sum(b.suspect_findings for b in self.per_brand)

    @property
    def confirmed(self) -> int:
        return sum(b.confirmed for b in self.per_brand)

    @property
    def top_score(self) -> float:
        return max((e.score for b in self.per_brand for e in b.evidence), default=0.0)

    @property
    def offence_score(self) -> tuple[int, int, int, float]:
        """Worst first, across brands: confirmed findings, brands offended, suspect findings, highest score."""
        return (self.confirmed, self.brands, self.suspect_findings, self.top_score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seller_id": self.seller_id, "seller": self.seller, "marketplace": self.marketplace,
            "region": self.region, "brands": self.brands, "suspect_findings": self.suspect_findings,
            "confirmed": self.confirmed,
            "per_brand": [{
                "brand": b.brand, "suspect_findings": b.suspect_findings, "confirmed": b.confirmed,
                "verdicts": b.verdicts,
                "evidence": [{"finding_id": e.finding_id, "listing_id": e.listing_id, "external_id": e.external_id,
                              "url": e.url, "title": e.title, "verdict": e.verdict.value, "score": e.score,
                              "confirmed": e.confirmed, "reason": e.reason} for e in b.evidence],
            } for b in self.per_brand],
        }


def cross_brand_offenders(db: Database, *, min_brands: int = 2, limit: int = 100,
                          evidence_per_brand: int = EVIDENCE_PER_BRAND) -> list[AgencyOffender]:
    """Sellers with suspect findings for at least `min_brands` brands of `db.scope`, worst first."""
    limit = max(1, min(int(limit), MAX_OFFENDERS))
    min_brands = max(1, int(min_brands))
    scope = db.scope
    confirmed_ids = confirmed_finding_ids()
    stmt = (
        select(Seller.id, Seller.name, Marketplace.name, Seller.region, Brand.id, Brand.name, Finding.id,
               Finding.verdict, Finding.score, Finding.reasons, Finding.id.in_(confirmed_ids), Listing.id,
               Listing.external_id, Listing.url, Listing.title)
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Seller, Seller.id == Listing.seller_id)
        .join(Marketplace, Marketplace.id == Seller.marketplace_id)
        .join(Brand, Brand.id == Finding.brand_id)
        .where(Finding.verdict.in_(sorted(SUSPECT_VERDICTS)), scope.clause(Finding))
        .order_by(Finding.score.desc(), Finding.id)
    )
    offenders: dict[int, AgencyOffender] = {}
    per_brand: dict[tuple[int, int], BrandOffence] = {}
    with db.read() as session:
        rows: Sequence[Any] = session.execute(stmt).all()
    for (seller_id, seller, market, region, brand_id, brand, finding_id, verdict, score, reasons, confirmed,
         listing_id, external_id, url, title) in rows:
        offender = offenders.get(seller_id)
        if offender is None:
            offender = offenders[seller_id] = AgencyOffender(seller_id, seller, market, region)
        offence = per_brand.get((seller_id, brand_id))
        if offence is None:
            offence = per_brand[(seller_id, brand_id)] = BrandOffence(brand_id, brand)
            offender.per_brand.append(offence)
        verdict = Verdict(verdict)
        offence.suspect_findings += 1
        offence.confirmed += bool(confirmed)
        offence.verdicts[verdict.value] = offence.verdicts.get(verdict.value, 0) + 1
        if len(offence.evidence) < evidence_per_brand:
            first = reasons[0] if isinstance(reasons, list) and reasons else None
            offence.evidence.append(OffenceEvidence(
                finding_id, listing_id, external_id, url, title, verdict, float(score), bool(confirmed),
                first if isinstance(first, str) else None))
    chosen = [o for o in offenders.values() if o.brands >= min_brands]
    for offender in chosen:
        offender.per_brand.sort(key=lambda b: (-b.confirmed, -b.suspect_findings, b.brand))
    chosen.sort(key=lambda o: (tuple(-v for v in o.offence_score), o.seller_id))
    return chosen[:limit]

