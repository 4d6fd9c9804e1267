"""The real dashboard in headless Chromium: `brandpatrol dashboard` on 127.0.0.1 over a database filled by a real
crawl and match of the demo marketplace. Signs in, confirms the top finding from the queue, drafts a notice from
it and downloads the notice as PDF through the page's button; screenshots of each step go to tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from brandpatrol import jobs
from brandpatrol.demo import DemoServer, build_catalogue
from core.db import Database
from core.models import AuditLog, Notice, Review, ReviewDecision
from core.settings import get_settings
from dashboard import accounts
from tests.dashboard_support import running_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
PASSWORD = "browser test password"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A database filled by a real crawl of the demo's server-rendered shop and a real matching pass."""
    workdir = tmp_path_factory.mktemp("demo")
    catalogue = build_catalogue()
    with DemoServer(catalogue) as server:
        config = catalogue.write_workspace(workdir, server.base_url)
        settings = get_settings().model_copy(update={"db": f"sqlite:///{workdir / 'demo.db'}", "config": config})
        result = jobs.crawl_one(settings, config, "demo-shop")
        assert result.ok, result.summary()
        jobs.match(settings, config)
    db = Database(settings.db)
    accounts.add_user(db, "ana", "admin", PASSWORD, actor="test")
    db.dispose()
    return settings.db, config


@pytest.fixture
def dashboard(crawled: tuple[str, Path], tmp_path: Path) -> Iterator[str]:
    db_url, config = crawled
    with running_dashboard(db_url, tmp_path, "-c", str(config)) as base:
        yield base


def wait_idle(page: Any) -> None:
    """Streamlit reruns the script after each interaction; wait until it is no longer running."""
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def choose(page: Any, box: str, option: str, attempts: int = 5) -> None:
    """Pick an option of a select box. A rerun still under way may redraw the box and close its list (the option
    is detached before the click lands): open it again, as a person would."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for attempt in range(attempts):
        wait_idle(page)
        page.get_by_role("combobox", name=box).click()
        try:
            page.get_by_role("option", name=option).click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise


def test_sign_in_confirm_draft_and_export_in_chromium(dashboard: str, crawled: tuple[str, Path],
                                                      tmp_path: Path) -> None:
    chromium = get_settings().browser_executable()
    if chromium is None:
        pytest.skip("Chromium is not installed (run tools/install-system-packages.sh)")
    from playwright.sync_api import expect, sync_playwright

    db = Database(crawled[0])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
        page.set_default_timeout(60_000)

        # Not signed in: a page's URL shows the sign-in form, not the page (and no "Page not found").
        page.goto(f"{dashboard}/queue")
        expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()
        assert page.locator("[data-testid='stDataFrame']").count() == 0
        page.screenshot(path=str(tmp_path / "0-not-signed-in.png"), full_page=True)
        assert page.get_by_role("dialog").count() == 0
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password", exact=True).fill("wrong password!")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Wrong username or password.")).to_be_visible()
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        page.wait_for_selector("[data-testid='stDataFrame']")
        wait_idle(page)
        page.screenshot(path=str(tmp_path / "1-queue.png"), full_page=True)

        # Counterfeits only: the notice drafted below asserts a trademark, which diversion does not infringe.
        page.locator("[data-testid='stMultiSelect']").first.click()
        page.get_by_role("option", name="Counterfeit", exact=True).click()
        page.keyboard.press("Escape")
        wait_idle(page)
        # Select the first row through the grid's row-selection column, then confirm it.
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.scroll_into_view_if_needed()  # below the review desk
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
        expect(page.get_by_text("· 1 selected")).to_be_visible()
        page.get_by_label("Note for the selected findings").fill("checked in the browser")
        page.get_by_role("button", name="Confirm selected").click()
        expect(page.get_by_text("Confirmed 1 finding.")).to_be_visible()
        expect(page.get_by_text("· 0 selected", exact=False)).to_be_visible()  # the reviewed row left the queue
        wait_idle(page)
        page.screenshot(path=str(tmp_path / "2-confirmed.png"), full_page=True)
        with db.read() as s:
            [review] = list(s.scalars(select(Review)))
            assert (review.reviewer, review.decision, review.note) == (
                "ana", ReviewDecision.CONFIRMED, "checked in the browser")

        # Draft a notice from it on the Notices page and download the PDF.
        page.get_by_role("link", name="Notices").click()
        expect(page.get_by_role("heading", name="Draft from confirmed findings")).to_be_visible()
        wait_idle(page)
        # A trademark ground fits every confirmed counterfeit (the DMCA, listed first, needs a copied photo).
        choose(page, "Template", "EU Digital Services Act Article 16 notice")
        choose(page, "Ground", "Counterfeit goods (trademark)")
        wait_idle(page)
        page.get_by_text("Use every finding shown").click()
        expect(page.get_by_text("1 confirmed findings shown · 1 chosen", exact=False)).to_be_visible()
        page.get_by_role("button", name="Draft notice").click()
        expect(page.get_by_text("Drafted notice", exact=False)).to_be_visible()
        wait_idle(page)
        page.screenshot(path=str(tmp_path / "3-notice.png"), full_page=True)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="PDF", exact=True).click()
        pdf = tmp_path / "notice.pdf"
        download_info.value.save_as(pdf)
        browser.close()

    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 1000
    with db.read() as s:
        [notice] = list(s.scalars(select(Notice)))
        assert notice.created_by == "ana"
        actions = [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions.index("auth.sign_in") < actions.index("review.confirm") < actions.index("notice.draft"), actions
    assert "notice.export" in actions[actions.index("notice.draft"):], actions
    assert actions.count("auth.fail") == 1
    for name in ("0-not-signed-in.png", "1-queue.png", "2-confirmed.png", "3-notice.png"):
        assert (tmp_path / name).stat().st_size > 10_000
