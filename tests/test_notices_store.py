"""Notices in a real SQLite database: drafted only from confirmed findings, per marketplace, split at the form's
limit, status changes in order, each with its audit row in the same transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.models import (
    AuditLog,
    Finding,
    Listing,
    Notice,
    NoticeListing,
    NoticeStatus,
    Review,
    ReviewDecision,
    Verdict,
)
from dashboard.data.reviews import review
from dashboard.notices import store
from dashboard.notices.drafting import DraftError
from dashboard.notices.model import Ground, Party
from dashboard.notices.registry import template
from tests.dashboard_support import World, all_rows
from tests.notices_support import party, set_signals


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World.create(tmp_path)


@pytest.fixture
def holder(tmp_path: Path) -> Party:
    return party(tmp_path)


def draft(world: World, holder: Party, ids: list[int], name: str = "alibaba_ipp",
          ground: Ground = Ground.COUNTERFEIT) -> list[int]:
    return store.draft_notices(world.db, ids, template=template(name), ground=ground, party=holder, actor="lee",
                               today=date(2026, 3, 2))


def test_only_confirmed_findings_become_notices(world: World, holder: Party) -> None:
    confirmed = world.add_finding(score=0.9)
    unreviewed = world.add_finding(score=0.8)
    dismissed = world.add_finding(score=0.7)
    changed_mind = world.add_finding(score=0.6)
    review(world.db, [confirmed, changed_mind], ReviewDecision.CONFIRMED, "ana")
    review(world.db, [dismissed], ReviewDecision.DISMISSED, "ana")
    review(world.db, [changed_mind], ReviewDecision.DISMISSED, "bob", override=True)  # the latest review counts

    with pytest.raises(DraftError) as refused:
        draft(world, holder, [confirmed, unreviewed, dismissed, changed_mind])
    assert refused.value.problems == [
        f"findings {unreviewed}, {dismissed}, {changed_mind} are not confirmed; only a reviewer's confirmation "
        "makes a notice"
    ]
    assert all_rows(world.db, Notice) == [] and [a.action for a in all_rows(world.db, AuditLog)].count(
        "notice.draft") == 0

    picker = store.confirmed_findings(world.db)
    assert [r.finding_id for r in picker] == [confirmed] and picker[0].confirmed_by == "ana"

    [notice_id] = draft(world, holder, [confirmed])
    [notice] = all_rows(world.db, Notice)
    assert (notice.id, notice.status, notice.template, notice.ground, notice.created_by) == (
        notice_id, NoticeStatus.DRAFTED, "alibaba_ipp", "counterfeit", "lee")
    assert "Lumina lamp 1" in notice.body and notice.context["party"]["name"] == holder.name
    [link] = all_rows_nl(world)
    assert (link.listing_id, link.finding_id) == (world.listing_id(confirmed), confirmed)
    assert link.snapshot["title"] == "Lumina lamp 1" and link.snapshot["price"] == "99.0000"
    assert "seller_location" not in link.snapshot  # personal data is read live, so a purge reaches notices too
    [audit] = [a for a in all_rows(world.db, AuditLog) if a.action == "notice.draft"]
    assert (audit.actor, audit.object_type, audit.object_id) == ("lee", "notice", str(notice_id))
    assert audit.detail["finding_ids"] == [confirmed] and audit.detail["template"] == "alibaba_ipp"
    # the price-only warning, since this finding records no other evidence
    assert notice.warnings and "rests on price alone" in notice.warnings[0]
    assert store.confirmed_findings(world.db) == []  # on an open notice now
    assert [r.open_notice_id for r in store.confirmed_findings(world.db, include_on_notice=True)] == [notice_id]


def all_rows_nl(world: World) -> list[NoticeListing]:
    with world.db.read() as s:
        rows = list(s.scalars(select(NoticeListing).order_by(NoticeListing.notice_id, NoticeListing.position)))
        s.expunge_all()
        return rows


def test_drafts_are_grouped_per_marketplace(world: World, holder: Party) -> None:
    ids = [world.add_finding(score=0.9, verdict=Verdict.DIVERSION, market=m) for m in ("taobao", "ebay", "taobao")]
    review(world.db, ids, ReviewDecision.CONFIRMED, "ana")
    for fid in ids:
        set_signals(world, fid, seller="no_match")
    notice_ids = draft(world, holder, ids, "distribution_policy", Ground.DIVERSION)
    summaries = {s.id: s for s in store.notices(world.db)}
    assert sorted((summaries[i].marketplace, summaries[i].listings) for i in notice_ids) == [
        ("ebay", 1), ("taobao", 2)]
    assert all(not summaries[i].warnings for i in notice_ids)  # unauthorised sellers: not price alone


def test_a_listing_on_an_open_notice_is_not_drafted_twice(world: World, holder: Party) -> None:
    fid = world.add_finding(score=0.9)
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    [first] = draft(world, holder, [fid])
    with pytest.raises(DraftError, match=rf"findings {fid} \(notice {first}\) are already on an open notice"):
        draft(world, holder, [fid])
    store.change_status(world.db, first, NoticeStatus.FILED, actor="lee", reference="IPP-1")
    store.change_status(world.db, first, NoticeStatus.REJECTED, actor="lee", note="needs a test buy")
    [second] = draft(world, holder, [fid])  # a rejected notice no longer holds the listing
    assert second != first


def test_large_drafts_become_several_notices_of_one_group(world: World, holder: Party) -> None:
    base = world.add_finding(score=0.5)
    # 300 more findings straight through the ORM (the builder commits one by one)
    with world.db.session() as s:
        template_listing = s.get(Listing, world.listing_id(base))
        assert template_listing is not None
        for n in range(300):
            listing = Listing(marketplace_id=template_listing.marketplace_id, external_id=f"bulk-{n}",
                              url=f"https://item.example/bulk/{n}", title=f"bulk {n}", price=Decimal("99"),
                              currency="CNY")
            s.add(listing)
            s.flush()
            s.add(Finding(listing_id=listing.id, verdict=Verdict.COUNTERFEIT, score=0.9, reasons=[],
                          rule_set_version="r1"))
    with world.db.read() as s:
        ids = list(s.scalars(select(Finding.id)))
    review(world.db, ids, ReviewDecision.CONFIRMED, "ana")
    notice_ids = draft(world, holder, ids)
    notices = all_rows(world.db, Notice)
    assert len(notice_ids) == 2 and [(n.part, n.parts) for n in notices] == [(1, 2), (2, 2)]
    assert notices[0].draft_group == notices[1].draft_group
    assert sorted(s.listings for s in store.notices(world.db)) == [1, 300]
    assert len([a for a in all_rows(world.db, AuditLog) if a.action == "notice.draft"]) == 2


def test_status_changes_in_order_with_audit(world: World, holder: Party) -> None:
    fid = world.add_finding(score=0.9)
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    [nid] = draft(world, holder, [fid])

    with pytest.raises(store.NoticeStateError, match=r"notice \d+ is drafted; it can be marked filed, not removed"):
        store.change_status(world.db, nid, NoticeStatus.REMOVED, actor="lee")
    with pytest.raises(ValueError, match="filing needs the reference"):
        store.change_status(world.db, nid, NoticeStatus.FILED, actor="lee", reference="  ")
    with pytest.raises(ValueError, match="is in the future"):
        store.change_status(world.db, nid, NoticeStatus.FILED, actor="lee", reference="R",
                            on=datetime.now(UTC).date() + timedelta(days=5))
    with pytest.raises(ValueError, match="name of the person"):
        store.change_status(world.db, nid, NoticeStatus.FILED, actor=" ", reference="R")

    store.change_status(world.db, nid, NoticeStatus.FILED, actor="lee", reference="IPP-2026-0001",
                        on=date(2026, 3, 3))
    with world.db.session() as s:  # the next crawl finds the listing gone
        s.execute(update(Listing).where(Listing.id == world.listing_id(fid)).values(gone=True))
    [summary] = store.notices(world.db)
    assert (summary.status, summary.reference, summary.gone, summary.listings) == (
        NoticeStatus.FILED, "IPP-2026-0001", 1, 1)
    assert summary.filed_at is not None and summary.filed_at.date() == date(2026, 3, 3)
    store.change_status(world.db, nid, NoticeStatus.REMOVED, actor="mia", note="removed within 2 days")
    with pytest.raises(store.NoticeStateError, match="closed"):
        store.change_status(world.db, nid, NoticeStatus.REJECTED, actor="mia")

    trail = [(a.action, a.actor, a.detail.get("from"), a.detail.get("to"))
             for a in all_rows(world.db, AuditLog) if a.object_type == "notice"]
    assert trail == [
        ("notice.draft", "lee", None, None),
        ("notice.file", "lee", "drafted", "filed"),
        ("notice.removed", "mia", "filed", "removed"),
    ]
    doc = store.load_notice(world.db, nid)
    assert doc is not None and doc.status is NoticeStatus.REMOVED and doc.status_note == "removed within 2 days"
    assert doc.gone == {world.listing_id(fid)}


def test_a_failed_draft_writes_nothing(world: World, holder: Party) -> None:
    fid = world.add_finding(score=0.9, verdict=Verdict.DIVERSION)
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    before = len(all_rows(world.db, AuditLog))
    with pytest.raises(DraftError, match="distribution_policy"):
        draft(world, holder, [fid])  # diversion on an IP ground
    assert all_rows(world.db, Notice) == [] and len(all_rows(world.db, AuditLog)) == before
    assert len(all_rows(world.db, Review)) == 1
