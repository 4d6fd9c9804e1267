"""Writes a crawl's results: crawl runs, and batched upserts of listings with their seller, photos,
evidence and price snapshot. Nothing is ever deleted; listings not seen for N complete runs are marked gone."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import Database
from core.images import sniff_media_type
from core.models import (
    SEEN_FROM_CARD,
    SEEN_FROM_PAGE,
    Brand,
    BrandListing,
    CrawlRun,
    Evidence,
    ImageStatus,
    Listing,
    ListingImage,
    ListingSnapshot,
    Marketplace,
    PhotoCopy,
    PhotoReading,
    RunStatus,
    Seller,
    as_utc,
    utcnow,
)
from core.text import fold_for_match
from crawler.items import ListingItem


def marketplace_id(session: Session, name: str, base_url: str | None = None) -> int:
    existing = session.scalar(select(Marketplace.id).where(Marketplace.name == name))
    if existing is not None:
        return existing
    market = Marketplace(name=name, base_url=base_url)
    session.add(market)
    session.flush()
    return market.id


def interruption(what_happened: str, run: CrawlRun) -> str:
    """The sentence an interrupted run is closed with: what happened, and what it had stored by then (its counts
    are written with every batch, so they hold after a kill)."""
    return (f"{what_happened}; it had fetched {run.pages} pages and stored {run.items} listings, "
            "and did not close its run")[:1000]


def _fail_running(session: Session, market: int, what_happened: Callable[[CrawlRun], str],
                  shard: str | None = None) -> None:
    """Close the marketplace's runs still marked running, of `shard` only (None: the whole-marketplace runs):
    other shards' runs may be running right now."""
    running = session.scalars(select(CrawlRun).where(CrawlRun.marketplace_id == market,
                                                     CrawlRun.status == RunStatus.RUNNING,
                                                     _same_shard(shard)))
    for run in running:
        run.status, run.finished_at = RunStatus.FAILED, utcnow()
        run.errors = {"interrupted": interruption(what_happened(run), run)}


def _same_shard(shard: str | None) -> ColumnElement[bool]:
    return CrawlRun.shard.is_(None) if shard is None else CrawlRun.shard == shard


def fail_open_runs(db: Database, marketplace: str, what_happened: str, shard: str | None = None) -> None:
    """Close as failed any run of this marketplace (of its `shard`) still marked running (its process was killed),
    saying `what_happened` ("killed (SIGKILL)") and how far the run got."""
    with db.session() as session:
        market = session.scalar(select(Marketplace.id).where(Marketplace.name == marketplace))
        if market is not None:
            _fail_running(session, market, lambda _run: what_happened, shard)


RESUME_WITHIN = timedelta(hours=24)


def open_run(db: Database, marketplace: str, base_url: str | None = None, *, brand: str | None = None,
             shard: str | None = None) -> int:
    """Record a crawl run (of one `shard`) as started, for `brand` (whose listings the run's finds become). A run
    this marketplace (this shard) left running (a killed process) is closed as failed, and the new run resumes it:
    what it captured in the last day is not fetched again."""
    with db.session() as session:
        market = marketplace_id(session, marketplace, base_url)
        brand_id = _brand_id(session, brand) if brand is not None else None
        # The crawl lock (core/lease.CrawlLease, of the shard's slot) is ours, so a run of this shard still marked
        # running lost its process.
        _fail_running(session, market,
                      lambda run: f"crawl process {run.pid} ended unannounced (found by the next crawl)", shard)
        last = session.scalars(
            select(CrawlRun).where(CrawlRun.marketplace_id == market, _same_shard(shard))
            .order_by(CrawlRun.id.desc()).limit(1)
        ).first()
        resumable = (
            last is not None and last.status == RunStatus.FAILED and "interrupted" in (last.errors or {})
            and as_utc(last.started_at) > utcnow() - RESUME_WITHIN
        )
        run = CrawlRun(marketplace_id=market, status=RunStatus.RUNNING, pid=os.getpid(), brand_id=brand_id, shard=shard,
                       resumed_from=last.id if resumable and last is not None else None)
        session.add(run)
        session.flush()
        return run.id


def _brand_id(session: Session, name: str) -> int:
    """The crawling brand's row (made here when a crawl comes before the brand's first catalogue sync)."""
    found = session.scalar(select(Brand.id).where(Brand.name == name))
    if found is not None:
        return found
    brand = Brand(name=name, names={})
    session.add(brand)
    session.flush()
    return brand.id


def _claim(session: Session, run_id: int | None, listing_ids: list[int]) -> None:
    """The listings a brand's crawl saw become that brand's to judge (stored once, judged by each brand)."""
    brand_id = session.scalar(select(CrawlRun.brand_id).where(CrawlRun.id == run_id)) if run_id else None
    if brand_id is None or not listing_ids:
        return
    have = {row.listing_id: row for row in session.scalars(select(BrandListing).where(
        BrandListing.brand_id == brand_id, BrandListing.listing_id.in_(listing_ids)))}
    for row in have.values():
        row.crawled = True  # judged before as nobody's, now seen by the brand's crawl
    session.add_all(BrandListing(brand_id=brand_id, listing_id=i, crawled=True) for i in listing_ids if i not in have)


def usual_cards_per_page(db: Database, marketplace: str) -> float | None:
    """Search cards per search page in the marketplace's last complete (ok) run, the yardstick for a sudden drop."""
    with db.read() as session:
        recent: list[dict[str, Any] | None] = list(session.scalars(
            select(CrawlRun.stats).join(Marketplace, Marketplace.id == CrawlRun.marketplace_id)
            .where(Marketplace.name == marketplace, CrawlRun.status == RunStatus.OK)
            .order_by(CrawlRun.id.desc()).limit(5)
        ))
    for stats in recent:  # the last run that walked search pages (a second stage's run fetched item pages only)
        value = (stats or {}).get("brandpatrol/cards_per_search_page")
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


PROXY_INDEX_STAT = "brandpatrol/proxy_index"
MAX_PROXY_REST = timedelta(days=1)


def proxy_in_turn(db: Database, marketplace: str, count: int, backoff: timedelta,
                  now: datetime | None = None) -> int:
    """Which of a marketplace's `count` proxies its next crawl uses: the one after the last used, skipping those
    resting after a blocked crawl (`backoff`, doubled for each block in a row of that proxy, at most a day).
    Where every proxy rests, the one whose rest ends first."""
    now = now or utcnow()
    with db.read() as session:
        runs = session.execute(
            select(CrawlRun.status, CrawlRun.finished_at, CrawlRun.stats)
            .join(Marketplace, Marketplace.id == CrawlRun.marketplace_id)
            .where(Marketplace.name == marketplace, CrawlRun.status != RunStatus.RUNNING)
            .order_by(CrawlRun.id.desc()).limit(50 * count)
        ).tuples().all()
    used: list[tuple[RunStatus, datetime | None, int]] = []
    for status, finished, stats in runs:
        index = (stats or {}).get(PROXY_INDEX_STAT)
        if isinstance(index, int) and 0 <= index < count:
            used.append((status, finished, index))
    rest_until: dict[int, datetime] = {}
    for index in range(count):
        mine = [(s, f) for s, f, i in used if i == index]
        blocks = 0
        for status, _finished in mine:  # newest first: the blocks in a row that end its history
            if status != RunStatus.BLOCKED:
                break
            blocks += 1
        ended = mine[0][1] if mine else None
        if blocks and ended is not None:
            rest_until[index] = as_utc(ended) + min(backoff * 2 ** (blocks - 1), MAX_PROXY_REST)
    last = used[0][2] if used else count - 1
    for step in range(1, count + 1):
        index = (last + step) % count
        if rest_until.get(index, now) <= now:
            return index
    return min(rest_until, key=lambda i: rest_until[i])


def stored_card_fingerprints(db: Database, marketplace: str, external_ids: list[str]) -> dict[str, str]:
    """The fingerprint of the card each of these listings showed last time (for those that have one)."""
    if not external_ids:
        return {}
    with db.read() as session:
        return {external_id: digest or "" for external_id, digest in session.execute(
            select(Listing.external_id, Listing.card_sha256).join(Marketplace, Marketplace.id == Listing.marketplace_id)
            .where(Marketplace.name == marketplace, Listing.external_id.in_(external_ids),
                   Listing.card_sha256.is_not(None)))}


def keep_page(db: Database, url: str, body: bytes) -> str:
    """A page kept as evidence (a marketplace's refusal, say), content-addressed; its SHA-256."""
    digest = hashlib.sha256(body).hexdigest()
    with db.session() as session:
        if session.get(Evidence, digest) is None:
            session.add(Evidence(sha256=digest, kind="html", media_type="text/html", encoding="gzip",
                                 size=len(body), content=gzip.compress(body, 1), captured_at=utcnow(),
                                 url=url[:2048]))
    return digest


def _resume_chain(session: Session, run_id: int) -> list[int]:
    """The interrupted runs a run resumes, newest first (a resumed run may itself have been interrupted)."""
    chain: list[int] = []
    current = session.get(CrawlRun, run_id)
    while current is not None and current.resumed_from is not None and len(chain) < 50:
        chain.append(current.resumed_from)
        current = session.get(CrawlRun, current.resumed_from)
    return chain


def captured_urls(db: Database, run_id: int) -> set[str]:
    """URLs of listings the interrupted runs before this one already captured."""
    with db.read() as session:
        chain = _resume_chain(session, run_id)
        if not chain:
            return set()
        return set(session.scalars(
            select(Listing.url).join(ListingSnapshot, ListingSnapshot.listing_id == Listing.id)
            .where(ListingSnapshot.crawl_run_id.in_(chain))
        ))


def close_run(db: Database, run_id: int, status: RunStatus, *, pages: int, items: int,
              drops: dict[str, int], errors: dict[str, Any], stats: dict[str, Any],
              gone_after_runs: int, mark_missing: bool = True) -> None:
    """Close a run; after a complete (ok) run, count misses of listings it did not see and mark the gone.
    A run that did not walk the search pages (the item pages of a second stage) says nothing about what is gone:
    `mark_missing` False."""
    with db.session() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            return
        run.status, run.finished_at = status, utcnow()
        run.pages, run.items, run.drops, run.errors, run.stats = pages, items, drops, errors, stats
        if status != RunStatus.OK or run.shard is not None or not mark_missing:
            # A failed or partial crawl says nothing about what is gone, nor does one shard's (it saw one term) or
            # the second stage's (it fetched item pages only).
            return
        chain = _resume_chain(session, run_id)
        if chain:
            # Listings the interrupted runs captured were seen by this crawl, which skipped fetching them.
            session.execute(update(Listing).where(Listing.marketplace_id == run.marketplace_id,
                                                  Listing.last_run_id.in_(chain)).values(last_run_id=run_id))
        unseen = (Listing.marketplace_id == run.marketplace_id) & (
            (Listing.last_run_id != run_id) | Listing.last_run_id.is_(None)
        )
        if run.brand_id is not None:
            # A brand's crawl says nothing about listings only other brands' crawls look for.
            claims = select(BrandListing.listing_id).where(BrandListing.listing_id == Listing.id, BrandListing.crawled)
            unseen = unseen & (~claims.exists() | claims.where(BrandListing.brand_id == run.brand_id).exists())
        session.execute(update(Listing).where(unseen).values(missed_runs=Listing.missed_runs + 1))
        session.execute(
            update(Listing)
            .where(unseen, Listing.gone.is_(False), Listing.missed_runs >= gone_after_runs)
            .values(gone=True, gone_at=utcnow())
        )


Digests = tuple[str | None, str | None]


def _evidence_rows(session: Session, items: list[ListingItem], at: datetime) -> dict[int, Digests]:
    """Store each item's HTML (gzip'd) and screenshot once, content-addressed; per item the two SHA-256s."""
    wanted: dict[str, Evidence] = {}
    digests: dict[int, Digests] = {}
    for index, item in enumerate(items):
        pair: list[str | None] = []
        shot_type = sniff_media_type(item.screenshot or b"") or "application/octet-stream"
        for kind, media_type, raw in (("html", "text/html", item.html), ("screenshot", shot_type, item.screenshot)):
            if not raw:
                pair.append(None)
                continue
            digest = hashlib.sha256(raw).hexdigest()
            pair.append(digest)
            if digest not in wanted:
                compress = media_type.startswith("text/")  # level 1: HTML still shrinks ~5x, at a fraction of the CPU
                wanted[digest] = Evidence(
                    sha256=digest, kind=kind, media_type=media_type, encoding="gzip" if compress else "identity",
                    size=len(raw), content=gzip.compress(raw, 1) if compress else raw, captured_at=at,
                    url=item.url[:2048])
        digests[index] = (pair[0], pair[1])
    if wanted:
        known = set(session.scalars(select(Evidence.sha256).where(Evidence.sha256.in_(list(wanted)))))
        session.add_all(row for digest, row in wanted.items() if digest not in known)
    return digests


def _photo_copies(session: Session, items: list[ListingItem], at: datetime) -> None:
    """Keep each new photo's reading copy once, by SHA-256, unless it was read already (the reading is cached).

    Insert-or-ignore, as two crawls of different marketplaces may store the same photo at the same moment."""
    wanted = {r.sha256: r.reading_copy for item in items for r in item.images
              if r.sha256 and r.reading_copy is not None and r.status == ImageStatus.OK}
    if not wanted:
        return
    read = set(session.scalars(select(PhotoReading.sha256).where(PhotoReading.sha256.in_(list(wanted)))))
    rows = [{"sha256": digest, "media_type": copy.media_type, "width": copy.width, "height": copy.height,
             "size": len(copy.content), "content": copy.content, "stored_at": at}
            for digest, copy in wanted.items() if digest not in read]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(PhotoCopy).values(rows).on_conflict_do_nothing(index_elements=["sha256"]))


def _json_safe(extra: dict[str, object]) -> dict[str, object]:
    """Extractor extras as JSON: Decimals as strings, values capped, at most 50 keys."""
    out: dict[str, object] = {}
    for key, value in list(extra.items())[:50]:
        if isinstance(value, bool | int | float) or value is None:
            out[str(key)[:100]] = value
        else:
            out[str(key)[:100]] = str(value)[:1000]
    return out


class ListingStore:
    """Batched upserts for one marketplace within one crawl run: a handful of queries per batch."""

    def __init__(self, db: Database, marketplace: str, run_id: int | None):
        self.db = db
        self.marketplace = marketplace
        self.run_id = run_id

    def write_batch(self, items: list[ListingItem], pages: int | None = None) -> int:
        """Upsert a batch; with the run's progress in the same transaction (`pages` fetched so far, listings
        counted up), so a run's row says how far it got even when its process is killed."""
        now = utcnow()
        latest = list({item.external_id: item for item in items}.values())  # a listing seen twice: last wins
        with self.db.session() as session:
            market = marketplace_id(session, self.marketplace)
            sellers = self._sellers(session, market, latest, now)
            existing = {row.external_id: row for row in session.scalars(select(Listing).where(
                Listing.marketplace_id == market, Listing.external_id.in_([i.external_id for i in latest])))}
            changed: dict[str, bool] = {}
            new_ids: set[str] = set()
            unchanged_cards: list[Listing] = []
            for item in latest:
                key = self._seller_key(item)
                seller = sellers.get(key) if key else None
                listing = existing.get(item.external_id)
                if listing is not None and item.seen_from == SEEN_FROM_CARD and item.card_sha256 is not None \
                        and listing.card_sha256 == item.card_sha256:
                    # The same card as last time: the listing was seen, and nothing it says changed. Whatever
                    # was captured before (its item page above all) stays as it is.
                    self._seen(listing, now)
                    unchanged_cards.append(listing)
                    continue
                if listing is None:
                    listing = Listing(marketplace_id=market, external_id=item.external_id, url=item.url,
                                      title=item.title, first_seen=now, content_version=1)
                    session.add(listing)
                    existing[item.external_id] = listing
                    new_ids.add(item.external_id)
                    changed[item.external_id] = False
                    self._apply(listing, item, seller, now)
                elif item.seen_from == SEEN_FROM_CARD:
                    changed[item.external_id] = self._card_changed(listing, item, seller)
                    self._apply_card(listing, item, seller, now)
                else:
                    changed[item.external_id] = self._changed(listing, item, seller)
                    self._apply(listing, item, seller, now)
            session.flush()
            skip = {listing.external_id for listing in unchanged_cards}
            latest = [item for item in latest if item.external_id not in skip]
            listings = {item.external_id: existing[item.external_id] for item in latest}
            photos_changed = self._store_images(session, listings, latest, now)
            _photo_copies(session, latest, now)
            for external_id, listing in listings.items():
                # A new listing's version 1 is unmatched already; a known one is looked at again on any change.
                if external_id not in new_ids and (changed[external_id] or external_id in photos_changed):
                    listing.content_version += 1
            self._snapshots(session, listings, latest, now)
            _claim(session, self.run_id, [listing.id for listing in listings.values()])
            if self.run_id is not None:
                progress: dict[str, Any] = {"items": CrawlRun.items + len(items)}
                if pages is not None:
                    progress["pages"] = pages
                session.execute(update(CrawlRun).where(CrawlRun.id == self.run_id).values(**progress))
        return len(items)

    @staticmethod
    def _seller_key(item: ListingItem) -> str | None:
        if not (item.seller_id or item.seller_name):
            return None
        return (item.seller_id or fold_for_match(item.seller_name or ""))[:200]

    def _sellers(self, session: Session, market: int, items: list[ListingItem], now: datetime) -> dict[str, Seller]:
        keys = {key for item in items if (key := self._seller_key(item))}
        found = {s.seller_key: s for s in session.scalars(
            select(Seller).where(Seller.marketplace_id == market, Seller.seller_key.in_(keys)))} if keys else {}
        for item in items:
            key = self._seller_key(item)
            if key is None:
                continue
            seller = found.get(key)
            if seller is None:
                seller = Seller(marketplace_id=market, seller_key=key, name=item.seller_name or key,
                                external_id=item.seller_id, first_seen=now)
                session.add(seller)
                found[key] = seller
            seller.name = item.seller_name or seller.name
            seller.last_seen = now
            if item.location_text:
                seller.location_text, seller.country, seller.region = item.location_text, item.country, item.region
        session.flush()
        return found

    @staticmethod
    def _changed(listing: Listing, item: ListingItem, seller: Seller | None) -> bool:
        return (
            listing.title != item.title
            or listing.price != item.price
            or listing.currency != item.currency
            or listing.description != item.description
            or listing.region != item.region
            or listing.country != item.country
            or listing.seller_id != (seller.id if seller else None)
        )

    @staticmethod
    def _card_changed(listing: Listing, item: ListingItem, seller: Seller | None) -> bool:
        """A card changed what matching reads: the fields a card sets (see _apply_card)."""
        return (
            listing.title != item.title
            or listing.price != item.price
            or listing.currency != item.currency
            or (seller is not None and listing.seller_id != seller.id)
            or (item.location_text is not None and (listing.region, listing.country) != (item.region, item.country))
        )

    def _seen(self, listing: Listing, now: datetime) -> None:
        listing.last_seen, listing.last_run_id, listing.missed_runs = now, self.run_id, 0
        listing.gone, listing.gone_at = False, None

    def _apply(self, listing: Listing, item: ListingItem, seller: Seller | None, now: datetime) -> None:
        """Everything the item page (or a new listing's card) shows."""
        listing.url, listing.title, listing.description = item.url[:2048], item.title, item.description
        listing.price, listing.price_high, listing.currency = item.price, item.price_high, item.currency
        listing.location_text, listing.country, listing.region = item.location_text, item.country, item.region
        listing.original_price, listing.condition = item.original_price, item.condition
        listing.attributes = _json_safe(item.extra)
        listing.seller_id = seller.id if seller else None
        listing.seen_from, listing.card_sha256 = item.seen_from, item.card_sha256 or listing.card_sha256
        if item.seen_from == SEEN_FROM_PAGE:
            listing.item_page_at, listing.page_card_sha256 = now, item.card_sha256
        self._seen(listing, now)

    def _apply_card(self, listing: Listing, item: ListingItem, seller: Seller | None, now: datetime) -> None:
        """A changed card of a stored listing: what the card shows replaces what it showed before (a price that
        does not parse is unknown now); what only the item page gave (description, condition, more photos) stays
        until the item page is fetched again."""
        listing.url, listing.title = item.url[:2048], item.title
        listing.price, listing.price_high, listing.currency = item.price, item.price_high, item.currency
        if item.location_text is not None:
            listing.location_text, listing.country, listing.region = item.location_text, item.country, item.region
        if seller is not None:
            listing.seller_id = seller.id
        if item.original_price is not None:
            listing.original_price = item.original_price
        listing.attributes = _json_safe({**(listing.attributes or {}), **item.extra})
        listing.seen_from, listing.card_sha256 = SEEN_FROM_CARD, item.card_sha256
        self._seen(listing, now)

    @staticmethod
    def _store_images(session: Session, listings: dict[str, Listing], items: list[ListingItem],
                      now: datetime) -> set[str]:
        """Upsert photos; the external ids whose photos are new or changed (matching must look again)."""
        changed: set[str] = set()
        by_id = {listing.id: external_id for external_id, listing in listings.items()}
        current: dict[tuple[int, str], ListingImage] = {
            (img.listing_id, img.url): img for img in session.scalars(
                select(ListingImage).where(ListingImage.listing_id.in_(list(by_id))))
        } if any(item.images for item in items) else {}
        for item in items:
            listing = listings[item.external_id]
            for position, record in enumerate(item.images):
                row = current.get((listing.id, record.url[:2048]))
                if row is None:
                    row = ListingImage(listing_id=listing.id, url=record.url[:2048])
                    session.add(row)
                    current[(listing.id, record.url[:2048])] = row
                if record.status != ImageStatus.OK and row.status == ImageStatus.OK:
                    # A photo that failed this time keeps its earlier good hashes; only the failure is noted.
                    row.status_reason = f"last fetch: {record.status}: {record.reason}"[:300]
                    continue
                if row.sha256 != record.sha256 or row.status != record.status:
                    changed.add(item.external_id)
                row.position, row.status, row.status_reason = position, ImageStatus(record.status), record.reason
                row.sha256, row.phash, row.dhash, row.phash_mirror = (
                    record.sha256, record.phash, record.dhash, record.phash_mirror)
                row.width, row.height, row.thumbnail, row.fetched_at = (
                    record.width, record.height, record.thumbnail, now)
        return changed

    def _snapshots(self, session: Session, listings: dict[str, Listing], items: list[ListingItem],
                   now: datetime) -> None:
        digests = _evidence_rows(session, items, now)
        current: dict[int, ListingSnapshot] = {}
        if self.run_id is not None:
            current = {snap.listing_id: snap for snap in session.scalars(select(ListingSnapshot).where(
                ListingSnapshot.crawl_run_id == self.run_id,
                ListingSnapshot.listing_id.in_([listing.id for listing in listings.values()])))}
        for index, item in enumerate(items):
            listing = listings[item.external_id]
            snapshot = current.get(listing.id)
            if snapshot is None:
                snapshot = ListingSnapshot(listing_id=listing.id, crawl_run_id=self.run_id)
                session.add(snapshot)
            snapshot.captured_at, snapshot.title = now, item.title
            snapshot.price, snapshot.price_high, snapshot.currency = item.price, item.price_high, item.currency
            snapshot.sales, snapshot.stock, snapshot.original_price = item.sales, item.stock, item.original_price
            snapshot.html_sha256, snapshot.screenshot_sha256 = digests[index]
