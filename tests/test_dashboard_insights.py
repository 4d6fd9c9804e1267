"""Overview, Sellers and Runs-schedule queries (dashboard/insights.py) and their pages, on a real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.config import Schedule
from core.models import (
    Finding,
    Listing,
    Notice,
    NoticeListing,
    NoticeStatus,
    Relisting,
    ReviewDecision,
    SellerCluster,
    Verdict,
)
from core.settings import get_settings
from dashboard import insights, present
from dashboard.data.reviews import review
from tests.dashboard_support import T0, World
from tests.notices_support import write_config
from tests.test_dashboard_app import IMG_XSS, JS_LINK, assert_no_markdown_carries, start, texts


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World.create(tmp_path)
    monkeypatch.setenv("BRANDPATROL_DB", world.db.url)
    monkeypatch.setenv("BRANDPATROL_CONFIG", str(write_config(tmp_path)))
    get_settings.cache_clear()
    return world


def one_seller(world: World, finding_ids: list[int]) -> int:
    """Make every listing of these findings belong to the first one's seller; returns that seller's id."""
    with world.db.session() as s:
        listings = [s.get(Finding, f).listing for f in finding_ids]  # type: ignore[union-attr]
        seller_id = listings[0].seller_id
        for listing in listings[1:]:
            listing.seller_id = seller_id
    assert seller_id is not None
    return seller_id


def add_notice(world: World, finding_ids: list[int], status: NoticeStatus, filed: datetime | None,
               closed: datetime | None) -> None:
    with world.db.session() as s:
        notice = Notice(marketplace_id=world.market_ids["taobao"], template="alibaba_ipp", ground="counterfeit",
                        status=status, created_by="lee", filed_at=filed, closed_at=closed)
        s.add(notice)
        s.flush()
        for fid in finding_ids:
            s.add(NoticeListing(notice_id=notice.id, listing_id=world.listing_id(fid), finding_id=fid))


def test_findings_per_day_by_verdict_and_marketplace(world: World) -> None:
    world.add_finding(score=0.9, created_at=T0)
    world.add_finding(score=0.8, created_at=T0 + timedelta(hours=3))
    world.add_finding(score=0.7, verdict=Verdict.DIVERSION, market="ebay", created_at=T0 + timedelta(days=1))
    world.add_finding(score=0.9, verdict=Verdict.OK, created_at=T0)  # not a suspect
    world.add_finding(score=0.9, created_at=T0 - timedelta(days=10))  # before the period
    counts = insights.findings_per_day(world.db, T0.date())
    assert [(c.day, c.verdict, c.marketplace, c.findings) for c in counts] == [
        (T0.date(), Verdict.COUNTERFEIT, "taobao", 2),
        ((T0 + timedelta(days=1)).date(), Verdict.DIVERSION, "ebay", 1),
    ]


def test_removal_rate_and_time_to_removal(world: World, tmp_path: Path) -> None:
    ids = [world.add_finding(score=0.9) for _ in range(5)]
    add_notice(world, ids[:1], NoticeStatus.REMOVED, T0, T0 + timedelta(days=2))
    add_notice(world, ids[1:2], NoticeStatus.REMOVED, T0, T0 + timedelta(days=4))
    add_notice(world, ids[2:3], NoticeStatus.REJECTED, T0, T0 + timedelta(days=1))
    add_notice(world, ids[3:4], NoticeStatus.FILED, T0, None)
    add_notice(world, ids[4:5], NoticeStatus.DRAFTED, None, None)
    result = insights.removals(world.db)
    assert (result.notices_filed, result.removed, result.rejected, result.open) == (4, 2, 1, 1)
    assert result.removal_rate == pytest.approx(2 / 3) and result.median_days_to_removal == 3.0
    (tmp_path / "empty").mkdir()
    nothing = insights.removals(World.create(tmp_path / "empty").db)
    assert nothing.removal_rate is None and nothing.median_days_to_removal is None


def test_repeat_offenders_relisting_and_networks(world: World) -> None:
    a1, a2, a3 = (world.add_finding(score=s, seller=IMG_XSS) for s in (0.9, 0.8, 0.7))
    b1 = world.add_finding(score=0.95, seller="Lone shop")
    world.add_finding(score=0.9, verdict=Verdict.OK, seller="Fine shop")
    offender = one_seller(world, [a1, a2, a3])
    review(world.db, [a1, a2], ReviewDecision.CONFIRMED, "ana")
    add_notice(world, [a1], NoticeStatus.REMOVED, T0, T0 + timedelta(days=2))
    with world.db.session() as s:
        # a3's listing appeared after a1's removal: relisting; a2's was there before
        s.execute(update(Listing).where(Listing.id == world.listing_id(a3)).values(first_seen=T0 + timedelta(days=5)))
        s.execute(update(Listing).where(Listing.id == world.listing_id(a2)).values(first_seen=T0))
        cluster = SellerCluster(key="k1", size=2, marketplaces=["taobao"], links=[])
        s.add(cluster)
        s.flush()
        lone = s.get(Finding, b1).listing.seller_id  # type: ignore[union-attr]
        from core.models import Seller

        for seller_id in (offender, lone):
            seller = s.get(Seller, seller_id)
            assert seller is not None
            seller.cluster_id = cluster.id
    rows = insights.repeat_offenders(world.db)
    assert [(r.name, r.suspect_listings, r.confirmed, r.removed_by_notice, r.relisted, r.network_size)
            for r in rows] == [(IMG_XSS, 3, 2, 1, 1, 2), ("Lone shop", 1, 0, 0, 0, 2)]
    assert insights.repeat_offenders(world.db, min_suspects=2)[0].seller_id == offender
    assert insights.network_members(world.db, offender) == [("taobao", "Lone shop")]
    weeks = insights.listings_per_week(world.db, offender)
    assert sum(w.listings for w in weeks) == 3 and all(w.week.weekday() == 0 for w in weeks)


def test_findings_per_week_by_verdict_marketplace_and_region(world: World) -> None:
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    world.add_finding(score=0.9, region="CN-GD", created_at=monday)
    world.add_finding(score=0.9, region="CN-GD", created_at=monday + timedelta(days=6))  # Sunday: same week
    world.add_finding(score=0.8, verdict=Verdict.DIVERSION, region="CN-ZJ", market="ebay",
                      created_at=monday + timedelta(days=7))
    world.add_finding(score=0.8, region=None, created_at=monday)  # no listing region: the seller's (CN-GD)
    world.add_finding(score=0.9, verdict=Verdict.OK, created_at=monday)  # not a suspect
    world.add_finding(score=0.9, created_at=monday - timedelta(days=30))  # before the period
    rows = insights.findings_per_week(world.db, monday.date())
    assert [(r.week.isoformat(), r.verdict, r.marketplace, r.region, r.findings) for r in rows] == [
        ("2026-03-02", Verdict.COUNTERFEIT, "taobao", "CN-GD", 3),
        ("2026-03-09", Verdict.DIVERSION, "ebay", "CN-ZJ", 1),
    ]


def test_finding_to_notice_to_removal_and_the_relisting_rate(world: World) -> None:
    ids = [world.add_finding(score=0.9, created_at=T0) for _ in range(4)]
    add_notice(world, ids[:3], NoticeStatus.REMOVED, T0 + timedelta(days=2), T0 + timedelta(days=6))
    add_notice(world, ids[3:], NoticeStatus.FILED, T0 + timedelta(days=4), None)
    back = world.add_finding(score=0.9, created_at=T0 + timedelta(days=9))
    with world.db.session() as s:
        notice_id = s.scalar(select(Notice.id).where(Notice.status == NoticeStatus.REMOVED))
        s.add(Relisting(notice_id=notice_id, removed_listing_id=world.listing_id(ids[0]),
                        new_listing_id=world.listing_id(back), same_seller=True))
    flow = insights.pipeline(world.db)
    assert (flow.findings_on_notices, flow.median_days_to_notice, flow.removed, flow.median_days_to_removal,
            flow.median_days_finding_to_removal, flow.relisted) == (4, 2.0, 3, 4.0, 6.0, 1)
    assert flow.relisting_rate == pytest.approx(1 / 3)
    assert insights.pipeline(world.db, (T0 + timedelta(days=1)).date()).findings_on_notices == 0


def test_region_labels_name_the_province_or_country_in_each_language() -> None:
    assert present.region_label("CN-GD") == "CN-GD Guangdong"
    assert present.region_label("CN-GD", "zh") == "CN-GD 广东省"
    assert present.region_label("DE") == "DE Germany" and present.region_label("XX") == "XX"
    assert present.region_label("") == "unknown"


def test_a_link_to_a_seller_opens_that_seller_and_the_address_follows_the_pick(world: World) -> None:
    world.add_finding(score=0.9, seller="Alpha")
    beta = world.add_finding(score=0.8, seller="Beta")
    with world.db.read() as s:
        beta_seller = s.scalar(select(Listing.seller_id).where(Listing.id == world.listing_id(beta)))
    at = start("ana", "analyst")
    at.switch_page("views/sellers.py")
    at.query_params["seller"] = str(beta_seller)
    at.run()
    assert not at.exception, at.exception
    assert "Beta · taobao · CN-GD" in texts(at)
    at.query_params["seller"] = "99999"  # not one of the sellers listed: the page keeps its own pick
    at.run()
    assert not at.exception and "Beta · taobao · CN-GD" in texts(at)
def test_an_overridden_confirmation_no_longer_counts_for_a_repeat_offender(world: World) -> None:
    a1, a2 = (world.add_finding(score=s, seller="Twice shop") for s in (0.9, 0.8))
    one_seller(world, [a1, a2])
    review(world.db, [a1, a2], ReviewDecision.CONFIRMED, "ana")
    review(world.db, [a2], ReviewDecision.DISMISSED, "bo", override=True)  # bo looked again: not a fake
    [offender] = insights.repeat_offenders(world.db)
    assert (offender.suspect_listings, offender.confirmed) == (2, 1)


def test_next_crawl_from_the_schedule() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    fire = insights.next_crawl(Schedule(cron="0 2 * * *", timezone="Asia/Shanghai"), now)
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    berlin = insights.next_crawl(Schedule(cron="30 1 * * *", timezone="Europe/Berlin"), now)  # 13:00 there
    assert berlin is not None and berlin.astimezone(UTC) == datetime(2026, 3, 2, 0, 30, tzinfo=UTC)


def test_overview_sellers_and_runs_pages(world: World) -> None:
    now = datetime.now(UTC)
    ids = [world.add_finding(score=0.9, seller=JS_LINK, created_at=now - timedelta(days=10)) for _ in range(2)]
    one_seller(world, ids)
    add_notice(world, ids[:1], NoticeStatus.REMOVED, now - timedelta(days=8), now - timedelta(days=5))
    at = start("ana", "analyst")
    at.switch_page("views/overview.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Suspect findings": "2", "Finding to notice (median)": "2.0 days",
                       "Notice to removal (median)": "3.0 days", "Finding to removal (median)": "5.0 days",
                       "Removal rate": "100%", "Relisting rate": "0%"}
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert len(charts) == 3  # by region, per week by verdict, per week by marketplace
    assert "Where suspect goods ship from, last 13 weeks" in {h.value for h in at.subheader}

    at.switch_page("views/sellers.py").run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "Suspect listings" in d.value.columns)
    assert table["Seller"].tolist() == [JS_LINK] and table["Suspect listings"].tolist() == [2]
    assert f"{JS_LINK} · taobao · CN-GD" in texts(at)
    assert_no_markdown_carries(at, JS_LINK)

    at.switch_page("views/runs.py").run()
    assert not at.exception, at.exception
    assert any(t.startswith("Next scheduled crawl: ") for t in texts(at))

    at.selectbox(key="ui_language").set_value("zh").run()
    assert [t.value for t in at.title] == ["抓取记录"] and any(t.startswith("下次计划抓取") for t in texts(at))
