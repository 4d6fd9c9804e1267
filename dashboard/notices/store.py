"""The notices in the database: confirmed findings to draft from, drafting, status changes, loading for export.

Only a confirmed finding (its latest review says confirmed) becomes part of a notice: people decide, the machine
drafts. Every draft and every status change writes its AuditLog row in the same transaction as the change.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.orm import Session

from core.config import AuthorisedSeller, Privacy
from core.db import Database
from core.item_pages import card_only_by_marketplace
from core.models import (
    SEEN_FROM_CARD,
    AuditLog,
    Brand,
    Finding,
    Listing,
    Marketplace,
    Notice,
    NoticeListing,
    NoticeStatus,
    Product,
    ReferenceImage,
    Review,
    ReviewDecision,
    Seller,
    Verdict,
    as_utc,
)
from core.privacy import OPEN_NOTICE_STATUSES
from core.reviews import latest_review_ids
from core.scope import BrandScope
from core.text import NAME_MAX, clean_line, clean_text
from dashboard.notices import testbuys
from dashboard.notices.drafting import DraftError, DraftRequest, NoticeDraft, draft, evidence_basis
from dashboard.notices.model import Ground, ListingFacts, Party, TestBuyFacts
from dashboard.notices.registry import TemplateSpec

PICKER_LIMIT = 2000  # confirmed findings the page offers at once; filter by marketplace / verdict for more
DRAFT_LIMIT = 100_000  # confirmed findings one CLI draft takes (Alibaba's 300 per request splits them)
NOTE_MAX = 4000
REFERENCE_MAX = 200

# The status changes a notice may make, and the audit action of each.
TRANSITIONS: dict[NoticeStatus, frozenset[NoticeStatus]] = {
    NoticeStatus.DRAFTED: frozenset({NoticeStatus.FILED}),
    NoticeStatus.FILED: frozenset({NoticeStatus.REMOVED, NoticeStatus.REJECTED}),
    NoticeStatus.REMOVED: frozenset(),
    NoticeStatus.REJECTED: frozenset(),
}
STATUS_ACTIONS = {
    NoticeStatus.FILED: "notice.file",
    NoticeStatus.REMOVED: "notice.removed",
    NoticeStatus.REJECTED: "notice.rejected",
}


class NoticeStateError(ValueError):
    """A status change the notice's current status does not allow."""


@dataclass(frozen=True)
class ConfirmedRow:
    finding_id: int
    listing_id: int
    marketplace_id: int
    marketplace: str
    verdict: Verdict
    score: float
    title: str
    seller: str | None
    price: Decimal | None
    currency: str | None
    ship_from: str | None
    gone: bool
    confirmed_by: str
    open_notice_id: int | None  # an open (drafted or filed) notice already covering this listing
    card_only: bool = False  # seen only on search cards: its item page is fetched before a notice is drafted


@dataclass(frozen=True)
class NoticeSummary:
    id: int
    marketplace: str
    template: str
    ground: str
    status: NoticeStatus
    part: int
    parts: int
    listings: int
    gone: int  # listings the crawls no longer find: removal confirmed
    created_by: str
    created_at: datetime
    filed_at: datetime | None
    reference: str | None
    closed_at: datetime | None
    warnings: int


@dataclass(frozen=True)
class NoticeDocument:
    """One notice with everything an export needs (personal fields live from the database, see core/privacy)."""

    id: int
    marketplace: str
    template: str
    ground: Ground
    status: NoticeStatus
    part: int
    parts: int
    draft_group: str | None
    body: str
    warnings: tuple[str, ...]
    context: dict[str, Any]
    reference: str | None
    status_note: str | None
    created_by: str
    created_at: datetime
    filed_at: datetime | None
    closed_at: datetime | None
    listings: tuple[ListingFacts, ...]
    gone: frozenset[int]  # listing ids
    test_buys: dict[int, list[TestBuyFacts]]  # by listing id

    @property
    def party(self) -> Party:
        return Party.from_dict(self.context.get("party") or {})

    @property
    def collective(self) -> bool:
        """A notice for several rights holders against one seller (dashboard/notices/collective.py)."""
        return bool(self.context.get("collective"))

    @property
    def holders(self) -> list[Party]:
        """The rights holders the notice is filed for: its party, or the holders of a collective notice."""
        return [Party.from_dict(h.get("party") or {}) for h in self._holder_entries()] or [self.party]

    def parties_of(self, listing: ListingFacts) -> list[Party]:
        """Whose rights a listing is claimed under: the notice's party, or on a collective notice its holder."""
        entries = self._holder_entries()
        if not entries:
            return [self.party]
        return [Party.from_dict(h.get("party") or {}) for h in entries
                if listing.listing_id in (h.get("listing_ids") or [])]

    def _holder_entries(self) -> list[dict[str, Any]]:
        return list((self.context.get("collective") or {}).get("holders") or [])

    @property
    def title(self) -> str:
        part = f" (part {self.part} of {self.parts})" if self.parts > 1 else ""
        return f"Notice {self.id} — {self.marketplace} — {self.template}{part}"



def acting_person(actor: str) -> str:
    name = clean_line(actor, NAME_MAX)
    if not name:
        raise ValueError("this needs the name of the person doing it; enter it in the sidebar (or --actor)")
    return name


def on_open_notice(listing_id: Any, scope: BrandScope) -> ColumnElement[bool]:
    """Whether a listing is on an open (drafted or filed) notice of the scope's brands (another brand's notice is its
    own matter): the clause every query here uses."""
    return (exists()
            .where(NoticeListing.listing_id == listing_id, NoticeListing.notice_id == Notice.id)
            .where(Notice.status.in_(OPEN_NOTICE_STATUSES), scope.clause(Notice)))


def _open_notice_of(scope: BrandScope, listing_id: Any) -> Any:
    return (
        select(func.max(Notice.id))
        .join(NoticeListing, NoticeListing.notice_id == Notice.id)
        .where(NoticeListing.listing_id == listing_id, Notice.status.in_(OPEN_NOTICE_STATUSES), scope.clause(Notice))
        .scalar_subquery()
    )


# ----------------------------------------------------------------------------------------------------
# Confirmed findings


def confirmed_findings(
    db: Database,
    *,
    marketplace_id: int | None = None,
    verdicts: Iterable[Verdict] | None = None,
    include_on_notice: bool = False,
    include_gone: bool = False,
    limit: int = PICKER_LIMIT,
) -> list[ConfirmedRow]:
    """Findings whose latest review is a confirmation, highest score first, for drafting."""
    latest = latest_review_ids()
    open_notice = _open_notice_of(db.scope, Listing.id)
    stmt = (
        select(
            Finding.id, Finding.listing_id, Listing.marketplace_id, Marketplace.name, Finding.verdict, Finding.score,
            Listing.title, Seller.name, Listing.price, Listing.currency, Listing.region, Listing.country,
            Listing.gone, Review.reviewer, open_notice, Listing.seen_from, Listing.item_page_at,
        )
        .join(latest, latest.c.finding_id == Finding.id)
        .join(Review, Review.id == latest.c.review_id)
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(Review.decision == ReviewDecision.CONFIRMED, db.scope.clause(Finding))
        .order_by(Finding.score.desc(), Finding.id)
        .limit(max(1, min(int(limit), DRAFT_LIMIT)))
    )
    if marketplace_id is not None:
        stmt = stmt.where(Listing.marketplace_id == marketplace_id)
    if verdicts:
        stmt = stmt.where(Finding.verdict.in_(sorted(set(verdicts))))
    if not include_on_notice:
        stmt = stmt.where(~on_open_notice(Listing.id, db.scope))
    if not include_gone:
        stmt = stmt.where(Listing.gone.is_(False))
    with db.read() as session:
        rows: Sequence[Any] = session.execute(stmt).all()
    return [
        ConfirmedRow(
            finding_id=r[0], listing_id=r[1], marketplace_id=r[2], marketplace=r[3], verdict=Verdict(r[4]),
            score=float(r[5]), title=r[6], seller=r[7], price=r[8], currency=r[9], ship_from=r[10] or r[11],
            gone=bool(r[12]), confirmed_by=r[13], open_notice_id=r[14],
            card_only=r[15] == SEEN_FROM_CARD and r[16] is None,
        )
        for r in rows
    ]


def waiting_per_marketplace(db: Database) -> dict[int, int]:
    """Confirmed findings per marketplace id that no open notice covers yet and whose listing is still up."""
    latest = latest_review_ids()
    stmt = (
        select(Listing.marketplace_id, func.count())
        .select_from(Finding)
        .join(latest, latest.c.finding_id == Finding.id)
        .join(Review, Review.id == latest.c.review_id)
        .join(Listing, Listing.id == Finding.listing_id)
        .where(Review.decision == ReviewDecision.CONFIRMED, Listing.gone.is_(False), db.scope.clause(Finding))
        .where(~on_open_notice(Listing.id, db.scope))
        .group_by(Listing.marketplace_id)
    )
    with db.read() as session:
        return {int(market): int(count) for market, count in session.execute(stmt)}


def _batches(ids: Sequence[int], size: int = 500) -> Iterator[list[int]]:
    """Ids in groups small enough for one IN (...) list (SQLite caps the bound parameters of a statement)."""
    unique = sorted(set(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def finding_facts(session: Session, scope: BrandScope,
                  finding_ids: Sequence[int]) -> dict[int, tuple[ListingFacts, ReviewDecision | None]]:
    """Facts of each finding's listing with its latest review decision (None: never reviewed)."""
    out: dict[int, tuple[ListingFacts, ReviewDecision | None]] = {}
    for batch in _batches(finding_ids):
        out.update(_facts_batch(session, scope, batch))
    return out


def _facts_batch(session: Session, scope: BrandScope,
                 finding_ids: list[int]) -> dict[int, tuple[ListingFacts, ReviewDecision | None]]:
    latest = latest_review_ids()
    stmt = (
        select(Finding, Listing, Marketplace.name, Seller, Review.decision, ReferenceImage.ref_id, Product)
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .outerjoin(latest, latest.c.finding_id == Finding.id)
        .outerjoin(Review, Review.id == latest.c.review_id)
        .outerjoin(ReferenceImage, ReferenceImage.id == Finding.matched_reference_id)
        .outerjoin(Product, Product.id == Finding.product_id)
        .where(Finding.id.in_(finding_ids), scope.clause(Finding))
    )
    out: dict[int, tuple[ListingFacts, ReviewDecision | None]] = {}
    for finding, listing, market, seller, decision, ref_id, product in session.execute(stmt):
        names = (product.names or {}) if product is not None else {}
        out[finding.id] = (
            ListingFacts(
                listing_id=listing.id,
                finding_id=finding.id,
                marketplace=market,
                external_id=clean_line(listing.external_id, NAME_MAX),
                url=clean_line(listing.url, 2048),
                title=clean_line(listing.title),
                verdict=Verdict(finding.verdict),
                score=float(finding.score),
                seller_name=clean_line(seller.name, NAME_MAX) if seller is not None else None,
                seller_id=clean_line(seller.external_id, NAME_MAX) if seller is not None and seller.external_id
                else None,
                seller_location=seller.location_text if seller is not None else None,
                seller_contact=_contact(seller),
                price=listing.price,
                currency=listing.currency,
                country=listing.country or (seller.country if seller is not None else None),
                region=listing.region or (seller.region if seller is not None else None),
                reasons=tuple(clean_line(r, 1000) for r in (finding.reasons or [])),
                evidence=evidence_basis(finding.signals or {}),
                reference_id=ref_id,
                image_distance=finding.image_distance,
                product_sku=product.sku if product is not None else None,
                product_name=names.get("en") or next(iter(names.values()), None) if names else None,
            ),
            ReviewDecision(decision) if decision is not None else None,
        )
    return out


def _contact(seller: Seller | None) -> dict[str, str]:
    if seller is None or not isinstance(seller.contact, dict):
        return {}
    return {clean_line(k, 60): clean_line(v, 500) for k, v in seller.contact.items() if v}


# ----------------------------------------------------------------------------------------------------
# Drafting


def listing_ids_of(db: Database, finding_ids: Iterable[int]) -> list[int]:
    """The listings these findings are about (to fetch their item pages before drafting)."""
    ids = [int(i) for i in finding_ids]
    with db.read() as session:
        return sorted({int(x) for batch in _batches(ids)
                       for x in session.scalars(select(Finding.listing_id).where(Finding.id.in_(batch)))})


def draft_notices(
    db: Database,
    finding_ids: Iterable[int],
    *,
    template: TemplateSpec,
    ground: Ground,
    party: Party,
    actor: str,
    authorised_sellers: Sequence[AuthorisedSeller] = (),
    countries: Sequence[str] = (),
    today: date | None = None,
) -> list[int]:
    """Draft notices from confirmed findings, one per marketplace (several when over the form's link limit).

    Raises DraftError, with every problem, when a finding is not confirmed, is already on an open notice, or
    the drafting checks refuse; nothing is written then.
    """
    actor = acting_person(actor)
    ids = list(dict.fromkeys(int(i) for i in finding_ids))
    today = today or datetime.now(UTC).date()
    with db.session() as session:
        # FOR UPDATE serialises two people drafting the same findings on PostgreSQL (SQLite: BEGIN IMMEDIATE).
        for batch in _batches(ids):
            session.scalars(select(Finding.id).where(Finding.id.in_(batch)).with_for_update()).all()
        facts = finding_facts(session, db.scope, ids)  # another brand's findings "do not exist" here
        brand_id = _one_brand(session, db.scope, ids)
        problems: list[str] = []
        missing = [i for i in ids if i not in facts]
        if missing:
            problems.append(f"findings {_join(missing)} do not exist")
        unconfirmed = [i for i in ids if i in facts and facts[i][1] is not ReviewDecision.CONFIRMED]
        if unconfirmed:
            problems.append(
                f"findings {_join(unconfirmed)} are not confirmed; only a reviewer's confirmation makes a notice"
            )
        listing_ids = [facts[i][0].listing_id for i in ids if i in facts]
        busy: dict[int, int] = {}
        gone: set[int] = set()
        for batch in _batches(listing_ids):
            busy.update(
                (listing_id, notice_id)
                for listing_id, notice_id in session.execute(
                    select(NoticeListing.listing_id, func.max(Notice.id))
                    .join(Notice, Notice.id == NoticeListing.notice_id)
                    .where(NoticeListing.listing_id.in_(batch), Notice.status.in_(OPEN_NOTICE_STATUSES),
                           db.scope.clause(Notice))
                    .group_by(NoticeListing.listing_id)
                )
            )
            gone.update(session.scalars(select(Listing.id).where(Listing.id.in_(batch), Listing.gone.is_(True))))
        on_notice = [f"{i} (notice {busy[facts[i][0].listing_id]})" for i in ids
                     if i in facts and facts[i][0].listing_id in busy]
        if on_notice:
            problems.append(f"findings {', '.join(on_notice)} are already on an open notice")
        card_only = {i for ids_ in card_only_by_marketplace(session, listing_ids).values() for i in ids_}
        from_cards = [i for i in ids if i in facts and facts[i][0].listing_id in card_only]
        if from_cards:
            problems.append(
                f"findings {_join(from_cards)} rest on search cards only: a notice needs the item page's evidence "
                f"(HTML, screenshot, SHA-256). Fetch their item pages first (`brandpatrol crawl --listing ID`; "
                f"drafting from the desk or `brandpatrol notice draft` fetches them itself)")
        if problems:
            raise DraftError(problems)
        buys = testbuys.facts_for(session, db.scope, listing_ids, with_photos=False)
        by_market: dict[str, list[ListingFacts]] = defaultdict(list)
        for i in ids:
            by_market[facts[i][0].marketplace].append(facts[i][0])
        drafts: list[NoticeDraft] = []
        for market, listings in sorted(by_market.items()):
            request = DraftRequest(
                template=template, ground=ground, marketplace=market, party=party, listings=listings,
                today=today, test_buys=buys, countries=countries, gone_listing_ids=frozenset(gone),
            )
            try:
                drafts += draft(request)
            except DraftError as exc:
                problems += [f"{market}: {p}" for p in exc.problems] if len(by_market) > 1 else exc.problems
        if problems:
            raise DraftError(problems)
        market_ids = {name: i for name, i in session.execute(select(Marketplace.name, Marketplace.id))}
        notice_ids: list[int] = []
        groups: dict[str, str] = {}
        for item in drafts:
            group = groups.setdefault(item.marketplace, uuid.uuid4().hex)
            notice = Notice(
                **({"brand_id": brand_id} if brand_id is not None else {}),
                marketplace_id=market_ids[item.marketplace], template=item.template,
                ground=item.ground.value,
                status=NoticeStatus.DRAFTED, body=item.body, created_by=actor, draft_group=group,
                part=item.part, parts=item.parts, warnings=list(item.warnings), context=item.context,
            )
            session.add(notice)
            session.flush()
            for position, listing in enumerate(item.listings):
                session.add(
                    NoticeListing(
                        notice_id=notice.id, listing_id=listing.listing_id, finding_id=listing.finding_id,
                        position=position, snapshot=listing.to_snapshot(),
                    )
                )
            session.add(
                AuditLog(
                    brand_id=brand_id, actor=actor, action="notice.draft", object_type="notice",
                    object_id=str(notice.id),
                    detail={
                        "template": item.template, "ground": item.ground.value, "marketplace": item.marketplace,
                        "part": item.part, "parts": item.parts, "draft_group": group,
                        "finding_ids": [f.finding_id for f in item.listings], "warnings": len(item.warnings),
                    },
                )
            )
            notice_ids.append(notice.id)
    return notice_ids


def _one_brand(session: Session, scope: BrandScope, finding_ids: Sequence[int]) -> int | None:
    """The brand the notices are for: the scope's one brand, else the one brand of the findings (a notice speaks
    for one rights holder; see collective complaints for several)."""
    if scope.single is not None:
        return scope.single
    brands: set[int] = set()
    for batch in _batches(finding_ids):
        brands.update(session.scalars(select(Finding.brand_id).where(Finding.id.in_(batch), scope.clause(Finding))))
    if len(brands) > 1:
        names = session.scalars(select(Brand.name).where(Brand.id.in_(sorted(brands))).order_by(Brand.name))
        raise DraftError([f"the findings are of brands {', '.join(names)}; a notice speaks for one brand, so draft "
                          "each brand's apart (choose the brand first)"])
    return brands.pop() if brands else None


def _join(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


# ----------------------------------------------------------------------------------------------------
# Status


def change_status(
    db: Database,
    notice_id: int,
    status: NoticeStatus | str,
    *,
    actor: str,
    on: date | None = None,
    reference: str | None = None,
    note: str | None = None,
) -> None:
    """Move a notice on (drafted -> filed -> removed / rejected), with its audit row, in one transaction.

    Filing needs the marketplace's reference and the filing date; a date in the future is refused.
    """
    status = NoticeStatus(status)
    actor = acting_person(actor)
    on = on or datetime.now(UTC).date()
    if on > datetime.now(UTC).date() + timedelta(days=1):  # a day of slack for time zones east of UTC
        raise ValueError(f"{on.isoformat()} is in the future; give the date it happened")
    reference = clean_line(reference or "", REFERENCE_MAX) or None
    note = clean_text(note or "", NOTE_MAX) or None
    if status is NoticeStatus.FILED and not reference:
        raise ValueError("filing needs the reference the marketplace gave the complaint (case or ticket number)")
    with db.session() as session:
        notice = session.scalar(db.scope.select(Notice).where(Notice.id == notice_id).with_for_update())
        if notice is None:
            raise NoticeStateError(f"there is no notice {notice_id}")
        current = NoticeStatus(notice.status)
        if status not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing (it is closed)"
            raise NoticeStateError(
                f"notice {notice_id} is {current.value}; it can be marked {allowed}, not {status.value}"
            )
        when = datetime.combine(on, time(0), tzinfo=UTC)
        notice.status = status
        if status is NoticeStatus.FILED:
            notice.filed_at, notice.reference = when, reference
        else:
            notice.closed_at = when
        if note:
            notice.status_note = note
        session.add(
            AuditLog(
                brand_id=notice.brand_id, actor=actor, action=STATUS_ACTIONS[status], object_type="notice",
                object_id=str(notice_id),
                detail={"from": current.value, "to": status.value, "date": on.isoformat(), "reference": reference,
                        "note": note},
            )
        )


def record_export(db: Database, notice_id: int, fmt: str, *, actor: str, redacted: bool) -> None:
    """Audit that a notice left the system, and in which form."""
    with db.session() as session:
        brand_id = session.scalar(db.scope.select(Notice, Notice.brand_id).where(Notice.id == notice_id))
        session.add(
            AuditLog(
                brand_id=brand_id, actor=acting_person(actor), action="notice.export", object_type="notice",
                object_id=str(notice_id),
                detail={"format": fmt, "redacted": redacted},
            )
        )


# ----------------------------------------------------------------------------------------------------
# Reading


def notices(db: Database, *, statuses: Iterable[NoticeStatus] | None = None, limit: int = 200) -> list[NoticeSummary]:
    """The newest notices first, with how many of their listings the crawls no longer find."""
    counts = (
        select(
            NoticeListing.notice_id,
            func.count().label("listings"),
            func.sum(case((Listing.gone.is_(True), 1), else_=0)).label("gone"),
        )
        .join(Listing, Listing.id == NoticeListing.listing_id)
        .group_by(NoticeListing.notice_id)
        .subquery()
    )
    stmt = (
        select(Notice, Marketplace.name, counts.c.listings, counts.c.gone)
        .join(Marketplace, Marketplace.id == Notice.marketplace_id)
        .outerjoin(counts, counts.c.notice_id == Notice.id)
        .where(db.scope.clause(Notice))
        .order_by(Notice.id.desc())
        .limit(max(1, min(int(limit), 5000)))
    )
    if statuses:
        stmt = stmt.where(Notice.status.in_(sorted(set(statuses))))
    with db.read() as session:
        rows: Sequence[Any] = session.execute(stmt).all()
    return [_summary(*row) for row in rows]


def _summary(n: Notice, market: str, listings: int | None, gone: int | None) -> NoticeSummary:
    return NoticeSummary(
        id=n.id, marketplace=market, template=n.template, ground=n.ground, status=NoticeStatus(n.status),
        part=n.part, parts=n.parts, listings=int(listings or 0), gone=int(gone or 0),
        created_by=n.created_by, created_at=as_utc(n.created_at),
        filed_at=as_utc(n.filed_at) if n.filed_at else None, reference=n.reference,
        closed_at=as_utc(n.closed_at) if n.closed_at else None, warnings=len(n.warnings or []),
    )


def load_notice(db: Database, notice_id: int, *, with_photos: bool = False) -> NoticeDocument | None:
    """A notice as drafted, with the live removal state, seller personal fields and test buys."""
    with db.read() as session:
        row = session.execute(
            select(Notice, Marketplace.name)
            .join(Marketplace, Marketplace.id == Notice.marketplace_id)
            .where(Notice.id == notice_id, db.scope.clause(Notice))
        ).first()
        if row is None:
            return None
        notice, market = row
        links = session.execute(
            select(NoticeListing, Listing.gone, Seller)
            .join(Listing, Listing.id == NoticeListing.listing_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id)
            .where(NoticeListing.notice_id == notice_id)
            .order_by(NoticeListing.position, NoticeListing.listing_id)
        ).all()
        listings = []
        gone = set()
        for link, is_gone, seller in links:
            snapshot = dict(link.snapshot or {}) or {"listing_id": link.listing_id, "finding_id": link.finding_id}
            listings.append(
                ListingFacts.from_snapshot(
                    snapshot,
                    seller_location=seller.location_text if seller is not None else None,
                    seller_contact=_contact(seller),
                )
            )
            if is_gone:
                gone.add(link.listing_id)
        buys = testbuys.facts_for(session, db.scope, [f.listing_id for f in listings], with_photos=with_photos)
        return NoticeDocument(
            id=notice.id, marketplace=market, template=notice.template, ground=Ground(notice.ground),
            status=NoticeStatus(notice.status), part=notice.part, parts=notice.parts, draft_group=notice.draft_group,
            body=notice.body, warnings=tuple(str(w) for w in notice.warnings or []),
            context=dict(notice.context or {}), reference=notice.reference, status_note=notice.status_note,
            created_by=notice.created_by, created_at=as_utc(notice.created_at),
            filed_at=as_utc(notice.filed_at) if notice.filed_at else None,
            closed_at=as_utc(notice.closed_at) if notice.closed_at else None,
            listings=tuple(listings), gone=frozenset(gone), test_buys=buys,
        )


def redaction_of(privacy: Privacy | None) -> bool:
    """Whether exports leave seller personal data out: the configured choice, else yes."""
    return True if privacy is None else privacy.redact_exports
