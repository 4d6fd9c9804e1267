"""Collective notices in the database: the seller, each rights holder's confirmed findings against it, the notice.

`holder_findings` is the one place a finding is attributed to a rights holder: today through the finding's
product and that product's brand (a finding naming no product belongs to no holder and is left out); brand
workspaces attribute it by the finding's own brand there. Drafting writes the notice, its listings and the audit
row in one transaction, or nothing (DraftError, every problem named).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from core.db import Database
from core.models import (
    AuditLog,
    Brand,
    Finding,
    Listing,
    Marketplace,
    Notice,
    NoticeListing,
    NoticeStatus,
    Product,
    Seller,
    Verdict,
)
from core.reviews import confirmed_finding_ids
from dashboard.notices import testbuys
from dashboard.notices.collective import (
    GROUND,
    CollectiveRequest,
    HolderClaim,
    RightsHolder,
    SellerRef,
    draft,
)
from dashboard.notices.drafting import DraftError
from dashboard.notices.registry import TemplateSpec
from dashboard.notices.store import acting_person, finding_facts, on_open_notice

SELLER_CHOICES_SHOWN = 10


def _brand_is(brand: str) -> ColumnElement[bool]:
    return func.lower(Brand.name) == brand.strip().lower()


def find_seller(session: Session, marketplace: str, seller: str) -> Seller:
    """The seller on a marketplace named by its id on the marketplace, its key or its exact shop name."""
    market = session.scalar(select(Marketplace).where(Marketplace.name == marketplace))
    if market is None:
        known = ", ".join(session.scalars(select(Marketplace.name).order_by(Marketplace.name))) or "none yet"
        raise DraftError([f"no marketplace named {marketplace!r} in the database (known: {known})"])
    text = seller.strip()
    rows = list(session.scalars(
        select(Seller).where(Seller.marketplace_id == market.id)
        .where(or_(Seller.external_id == text, Seller.seller_key == text, Seller.name == text))
        .order_by(Seller.id).limit(SELLER_CHOICES_SHOWN + 1)))
    if not rows:
        raise DraftError([f"no seller {text!r} on {marketplace}; give the seller's id on the marketplace or its "
                          "exact shop name as the Sellers page shows it"])
    if len(rows) > 1:
        listed = ", ".join(f"{r.name} (id {r.external_id or r.seller_key})" for r in rows[:SELLER_CHOICES_SHOWN])
        raise DraftError([f"{text!r} names several sellers on {marketplace} ({listed}); give the seller's id"])
    return rows[0]


def _draftable(*columns: Any) -> Select[Any]:
    """Confirmed counterfeit findings whose listing is still up and on no open notice, with the listing and the
    brand of the finding's product joined: the findings a collective notice may hold."""
    return (
        select(*columns)
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Product, Product.id == Finding.product_id)
        .join(Brand, Brand.id == Product.brand_id)
        .where(Finding.verdict == Verdict.COUNTERFEIT, Finding.id.in_(confirmed_finding_ids()))
        .where(Listing.gone.is_(False), ~on_open_notice(Listing.id))
    )


def holder_findings(session: Session, seller_id: int, brand: str) -> list[int]:
    """This seller's draftable findings that belong to the brand, highest score first."""
    stmt = (_draftable(Finding.id).where(Listing.seller_id == seller_id, _brand_is(brand))
            .order_by(Finding.score.desc(), Finding.id))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Candidate:
    """A seller every one of the rights holders could complain about, with their draftable findings."""

    marketplace: str
    seller: SellerRef
    findings: dict[str, int]  # brand -> draftable findings

    @property
    def total(self) -> int:
        return sum(self.findings.values())


def candidates(db: Database, brands: Sequence[str], *, marketplace: str | None = None,
               limit: int = 50) -> list[Candidate]:
    """Sellers with draftable findings of every one of these brands, the most findings first."""
    wanted = {b.strip().lower(): b for b in brands}
    stmt = (_draftable(Listing.seller_id, func.lower(Brand.name), func.count(Finding.id))
            .where(func.lower(Brand.name).in_(sorted(wanted)))
            .group_by(Listing.seller_id, func.lower(Brand.name)))
    if marketplace is not None:
        stmt = stmt.join(Marketplace, Marketplace.id == Listing.marketplace_id).where(Marketplace.name == marketplace)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    with db.read() as session:
        rows: Sequence[Any] = session.execute(stmt).all()
        for seller_id, brand, count in rows:
            counts[int(seller_id)][wanted[str(brand)]] = int(count)
        shared = [i for i, per_brand in counts.items() if len(per_brand) == len(wanted)]
        shops = session.execute(
            select(Seller, Marketplace.name).join(Marketplace, Marketplace.id == Seller.marketplace_id)
            .where(Seller.id.in_(shared))).all() if shared else []
        found = [Candidate(market, SellerRef(shop.name, shop.external_id or shop.seller_key),
                           {b: counts[shop.id][b] for b in brands}) for shop, market in shops]
    return sorted(found, key=lambda c: (-c.total, c.marketplace, c.seller.name))[:limit]


def draft_collective_notice(
    db: Database,
    *,
    marketplace: str,
    seller: str,
    holders: Sequence[RightsHolder],
    template: TemplateSpec,
    actor: str,
    today: date | None = None,
) -> int:
    """Draft one collective notice against one seller for these rights holders; returns its id.

    Each holder's part is its confirmed counterfeit findings against the seller. Raises DraftError, with every
    problem, when a holder has none (or the form refuses); nothing is written then.
    """
    actor = acting_person(actor)
    today = today or datetime.now(UTC).date()
    with db.session() as session:
        shop = find_seller(session, marketplace, seller)
        ids = {h.brand: holder_findings(session, shop.id, h.brand) for h in holders}
        # FOR UPDATE serialises two people drafting the same findings on PostgreSQL (SQLite: BEGIN IMMEDIATE).
        every = sorted(i for found in ids.values() for i in found)
        if every:
            session.scalars(select(Finding.id).where(Finding.id.in_(every)).with_for_update()).all()
        facts = finding_facts(session, every)
        claims = [HolderClaim(h, tuple(facts[i][0] for i in ids[h.brand])) for h in holders]
        listing_ids = [f.listing_id for c in claims for f in c.listings]
        request = CollectiveRequest(
            template=template, marketplace=marketplace,
            seller=SellerRef(name=shop.name, seller_id=shop.external_id), claims=claims, today=today,
            test_buys=testbuys.facts_for(session, listing_ids, with_photos=False),
        )
        notice_draft = draft(request)  # raises DraftError before anything is written
        market_id = session.scalar(select(Marketplace.id).where(Marketplace.name == marketplace))
        notice = Notice(
            marketplace_id=market_id, template=notice_draft.template, ground=GROUND.value,
            status=NoticeStatus.DRAFTED, body=notice_draft.body, created_by=actor, draft_group=uuid.uuid4().hex,
            part=1, parts=1, warnings=list(notice_draft.warnings), context=notice_draft.context,
        )
        session.add(notice)
        session.flush()
        for position, listing in enumerate(notice_draft.listings):
            snapshot = {**listing.to_snapshot(), "rights_holder": notice_draft.holder_of[listing.listing_id]}
            session.add(NoticeListing(notice_id=notice.id, listing_id=listing.listing_id,
                                      finding_id=listing.finding_id, position=position, snapshot=snapshot))
        session.add(AuditLog(
            actor=actor, action="notice.draft", object_type="notice", object_id=str(notice.id),
            detail={"template": notice_draft.template, "ground": GROUND.value, "marketplace": marketplace,
                    "collective": True, "seller": shop.external_id or shop.seller_key,
                    "brands": [h.brand for h in holders], "finding_ids": every,
                    "warnings": len(notice_draft.warnings)},
        ))
        session.flush()
        return notice.id
