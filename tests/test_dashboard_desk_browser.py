"""The review desk in headless Chromium: `brandpatrol dashboard` on 127.0.0.1 over a filled SQLite database, one
server for the module. A link opened before sign-in lands on its finding after sign-in; a seller network is
confirmed in one action (asked twice, being over the configured maximum); 20 findings are decided with one key
each and the audit log holds each decision; screenshots of the queue, the grid, the detail page and the Overview
are kept in the test's tmp directory (the path is printed)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select, update

from core.models import AuditLog, Finding, Listing, Review, ReviewDecision, Seller, SellerCluster, Verdict
from core.settings import get_settings
from dashboard import accounts
from tests.dashboard_support import World, running_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
PASSWORD = "desk browser password"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NETWORK_SHOPS = 3
KEYED = 20
BULK_MAX = 4  # the network's 6 findings are over it: the confirmation asks twice


def photo(seed: int) -> bytes:
    """A 128-pixel listing photo drawn at run time: a box in a colour of its own on a light background."""
    image = Image.new("RGB", (128, 128), (235, 235, 228))
    draw = ImageDraw.Draw(image)
    draw.rectangle((24, 20, 104, 112), fill=((seed * 53) % 200, (seed * 97) % 200, 140))
    draw.text((34, 56), f"LM {seed}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One dashboard for the module over: a network of 3 shops with 2 findings each (the highest scores), 20
    findings for the keyboard, one finding whose stored photo does not decode."""
    workdir = tmp_path_factory.mktemp("desk")
    world = World.create(workdir)
    now = datetime.now(UTC)
    network = [world.add_finding(score=0.99 - i / 100, seller=f"Net shop {i // 2}", thumbnail=photo(i),
                                 created_at=now - timedelta(days=3 * i)) for i in range(NETWORK_SHOPS * 2)]
    keyed = [world.add_finding(score=0.90 - i / 100, verdict=Verdict.DIVERSION if i % 3 else Verdict.COUNTERFEIT,
                               thumbnail=photo(10 + i), region=("CN-GD", "CN-ZJ", "CN-FJ", "CN-GD", "HK")[i % 5],
                               market=("taobao", "ebay")[i % 2], created_at=now - timedelta(days=4 * i))
             for i in range(KEYED)]
    broken = world.add_finding(score=0.5, thumbnail=b"\x89PNG\r\n\x1a\n not a picture")
    deep = world.add_finding(score=0.3, title="Deep-linked lamp", thumbnail=photo(99))
    world.add_history(deep, ["640", "560", "420", "99"])  # the chart crosses the floor (580) and suggested (680)
    with world.db.session() as s:
        found = s.get(Finding, deep)
        assert found is not None
        found.signals = {"own_photo": {"outcome": "match", "evidence": {
            "listing_image_id": found.matched_image_id, "listing_image_position": 0, "reference": "front",
            "artwork": {"inliers": 37, "matches": 52, "coverage": 0.8,
                        "quad": [[0.2, 0.18], [0.8, 0.15], [0.83, 0.86], [0.18, 0.88]]}}}}
        cluster = SellerCluster(key="net-1", size=NETWORK_SHOPS, marketplaces=["taobao"])
        s.add(cluster)
        s.flush()
        listing_ids = select(Finding.listing_id).where(Finding.id.in_(network))
        s.execute(update(Seller).where(Seller.id.in_(select(Listing.seller_id).where(Listing.id.in_(listing_ids))))
                  .values(cluster_id=cluster.id))
    accounts.add_user(world.db, "ana", "analyst", PASSWORD, actor="test")
    with running_dashboard(f"sqlite:///{workdir}/t.db", workdir,
                           env={"BRANDPATROL_BULK_REVIEW_MAX": str(BULK_MAX)}) as base:
        yield {"base": base, "db": world.db, "network": network, "keyed": keyed, "broken": broken, "deep": deep}
    world.db.dispose()


@pytest.fixture(scope="module")
def page(desk: dict[str, Any]) -> Iterator[Any]:
    chromium = get_settings().browser_executable()
    if chromium is None:
        pytest.skip("Chromium is not installed (run tools/install-system-packages.sh)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a shared CI machine: a rerun may wait for a core
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1500, "height": 2000})  # tall: screenshots show whole pages
        tab.set_default_timeout(30_000)
        yield tab
        browser.close()


def wait_idle(page: Any) -> None:
    """Streamlit reruns the script after each interaction; wait until it is no longer running."""
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def shown(page: Any, *selectors: str) -> None:
    """Wait until the page has finished running and each selector's first element is drawn (for screenshots)."""
    from playwright.sync_api import expect

    wait_idle(page)
    for selector in selectors:
        expect(page.locator(selector).first).to_be_visible()
    page.wait_for_timeout(500)  # charts and the table's canvas paint after they are attached


def under_review(page: Any, finding_id: int) -> None:
    """The desk shows the finding, and its key listener holds it (a key pressed in the instant between the two
    decides nothing and says so: pressing faster than the page draws is not what this test is about)."""
    from playwright.sync_api import expect

    expect(page.locator(".st-key-desk_panel").get_by_text(re.compile(rf"· finding {finding_id}$"))).to_be_visible()
    page.wait_for_function(f"window.__brandpatrolDesk && window.__brandpatrolDesk.shown === {int(finding_id)}")


def test_a_link_opened_before_sign_in_lands_on_its_finding(desk: dict[str, Any], page: Any,
                                                            tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(f"{desk['base']}/detail?finding={desk['deep']}")
    expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Listing detail")).to_be_visible()
    expect(page.get_by_text("Deep-linked lamp", exact=True)).to_be_visible()
    expect(page.get_by_text("What matching saw")).to_be_visible()
    shown(page, "[data-testid='stImage'] img", "[data-testid='stVegaLiteChart']")
    assert page.get_by_text("Page not found").count() == 0  # never shown on the way
    assert page.url.endswith(f"/detail?finding={desk['deep']}"), page.url
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)
    assert (tmp_path / "detail.png").stat().st_size > 10_000
    print(f"screenshots: {tmp_path}")


def test_a_network_is_confirmed_in_one_action(desk: dict[str, Any], page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Review queue").click()  # a reload would be a new session, signed out
    under_review(page, desk["network"][0])
    shown(page, "[data-testid='stDataFrame'] canvas")
    page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
    page.get_by_role("radio", name="Grid").click()  # the same page as a grid of photos
    shown(page, f".st-key-grid_{desk['keyed'][0]} img")
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=True)
    page.get_by_role("radio", name="Table").click()
    shown(page, "[data-testid='stDataFrame'] canvas")
    page.get_by_role("combobox", name="Decide for a group").click()
    page.get_by_role("option", name=re.compile("this seller's network")).click()
    page.get_by_role("button", name="Decide for the group…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Confirm 6 findings: every unreviewed finding of this seller's network")
    dialog.get_by_role("button", name="Confirm 6 findings").click()  # over the maximum of 4: asked again
    expect(dialog).to_contain_text("more than the maximum of 4")
    dialog.get_by_role("button", name="Yes, Confirm all 6").click()
    expect(page.get_by_text("Confirmed 6 findings.")).to_be_visible()
    under_review(page, desk["keyed"][0])
    with desk["db"].read() as s:
        rows = s.execute(select(AuditLog.object_id, AuditLog.detail).where(AuditLog.action == "review.confirm")).all()
    assert sorted(int(o) for o, _ in rows) == sorted(desk["network"])
    assert all(d["group"]["kind"] == "network" and d["group"]["count"] == 6 for _, d in rows)
    assert (tmp_path / "queue.png").stat().st_size > 10_000 and (tmp_path / "grid.png").stat().st_size > 10_000
    print(f"screenshots: {tmp_path}")


def test_twenty_findings_decided_with_one_key_each(desk: dict[str, Any], page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    keyed: list[int] = desk["keyed"]
    under_review(page, keyed[0])
    page.keyboard.press("j")  # move down and back up: the keys move the desk
    under_review(page, keyed[1])
    page.keyboard.press("k")
    under_review(page, keyed[0])
    expected: dict[int, ReviewDecision] = {}
    for i, finding_id in enumerate(keyed):
        under_review(page, finding_id)
        key, decision = ("d", ReviewDecision.DISMISSED) if i % 4 == 3 else ("c", ReviewDecision.CONFIRMED)
        page.keyboard.press(key)
        expected[finding_id] = decision
    under_review(page, desk["broken"])
    # its stored photo does not decode: the desk says so in place, in a tile of its own
    tile = page.locator(".st-key-desk_panel img").first
    expect(tile).to_be_visible()
    assert (tile.get_attribute("src") or "").startswith("data:image/svg+xml;base64,")
    # a note with the keyboard: n opens the field with the focus in it, Enter keeps it, c decides
    page.keyboard.press("n")
    expect(page.get_by_label(f"Note for finding {desk['broken']}", exact=False)).to_be_focused()
    page.keyboard.type("seen twice")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Note for this decision: seen twice")).to_be_visible()
    page.keyboard.press("c")
    under_review(page, desk["deep"])
    wait_idle(page)

    with desk["db"].read() as s:
        reviews = {r.finding_id: r for r in s.scalars(select(Review).where(Review.finding_id.in_(keyed)))}
        audit = s.execute(select(AuditLog.object_id, AuditLog.action, AuditLog.actor)
                          .where(AuditLog.object_id.in_([str(i) for i in keyed]))).all()
        noted = s.scalar(select(Review.note).where(Review.finding_id == desk["broken"]))
    assert {fid: r.decision for fid, r in reviews.items()} == expected  # each exactly once, as keyed
    assert sorted((int(o), a, who) for o, a, who in audit) == sorted(
        (fid, "review.confirm" if d is ReviewDecision.CONFIRMED else "review.dismiss", "ana")
        for fid, d in expected.items())
    assert noted == "seen twice"

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    shown(page, "[data-testid='stVegaLiteChart']", "[data-testid='stDataFrame'] canvas")
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    assert (tmp_path / "overview.png").stat().st_size > 10_000
    print(f"screenshots: {tmp_path}")
