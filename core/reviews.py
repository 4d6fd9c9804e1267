"""Whether a finding is confirmed: its latest review decides (a confirmation later overridden no longer counts).

One subquery for every caller that asks, so "confirmed" means the same thing in notices, exports and partner
banks. "Latest" is the review with the highest id: reviews are only ever added, in the order they are made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.orm import Session

from core.models import Finding, Review, ReviewDecision

LOOKUP_CHUNK = 500  # ids per IN (...) list


def latest_review_ids() -> Subquery:
    """(finding_id, review_id): each reviewed finding with the id of its latest review."""
    return (select(Review.finding_id, func.max(Review.id).label("review_id"))
            .group_by(Review.finding_id).subquery("latest_review"))


def confirmed_finding_ids() -> Select[tuple[int]]:
    """The ids of findings whose latest review is a confirmation."""
    latest = latest_review_ids()
    return (select(latest.c.finding_id)
            .join(Review, Review.id == latest.c.review_id)
            .where(Review.decision == ReviewDecision.CONFIRMED))


def latest_decisions(session: Session, finding_ids: Iterable[int]) -> dict[int, ReviewDecision]:
    """finding id -> its latest review's decision, for those of `finding_ids` that were reviewed."""
    return _latest_by(session, Review.finding_id, sorted(set(finding_ids)))


def latest_decisions_by_listing(session: Session,
                                listing_ids: Sequence[int] | None = None) -> dict[int, ReviewDecision]:
    """listing id -> the latest decision on its finding (among `listing_ids`, or every reviewed listing)."""
    return _latest_by(session, Finding.listing_id, None if listing_ids is None else sorted(set(listing_ids)))


def _latest_by(session: Session, key: Any, ids: list[int] | None) -> dict[int, ReviewDecision]:
    """key (a Finding column) -> latest decision; the ids filter the reviews before they are grouped, so a night's
    listings cost lookups by index, not a pass over every review for each chunk."""
    def decisions(*where: Any) -> dict[int, ReviewDecision]:
        latest = (select(Review.finding_id, func.max(Review.id).label("review_id"))
                  .join(Finding, Finding.id == Review.finding_id).where(*where)
                  .group_by(Review.finding_id).subquery("latest_review"))
        query = (select(key, Review.decision).select_from(latest)
                 .join(Review, Review.id == latest.c.review_id).join(Finding, Finding.id == latest.c.finding_id))
        return {int(k): ReviewDecision(d) for k, d in session.execute(query).tuples()}

    if ids is None:
        return decisions()
    out: dict[int, ReviewDecision] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        out.update(decisions(key.in_(ids[start:start + LOOKUP_CHUNK])))
    return out
