"""dashboard.data against a real SQLite database: queue paging in SQL, filters, counts, reviews, detail, runs."""

from __future__ import annotations

import gzip
import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event

from core.models import (
    AuditLog,
    CrawlRun,
    Evidence,
    Finding,
    Product,
    Review,
    ReviewDecision,
    RunStatus,
    Verdict,
)
from dashboard import present
from dashboard.data.detail import listing_detail
from dashboard.data.evidence import EvidenceContent, evidence_content
from dashboard.data.queue import (
    MAX_PAGE_SIZE,
    QueueFilters,
    marketplaces,
    products,
    queue_counts,
    queue_page,
    queue_total,
)
from dashboard.data.reviews import review
from dashboard.data.runs import recent_runs
from tests.dashboard_support import T0, World, all_rows, png_bytes


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World.create(tmp_path)


def _statements(world: World) -> list[str]:
    seen: list[str] = []
    event.listen(world.db.engine, "before_cursor_execute", lambda _c, _cur, stmt, *_a: seen.append(stmt))
    return seen


# --- queue ----------------------------------------------------------------------------------------------------


def test_queue_pages_are_cut_in_sql_and_ordered_by_score(world: World) -> None:
    scores = [0.5, 0.9, 0.7, 0.95, 0.6, 0.8, 0.7]
    ids = [world.add_finding(score=s) for s in scores]
    world.add_finding(score=0.99, verdict=Verdict.OK)  # not suspect
    world.add_finding(score=0.99, verdict=Verdict.UNRELATED)
    reviewed = world.add_finding(score=0.98)
    world.add_review(reviewed)

    statements = _statements(world)
    first = queue_page(world.db, QueueFilters(), page=1, page_size=3)
    assert first.total == 7 and first.pages == 3 and first.page == 1
    assert [r.score for r in first.rows] == [0.95, 0.9, 0.8]
    page_sql = [s for s in statements if "FROM finding" in s and "LIMIT" in s]
    assert page_sql and "OFFSET" in page_sql[-1]  # the database cuts the page, not Python

    second = queue_page(world.db, QueueFilters(), page=2, page_size=3)
    # equal scores keep a stable order (older finding first), so no row is seen twice or skipped across pages
    assert [r.finding_id for r in second.rows] == [ids[2], ids[6], ids[4]]
    last = queue_page(world.db, QueueFilters(), page=99, page_size=3)
    assert last.page == 3 and [r.finding_id for r in last.rows] == [ids[0]]
    everything = queue_page(world.db, QueueFilters(), page=1, page_size=1000)
    assert everything.page_size == MAX_PAGE_SIZE and len(everything.rows) == 7
    assert reviewed not in {r.finding_id for r in everything.rows}


def test_queue_row_carries_what_the_table_shows(world: World) -> None:
    fid = world.add_finding(
        score=0.8,
        title="Lumina 高仿 lamp",
        seller="Shop Z",
        price="120.50",
        region="CN-ZJ",
        reasons=["Price 120.50 CNY is 82% under the floor", "x"],
        market="ebay",
    )
    (row,) = queue_page(world.db).rows
    assert row.finding_id == fid
    assert (row.title, row.seller, row.price, row.currency) == ("Lumina 高仿 lamp", "Shop Z", Decimal("120.5"), "CNY")
    assert (row.ship_from, row.marketplace, row.verdict) == ("CN-ZJ", "ebay", Verdict.COUNTERFEIT)
    assert row.first_reason == "Price 120.50 CNY is 82% under the floor"
    assert row.created_at.tzinfo is not None


def test_queue_row_without_seller_or_reasons(world: World) -> None:
    world.add_finding(score=0.4, seller=None, reasons=[], region=None, price=None)
    (row,) = queue_page(world.db).rows
    assert row.seller is None and row.first_reason is None and row.price is None
    assert row.ship_from == "广东 深圳"  # no code known: the location as written


def test_queue_filters(world: World) -> None:
    a = world.add_finding(score=0.9, verdict=Verdict.COUNTERFEIT, market="taobao")
    b = world.add_finding(score=0.6, verdict=Verdict.DIVERSION, market="ebay")
    c = world.add_finding(score=0.3, verdict=Verdict.PRICE_FLOOR_BREACH, market="taobao", gone=True)

    def ids(filters: QueueFilters) -> list[int]:
        return [r.finding_id for r in queue_page(world.db, filters).rows]

    assert ids(QueueFilters()) == [a, b, c]
    assert ids(QueueFilters(verdicts=frozenset({Verdict.DIVERSION}))) == [b]
    # ok/unrelated can never be asked into the review queue
    assert ids(QueueFilters(verdicts=frozenset({Verdict.OK}))) == []
    assert ids(QueueFilters(marketplace_ids=frozenset({world.market_ids["taobao"]}))) == [a, c]
    assert ids(QueueFilters(min_score=0.6)) == [a, b]
    assert ids(QueueFilters(include_gone=False)) == [a, b]
    page = queue_page(world.db, QueueFilters(min_score=0.95))
    assert page.rows == [] and page.total == 0 and page.pages == 1


def test_queue_filters_by_product_region_seller_and_date(world: World) -> None:
    a = world.add_finding(score=0.9, region="CN-GD", seller="深圳 Lumina 旗舰店", created_at=T0)
    b = world.add_finding(score=0.8, region="CN-ZJ", seller="Hangzhou Outlet", created_at=T0 + timedelta(days=1))
    c = world.add_finding(score=0.7, region="DE", seller="100%_Deals", created_at=T0 + timedelta(days=3))
    with world.db.session() as s:
        other = Product(brand_id=1, sku="LM-200", names={"en": "Lumina Desk"}, prices=[])
        s.add(other)
        s.flush()
        finding = s.get(Finding, c)
        assert finding is not None
        finding.product_id = other.id
        finding.listing.country = "DE"
        other_id = other.id

    def ids(**kw: object) -> list[int]:
        filters = QueueFilters(**kw)  # type: ignore[arg-type]
        page = queue_page(world.db, filters)
        assert page.total == len(page.rows)
        return [r.finding_id for r in page.rows]

    assert ids(product_ids=frozenset({other_id})) == [c]
    assert ids(product_ids=frozenset({world.product_id})) == [a, b]
    assert ids(region="CN") == [a, b]  # a country matches its subdivisions
    assert ids(region="cn-gd") == [a]
    assert ids(region="C") == []  # no prefix games: "C" is not a code any listing carries
    assert ids(seller="lumina") == [a] and ids(seller="outlet") == [b]
    assert ids(seller="%") == [c] and ids(seller="_D") == [c]  # LIKE wildcards are literal
    assert ids(since=(T0 + timedelta(days=1)).date()) == [b, c]
    assert ids(until=(T0 + timedelta(days=1)).date()) == [a, b]
    assert ids(since=T0.date(), until=T0.date()) == [a]
    assert ids(region="CN", seller="outlet", since=T0.date()) == [b]
    assert [p.label for p in products(world.db)] == ["LM-100 · Lumina Lamp", "LM-200 · Lumina Desk"]


def test_queue_counts(world: World) -> None:
    for score in (0.9, 0.8):
        world.add_finding(score=score, verdict=Verdict.COUNTERFEIT)
    world.add_finding(score=0.7, verdict=Verdict.DIVERSION, market="ebay")
    world.add_finding(score=0.9, verdict=Verdict.OK)
    world.add_review(world.add_finding(score=0.5, verdict=Verdict.DIVERSION))

    assert queue_counts(world.db) == {
        Verdict.COUNTERFEIT: 2,
        Verdict.DIVERSION: 1,
        Verdict.PRICE_FLOOR_BREACH: 0,
    }
    # the verdict filter does not narrow the overview; the other filters do
    only_ebay = QueueFilters(verdicts=frozenset({Verdict.COUNTERFEIT}), marketplace_ids=frozenset({2}))
    assert queue_counts(world.db, only_ebay)[Verdict.DIVERSION] == 1
    assert queue_counts(world.db, only_ebay)[Verdict.COUNTERFEIT] == 0
    assert queue_counts(world.db, QueueFilters(min_score=0.85))[Verdict.COUNTERFEIT] == 1
    # the total derived from the counts is the one a separate count gives, for any verdict filter
    for filters in (QueueFilters(), only_ebay, QueueFilters(verdicts=frozenset({Verdict.DIVERSION, Verdict.OK})),
                    QueueFilters(min_score=0.85)):
        assert queue_total(queue_counts(world.db, filters), filters) == queue_page(
            world.db, filters).total


def test_marketplaces_sorted_by_name(world: World) -> None:
    assert [m.name for m in marketplaces(world.db)] == ["ebay", "taobao"]


# --- reviews --------------------------------------------------------------------------------------------------


def test_review_writes_review_and_audit_row(world: World) -> None:
    fid = world.add_finding(score=0.9)
    result = review(world.db, [fid], ReviewDecision.CONFIRMED, "  alice ", "fake logo\nsee photo 2")
    assert result.reviewed == [fid] and result.skipped == [] and result.missing == []

    (saved,) = all_rows(world.db, Review)
    assert (saved.finding_id, saved.reviewer, saved.decision) == (fid, "alice", ReviewDecision.CONFIRMED)
    assert saved.note == "fake logo\nsee photo 2"
    (audit,) = all_rows(world.db, AuditLog)
    assert (audit.actor, audit.action, audit.object_type, audit.object_id) == (
        "alice",
        "review.confirm",
        "finding",
        str(fid),
    )
    assert audit.detail["note"] == "fake logo\nsee photo 2"
    assert queue_page(world.db).total == 0


@pytest.mark.parametrize(
    ("decision", "action"),
    [("confirmed", "review.confirm"), ("dismissed", "review.dismiss"), ("escalated", "review.escalate")],
)
def test_review_actions(world: World, decision: str, action: str) -> None:
    fid = world.add_finding(score=0.9)
    review(world.db, [fid], decision, "bob", "")
    (audit,) = all_rows(world.db, AuditLog)
    assert audit.action == action and audit.detail["note"] is None


def test_bulk_review_skips_findings_reviewed_by_someone_else(world: World) -> None:
    a, b, c = (world.add_finding(score=s) for s in (0.9, 0.8, 0.7))
    world.add_review(b, reviewer="carol")
    result = review(world.db, [a, b, c, a, 424242], ReviewDecision.DISMISSED, "dave", "bulk")
    assert result.reviewed == [a, c] and result.skipped == [b] and result.missing == [424242]
    assert present.review_summary(result) == (
        "Dismissed 2 findings. Skipped 1 finding already reviewed by someone else. 1 finding no longer exists."
    )
    reviews = all_rows(world.db, Review)
    assert [(r.finding_id, r.reviewer) for r in reviews] == [(b, "carol"), (a, "dave"), (c, "dave")]
    assert sorted(int(x.object_id) for x in all_rows(world.db, AuditLog)) == [a, c]


def test_override_is_explicit_and_audited(world: World) -> None:
    fid = world.add_finding(score=0.9)
    review(world.db, [fid], ReviewDecision.CONFIRMED, "alice", None)
    again = review(world.db, [fid], ReviewDecision.DISMISSED, "bob", "not ours")
    assert again.skipped == [fid] and again.reviewed == []
    changed = review(world.db, [fid], ReviewDecision.DISMISSED, "bob", "not ours", override=True)
    assert changed.reviewed == [fid]
    audits = all_rows(world.db, AuditLog)
    assert [a.action for a in audits] == ["review.confirm", "review.dismiss"]
    assert audits[-1].detail["replaces"] == "confirmed"
    detail = listing_detail(world.db, fid)
    assert detail is not None and detail.latest_review is not None
    assert detail.latest_review.decision is ReviewDecision.DISMISSED


def test_review_needs_a_reviewer_and_a_known_decision(world: World) -> None:
    fid = world.add_finding(score=0.9)
    with pytest.raises(ValueError, match="reviewer"):
        review(world.db, [fid], ReviewDecision.CONFIRMED, " \u200b ", None)
    with pytest.raises(ValueError):
        review(world.db, [fid], "approve", "alice", None)
    assert review(world.db, [], ReviewDecision.CONFIRMED, "alice").reviewed == []
    assert all_rows(world.db, Review) == []


def test_review_is_one_transaction(world: World) -> None:
    a, b = world.add_finding(score=0.9), world.add_finding(score=0.8)

    def fail_on_second(_mapper: object, _conn: object, target: AuditLog) -> None:
        if target.object_id == str(b):
            raise RuntimeError("disk full")

    event.listen(AuditLog, "before_insert", fail_on_second)
    try:
        with pytest.raises(RuntimeError):
            review(world.db, [a, b], ReviewDecision.CONFIRMED, "alice", None)
    finally:
        event.remove(AuditLog, "before_insert", fail_on_second)
    assert all_rows(world.db, Review) == [] and all_rows(world.db, AuditLog) == []


# --- listing detail -------------------------------------------------------------------------------------------


def test_listing_detail_assembles_everything(world: World) -> None:
    thumb = png_bytes((200, 0, 0))
    fid = world.add_finding(
        score=0.87,
        title="<b>Lumina</b>",
        reasons=["Uses the brand's photo (distance 6)", {"text": "Price far under the floor"}],
        image_url="/etc/passwd",
        thumbnail=thumb,
    )
    html_sha, shot_sha = world.add_history(fid, ["120", "110", "99"])
    world.add_review(fid, reviewer="erin", decision=ReviewDecision.ESCALATED)

    detail = listing_detail(world.db, fid)
    assert detail is not None
    assert detail.finding.id == fid and detail.finding.verdict is Verdict.COUNTERFEIT
    assert detail.finding.score == pytest.approx(0.87) and detail.finding.image_distance == 6
    assert detail.finding.reasons == ["Uses the brand's photo (distance 6)", "Price far under the floor"]
    assert detail.listing.title == "<b>Lumina</b>" and detail.listing.marketplace == "taobao"
    assert detail.listing.url.startswith("https://item.example/")
    assert detail.listing_thumbnail == thumb  # the stored bytes; the '/etc/passwd' URL is never read
    assert detail.reference_thumbnail == png_bytes((0, 0, 200)) and detail.reference_ref_id == "front"
    assert detail.seller is not None and detail.seller.name == "Shop A" and detail.seller.region == "CN-GD"
    assert detail.product is not None and detail.product.sku == "LM-100" and detail.product.name == "Lumina Lamp"
    band = detail.product.band("cny")
    assert band is not None and (band.suggested, band.floor) == (Decimal("680"), Decimal("580"))
    assert [p.price for p in detail.price_history] == [Decimal("120"), Decimal("110"), Decimal("99")]
    assert detail.price_history[0].captured_at == T0
    assert {(e.kind, e.sha256) for e in detail.evidence} == {("html", html_sha), ("screenshot", shot_sha)}
    assert all(e.snapshot_captured_at == T0 + timedelta(days=2) for e in detail.evidence)
    assert [(r.reviewer, r.decision) for r in detail.reviews] == [("erin", ReviewDecision.ESCALATED)]
    assert listing_detail(world.db, 999_999) is None


def test_listing_detail_without_matches(world: World) -> None:
    fid = world.add_finding(score=0.5, seller=None, thumbnail=None)
    with world.db.session() as s:
        finding = s.get(Finding, fid)
        assert finding is not None
        finding.matched_reference_id = finding.matched_image_id = finding.product_id = None
    detail = listing_detail(world.db, fid)
    assert detail is not None
    assert detail.listing_thumbnail is None and detail.reference_thumbnail is None and detail.product is None
    assert detail.seller is None and detail.price_history == [] and detail.evidence == [] and detail.reviews == []


def test_price_chart_frame_uses_one_currency_and_the_product_band(world: World) -> None:
    fid = world.add_finding(score=0.5)
    world.add_history(fid, ["120", "99"])
    detail = listing_detail(world.db, fid)
    assert detail is not None and detail.product is not None
    currency = present.history_currency(detail.price_history, "CNY")
    frame = present.price_chart_frame(detail.price_history, currency, detail.product.band(currency))
    assert list(frame.columns) == ["Listed price", "Suggested price", "Price floor"]
    assert frame["Listed price"].tolist() == [120.0, 99.0] and frame["Price floor"].tolist() == [580.0, 580.0]
    assert present.price_chart_frame(detail.price_history, "USD", None).empty


def test_evidence_content_is_decompressed_and_verified(world: World) -> None:
    fid = world.add_finding(score=0.5)
    html_sha, shot_sha = world.add_history(fid, ["99"])
    html = evidence_content(world.db, html_sha)
    assert html is not None and html.verified and not html.truncated
    assert html.data.startswith(b"<html><script>") and not html.is_picture
    shot = evidence_content(world.db, shot_sha)
    assert shot is not None and shot.is_picture and shot.verified

    capped = evidence_content(world.db, html_sha, max_bytes=10)
    assert capped is not None and capped.truncated and not capped.verified and len(capped.data) == 10
    assert evidence_content(world.db, "../../etc/passwd") is None
    assert evidence_content(world.db, "0" * 64) is None


def test_tampered_evidence_is_not_verified(world: World) -> None:
    fid = world.add_finding(score=0.5)
    html_sha, _ = world.add_history(fid, ["99"])
    with world.db.session() as s:
        evidence = s.get(Evidence, html_sha)
        assert evidence is not None
        evidence.content = gzip.compress(b"<html>changed</html>")
    content = evidence_content(world.db, html_sha)
    assert content is not None and not content.verified
    assert hashlib.sha256(content.data).hexdigest() != html_sha


# --- runs -----------------------------------------------------------------------------------------------------


def test_recent_runs_newest_first_with_totals(world: World) -> None:
    with world.db.session() as s:
        s.add(CrawlRun(marketplace_id=world.market_ids["taobao"], status=RunStatus.OK, started_at=T0, pages=3))
        s.add(
            CrawlRun(
                marketplace_id=world.market_ids["ebay"],
                status=RunStatus.PARTIAL,
                started_at=T0 + timedelta(hours=1),
                finished_at=T0 + timedelta(hours=2),
                pages=10,
                items=40,
                drops={"no_price": 2, "duplicate": 3},
                errors={"timeout": 1, "last": "HTTP 503 <script>"},
            )
        )
        s.add(CrawlRun(status=RunStatus.FAILED, started_at=T0 - timedelta(days=1)))
    runs = recent_runs(world.db, limit=2)
    assert [(r.marketplace, r.status) for r in runs] == [("ebay", RunStatus.PARTIAL), ("taobao", RunStatus.OK)]
    assert (runs[0].pages, runs[0].items, runs[0].drops, runs[0].errors) == (10, 40, 5, 2)
    assert runs[0].finished_at == T0 + timedelta(hours=2) and runs[1].finished_at is None
    frame = present.runs_frame(runs)
    assert frame["Error detail"][0] == '{"last": "HTTP 503 <script>", "timeout": 1}'
    assert len(recent_runs(world.db)) == 3


@pytest.mark.parametrize(("media_type", "head", "shown"), [
    ("image/jpeg", b"\xff\xd8\xff\xe0", True), ("image/png", b"\x89PNG\r\n\x1a\n", True),
    ("image/png", b"\xff\xd8\xff\xe0", False),  # bytes that are not what the row says are not shown
    ("text/html", b"<html>", False), ("image/svg+xml", b"<svg", False),
])
def test_only_png_or_jpeg_screenshots_matching_their_type_are_pictures(media_type: str, head: bytes,
                                                                      shown: bool) -> None:
    content = EvidenceContent("0" * 64, "screenshot", media_type, head + b"rest", True, False)
    assert content.is_picture is shown
