"""Matching over the database: examine listings, write one Finding per listing, in batches.

Incremental: only listings whose content changed since they were last matched (content_version >
matched_version), unless `full`, or unless the rule set or the catalogue (config, reference photos) changed since
the last complete run, which MatchState remembers. Idempotent: one Finding per listing, rewritten only when what
it says changed. A finding that has a review is never touched: the reviewer's decision stands. Every examined
listing gets a finding, ok and unrelated too, so evaluation can see them; the review queue shows only suspect
verdicts scoring at least thresholds.min_score.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.config import BrandConfig
from core.db import Database
from core.models import SUSPECT_VERDICTS as SUSPECT
from core.models import Finding, Listing, MatchState, utcnow
from matching.assess import Assessment, assess
from matching.context import MatchContext, load_context
from matching.facts import ListingFacts
from matching.verdicts import RULE_SET_VERSION

BATCH_SIZE = 500
STATE_RULES = "matching.rule_set_version"
STATE_INPUTS = "matching.catalogue_fingerprint"


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _state(session: Session, key: str) -> str | None:
    row = session.get(MatchState, key)
    return row.value if row is not None else None


def _set_state(session: Session, key: str, value: str) -> None:
    row = session.get(MatchState, key)
    if row is None:
        session.add(MatchState(key=key, value=value, updated_at=utcnow()))
    elif row.value != value:
        row.value, row.updated_at = value, utcnow()


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


def run_matching(db: Database, config: BrandConfig, *, full: bool = False,
                 batch_size: int = BATCH_SIZE) -> MatchSummary:
    """Examine new and changed listings (all with `full`) and write their findings, `batch_size` per commit.

    Raises matching.context.CatalogueNotSynced when the catalogue was not synced (core.catalogue.sync_catalogue).
    """
    summary = MatchSummary(full=full, full_because="asked for" if full else None)
    with db.read() as session:
        ctx = load_context(session, config)
        if not full:
            if _state(session, STATE_RULES) != RULE_SET_VERSION:
                summary.full, summary.full_because = True, f"the rule set is now {RULE_SET_VERSION}"
            elif _state(session, STATE_INPUTS) != ctx.fingerprint:
                summary.full, summary.full_because = True, "the catalogue (config or reference photos) changed"
        query = select(Listing.id).order_by(Listing.id)
        if not summary.full:
            query = query.where(Listing.content_version > Listing.matched_version)
        ids = list(session.scalars(query))
    verdicts: Counter[str] = Counter()
    for chunk in _chunks(ids, batch_size):
        with db.session() as session:
            _match_batch(session, chunk, ctx, summary, verdicts)
    with db.session() as session:
        # Only once every batch committed, so a full re-examination that dies half-way is redone in full.
        _set_state(session, STATE_RULES, RULE_SET_VERSION)
        _set_state(session, STATE_INPUTS, ctx.fingerprint)
    summary.by_verdict = dict(sorted(verdicts.items()))
    return summary


def _match_batch(session: Session, ids: Sequence[int], ctx: MatchContext, summary: MatchSummary,
                 verdicts: Counter[str]) -> None:
    listings = session.scalars(
        select(Listing)
        .where(Listing.id.in_(ids))
        .options(selectinload(Listing.images), joinedload(Listing.seller), joinedload(Listing.marketplace))
    ).all()
    findings = {
        f.listing_id: f
        for f in session.scalars(
            select(Finding).where(Finding.listing_id.in_(ids)).options(selectinload(Finding.reviews))
        )
    }
    min_score = ctx.config.thresholds.min_score
    for listing in listings:
        summary.examined += 1
        # The version read now, not re-read later: a crawl that changes the listing meanwhile bumps it again.
        listing.matched_version = listing.content_version
        finding = findings.get(listing.id)
        if finding is not None and finding.reviews:
            summary.kept_reviewed += 1
            verdicts[finding.verdict.value] += 1
            continue
        values = finding_values(assess(ListingFacts.from_listing(listing), ctx), ctx)
        verdicts[values["verdict"].value] += 1
        if values["verdict"] in SUSPECT and values["score"] >= min_score:
            summary.queued += 1
        if finding is None:
            session.add(Finding(listing_id=listing.id, **values))
            summary.created += 1
        elif any(getattr(finding, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(finding, k, v)
            finding.updated_at = utcnow()
            summary.updated += 1
        else:
            summary.unchanged += 1
