"""Matching over the database: examine listings, write one Finding per listing, in batches.

Incremental: only listings whose content changed since they were last matched (content_version >
matched_version), unless `full`, or unless the rule set or the catalogue (config, reference photos, hash version)
changed since the last complete run, which MatchState remembers. Idempotent: one Finding per listing, rewritten
only when what it says changed. A finding that has a review is never touched: the reviewer's decision stands.
Every examined listing gets a finding, ok and unrelated too, so evaluation can see them; the review queue shows
only suspect verdicts scoring at least thresholds.min_score.

Before judging a batch, the past is looked up (matching.past): reviewers' confirmed findings on each seller's
other listings, and listings taken down that this one may bring back. The flood guard (matching.flood) watches
which reference each finding's photo matched; a flooding reference is distrusted, remembered in MatchState, and
the listings it matched are judged again without it. Last, sellers are grouped into networks: the examined
listings join, split or merge the networks they touch (matching.network_update; a full run recomputes them all,
matching.clusters), and every listing whose seller's network facts (matching.network_facts) are not the ones its
finding was judged on is judged again, so a shop tied to a copy shop confirmed or flagged tonight is flagged
tonight. Network facts rest only on findings that stand without the network, so one pass settles them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from core.config import BrandConfig
from core.db import Database
from core.models import SUSPECT_VERDICTS as SUSPECT
from core.models import BrandListing, Finding, Listing, utcnow
from core.settings import get_settings
from matching import past
from matching.assess import Assessment
from matching.context import MatchContext, load_context
from matching.facts import ListingFacts
from matching.flood import FloodWatch
from matching.network_facts import NetworkIndex, load_network_index
from matching.network_index import STATE_PENDING
from matching.network_index import get_state as _state
from matching.network_index import set_state as _set_state
from matching.network_update import update_networks
from matching.photos.batch import PhotoBatch
from matching.photos.store import PhotoReader
from matching.verdicts import RULE_SET_VERSION

BATCH_SIZE = 500
STATE_RULES = "matching.rule_set_version"
STATE_INPUTS = "matching.catalogue_fingerprint"
STATE_DISTRUSTED = "matching.distrusted_references"


@dataclass
class MatchSummary:
    rule_set_version: str = RULE_SET_VERSION
    full: bool = False
    full_because: str | None = None
    examined: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_reviewed: int = 0  # findings left as they are because a person reviewed them
    by_verdict: dict[str, int] = field(default_factory=dict)
    queued: int = 0  # suspect findings at or over min_score
    keypoint_checks: int = 0  # borderline photo pairs checked by keypoints
    artwork_checks: int = 0  # photo-reference pairs searched for the brand's pack artwork (matching.artwork)
    artwork_skipped: int = 0  # photos left unchecked once the run's budget of artwork checks was spent
    flooded_references: list[dict[str, Any]] = field(default_factory=list)  # distrusted in this run
    distrusted_references: list[str] = field(default_factory=list)  # every reference distrusted now
    reexamined_after_flood: int = 0
    seller_networks: int = 0
    largest_network: int = 0
    networks_incremental: bool = False  # updated from the examined listings, not recomputed in full
    # Reading the photos (matching/photos): whether OCR ran, photos read, cached, skipped by the budget and why.
    photos: dict[str, Any] = field(default_factory=dict)
    awaiting_photos: int = 0  # listings left in the queue because the budget left their photos unread
    reexamined_for_networks: int = 0  # listings judged again because their seller's network facts changed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def finding_values(assessment: Assessment, ctx: MatchContext) -> dict[str, Any]:
    """The columns of the Finding an assessment makes."""
    verdict = assessment.verdict
    return {
        "product_id": ctx.product_ids.get(assessment.sku) if assessment.sku else None,
        "verdict": verdict.verdict,
        "score": verdict.score,
        "reasons": list(verdict.reasons),
        "signals": assessment.signals.as_dict(),
        "rule_set_version": RULE_SET_VERSION,
        "matched_reference_id": assessment.matched_reference_id,
        "matched_image_id": assessment.matched_image_id,
        "image_distance": assessment.image_distance,
    }


def brand_state_key(key: str, brand_id: int | None) -> str:
    """Matching's remembered state is each brand's own: the key of `key` for a brand (key@brand id)."""
    return key if brand_id is None else f"{key}@{brand_id}"


@dataclass(frozen=True)
class _BrandKeys:
    brand_id: int | None

    def _key(self, key: str) -> str:
        return brand_state_key(key, self.brand_id)

    @property
    def rules(self) -> str:
        return self._key(STATE_RULES)

    @property
    def inputs(self) -> str:
        return self._key(STATE_INPUTS)

    @property
    def distrusted(self) -> str:
        return self._key(STATE_DISTRUSTED)


def _to_examine(brand_id: int | None, full: bool) -> Select[Any]:
    """The listings a brand's run examines: those its crawls saw, and those no brand's crawl saw (stored by hand
    or by a tool: every brand judges them), each when changed since this brand last judged it (all when `full`)."""
    claimed = select(BrandListing.listing_id).where(BrandListing.listing_id == Listing.id, BrandListing.crawled)
    mine = (select(BrandListing.matched_version)
            .where(BrandListing.listing_id == Listing.id, BrandListing.brand_id == brand_id).scalar_subquery())
    query = select(Listing.id).where(or_(~claimed.exists(), Listing.id.in_(
        select(BrandListing.listing_id).where(BrandListing.brand_id == brand_id, BrandListing.crawled))))
    query = query.order_by(Listing.id)
    if not full:
        query = query.where(Listing.content_version > func.coalesce(mine, 0))
    return query


def _mine(brand_id: int | None) -> ColumnElement[bool]:
    """This brand's findings (every finding for a context built without a database)."""
    return true() if brand_id is None else Finding.brand_id == brand_id


def _mark_matched(session: Session, brand_id: int | None, versions: dict[int, int]) -> None:
    """Remember the version of each listing this brand judged."""
    if brand_id is None or not versions:
        return
    rows = {r.listing_id: r for r in session.scalars(select(BrandListing).where(
        BrandListing.brand_id == brand_id, BrandListing.listing_id.in_(sorted(versions))))}
    for listing_id, version in versions.items():
        row = rows.get(listing_id)
        if row is None:
            session.add(BrandListing(brand_id=brand_id, listing_id=listing_id, matched_version=version,
                                     crawled=False))
        else:
            row.matched_version = version


def _distrusted(session: Session, key: str) -> frozenset[str]:
    raw = _state(session, key)
    try:
        return frozenset(json.loads(raw)) if raw else frozenset()
    except ValueError:
        return frozenset()


def run_matching(db: Database, config: BrandConfig, *, full: bool = False, batch_size: int = BATCH_SIZE,
                 clusters: bool = True, reader: PhotoReader | None = None,
                 only: Collection[int] | None = None, mark_pending: bool = True,
                 network_ids: Collection[int] = ()) -> MatchSummary:
    """Examine new and changed listings (all with `full`) and write their findings, `batch_size` per commit.
    `only` narrows the run to those listings (team mode's match jobs: what one shard stored). Team mode's match jobs
    also pass `mark_pending=False` (each queues a network job for its listings, which the queue keeps), and that
    network job passes them as `network_ids`: the networks are updated from them besides the examined listings.

    `reader` reads the listings' photos (default: as the process settings say). Raises
    matching.context.CatalogueNotSynced when the catalogue was not synced (core.catalogue.sync_catalogue).
    """
    summary = MatchSummary(full=full, full_because="asked for" if full else None)
    reader = reader if reader is not None else PhotoReader.from_settings(get_settings())
    with db.read() as session:
        ctx = load_context(session, config)
        keys = _BrandKeys(ctx.brand_id)
        if not full:
            if _state(session, keys.rules) != RULE_SET_VERSION:
                summary.full, summary.full_because = True, f"the rule set is now {RULE_SET_VERSION}"
            elif _state(session, keys.inputs) != ctx.fingerprint:
                summary.full, summary.full_because = True, "the catalogue (config or reference photos) changed"
        if not summary.full:
            ctx = ctx.distrusting(_distrusted(session, keys.distrusted))  # a full run counts afresh
        query = _to_examine(ctx.brand_id, summary.full)
        if only is not None:
            wanted = sorted(set(only))
            ids = [i for chunk in _chunks(wanted, 10_000) for i in session.scalars(query.where(Listing.id.in_(chunk)))]
        else:
            ids = list(session.scalars(query))
        thresholds = config.thresholds
        takedowns = (past.load_takedowns(session, ctx.index, thresholds.image_distance)
                     if past.has_history(session) else past.TakedownIndex())
        networks = load_network_index(session, thresholds.min_score)
        networks_behind = _state(session, STATE_PENDING) == "1"
    watch = FloodWatch(thresholds.reference_flood_listings, thresholds.reference_flood_share)
    verdicts: dict[int, tuple[str, bool]] = {}  # listing id -> (verdict, queued)
    for number, chunk in enumerate(_chunks(ids, batch_size)):
        with db.session() as session:
            _match_batch(session, chunk, ctx, summary, verdicts, takedowns, networks, watch, reader)
            if number == 0 and mark_pending:
                # Marked with the first batch, after its findings are locked and written (a write of its own
                # before them would let a reviewer in between): a run that stops before its networks are updated
                # (or skips them) leaves the mark, and the next run recomputes the networks in full.
                _set_state(session, STATE_PENDING, "1")
    floods = watch.floods(ctx.distrusted)
    if floods:
        ctx = ctx.distrusting([f.reference for f in floods])
        summary.flooded_references = [f.to_dict() for f in floods]
        again = sorted(watch.listings_of({f.reference for f in floods}))
        summary.reexamined_after_flood = len(again)
        for chunk in _chunks(again, batch_size):
            with db.session() as session:
                _match_batch(session, chunk, ctx, summary, verdicts, takedowns, networks, None, reader, again=True)
    summary.distrusted_references = sorted(ctx.distrusted)
    if only is not None:
        # A part of the listings: the run over all of them (team mode's settle_networks) records what the
        # whole database was judged under, so a rule set or catalogue change still reaches every listing.
        return _finish_partial(summary, verdicts, ctx)
    with db.session() as session:
        # Only once every batch committed, so a full re-examination that dies half-way is redone in full.
        _set_state(session, keys.rules, RULE_SET_VERSION)
        _set_state(session, keys.inputs, ctx.fingerprint)
        _set_state(session, keys.distrusted, json.dumps(sorted(ctx.distrusted)))
    summary.by_verdict = dict(sorted(Counter(v for v, _ in verdicts.values()).items()))
    summary.queued = sum(queued for _, queued in verdicts.values())
    summary.keypoint_checks = ctx.confirmer.checks
    summary.artwork_checks = ctx.artwork.checks
    summary.artwork_skipped = ctx.artwork.skipped
    with db.session() as session:
        reader.prune(session)
    summary.photos = reader.report.to_dict()
    if clusters:
        # New and changed listings join the networks they touch; a full run recomputes them all.
        grouped = update_networks(db, ctx, None if summary.full or networks_behind
                                  else sorted(set(ids) | set(network_ids)))
        summary.seller_networks, summary.largest_network = grouped.clusters, grouped.largest
        summary.networks_incremental = grouped.incremental
        with db.read() as session:
            before, networks = networks, load_network_index(session, thresholds.min_score)
            again = _judged_on_other_networks(session, networks, before.facts.keys() | networks.facts.keys(),
                                              ctx.brand_id)
        summary.reexamined_for_networks = len(again)
        for chunk in _chunks(again, batch_size):
            with db.session() as session:
                _match_batch(session, chunk, ctx, summary, verdicts, takedowns, networks, None, reader, again=True)
        summary.by_verdict = dict(sorted(Counter(v for v, _ in verdicts.values()).items()))
        summary.queued = sum(queued for _, queued in verdicts.values())
    return summary


def _finish_partial(summary: MatchSummary, verdicts: dict[int, tuple[str, bool]], ctx: MatchContext) -> MatchSummary:
    summary.by_verdict = dict(sorted(Counter(v for v, _ in verdicts.values()).items()))
    summary.queued = sum(queued for _, queued in verdicts.values())
    summary.keypoint_checks, summary.artwork_checks = ctx.confirmer.checks, ctx.artwork.checks
    summary.artwork_skipped = ctx.artwork.skipped
    return summary


def _judged_on_other_networks(session: Session, networks: NetworkIndex, sellers: Collection[int],
                              brand_id: int | None) -> list[int]:
    """Listings of `sellers` (in a network before this run's clustering or after it) still on sale and not reviewed,
    whose finding was judged on network facts other than the seller's now."""
    again: list[int] = []
    for chunk in _chunks(sorted(sellers), BATCH_SIZE):
        rows: Sequence[Any] = session.execute(
            select(Listing.id, Listing.seller_id, Finding.signals)
            .join(Finding, Finding.listing_id == Listing.id)
            .where(Listing.seller_id.in_(chunk), Listing.gone.is_(False), ~Finding.reviews.any(), _mine(brand_id))
        ).all()
        for listing_id, seller_id, signals in rows:
            stored: dict[str, Any] = signals or {}
            network: dict[str, Any] = stored.get("network") or {}
            judged = (network.get("evidence") or {}).get("key")
            now = networks.facts_for(int(seller_id))
            if judged != (now.key() if now is not None else None):
                again.append(int(listing_id))
    return sorted(again)


def _match_batch(session: Session, ids: Sequence[int], ctx: MatchContext, summary: MatchSummary,
                 verdicts: dict[int, tuple[str, bool]], takedowns: past.TakedownIndex, networks: NetworkIndex,
                 watch: FloodWatch | None, reader: PhotoReader, *, again: bool = False) -> None:
    listings = session.scalars(
        select(Listing)
        .where(Listing.id.in_(ids))
        .options(selectinload(Listing.images), selectinload(Listing.snapshots), joinedload(Listing.seller),
                 joinedload(Listing.marketplace))
    ).all()
    findings = {
        f.listing_id: f
        for f in session.scalars(
            # FOR UPDATE, as a reviewer's decision locks its finding (dashboard.data.reviews): on PostgreSQL a
            # decision being recorded is waited for and then seen here, so a reviewed finding is never rewritten,
            # and one recorded meanwhile waits for this batch. SQLite's BEGIN IMMEDIATE already serialises the two.
            select(Finding).where(Finding.listing_id.in_(ids), _mine(ctx.brand_id))
            .order_by(Finding.id).with_for_update()
            .options(selectinload(Finding.reviews))
        )
    }
    records = past.seller_records(session, [x.seller_id for x in listings if x.seller_id is not None])
    min_score = ctx.config.thresholds.min_score
    threshold = ctx.config.thresholds.image_distance
    to_assess: list[tuple[Listing, ListingFacts]] = []
    for listing in listings:
        if not again:
            summary.examined += 1
        # The version read now, not re-read later: a crawl that changes the listing meanwhile bumps it again.
        listing.matched_version = listing.content_version
        finding = findings.get(listing.id)
        if finding is not None and finding.reviews:
            summary.kept_reviewed += not again
            verdicts[listing.id] = (finding.verdict.value, False)
            continue
        to_assess.append((listing, ListingFacts.from_listing(
            listing, seller_record=past.record_for(records, listing.seller_id, listing.id),
            taken_down=past.takedowns_for(takedowns, listing, threshold),
            network=networks.facts_for(listing.seller_id),
        )))
    photos = PhotoBatch(session, reader, ctx, [facts for _, facts in to_assess])
    for listing, facts in to_assess:
        finding = findings.get(listing.id)
        assessment, waiting = photos.assessed(facts)
        if waiting:
            # Photos the run's budget left unread: the listing stays in the queue, so the next run reads them.
            listing.matched_version = listing.content_version - 1
            summary.awaiting_photos += not again
        if watch is not None and assessment.matched_reference is not None:
            relevance = assessment.signals.relevance.evidence
            branded = bool(relevance.get("brand_terms")) or bool(relevance.get("product_terms"))
            watch.saw(assessment.matched_reference, str(assessment.signals.image.evidence.get("sku")), listing.id,
                      branded)
        values = finding_values(assessment, ctx)
        verdicts[listing.id] = (values["verdict"].value, values["verdict"] in SUSPECT and values["score"] >= min_score)
        if finding is None:
            session.add(Finding(listing_id=listing.id, brand_id=ctx.brand_id, **values))
            summary.created += 1
        elif any(getattr(finding, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(finding, k, v)
            finding.updated_at = utcnow()
            summary.updated += not again
        elif not again:
            summary.unchanged += 1
    _mark_matched(session, ctx.brand_id, {listing.id: listing.matched_version for listing in listings})
