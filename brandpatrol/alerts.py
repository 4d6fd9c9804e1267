"""Alerts through Apprise: one grouped message per event (new findings, failed crawls, an overdue crawl, the
weekly digest), never one per listing. Every message composed is recorded in `alert_log`, delivered or not.

Scraped text (titles, seller names) reaches a message only through `neutral`: cleaned, capped and stripped of
the characters chat services read as markup, so a listing cannot put a link or formatting into an alert.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from core.config import BrandConfig
from core.db import Database
from core.models import (
    SUSPECT_VERDICTS,
    AlertRecord,
    CrawlRun,
    Finding,
    Listing,
    Marketplace,
    Notice,
    NoticeStatus,
    Relisting,
    Review,
    RunStatus,
    Seller,
    utcnow,
)
from core.money import tidy
from core.scope import brand_scope
from core.text import clean_line

logger = logging.getLogger(__name__)

_MARKUP = re.compile(r"[<>\[\]()`*_~|#!\\{}]")
ERROR_MAX = 1000


def neutral(value: object, limit: int = 80) -> str:
    """Scraped text fit for a message on any service: one line, no markup characters, at most `limit` long."""
    text = _MARKUP.sub(" ", clean_line(value, limit * 2))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Alert:
    kind: str  # findings | failure | overdue | digest | removal
    title: str
    body: str
    dedupe_key: str | None = None  # an alert with a key already delivered is not sent again
    brand_id: int | None = None  # the brand it is about (None: install-wide)


def already_delivered(db: Database, key: str, brand_id: int | None = None) -> bool:
    """Whether this alert (of this brand: two brands' digests of a day are two alerts) was delivered."""
    same_brand = AlertRecord.brand_id.is_(None) if brand_id is None else AlertRecord.brand_id == brand_id
    with db.read() as session:
        return session.scalar(select(AlertRecord.id).where(AlertRecord.dedupe_key == key, same_brand,
                                                           AlertRecord.delivered.is_(True)).limit(1)) is not None


def deliver(db: Database, urls: Sequence[str], alert: Alert) -> bool:
    """Send `alert` to every target; record it. True when every target accepted it."""
    import apprise

    if alert.dedupe_key and already_delivered(db, alert.dedupe_key, alert.brand_id):
        return True
    error: str | None = None
    delivered = False
    if not urls:
        error = "no alert targets configured (alerts.urls in the brand configuration)"
    else:
        notifier = apprise.Apprise()
        for url in urls:
            notifier.add(url)
        with apprise.LogCapture(level=apprise.logging.WARNING) as captured:
            delivered = bool(notifier.notify(body=alert.body, title=alert.title,
                                             body_format=apprise.NotifyFormat.TEXT))
            if not delivered:
                error = (captured.getvalue().strip() or "a target refused the message")[:ERROR_MAX]
    if error:
        logger.warning("alert '%s' not delivered: %s", alert.title, error)
    with db.session() as session:
        session.add(AlertRecord(brand_id=alert.brand_id, kind=alert.kind, dedupe_key=alert.dedupe_key,
                                title=alert.title[:300],
                                body=alert.body, sent_at=utcnow(), delivered=delivered, error=error))
    return delivered


# --- composing ---------------------------------------------------------------------------------------------

def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "never"


def findings_alert(db: Database, config: BrandConfig, since: datetime) -> Alert | None:
    """New or newly changed suspect findings at or over alerts.min_score since `since`, not yet reviewed."""
    alerts = config.alerts
    with db.read() as session:
        scope = brand_scope(session, config.brand.name)  # one brand's alert names only that brand's findings
        reviewed = select(Review.id).where(Review.finding_id == Finding.id).exists()
        query = (
            select(Finding, Listing, Marketplace, Seller)
            .join(Listing, Finding.listing_id == Listing.id)
            .join(Marketplace, Listing.marketplace_id == Marketplace.id)
            .outerjoin(Seller, Listing.seller_id == Seller.id)
            .where(Finding.verdict.in_(SUSPECT_VERDICTS), Finding.score >= alerts.min_score,
                   or_(Finding.created_at >= since, Finding.updated_at >= since),
                   Listing.gone.is_(False), ~reviewed, scope.clause(Finding))
            .order_by(Finding.score.desc(), Finding.id)
        )
        rows = session.execute(query).all()
    if not rows:
        return None
    by_verdict = Counter(row[0].verdict.value for row in rows)
    by_market = Counter(row[2].name for row in rows)
    lines = [
        f"{len(rows)} new finding(s) for {neutral(config.brand.name)} scoring {alerts.min_score:.2f} or more:",
        *(f"  {verdict}: {count}" for verdict, count in by_verdict.most_common()),
        "by marketplace: " + ", ".join(f"{name} {count}" for name, count in by_market.most_common()),
    ]
    if alerts.top:
        lines.append("")
        lines.append(f"highest scoring {min(alerts.top, len(rows))}:")
    for rank, (finding, listing, market, seller) in enumerate(rows[: alerts.top], 1):
        price = f"{tidy(listing.price)} {listing.currency or ''}".strip() if listing.price is not None else "no price"
        lines.append(f"{rank}. {finding.verdict.value} {finding.score:.2f} · {market.name} · {price} · "
                     f"seller {neutral(seller.name, 40) if seller else 'unknown'} · {neutral(listing.title)}")
        lines.append(f"   {finding_link(alerts.dashboard_url, finding.id)}")
    lines += ["", f"review queue: {alerts.dashboard_url}/queue"]
    title = f"BrandPatrol: {len(rows)} new high-score finding(s) — " + ", ".join(
        f"{count} {verdict}" for verdict, count in by_verdict.most_common())
    return Alert("findings", title, "\n".join(lines), brand_id=scope.single)


@dataclass(frozen=True)
class FailedCrawl:
    marketplace: str
    status: str
    reason: str


def failure_alert(config: BrandConfig, failures: Sequence[FailedCrawl], total: int,
                  job_error: str | None = None) -> Alert | None:
    if not failures and not job_error:
        return None
    lines = []
    if failures:
        lines.append(f"{len(failures)} of {total} crawl(s) failed; stored listings are untouched:")
        lines += [f"  {f.marketplace}: {f.status} — {neutral(f.reason, 300)}" for f in failures]
    if job_error:
        lines.append(f"the nightly job itself failed: {neutral(job_error, 300)}")
    lines += ["", f"crawl runs: {config.alerts.dashboard_url}/runs"]
    names = ", ".join(f.marketplace for f in failures) or "nightly job"
    return Alert("failure", f"BrandPatrol: crawl failed — {names}"[:300], "\n".join(lines))


@dataclass(frozen=True)
class Overdue:
    marketplace: str
    last_started: datetime | None
    last_run_id: int | None


def overdue_alert(config: BrandConfig, overdue: Sequence[Overdue]) -> Alert | None:
    if not overdue:
        return None
    hours = config.schedule.expected_within_hours
    lines = [f"no crawl started within the expected {hours:g} hours:"]
    lines += [f"  {o.marketplace}: last crawl started {_when(o.last_started)}" for o in overdue]
    lines += ["", "check that `brandpatrol schedule` is running (`brandpatrol status`) and its log.",
              f"crawl runs: {config.alerts.dashboard_url}/runs"]
    # One alert per overdue spell: the key changes only when a newer run starts.
    key = "overdue:" + ",".join(f"{o.marketplace}={o.last_run_id or 0}" for o in overdue)
    return Alert("overdue", "BrandPatrol: crawl overdue — " + ", ".join(o.marketplace for o in overdue),
                 "\n".join(lines), dedupe_key=key[:200])


def finding_link(dashboard_url: str, finding_id: int) -> str:
    """The dashboard address of one finding's detail page; opened signed out, it leads there after sign-in."""
    return f"{dashboard_url.rstrip('/')}/detail?finding={int(finding_id)}"


def digest_alert(db: Database, config: BrandConfig, now: datetime, days: int = 7) -> Alert:
    since = now - timedelta(days=days)
    min_score = config.thresholds.min_score
    with db.read() as session:
        scope = brand_scope(session, config.brand.name)
        runs = session.execute(
            select(Marketplace.name, CrawlRun.status, func.count())
            .join(Marketplace, CrawlRun.marketplace_id == Marketplace.id)
            .where(CrawlRun.started_at >= since, scope.clause(CrawlRun))
            .group_by(Marketplace.name, CrawlRun.status)
        ).all()
        new_findings = session.execute(
            select(Finding.verdict, func.count()).where(
                Finding.created_at >= since, Finding.verdict.in_(SUSPECT_VERDICTS), Finding.score >= min_score,
                scope.clause(Finding))
            .group_by(Finding.verdict)
        ).all()
        decisions = session.execute(
            select(Review.decision, func.count()).where(Review.created_at >= since, scope.clause(Review))
            .group_by(Review.decision)
        ).all()
        reviewed = select(Review.id).where(Review.finding_id == Finding.id).exists()
        waiting = session.scalar(
            select(func.count()).select_from(Finding).join(Listing, Finding.listing_id == Listing.id)
            .where(Finding.verdict.in_(SUSPECT_VERDICTS), Finding.score >= min_score, ~reviewed,
                   Listing.gone.is_(False), scope.clause(Finding))) or 0
        notices = select(func.count()).select_from(Notice).where(scope.clause(Notice))
        filed = session.scalar(notices.where(Notice.filed_at >= since)) or 0
        removed = session.scalar(notices.where(Notice.status == NoticeStatus.REMOVED, Notice.closed_at >= since)) or 0
        open_notices = session.scalar(notices.where(Notice.status == NoticeStatus.FILED)) or 0
        relistings = session.scalar(select(func.count()).select_from(Relisting).where(
            Relisting.detected_at >= since, scope.clause(Relisting))) or 0
        top_waiting = session.execute(
            select(Finding.id, Finding.verdict, Finding.score, Marketplace.name)
            .join(Listing, Finding.listing_id == Listing.id).join(Marketplace, Listing.marketplace_id == Marketplace.id)
            .where(Finding.verdict.in_(SUSPECT_VERDICTS), Finding.score >= min_score, ~reviewed,
                   Listing.gone.is_(False), scope.clause(Finding))
            .order_by(Finding.score.desc(), Finding.id).limit(config.alerts.top)).all()
    per_market: dict[str, Counter[str]] = {}
    for name, status, count in runs:
        per_market.setdefault(name, Counter())[RunStatus(status).value] += count
    lines = [f"BrandPatrol for {neutral(config.brand.name)}, the {days} days to {now:%Y-%m-%d}:", "", "crawls:"]
    lines += [f"  {name}: " + ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
              for name, counts in sorted(per_market.items())] or ["  none"]
    lines.append("new suspect findings: " + (", ".join(f"{count} {_label(v)}" for v, count in new_findings)
                                             or "none"))
    lines.append("reviews: " + (", ".join(f"{count} {_label(d)}" for d, count in decisions) or "none"))
    lines.append(f"waiting for review: {waiting}")
    lines.append(f"notices: {filed} filed, {removed} removed, {open_notices} still open")
    lines.append(f"possible relistings flagged: {relistings}")
    if top_waiting:
        lines += ["", f"highest scoring waiting {len(top_waiting)}:"]
        for rank, (finding_id, verdict, score, market) in enumerate(top_waiting, 1):
            lines.append(f"{rank}. {_label(verdict)} {score:.2f} · {market} · "
                         f"{finding_link(config.alerts.dashboard_url, finding_id)}")
    lines += ["", f"dashboard: {config.alerts.dashboard_url}/queue"]
    return Alert("digest", f"BrandPatrol weekly digest — {now:%Y-%m-%d}", "\n".join(lines),
                 dedupe_key=f"digest:{now:%Y-%m-%d}", brand_id=scope.single)


def _label(value: object) -> str:
    return str(getattr(value, "value", value))


def removal_alert(config: BrandConfig, notices_removed: Sequence[int], relistings: Sequence[dict[str, object]]
                  ) -> Alert | None:
    if not notices_removed and not relistings:
        return None
    lines = []
    if notices_removed:
        lines.append(f"{len(notices_removed)} notice(s) closed, every listing under them removed: "
                     + ", ".join(f"#{n}" for n in notices_removed))
    if relistings:
        lines.append(f"{len(relistings)} possible relisting(s) of removed listings:")
        for flag in relistings[:20]:
            why = "same seller" if flag.get("same_seller") else f"photo distance {flag.get('image_distance')}"
            lines.append(f"  listing {flag['new_listing']} ({why}) after notice #{flag['notice']} "
                         f"removed listing {flag['removed_listing']}")
    lines += ["", f"dashboard: {config.alerts.dashboard_url}/queue"]
    parts = [f"{len(notices_removed)} notice(s) removed"] if notices_removed else []
    parts += [f"{len(relistings)} possible relisting(s)"] if relistings else []
    return Alert("removal", "BrandPatrol: " + ", ".join(parts), "\n".join(lines))
