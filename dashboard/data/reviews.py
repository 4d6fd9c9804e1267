"""Recording analysts' decisions on findings, each with its audit-log row, and the decisions as read back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.db import Database
from core.models import AuditLog, Finding, Review, ReviewDecision
from core.reviews import latest_decisions
from core.text import NAME_MAX, clean_line, clean_text

NOTE_MAX = 4000

# The audit action of each decision, e.g. "review.confirm".
REVIEW_ACTIONS: dict[ReviewDecision, str] = {
    ReviewDecision.CONFIRMED: "review.confirm",
    ReviewDecision.DISMISSED: "review.dismiss",
    ReviewDecision.ESCALATED: "review.escalate",
}


@dataclass(frozen=True)
class ReviewResult:
    decision: ReviewDecision
    reviewed: list[int]  # finding ids that got this review
    skipped: list[int]  # already reviewed by someone (and no override asked)
    missing: list[int] = field(default_factory=list)  # no such finding (or another brand's)


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    reviewer: str
    decision: ReviewDecision
    note: str | None
    created_at: datetime


def _unique_ids(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))


def review(
    db: Database,
    finding_ids: Iterable[int],
    decision: ReviewDecision | str,
    reviewer: str,
    note: str | None = None,
    *,
    override: bool = False,
    group: dict[str, Any] | None = None,
) -> ReviewResult:
    """Record one decision on each finding, with an audit-log row each, all in one transaction.

    A finding that already has a review is skipped (and reported) unless `override` is set, so two analysts
    working the same queue never silently overwrite each other; the override is itself audited with the
    decision it replaces. `group` says which group a decision for many was taken for (kind, id, how many were
    shown); each finding's audit row carries it. Raises ValueError for an empty reviewer name or an unknown
    decision.
    """
    decision = ReviewDecision(decision)
    reviewer = clean_line(reviewer, NAME_MAX)
    if not reviewer:
        raise ValueError("a review needs the reviewer's name")
    note = clean_text(note or "", NOTE_MAX) or None
    ids = _unique_ids(finding_ids)
    if not ids:
        return ReviewResult(decision=decision, reviewed=[], skipped=[])
    action = REVIEW_ACTIONS[decision]
    with db.session() as session:
        # FOR UPDATE serialises concurrent reviewers, and a reviewer with matching (which locks the same rows), on
        # PostgreSQL; SQLite's BEGIN IMMEDIATE already does. In id order, as matching locks them: no deadlock.
        brand_of: dict[int, int] = {}
        for chunk in _chunks(sorted(ids)):
            brand_of.update((int(i), int(b)) for i, b in session.execute(
                select(Finding.id, Finding.brand_id).where(Finding.id.in_(chunk), db.scope.clause(Finding))
                .order_by(Finding.id).with_for_update()))
        found = set(brand_of)
        previous = latest_decisions(session, found)
        reviewed: list[int] = []
        skipped: list[int] = []
        for finding_id in ids:
            if finding_id not in found:
                continue
            if finding_id in previous and not override:
                skipped.append(finding_id)
                continue
            session.add(Review(finding_id=finding_id, reviewer=reviewer, decision=decision, note=note))
            detail: dict[str, Any] = {"note": note, "decision": decision.value}
            if finding_id in previous:
                detail["replaces"] = previous[finding_id].value
            if group:
                detail["group"] = group
            session.add(
                AuditLog(
                    brand_id=brand_of[finding_id],
                    actor=reviewer,
                    action=action,
                    object_type="finding",
                    object_id=str(finding_id),
                    detail=detail,
                )
            )
            reviewed.append(finding_id)
    missing = [i for i in ids if i not in found]
    return ReviewResult(decision=decision, reviewed=reviewed, skipped=skipped, missing=missing)


def _chunks(ids: list[int], size: int = 5_000) -> Iterator[list[int]]:
    """Ids in slices a single IN list can hold (SQLite allows 32,766 bound values; a group may be larger)."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
