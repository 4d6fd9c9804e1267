"""The review desk through AppTest and its data functions on a real SQLite database: the finding under review and
its photos (or the tile saying a photo cannot be shown), deciding and moving on, groups by seller, network,
product and filter, the confirmation that states the count and asks again over the configured maximum, each
decision audited with its group; a finding that does not exist gets the same "not found" as a malformed id."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from core.models import AuditLog, Finding, Listing, Review, ReviewDecision, Seller, SellerCluster
from core.settings import get_settings
from dashboard import pictures, review_desk
from dashboard.data import groups, reviews
from dashboard.data.groups import Group, GroupKind
from dashboard.data.matched import matched_regions
from dashboard.data.queue import QueueFilters, queue_page
from tests.dashboard_support import World, all_rows, png_bytes
from tests.test_dashboard_app import open_detail, start, texts


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World.create(tmp_path)
    monkeypatch.setenv("BRANDPATROL_DB", world.db.url)
    get_settings.cache_clear()
    return world


def networked(world: World, finding_ids: list[int]) -> int:
    """Put the sellers of these findings into one network; its id."""
    with world.db.session() as s:
        cluster = SellerCluster(key=f"net-{finding_ids[0]}", size=len(finding_ids))
        s.add(cluster)
        s.flush()
        listings = select(Finding.listing_id).where(Finding.id.in_(finding_ids))
        s.execute(update(Seller).where(Seller.id.in_(select(Listing.seller_id).where(Listing.id.in_(listings))))
                  .values(cluster_id=cluster.id))
        return cluster.id


def desk_texts(at: AppTest) -> list[str]:
    return [t for t in texts(at) if t.startswith("Under review:")]


# --- moving the desk --------------------------------------------------------------------------------------------


def test_the_cursor_moves_within_the_page_and_after_a_decision_takes_the_next_row() -> None:
    ids = [7, 3, 9, 4]
    assert review_desk.current_id(ids, 9) == 9 and review_desk.current_id(ids, 99) == 7
    assert review_desk.current_id([], 9) is None
    assert review_desk.moved(ids, 3, 1) == 9 and review_desk.moved(ids, 3, -1) == 7
    assert review_desk.moved(ids, 4, 1) == 4 and review_desk.moved(ids, 7, -1) == 7  # held at the ends
    assert review_desk.after_decision(ids, 3) == 9  # the row after the decided one
    assert review_desk.after_decision(ids, 4) == 9  # the last row: the one before it
    assert review_desk.after_decision([5], 5) is None


def test_a_key_decides_the_finding_shown_when_it_was_pressed_or_nothing() -> None:
    ids = [7, 3, 9]
    act = review_desk.key_action
    assert act("c", [3], ids, 3) == review_desk.KeyAction(finding_id=3, decision=ReviewDecision.CONFIRMED)
    assert act("d", [9], ids, 9).decision is ReviewDecision.DISMISSED
    assert act("e", [7], ids, 7).decision is ReviewDecision.ESCALATED
    assert act("n", [9], ids, 9) == review_desk.KeyAction(finding_id=9, note=True)
    # pressed again before the next finding appeared: the one on screen is decided already, and the cursor's
    # finding (9) was never seen, so nothing is decided
    assert act("c", [4], ids, 9) == review_desk.KeyAction(stale=True)
    assert act("c", [], ids, 9) == review_desk.KeyAction(stale=True)
    # while the page redraws both panels are there: the one under review is the one decided
    assert act("c", [4, 9], ids, 9).finding_id == 9
    assert act("c", [3, 9], ids, 9).finding_id == 9  # moved with j: the new panel beside the old
    assert act("c", [3, 9], ids, 7) == review_desk.KeyAction(stale=True)  # neither is under review: ambiguous
    assert act("j", [4], ids, 9) == review_desk.KeyAction(step=1)  # moving from wherever it is
    assert act("k", [9], ids, 9) == review_desk.KeyAction(step=-1, finding_id=9)
    assert act("x", [9], ids, 9) == review_desk.KeyAction()


# --- the queue page -----------------------------------------------------------------------------------------------


def test_the_desk_shows_the_top_finding_with_both_photos_and_decides_it(world: World) -> None:
    top = world.add_finding(score=0.9, thumbnail=png_bytes((200, 10, 10), (64, 64)))
    second = world.add_finding(score=0.8, thumbnail=png_bytes((10, 200, 10), (64, 64)))
    at = start()
    assert desk_texts(at) == [f"Under review: 1 of 2 on this page · finding {top}"]
    # the listing's and the reference's stored thumbnails, inline, never a /media address
    panel_images = [img for img in at.image if img.proto.imgs]
    urls = [i.url for img in panel_images for i in img.proto.imgs]
    assert len(urls) == 2 and all(u.startswith("data:image/jpeg;base64,") for u in urls), urls
    at.button(key="desk_next").click().run()
    assert desk_texts(at) == [f"Under review: 2 of 2 on this page · finding {second}"]
    at.button(key="desk_confirmed").click().run()
    assert not at.exception
    assert desk_texts(at) == [f"Under review: 1 of 1 on this page · finding {top}"]
    [review] = all_rows(world.db, Review)
    assert (review.finding_id, review.decision, review.reviewer) == (second, ReviewDecision.CONFIRMED, "analyst")
    assert any(f"Finding {second}: Confirmed 1 finding." == s.value for s in at.success)


def test_a_photo_that_cannot_be_shown_says_so_in_place(world: World) -> None:
    broken = world.add_finding(score=0.9, thumbnail=b"\x89PNG\r\n\x1a\nbroken")
    at = start()
    shown = [i.url for img in at.image for i in img.proto.imgs]
    assert pictures.unavailable_tile("Photo cannot\nbe shown", review_desk.DESK_SIDE) in shown
    assert not any(u.startswith("data:image/png") for u in shown)  # the broken bytes never reach the browser
    # the detail page says so in place too, and tells a photo that cannot be shown from one never kept
    open_detail(at, broken)
    assert "Photo cannot be shown" in texts(at)
    assert len([img for img in at.image if img.proto.imgs]) == 1  # only the reference, which decodes
    assert pictures.small_picture(b"\x89PNG\r\n\x1a\nbroken") is None
    assert pictures.small_picture(png_bytes((1, 2, 3), (300, 200))) is not None
    # our own words only, escaped in the SVG
    assert b"&lt;b&gt;" in __import__("base64").b64decode(pictures.unavailable_tile("<b>").split(",", 1)[1])


def test_a_missing_photo_and_an_unmatched_reference_are_told_apart_from_a_broken_one(world: World) -> None:
    fid = world.add_finding(score=0.9, thumbnail=None)
    with world.db.session() as s:
        s.execute(update(Finding).where(Finding.id == fid).values(matched_reference_id=None))
    at = start()
    shown = [i.url for img in at.image for i in img.proto.imgs]
    assert shown == [pictures.unavailable_tile("No photo\nkept", review_desk.DESK_SIDE),
                     pictures.unavailable_tile("No reference\nmatched", review_desk.DESK_SIDE)]


def test_the_grid_shows_each_finding_with_its_photos(world: World) -> None:
    ids = [world.add_finding(score=0.9 - i / 10, thumbnail=png_bytes((9, 9, 9 * i), (48, 48))) for i in range(5)]
    at = start()
    at.segmented_control(key="q_layout").set_value("grid").run()
    assert not at.exception
    cards = [t for t in texts(at) if t.startswith("#")]
    assert [c.split(" ")[0] for c in cards] == [f"#{i}" for i in ids]
    at.button(key=f"grid_review_{ids[3]}").click().run()
    assert desk_texts(at) == [f"Under review: 4 of 5 on this page · finding {ids[3]}"]


# --- groups -------------------------------------------------------------------------------------------------------


def test_groups_hold_the_unreviewed_suspects_of_a_seller_network_product_or_filter(world: World) -> None:
    net = [world.add_finding(score=0.9, seller=f"N{i}") for i in range(3)]
    lone = world.add_finding(score=0.8, market="ebay")
    reviewed = world.add_finding(score=0.7)
    cluster = networked(world, [*net, reviewed])
    world.add_review(reviewed)
    rows = {r.finding_id: r for r in queue_page(world.db, page_size=50).rows}
    assert rows[net[0]].cluster_id == cluster and rows[lone].cluster_id is None
    assert [g.kind for g in groups.groups_of(rows[lone], QueueFilters())] == [
        GroupKind.SELLER, GroupKind.PRODUCT, GroupKind.FILTER]
    assert groups.group_finding_ids(world.db, Group(GroupKind.NETWORK, cluster)) == net  # not the reviewed one
    assert groups.group_finding_ids(world.db, Group(GroupKind.SELLER, rows[lone].seller_id)) == [lone]
    assert sorted(groups.group_finding_ids(world.db, Group(GroupKind.PRODUCT, world.product_id))) == [*net, lone]
    ebay = QueueFilters(marketplace_ids=frozenset({world.market_ids["ebay"]}))
    assert groups.group_finding_ids(world.db, Group(GroupKind.FILTER, None, ebay)) == [lone]


def test_a_network_decision_states_its_count_and_audits_each_finding_with_its_group(world: World) -> None:
    net = [world.add_finding(score=0.9 - i / 100, seller=f"N{i}") for i in range(3)]
    other = world.add_finding(score=0.5)
    cluster = networked(world, net)
    at = start()
    at.selectbox(key="desk_group_en").set_value(f"every unreviewed finding of this seller's network (#{cluster})")
    at.button(key="desk_group_ask").click().run()
    assert not at.exception
    assert f"Confirm 3 findings: every unreviewed finding of this seller's network (#{cluster})?" in texts(at)
    assert not all_rows(world.db, Review)  # asked, not yet decided
    at.button(key="desk_group_yes").click().run()
    assert not at.exception
    decided = {r.finding_id: r.decision for r in all_rows(world.db, Review)}
    assert decided == dict.fromkeys(net, ReviewDecision.CONFIRMED) and other not in decided
    audit = [a for a in all_rows(world.db, AuditLog) if a.action == "review.confirm"]
    assert sorted(int(a.object_id) for a in audit) == net
    assert all(a.detail["group"] == {"kind": "network", "id": cluster, "count": 3} for a in audit)
    assert desk_texts(at) == [f"Under review: 1 of 1 on this page · finding {other}"]


def test_a_group_over_the_maximum_asks_again_and_cancel_decides_nothing(world: World,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPATROL_BULK_REVIEW_MAX", "2")
    get_settings.cache_clear()
    ids = [world.add_finding(score=0.9 - i / 100) for i in range(3)]
    at = start()
    at.selectbox(key="desk_group_en").set_value("every finding under the filters")
    at.selectbox(key="desk_group_decision_en").set_value("Dismiss")
    at.button(key="desk_group_ask").click().run()
    assert "Dismiss 3 findings: every finding under the filters?" in texts(at)
    assert not [b for b in at.button if b.key == "desk_group_yes"]  # the first answer only leads to the second
    at.button(key="desk_group_step").click().run()
    assert [w.value for w in at.warning] == [
        "3 findings is more than the maximum of 2 for one decision (BRANDPATROL_BULK_REVIEW_MAX). "
        "Check the group once more."]
    at.button(key="desk_group_no").click().run()
    assert not all_rows(world.db, Review) and not [b for b in at.button if b.key == "desk_group_yes"]
    at.button(key="desk_group_ask").click().run()
    at.button(key="desk_group_step").click().run()
    at.button(key="desk_group_yes").click().run()
    assert {r.finding_id: r.decision for r in all_rows(world.db, Review)} == dict.fromkeys(
        ids, ReviewDecision.DISMISSED)


def test_a_group_decision_as_large_as_sqlite_cannot_bind_in_one_statement(world: World) -> None:
    real = [world.add_finding(score=0.9), world.add_finding(score=0.8)]
    # over the bound values one statement takes: 250,000 in Debian's SQLite (32,766 in SQLite's own default build),
    # 65,535 in PostgreSQL
    ids = [*real, *range(1_000_000, 1_260_000)]
    outcome = reviews.review(world.db, ids, ReviewDecision.CONFIRMED, "ana", group={"kind": "filter"})
    assert outcome.reviewed == real and len(outcome.missing) == 260_000


# --- the detail page's "not found" ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["4242", "1 OR 1=1", "-1", "99999999999999999999", "abc"])
def test_an_unknown_or_malformed_finding_gets_the_same_not_found(world: World, raw: str) -> None:
    world.add_finding(score=0.9)
    at = start()
    at.switch_page("views/detail.py")
    at.query_params["finding"] = raw
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Finding not found."]
    assert open_detail(at, 1) and not at.warning


# --- the detail page: what matching saw, the seller's other listings, its network ------------------------------


def test_the_detail_page_draws_the_matched_region_and_shows_the_seller_in_context(world: World) -> None:
    fid = world.add_finding(score=0.9, seller="Shop A", thumbnail=png_bytes((240, 240, 240), (200, 200)))
    sibling = world.add_finding(score=0.6, seller="Shop A", title="sibling lamp")
    other_shop = world.add_finding(score=0.5, seller="Shop B")
    with world.db.session() as s:
        finding = s.get(Finding, fid)
        sib = s.get(Finding, sibling)
        assert finding is not None and sib is not None
        # both listings under one seller
        s.execute(update(Listing).where(Listing.id == sib.listing_id)
                  .values(seller_id=select(Listing.seller_id).where(Listing.id == finding.listing_id)
                          .scalar_subquery()))
        finding.signals = {
            "own_photo": {"outcome": "match", "evidence": {
                "listing_image_id": finding.matched_image_id, "listing_image_position": 0, "reference": "front",
                "artwork": {"inliers": 37, "matches": 52, "coverage": 0.8,
                            "quad": [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]}}},
            "image": {"outcome": "match", "evidence": {
                "listing_image_id": finding.matched_image_id, "listing_image_position": 0, "reference": "front",
                "distance": 6, "view": "mirrored", "keypoints": {"confirmed": True, "inliers": 41, "matches": 60}}},
        }
    networked(world, [fid, other_shop])
    artwork, whole = matched_regions(world.db, fid)
    assert (artwork.kind, artwork.inliers, artwork.matches, whole.kind, whole.distance) == (
        "artwork", 37, 52, "whole_photo", 6)
    assert artwork.picture is not None and whole.picture is not None
    drawn = Image.open(io.BytesIO(artwork.picture)).convert("RGB")
    side = drawn.width
    assert drawn.getpixel((side // 4, side // 2)) == (220, 0, 0)  # the outline's left edge, where the quad says
    assert drawn.getpixel((side // 2, side // 2)) == (240, 240, 240)  # inside it the photo is untouched
    framed = Image.open(io.BytesIO(whole.picture)).convert("RGB")
    assert framed.getpixel((2, framed.height // 2)) == (0, 90, 220)

    at = start()
    open_detail(at, fid)
    assert "What matching saw" in {h.value for h in at.subheader}
    assert ("Photo 1: the pack of reference front found by keypoints, outlined in red (37 of 52 matching keypoints "
            "agree on one perspective, 80% of the artwork).") in texts(at)
    assert "The seller's other listings (1)" in {h.value for h in at.subheader}
    tables = [d.value for d in at.dataframe]
    others = next(t for t in tables if "Title" in t.columns and "Decision" in t.columns)
    assert others["Title"].tolist() == ["sibling lamp"] and others["Finding"].tolist() == [sibling]
    network = next(t for t in tables if "Suspect findings" in t.columns)
    assert sorted(network["Seller"].tolist()) == ["Shop A", "Shop B"]


# --- the same queries on PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_desk_queries_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    from datetime import timedelta

    from core.db import Database
    from dashboard import insights
    from dashboard.data.neighbours import seller_listings, seller_network
    from tests.dashboard_support import T0

    world = World.create(tmp_path, Database(postgres_url))
    net = [world.add_finding(score=0.9 - i / 100, seller=f"N{i}", thumbnail=png_bytes((9, 9, 9 * i), (48, 48)),
                             created_at=T0 + timedelta(days=i)) for i in range(3)]
    lone = world.add_finding(score=0.5, market="ebay", region="CN-ZJ")
    cluster = networked(world, net)
    page = queue_page(world.db, page_size=2, thumbnails=True)
    assert [r.finding_id for r in page.rows] == net[:2] and page.total == 4
    assert all(r.photo and r.reference_photo for r in page.rows)
    ebay = QueueFilters(marketplace_ids=frozenset({world.market_ids["ebay"]}), include_gone=False)
    assert [r.finding_id for r in queue_page(world.db, ebay).rows] == [lone]
    assert groups.group_finding_ids(world.db, Group(GroupKind.NETWORK, cluster)) == net
    outcome = reviews.review(world.db, net, ReviewDecision.CONFIRMED, "ana", group={"kind": "network", "id": cluster})
    assert outcome.reviewed == net
    weeks = insights.findings_per_week(world.db, T0.date())
    assert sum(w.findings for w in weeks) == 4 and {w.region for w in weeks} == {"CN-GD", "CN-ZJ"}
    assert insights.pipeline(world.db).findings_on_notices == 0
    network = seller_network(world.db, page.rows[0].seller_id or 0)
    assert network is not None
    [shop] = [s for s in network.shops if s.name == "N0"]
    assert (shop.suspect_findings, shop.confirmed) == (1, 1)
    assert seller_listings(world.db, page.rows[0].seller_id or 0) != []
    world.db.dispose()
