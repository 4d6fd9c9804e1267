"""Removal checks: are the listings under a filed notice gone, and has anything come back?

Each listing under a filed notice is fetched again through the egress gate. It counts as removed when the
marketplace answers 404 or 410, when it redirects away from the listing (the final URL no longer carries the
listing's id), when the page says so (`REMOVED_MARKERS`), or when complete crawls already marked it gone. Anything
else (a timeout, a 5xx, a refused URL) is "unknown" and changes nothing: a notice is never closed on a guess.
A notice whose listings are all removed becomes `removed`, closed on the date its last listing went.

Relisting: after filing, a new suspect listing from the same seller on that marketplace, or one with a photo
within the image distance threshold of a removed listing's photo on any marketplace, or a removed listing seen
again by a crawl, is flagged in `relisting` (once per pair) for a person to look at.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import BrandConfig
from core.db import Database
from core.egress import EgressBlocked, EgressPolicy, FetchFailed, FetchResult, Proxy, fetch
from core.images import hamming
from core.models import (
    SUSPECT_VERDICTS,
    AuditLog,
    Finding,
    Listing,
    ListingImage,
    Marketplace,
    Notice,
    NoticeListing,
    NoticeStatus,
    Relisting,
    as_utc,
    utcnow,
)
from core.scope import BrandScope, brand_scope
from core.settings import Settings

logger = logging.getLogger(__name__)

ACTOR = "scheduler"
RELIST_WINDOW = timedelta(days=90)  # removed notices are watched for relistings this long after closing
# Phrases marketplaces show on the page of a listing taken down (the page itself may still answer 200).
REMOVED_MARKERS = (
    "宝贝不存在", "商品已下架", "该商品已下架", "商品已经下架", "此商品已下架", "商品不存在", "页面不存在",
    "this listing has ended", "this item is no longer available", "listing was removed", "item not found",
    "this listing is no longer available", "the item you requested is not available",
)
PAGE_SCAN_BYTES = 4 * 1024 * 1024  # the removal notice is near the top of a page; the rest is not read
Fetcher = Callable[[str, str], FetchResult]  # (listing URL, marketplace name): its page


class Presence(enum.StrEnum):
    PRESENT = "present"
    GONE = "gone"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Probe:
    presence: Presence
    reason: str


def visible_text(final_url: str, body: bytes, content_type: str = "") -> str:
    """The text a reader sees on a page (no scripts, styles or attributes), decoded by its declared charset."""
    from scrapy.http import HtmlResponse

    headers = {"Content-Type": content_type} if content_type else {}
    response = HtmlResponse(url=final_url, body=body[:PAGE_SCAN_BYTES], headers=headers)
    nodes = response.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)"
                           " and not(ancestor::noscript) and not(ancestor::template)]").getall()
    return " ".join(" ".join(nodes).split())


def judge_page(listing_url: str, external_id: str, final_url: str, body: bytes, content_type: str = "") -> Probe:
    """Present or gone, from the page the listing's URL answered with 200 (pure: tested on saved pages)."""
    if final_url != listing_url and external_id not in final_url:
        return Probe(Presence.GONE, f"the listing's URL now redirects to {final_url[:200]}")
    text = visible_text(final_url, body, content_type).casefold()
    for marker in REMOVED_MARKERS:
        if marker.casefold() in text:
            return Probe(Presence.GONE, f"the page says '{marker}'")
    return Probe(Presence.PRESENT, "the listing's page still answers")


_HTTP_STATUS = re.compile(r"^HTTP (\d{3}) ")


def probe_listing(listing_url: str, external_id: str, fetcher: Fetcher, marketplace: str) -> Probe:
    try:
        result = fetcher(listing_url, marketplace)
    except EgressBlocked as exc:
        return Probe(Presence.UNKNOWN, f"refused by the egress gate: {exc.reason}")
    except FetchFailed as exc:
        status = _HTTP_STATUS.match(str(exc))
        if status and status.group(1) in ("404", "410"):
            return Probe(Presence.GONE, f"the marketplace answers HTTP {status.group(1)}")
        return Probe(Presence.UNKNOWN, str(exc)[:300])
    return judge_page(listing_url, external_id, result.url, result.body, result.content_type)


def egress_fetcher(settings: Settings, config: BrandConfig) -> Fetcher:
    """Through the egress gate, and through the listing's marketplace's proxy when it has one."""
    policy = EgressPolicy.from_hosts(config.egress.allow_private_hosts)
    # A marketplace with proxies in turn is checked through its first.
    proxies = {m.name: Proxy.from_url(m.proxy or m.proxies[0]) for m in config.marketplaces if m.proxy or m.proxies}

    def get(url: str, marketplace: str) -> FetchResult:
        return fetch(url, policy, max_bytes=settings.page_max_bytes, timeout=settings.fetch_timeout_s,
                     accept="text/html,*/*", proxy=proxies.get(marketplace))

    return get


@dataclass
class RemovalSummary:
    checked: int = 0
    present: int = 0
    gone: int = 0
    unknown: int = 0
    notices_removed: list[int] = field(default_factory=list)
    relistings: list[dict[str, Any]] = field(default_factory=list)
    unknown_reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "present": self.present, "gone": self.gone, "unknown": self.unknown,
                "notices_removed": self.notices_removed, "relistings": self.relistings,
                "unknown_reasons": self.unknown_reasons[:10]}


def _audit(session: Session, action: str, object_type: str, object_id: int, *, detail: dict[str, Any],
           brand_id: int | None = None) -> None:
    session.add(AuditLog(actor=ACTOR, action=action, object_type=object_type, object_id=str(object_id),
                         detail=detail, brand_id=brand_id))


def check_removals(db: Database, config: BrandConfig, fetcher: Fetcher, *,
                   now: datetime | None = None) -> RemovalSummary:
    """Probe every listing under a filed notice, record removals and close notices, then flag relistings."""
    now = now or utcnow()
    summary = RemovalSummary()
    with db.read() as session:
        scope = brand_scope(session, config.brand.name)  # this brand's notices; each brand checks its own
        pending = session.execute(
            select(Listing.id, Listing.url, Listing.external_id, Listing.gone, Marketplace.name)
            .join(Marketplace, Marketplace.id == Listing.marketplace_id)
            .join(NoticeListing, NoticeListing.listing_id == Listing.id)
            .join(Notice, Notice.id == NoticeListing.notice_id)
            .where(Notice.status == NoticeStatus.FILED, scope.clause(Notice)).distinct().order_by(Listing.id)
        ).all()
    for listing_id, url, external_id, gone, marketplace in pending:
        summary.checked += 1
        if gone:
            summary.gone += 1
            continue
        # One network request per listing, outside any transaction.
        probe = probe_listing(url, external_id, fetcher, marketplace)
        if probe.presence is Presence.PRESENT:
            summary.present += 1
        elif probe.presence is Presence.UNKNOWN:
            summary.unknown += 1
            summary.unknown_reasons.append(f"listing {listing_id}: {probe.reason}")
        else:
            summary.gone += 1
            with db.session() as session:
                listing = session.get(Listing, listing_id)
                if listing is not None and not listing.gone:
                    listing.gone, listing.gone_at = True, now
                    _audit(session, "listing_removed", "listing", listing_id, detail={"reason": probe.reason},
                           brand_id=scope.single)
    with db.session() as session:
        summary.notices_removed = _close_notices(session, scope, now)
    with db.session() as session:
        summary.relistings = _flag_relistings(session, scope, config, now)
    return summary


def _close_notices(session: Session, scope: BrandScope, now: datetime) -> list[int]:
    closed = []
    for notice in session.scalars(scope.select(Notice).where(Notice.status == NoticeStatus.FILED)
                                  .order_by(Notice.id)):
        listings = list(session.scalars(
            select(Listing).join(NoticeListing, NoticeListing.listing_id == Listing.id)
            .where(NoticeListing.notice_id == notice.id)))
        if not listings or not all(listing.gone for listing in listings):
            continue
        notice.status = NoticeStatus.REMOVED
        notice.closed_at = max((listing.gone_at or now) for listing in listings)
        _audit(session, "notice_removed", "notice", notice.id, brand_id=notice.brand_id, detail=
               {"listings": [listing.id for listing in listings], "removed_on": notice.closed_at.isoformat()})
        closed.append(notice.id)
    return closed


def _flag_relistings(session: Session, scope: BrandScope, config: BrandConfig,
                     now: datetime) -> list[dict[str, Any]]:
    watched = session.scalars(scope.select(Notice).where(
        (Notice.status == NoticeStatus.FILED)
        | ((Notice.status == NoticeStatus.REMOVED) & (Notice.closed_at >= now - RELIST_WINDOW)))).all()
    known = {(r.removed_listing_id, r.new_listing_id) for r in session.scalars(select(Relisting))}
    flagged: list[dict[str, Any]] = []
    limit = config.thresholds.image_distance
    for notice in watched:
        since = notice.filed_at or notice.created_at
        ids = list(session.scalars(select(NoticeListing.listing_id).where(NoticeListing.notice_id == notice.id)))
        for removed in session.scalars(select(Listing).where(Listing.id.in_(ids))):
            candidates: dict[int, dict[str, Any]] = {}
            closed = as_utc(notice.closed_at) if notice.closed_at else None
            if closed and not removed.gone and as_utc(removed.last_seen) > closed:
                candidates[removed.id] = {"same_seller": True, "image_distance": None}  # crawled again since
            if not removed.gone and notice.status == NoticeStatus.FILED:
                continue  # still up: nothing has been relisted yet
            newer = (Listing.first_seen >= since) & (Listing.id.not_in(ids)) & Listing.gone.is_(False)
            if removed.seller_id is not None:
                # Only the seller's suspect listings: a seller's other, legitimate goods are no relisting.
                for new_id in session.scalars(select(Listing.id).join(Finding, Finding.listing_id == Listing.id)
                                              .where(newer, Listing.seller_id == removed.seller_id,
                                                     Finding.verdict.in_(SUSPECT_VERDICTS),
                                                     Finding.brand_id == notice.brand_id)):
                    candidates.setdefault(new_id, {"same_seller": True, "image_distance": None})
            hashes = [h for h in session.scalars(select(ListingImage.phash).where(
                ListingImage.listing_id == removed.id, ListingImage.phash.is_not(None))) if h]
            if hashes:
                for new_id, phash in session.execute(
                        select(ListingImage.listing_id, ListingImage.phash).join(Listing)
                        .where(newer, ListingImage.phash.is_not(None))):
                    if not phash:
                        continue
                    distance = min(hamming(phash, h) for h in hashes)
                    if distance <= limit:
                        entry = candidates.setdefault(new_id, {"same_seller": False, "image_distance": None})
                        best = entry["image_distance"]
                        entry["image_distance"] = distance if best is None else min(best, distance)
            for new_id, found in sorted(candidates.items()):
                if (removed.id, new_id) in known:
                    continue
                known.add((removed.id, new_id))
                session.add(Relisting(notice_id=notice.id, removed_listing_id=removed.id, new_listing_id=new_id,
                                      same_seller=found["same_seller"], image_distance=found["image_distance"],
                                      detected_at=now))
                _audit(session, "relisting_flagged", "listing", new_id, brand_id=notice.brand_id,
                       detail={"notice": notice.id, "removed_listing": removed.id, **found})
                flagged.append({"notice": notice.id, "removed_listing": removed.id, "new_listing": new_id, **found})
    return flagged
