"""Evidence in the real dashboard (`brandpatrol dashboard` on 127.0.0.1, headless Chromium) is served only inside the
signed-in session (issue 16, item 12).

Streamlit serves the files of st.image and st.download_button under /media/<hash> to anyone who has the address,
with no session. So photos and screenshots are sent inline (data: URIs inside the session's own messages) and
never get such an address; a download's file is made when a signed-in user clicks, and is gone once they sign out.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import get_settings
from dashboard import accounts
from tests.dashboard_support import World, png_bytes, running_dashboard
from tests.test_dashboard_browser import CHROMIUM_ARGS, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
PASSWORD = "media test password"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The dashboard over a finding with a listing photo, a reference photo, a screenshot and captured HTML."""
    world = World.create(tmp_path)
    finding = world.add_finding(score=0.9, thumbnail=png_bytes((200, 0, 0), (60, 40)))
    world.add_history(finding, ["120", "99"])
    accounts.add_user(world.db, "ana", "analyst", PASSWORD, actor="test")
    world.db.dispose()
    with running_dashboard(world.db.url, tmp_path) as base:
        yield base, finding


def answers_without_session(url: str) -> bool:
    """Whether a bare request, with no cookie and no websocket session, gets the file."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status == 200 and bool(response.read())
    except urllib.error.HTTPError:
        return False


def test_evidence_urls_seen_while_signed_in_do_not_answer_without_the_session(served: tuple[str, int]) -> None:
    chromium = get_settings().browser_executable()
    if chromium is None:
        pytest.skip("Chromium is not installed (run tools/install-system-packages.sh)")
    from playwright.sync_api import expect, sync_playwright

    base, finding = served
    media_seen: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
        page.set_default_timeout(60_000)
        page.on("request", lambda request: media_seen.append(request.url)
                if request.url.startswith(f"{base}/media/") else None)
        page.goto(base)
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        wait_idle(page)
        page.get_by_role("link", name="Listing detail").click()
        page.get_by_label("Finding", exact=True).fill(str(finding))
        page.keyboard.press("Enter")
        pictures = page.locator("[data-testid='stImage'] img")
        expect(pictures).to_have_count(3)  # listing photo, reference photo, screenshot
        wait_idle(page)
        page.wait_for_function(
            "[...document.querySelectorAll(\"[data-testid='stImage'] img\")].every(i => i.naturalWidth > 0)")
        sources = [str(pictures.nth(i).get_attribute("src")) for i in range(3)]

        # Every picture the signed-in page showed: none is an address a bare request can fetch.
        addresses = [src if src.startswith("http") else f"{base}{src}"
                     for src in sources if not src.startswith("data:")]
        assert [url for url in addresses if answers_without_session(url)] == [], sources
        assert all(src.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for src in sources)

        # A download is made on the click, for this session; it is gone once the user signs out.
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download HTML captured", exact=False).click()
        download = download_info.value
        assert download.path().read_bytes().startswith(b"<html>")
        media_seen.append(download.url)
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()
        wait_idle(page)
        browser.close()

    seen = sorted(set(media_seen))
    assert seen and all(url.startswith(f"{base}/media/") for url in seen), seen  # the download's address
    assert [url for url in seen if answers_without_session(url)] == []
