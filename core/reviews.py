"""Whether a finding is confirmed: its latest review decides (a confirmation later overridden no longer counts).

One subquery for every caller that asks, so "confirmed" means the same thing in notices, exports and partner
banks. "Latest" is the review with the highest id: reviews are only ever added, in the order they are made.
"""

from __future__ import annotations

from sqlalchemy import Select, Subquery, func, select

from core.models import Review, ReviewDecision


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
