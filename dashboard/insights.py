"""Queries behind the Overview, Sellers and Runs pages (no Streamlit): short read transactions, aggregated in SQL.

- overview: findings per day per verdict and marketplace; per week per verdict, marketplace and region (where the
  listing ships from); notices' removal rate and time from filing to removal; the time from finding to notice to
  removal; the relisting rate;
- sellers: repeat offenders (most suspect findings), their network (SellerCluster, matching/clusters.py, read
  only), listings that came back after a removal, and one seller's listings over time;
- next_crawl: the next fire time of the nightly crawl from the configuration's schedule.cron.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, func, select

from core.config import Schedule, cron_trigger
from core.db import Database
from core.models import (
    SUSPECT_VERDICTS,
    Finding,
    Listing,
    Marketplace,
    Notice,
    NoticeListing,
    NoticeStatus,
    Relisting,
    Seller,
    SellerCluster,
    Verdict,
    as_utc,
)
from core.reviews import confirmed_finding_ids


@dataclass(frozen=True)
class DayCount:
    day: date
    verdict: Verdict
    marketplace: str
    findings: int


@dataclass(frozen=True)
class Removal:
    notices_filed: int  # filed at some point (filed, removed or rejected)
    removed: int
    rejected: int
    open: int  # filed, no outcome yet
    median_days_to_removal: float | None

    @property
    def removal_rate(self) -> float | None:
        decided = self.removed + self.rejected
        return self.removed / decided if decided else None


def findings_per_day(db: Database, since: date) -> list[DayCount]:
    """Suspect findings created per day (UTC) since `since`, by verdict and marketplace."""
    day = func.date(Finding.created_at)
    stmt = (
        select(day, Finding.verdict, Marketplace.name, func.count())
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .where(db.scope.clause(Finding), Finding.verdict.in_(sorted(SUSPECT_VERDICTS)),
               Finding.created_at >= datetime.combine(since, datetime.min.time(), tzinfo=UTC))
        .group_by(day, Finding.verdict, Marketplace.name)
        .order_by(day, Marketplace.name)
    )
    with db.read() as s:
        rows = s.execute(stmt).all()
    # SQLite's date() gives text, PostgreSQL's a date.
    return [DayCount(d if isinstance(d, date) else date.fromisoformat(str(d)), Verdict(str(v)), str(m), int(str(n)))
            for d, v, m, n in rows]


def removals(db: Database) -> Removal:
    """How filed notices ended: removal rate over decided notices and the median days from filing to removal."""
    with db.read() as s:
        rows = s.execute(select(Notice.status, Notice.filed_at, Notice.closed_at)
                         .where(db.scope.clause(Notice), Notice.status != NoticeStatus.DRAFTED)).all()
    days = [(as_utc(closed) - as_utc(filed)).total_seconds() / 86400 for status, filed, closed in rows
            if status is NoticeStatus.REMOVED and filed is not None and closed is not None]
    return Removal(
        notices_filed=len(rows),
        removed=sum(1 for r in rows if r[0] is NoticeStatus.REMOVED),
        rejected=sum(1 for r in rows if r[0] is NoticeStatus.REJECTED),
        open=sum(1 for r in rows if r[0] is NoticeStatus.FILED),
        median_days_to_removal=round(statistics.median(days), 1) if days else None,
    )


@dataclass(frozen=True)
class WeekRegionCount:
    week: date  # the Monday (UTC)
    verdict: Verdict
    marketplace: str
    region: str  # ISO 3166: the province (CN-GD) where known, else the country; "" when neither is known
    findings: int


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def findings_per_week(db: Database, since: date) -> list[WeekRegionCount]:
    """Suspect findings created per week (UTC, weeks from Monday) since `since`, by verdict, marketplace and the
    region the listing ships from (its subdivision, else its country, else its seller's)."""
    day = func.date(Finding.created_at)
    region = func.coalesce(Listing.region, Listing.country, Seller.region, Seller.country, "")
    stmt = (
        select(day, Finding.verdict, Marketplace.name, region, func.count())
        .join(Listing, Listing.id == Finding.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(Finding.verdict.in_(sorted(SUSPECT_VERDICTS)), db.scope.clause(Finding),
               Finding.created_at >= datetime.combine(since, datetime.min.time(), tzinfo=UTC))
        .group_by(day, Finding.verdict, Marketplace.name, region)
    )
    weeks: dict[tuple[date, Verdict, str, str], int] = {}
    with db.read() as s:
        for d, verdict, market, where, n in s.execute(stmt):
            monday = _monday(d if isinstance(d, date) else date.fromisoformat(str(d)))
            key = (monday, Verdict(str(verdict)), str(market), str(where or ""))
            weeks[key] = weeks.get(key, 0) + int(str(n))
    return [WeekRegionCount(w, v, m, r, n) for (w, v, m, r), n in sorted(weeks.items())]


@dataclass(frozen=True)
class Pipeline:
    """How long confirmed findings take to become notices and notices to end in removal (medians, in days)."""

    findings_on_notices: int  # findings on a filed notice
    median_days_to_notice: float | None  # finding created -> its notice filed
    removed: int  # listings whose notice ended in removal
    median_days_to_removal: float | None  # notice filed -> removed
    median_days_finding_to_removal: float | None
    relisted: int  # removed listings flagged as back (same seller or same photo)

    @property
    def relisting_rate(self) -> float | None:
        return self.relisted / self.removed if self.removed else None


def _median_days(pairs: list[tuple[datetime | None, datetime | None]]) -> float | None:
    days = [(as_utc(b) - as_utc(a)).total_seconds() / 86400 for a, b in pairs if a is not None and b is not None]
    return round(statistics.median(days), 1) if days else None


def pipeline(db: Database, since: date | None = None) -> Pipeline:
    """Finding -> notice -> removal for findings filed on notices (found since `since` when given), and how many
    of the removed listings came back (Relisting rows of the removal check)."""
    stmt = (
        select(NoticeListing.listing_id, Finding.created_at, Notice.filed_at, Notice.status, Notice.closed_at)
        .join(Notice, Notice.id == NoticeListing.notice_id)
        .join(Finding, Finding.id == NoticeListing.finding_id)
        .where(Notice.filed_at.is_not(None), db.scope.clause(Notice))
    )
    if since is not None:
        stmt = stmt.where(Finding.created_at >= datetime.combine(since, datetime.min.time(), tzinfo=UTC))
    with db.read() as s:
        rows = s.execute(stmt).all()
        removed_listings = {r[0] for r in rows if r[3] is NoticeStatus.REMOVED and r[4] is not None}
        relisted = set(s.scalars(select(Relisting.removed_listing_id).where(
            Relisting.removed_listing_id.in_(sorted(removed_listings)), db.scope.clause(Relisting)))) \
            if removed_listings else set()
    removed = [r for r in rows if r[3] is NoticeStatus.REMOVED and r[4] is not None]
    return Pipeline(
        findings_on_notices=len(rows),
        median_days_to_notice=_median_days([(r[1], r[2]) for r in rows]),
        removed=len(removed_listings),
        median_days_to_removal=_median_days([(r[2], r[4]) for r in removed]),
        median_days_finding_to_removal=_median_days([(r[1], r[4]) for r in removed]),
        relisted=len(relisted),
    )


@dataclass(frozen=True)
class Offender:
    seller_id: int
    name: str  # scraped: shown only as text
    marketplace: str
    region: str | None
    suspect_listings: int
    confirmed: int
    removed_by_notice: int  # its listings on notices that ended in removal
    relisted: int  # its listings first seen after one of its listings was removed by a notice
    network_size: int | None  # shops in its SellerCluster, None when linked to none


def repeat_offenders(db: Database, limit: int = 100, min_suspects: int = 1) -> list[Offender]:
    """Sellers by the number of their suspect listings (then confirmed ones), with takedown history."""
    limit = max(1, min(int(limit), 1000))
    suspects = func.count(func.distinct(Finding.id))
    # Confirmed: the latest review decides (a confirmation later overridden no longer counts).
    confirmed = (select(func.count(Finding.id)).join(Listing, Listing.id == Finding.listing_id)
                 .where(Listing.seller_id == Seller.id, Finding.id.in_(confirmed_finding_ids()),
                        db.scope.clause(Finding))
                 .scalar_subquery())
    stmt = (
        select(Seller.id, Seller.name, Marketplace.name, Seller.region, suspects, confirmed, SellerCluster.size)
        .join(Marketplace, Marketplace.id == Seller.marketplace_id)
        .join(Listing, Listing.seller_id == Seller.id)
        .join(Finding, and_(Finding.listing_id == Listing.id, Finding.verdict.in_(sorted(SUSPECT_VERDICTS)),
                            db.scope.clause(Finding)))
        .outerjoin(SellerCluster, SellerCluster.id == Seller.cluster_id)
        .group_by(Seller.id, Seller.name, Marketplace.name, Seller.region, SellerCluster.size)
        .having(suspects >= min_suspects)
        .order_by(suspects.desc(), Seller.id)
        .limit(limit)
    )
    with db.read() as s:
        rows = s.execute(stmt).all()
        ids = [r[0] for r in rows]
        removed_at: dict[int, list[tuple[int, datetime]]] = {}
        if ids:
            for seller_id, listing_id, closed in s.execute(
                    select(Listing.seller_id, Listing.id, Notice.closed_at)
                    .join(NoticeListing, NoticeListing.listing_id == Listing.id)
                    .join(Notice, Notice.id == NoticeListing.notice_id)
                    .where(Listing.seller_id.in_(ids), Notice.status == NoticeStatus.REMOVED, db.scope.clause(Notice),
                           Notice.closed_at.is_not(None))):
                if seller_id is not None and closed is not None:
                    removed_at.setdefault(seller_id, []).append((listing_id, as_utc(closed)))
        relisted: dict[int, int] = {}
        for seller_id, removed in removed_at.items():
            first_removal = min(at for _, at in removed)
            gone_ids = {listing_id for listing_id, _ in removed}
            relisted[seller_id] = int(s.scalar(
                select(func.count(Listing.id)).where(Listing.seller_id == seller_id, db.scope.clause(Listing),
                                                     Listing.first_seen > first_removal,
                                                     Listing.id.not_in(gone_ids))) or 0)
    return [Offender(r[0], r[1], r[2], r[3], int(r[4]), int(r[5] or 0),
                     len({lid for lid, _ in removed_at.get(r[0], [])}), relisted.get(r[0], 0),
                     int(r[6]) if r[6] is not None else None) for r in rows]


@dataclass(frozen=True)
class WeekCount:
    week: date  # the Monday
    listings: int


def listings_per_week(db: Database, seller_id: int) -> list[WeekCount]:
    """How many listings of one seller were first seen in each week (UTC)."""
    with db.read() as s:
        seen = [as_utc(v) for v in s.scalars(db.scope.select(Listing, Listing.first_seen)
                                              .where(Listing.seller_id == seller_id))]
    weeks: dict[date, int] = {}
    for at in seen:
        monday = (at - timedelta(days=at.weekday())).date()
        weeks[monday] = weeks.get(monday, 0) + 1
    return [WeekCount(w, n) for w, n in sorted(weeks.items())]


def network_members(db: Database, seller_id: int) -> list[tuple[str, str]]:
    """(marketplace, seller name) of the other shops in this seller's network, if any."""
    with db.read() as s:
        cluster = s.scalar(db.scope.select(Seller, Seller.cluster_id).where(Seller.id == seller_id))
        if cluster is None:
            return []
        return [(m, n) for m, n in s.execute(
            select(Marketplace.name, Seller.name).join(Marketplace, Marketplace.id == Seller.marketplace_id)
            .where(Seller.cluster_id == cluster, Seller.id != seller_id, db.scope.clause(Seller))
            .order_by(Marketplace.name, Seller.name))]


def next_crawl(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    """The next fire time of the nightly crawl (schedule.cron in schedule.timezone); None if it never fires."""
    trigger = cron_trigger(schedule.cron, schedule.timezone)
    fire: datetime | None = trigger.get_next_fire_time(None, now or datetime.now(UTC))
    return fire
