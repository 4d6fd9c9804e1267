"""The second stage of a two-stage crawl (`item_pages: relevant`): which item pages to fetch tonight.

The first stage keeps every search card as a listing, and matching judges it from what the card shows. Only listings
that matter get their item page: the brand's (matching did not call them unrelated) that are either flagged (a
suspect verdict) or undecided for want of a field only the item page has (seller, ship-from location, the
description where lot codes and contacts are written, more photos). Most suspicious first (suspects before the
undecided, each by score), at most the marketplace's nightly `item_page_budget`. A listing whose item page was
captured for the card it shows today (same title, price, seller, photo) is not fetched again: its last capture stays
its evidence.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.db import Database
from core.models import SUSPECT_VERDICTS, Finding, Listing, Marketplace, Verdict


@dataclass(frozen=True)
class ItemPageTarget:
    listing_id: int
    external_id: str
    url: str
    card_sha256: str | None  # the card it shows now: recorded with the capture
    why: str  # "flagged <verdict> <score>" or "undecided: no seller, ..."


@dataclass
class ItemStagePlan:
    """Tonight's item pages for one marketplace, and what was left out and why (for the run's report)."""

    budget: int
    targets: list[ItemPageTarget] = field(default_factory=list)
    wanted: int = 0  # listings that matter and whose item page is not current
    over_budget: int = 0  # wanted, but past the budget: first in line tomorrow if still wanted
    unchanged: int = 0  # listings that matter whose item page was captured for the card they show now

    def report(self) -> dict[str, int]:
        return {"brandpatrol/item_pages/budget": self.budget, "brandpatrol/item_pages/wanted": self.wanted,
                "brandpatrol/item_pages/within_budget": len(self.targets),
                "brandpatrol/item_pages/over_budget": self.over_budget,
                "brandpatrol/item_pages/unchanged_card": self.unchanged}


def missing_fields(listing: Listing) -> list[str]:
    """What the listing lacks that an item page gives."""
    missing = []
    if listing.seller_id is None:
        missing.append("seller")
    if listing.country is None:
        missing.append("location")
    if not listing.description:
        missing.append("description")
    if len(listing.images) < 2:
        missing.append("more photos")
    return missing


def _captured_for_this_card(listing: Listing) -> bool:
    return listing.item_page_at is not None and listing.page_card_sha256 == listing.card_sha256


def _rank(finding: Finding) -> tuple[int, float]:
    return (0 if finding.verdict in SUSPECT_VERDICTS else 1, -float(finding.score))


def plan_item_pages(session: Session, marketplace: str, budget: int,
                    only: Collection[int] | None = None) -> ItemStagePlan:
    """The listings of `marketplace` whose item pages the second stage fetches, most suspicious first, within
    `budget`. With `only` (listing ids: a notice needs their item pages now), exactly those not captured yet, any
    verdict, regardless of the budget."""
    plan = ItemStagePlan(budget=budget)
    query = (select(Listing, Finding).join(Marketplace, Marketplace.id == Listing.marketplace_id)
             .join(Finding, Finding.listing_id == Listing.id)
             .where(Marketplace.name == marketplace, Listing.gone.is_(False))
             .options(selectinload(Listing.images)))
    if only is not None:
        rows: Sequence[tuple[Listing, Finding]] = session.execute(
            query.where(Listing.id.in_(list(only)))).all()
        plan.targets = [_target(listing, "asked for: a notice needs its item page") for listing, _ in rows
                        if listing.item_page_at is None]
        plan.wanted = len(plan.targets)
        return plan
    rows = session.execute(query.where(Finding.verdict != Verdict.UNRELATED)).all()
    wanted: list[tuple[tuple[int, float], ItemPageTarget]] = []
    for listing, finding in rows:
        if _captured_for_this_card(listing):
            plan.unchanged += 1
            continue
        if finding.verdict in SUSPECT_VERDICTS:
            why = f"flagged {finding.verdict.value} {finding.score:.2f}"
        else:
            missing = missing_fields(listing) if listing.item_page_at is not None else ["the item page"]
            if not missing:
                continue
            why = "undecided: no " + ", ".join(missing)
        wanted.append((_rank(finding), _target(listing, why)))
    wanted.sort(key=lambda pair: (pair[0], pair[1].listing_id))
    plan.wanted = len(wanted)
    plan.targets = [target for _, target in wanted[:budget]]
    plan.over_budget = plan.wanted - len(plan.targets)
    return plan


def _target(listing: Listing, why: str) -> ItemPageTarget:
    return ItemPageTarget(listing_id=listing.id, external_id=listing.external_id, url=listing.url,
                          card_sha256=listing.card_sha256, why=why)


def item_stage_plan(db: Database, marketplace: str, budget: int, only: Collection[int] | None = None) -> ItemStagePlan:
    with db.read() as session:
        return plan_item_pages(session, marketplace, budget, only)
