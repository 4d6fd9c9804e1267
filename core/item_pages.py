"""Listings whose evidence is a search card only, and fetching their item pages on demand (issue #18).

A notice rests on the item page (HTML, screenshot for rendered pages, SHA-256 of each). These are the queries and
the process launch that callers above the crawler (the notices desk) use without importing it: the item pages are
fetched by a crawl process of the marketplace (`python -m crawler.run --stage items`), through the same egress gate
and pipelines as the nightly crawl.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import SEEN_FROM_CARD, Listing, Marketplace


def card_only_by_marketplace(session: Session, listing_ids: Collection[int]) -> dict[str, list[int]]:
    """Of these listings, those whose evidence is a search card only (no item page captured), per marketplace: a
    notice needs their item pages first."""
    rows = session.execute(
        select(Marketplace.name, Listing.id).join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .where(Listing.id.in_(list(listing_ids)), Listing.seen_from == SEEN_FROM_CARD, Listing.item_page_at.is_(None))
        .order_by(Listing.id)).all()
    out: dict[str, list[int]] = {}
    for name, listing_id in rows:
        out.setdefault(name, []).append(int(listing_id))
    return out


def fetch_item_pages(marketplace: str, config: str | Path, db: str, listing_ids: list[int], *,
                     timeout: float = 600) -> int | None:
    """Fetch the item pages of these listings now, in a crawl process of their own (the reactor cannot restart),
    for a caller that is no crawl supervisor (the dashboard, when a notice needs item-page evidence). The crawl is
    killed with its browser at `timeout` (None then; else the crawl's exit status, see crawler/exits.py); its run is
    then closed as failed by the next crawl of the marketplace."""
    command = [sys.executable, "-m", "crawler.run", "--marketplace", marketplace, "--config", str(config), "--db", db,
               "--stage", "items", "--listings", ",".join(str(i) for i in listing_ids),
               "--parent-pid", str(os.getpid())]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603
                            start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None
    return code
