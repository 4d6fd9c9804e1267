"""Removal checks of filed notices against a real server on 127.0.0.1, and relisting flags, in a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from sqlalchemy import select

from brandpatrol.removals import Presence, check_removals, egress_fetcher, judge_page
from brandpatrol.scheduler import removal_check
from core.config import load_config
from core.egress import FetchResult
from core.models import (
    AuditLog,
    JobRun,
    JobRunStatus,
    Listing,
    ListingImage,
    Notice,
    NoticeListing,
    NoticeStatus,
    Relisting,
    Verdict,
)
from core.operations import REMOVAL_CHECK
from core.settings import get_settings
from tests.dashboard_support import World
from tests.loopback import LoopbackServer, RecordingProxy, Route, reply
from tests.scheduler_kit import Webhook, write_config

NOW = datetime.now(UTC)
FILED = NOW - timedelta(days=3)


def _redirect(location: str) -> Route:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return handle


def _page(text: str) -> bytes:
    return f"<html><body><h1>Lumina lamp</h1><p>{text}</p></body></html>".encode()


def _notice(world: World, listing_ids: list[int], *, status: NoticeStatus = NoticeStatus.FILED) -> int:
    with world.db.session() as session:
        notice = Notice(marketplace_id=world.market_ids["taobao"], template="taobao", ground="counterfeit",
                        status=status, created_by="legal", filed_at=FILED)
        session.add(notice)
        session.flush()
        for listing_id in listing_ids:
            session.add(NoticeListing(notice_id=notice.id, listing_id=listing_id))
        return notice.id


def _point_at(world: World, listing_id: int, url: str, external_id: str, **values: object) -> None:
    with world.db.session() as session:
        listing = session.get(Listing, listing_id)
        assert listing is not None
        listing.url, listing.external_id, listing.first_seen = url, external_id, FILED - timedelta(days=10)
        for key, value in values.items():
            setattr(listing, key, value)


def test_removals_recorded_notices_closed_relistings_flagged(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    listings = {name: world.listing_id(world.add_finding(score=0.9)) for name in
                ("not_found", "still_up", "says_removed", "server_error", "redirected", "crawl_gone")}
    routes = {
        "/item/still_up": reply(_page("In stock, ships from Shenzhen")),
        "/item/says_removed": reply(_page("很抱歉，该商品已下架")),
        "/item/server_error": reply(b"busy", status=503),
        "/item/redirected": _redirect("/search?q=lumina"),
        "/search": reply(_page("search results")),
    }
    with LoopbackServer(routes) as server:
        for name, listing_id in listings.items():
            _point_at(world, listing_id, f"{server.base_url}/item/{name}", name)
        _point_at(world, listings["crawl_gone"], f"{server.base_url}/item/crawl_gone", "crawl_gone", gone=True,
                  gone_at=NOW - timedelta(days=1))  # complete crawls no longer saw it
        both_gone = _notice(world, [listings["not_found"], listings["says_removed"]])
        one_up = _notice(world, [listings["still_up"], listings["server_error"]])
        redirected = _notice(world, [listings["redirected"]])
        gone_in_crawls = _notice(world, [listings["crawl_gone"]])

        # After filing: the removed listing's seller lists a suspect again, and its photo shows up elsewhere.
        with world.db.session() as session:
            removed = session.get(Listing, listings["not_found"])
            assert removed is not None
            removed_seller = removed.seller_id
            session.get(ListingImage, removed.images[0].id).phash = "0f0f0f0f0f0f0f0f"  # type: ignore[union-attr]
        same_seller = world.listing_id(world.add_finding(score=0.7))
        same_photo = world.listing_id(world.add_finding(score=0.6, seller="Another Shop"))
        innocent = world.listing_id(world.add_finding(score=0.1, verdict=Verdict.OK))
        with world.db.session() as session:
            for listing_id in (same_seller, innocent):
                session.get(Listing, listing_id).seller_id = removed_seller  # type: ignore[union-attr]
            photo = session.scalars(select(ListingImage).where(ListingImage.listing_id == same_photo)).one()
            photo.phash = "0f0f0f0f0f0f0f0e"  # one bit from the removed listing's photo

        config = write_config(tmp_path, None, private_hosts=(server.host_port,))
        settings = get_settings().model_copy(update={"db": world.db.url})
        fetcher = egress_fetcher(settings, load_config(config))
        summary = check_removals(world.db, load_config(config), fetcher, now=NOW)
        assert server.hits["/item/crawl_gone"] == 0  # already known gone: not fetched again

    assert (summary.checked, summary.gone, summary.present, summary.unknown) == (6, 4, 1, 1)
    assert "503" in summary.unknown_reasons[0]
    assert sorted(summary.notices_removed) == sorted([both_gone, redirected, gone_in_crawls])
    with world.db.read() as session:
        notices = {n.id: n for n in session.scalars(select(Notice))}
        assert notices[both_gone].status == NoticeStatus.REMOVED
        assert notices[redirected].status == NoticeStatus.REMOVED
        assert notices[one_up].status == NoticeStatus.FILED and notices[one_up].closed_at is None
        # Closed on the day its last listing went; a removal the crawls saw keeps the crawls' date.
        closed_at = notices[gone_in_crawls].closed_at
        assert closed_at is not None and closed_at.date() == (NOW - timedelta(days=1)).date()
        gone = {lst.external_id: lst for lst in session.scalars(select(Listing).where(Listing.gone.is_(True)))}
        assert set(gone) == {"not_found", "says_removed", "redirected", "crawl_gone"}
        assert gone["not_found"].gone_at is not None
        flags = {(r.removed_listing_id, r.new_listing_id): r for r in session.scalars(select(Relisting))}
        assert set(flags) == {(listings["not_found"], same_seller), (listings["not_found"], same_photo)}
        assert flags[(listings["not_found"], same_seller)].same_seller
        assert flags[(listings["not_found"], same_photo)].image_distance == 1
        actions = sorted(a.action for a in session.scalars(select(AuditLog).where(AuditLog.actor == "scheduler")))
        assert actions.count("notice_removed") == 3 and actions.count("relisting_flagged") == 2

    # Checking again finds nothing new to flag or close.
    again = check_removals(world.db, load_config(config), fetcher, now=NOW)
    assert again.relistings == [] and again.notices_removed == [] and again.checked == 2
    world.db.dispose()


def test_removed_listing_seen_again_is_flagged(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    listing_id = world.listing_id(world.add_finding(score=0.9))
    _point_at(world, listing_id, "http://127.0.0.1:9/item/x", "x")
    notice = _notice(world, [listing_id], status=NoticeStatus.REMOVED)
    with world.db.session() as session:
        session.get(Notice, notice).closed_at = NOW - timedelta(days=1)  # type: ignore[union-attr]
    config = load_config(write_config(tmp_path, None))

    def no_fetch(url: str, marketplace: str) -> FetchResult:
        raise AssertionError(f"{url} fetched, but its notice is closed")

    summary = check_removals(world.db, config, no_fetch, now=NOW)
    assert summary.checked == 0  # removed notices are not fetched again
    assert summary.relistings == [{"notice": notice, "removed_listing": listing_id, "new_listing": listing_id,
                                   "same_seller": True, "image_distance": None}]
    world.db.dispose()


def test_judge_page_on_real_pages(shared_pages: Path) -> None:
    """Live listings on real marketplaces are never taken for removed ones, even with a marker in a script."""
    for page in sorted(shared_pages.glob("*.html")):
        body = page.read_bytes()
        assert judge_page("https://m.example/item/1", "1", "https://m.example/item/1", body).presence \
            is Presence.PRESENT, page.name
    ebay = (shared_pages / "ebay_item_rtx5090_seller_paris_2025.html").read_bytes()
    in_script = ebay.replace(b"<body", b"<script>var t='This listing has ended';</script><body", 1)
    assert judge_page("https://e.example/itm/1", "1", "https://e.example/itm/1", in_script).presence \
        is Presence.PRESENT
    ended = ebay.replace(b"</h1>", b"</h1><div>This listing has ended.</div>", 1)
    assert b"This listing has ended" in ended
    probe = judge_page("https://e.example/itm/1", "1", "https://e.example/itm/1", ended)
    assert probe.presence is Presence.GONE and "this listing has ended" in probe.reason
    taobao = (shared_pages / "taobao_item_keyboard_case.html").read_bytes()
    taken_down = taobao.replace(b"<body", "<body><p>宝贝不存在</p><i ".encode(), 1)
    assert judge_page("https://t.example/item.htm?id=5", "5", "https://t.example/item.htm?id=5",
                      taken_down).presence is Presence.GONE
    # A page in GBK, declared in its Content-Type header, is read in GBK.
    gbk = "<html><body><h1>露米娜</h1><p>宝贝不存在</p></body></html>".encode("gbk")
    assert judge_page("https://t.example/i?id=5", "5", "https://t.example/i?id=5", gbk,
                      "text/html; charset=GBK").presence is Presence.GONE
    moved = judge_page("https://t.example/item.htm?id=5", "5", "https://t.example/", taobao)
    assert moved.presence is Presence.GONE and "redirects" in moved.reason


def test_removal_check_job_alerts_once(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    listing_id = world.listing_id(world.add_finding(score=0.9))
    with LoopbackServer({}) as server, Webhook() as hook:  # every URL answers 404: the listing is gone
        _point_at(world, listing_id, f"{server.base_url}/item/a1", "a1")
        notice = _notice(world, [listing_id])
        config = write_config(tmp_path, None, alerts=f"  urls: ['{hook.url}']\n", private_hosts=(server.host_port,))
        detail = removal_check(str(config), world.db.url)
        assert detail["notices_removed"] == [notice]
        [message] = hook.received()
        assert message["title"] == "BrandPatrol: 1 notice(s) removed"
        assert f"#{notice}" in message["message"]
        removal_check(str(config), world.db.url)  # nothing new: no second message
        assert hook.received() == []
    with world.db.read() as session:
        runs = session.scalars(select(JobRun).where(JobRun.job_id == REMOVAL_CHECK.id)).all()
        assert [r.status for r in runs] == [JobRunStatus.OK, JobRunStatus.OK]
        assert "1 notices removed" in runs[0].summary
    world.db.dispose()


def test_removal_check_does_not_bypass_the_marketplace_proxy(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    listing_id = world.listing_id(world.add_finding(score=0.9))
    with LoopbackServer({"/item/a1": reply(_page("In stock"))}) as shop, RecordingProxy("bob", "hunter2") as proxy:
        _point_at(world, listing_id, f"{shop.base_url}/item/a1", "a1")
        _notice(world, [listing_id])
        taobao = (f"  - name: taobao\n    start_urls: ['{shop.base_url}/search']\n"
                  f"    proxy: '{proxy.url('bob', 'hunter2')}'\n")
        config = load_config(write_config(tmp_path, None, extra_marketplaces=taobao,
                                          private_hosts=(shop.host_port,)))
        summary = check_removals(world.db, config, egress_fetcher(get_settings(), config), now=NOW)
    assert summary.present == 1
    assert proxy.paths() == ["/item/a1"] and shop.direct_hits == {}
    world.db.dispose()
