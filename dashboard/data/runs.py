"""Crawl runs, newest first, with their page and item counts and their drops and errors totalled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.db import Database
from core.models import CrawlRun, Marketplace, RunStatus, as_utc
from dashboard.data.common import utc_opt


@dataclass(frozen=True)
class RunRow:
    id: int
    marketplace: str | None
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    pages: int
    items: int
    drops: int
    errors: int
    drop_detail: dict[str, Any]
    error_detail: dict[str, Any]


def _count_total(counts: object) -> int:
    """Sum of a {reason: count} map; entries that are not counts each count once."""
    if not isinstance(counts, dict):
        return 0
    return sum(v if isinstance(v, int) and not isinstance(v, bool) else 1 for v in counts.values())


def recent_runs(db: Database, limit: int = 50) -> list[RunRow]:
    """The newest crawl runs first."""
    limit = max(1, min(int(limit), 1000))
    stmt = (
        select(CrawlRun, Marketplace.name)
        .where(db.scope.clause(CrawlRun))
        .outerjoin(Marketplace, Marketplace.id == CrawlRun.marketplace_id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    with db.read() as session:
        return [
            RunRow(
                id=run.id,
                marketplace=name,
                status=RunStatus(run.status),
                started_at=as_utc(run.started_at),
                finished_at=utc_opt(run.finished_at),
                pages=run.pages or 0,
                items=run.items or 0,
                drops=_count_total(run.drops),
                errors=_count_total(run.errors),
                drop_detail=dict(run.drops or {}),
                error_detail=dict(run.errors or {}),
            )
            for run, name in session.execute(stmt)
        ]
