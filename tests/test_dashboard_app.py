"""The Streamlit app through streamlit.testing (AppTest) against a real SQLite database.

Covers the queue, review through the UI, the detail and runs pages, and the safety rules: scraped text is shown
only as text, never through markdown; images come only from stored thumbnail bytes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.db import Database
from core.models import AuditLog, CrawlRun, Review, ReviewDecision, RunStatus, Verdict
from core.settings import get_settings
from dashboard import accounts
from tests.dashboard_support import T0, World, all_rows, png_bytes

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
DASHBOARD = APP.parent
IMG_XSS = "<img src=x onerror=alert(1)>"
JS_LINK = "[x](javascript:alert(1))"
REMOTE_IMG = "![p](http://127.0.0.1:9/p)"
PASSWORD = "correct horse battery"
PAYLOADS = (IMG_XSS, JS_LINK, REMOTE_IMG)
# Elements that show their content verbatim; everything else may render markdown or HTML.
TEXT_ONLY = {"text", "code", "dataframe"}

# A process-wide audit hook cannot be removed, so it records only while a test switches it on.
_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and args and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def opened_files() -> Iterator[list[str]]:
    global _opened
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World.create(tmp_path)
    monkeypatch.setenv("BRANDPATROL_DB", world.db.url)
    get_settings.cache_clear()
    return world


def start(username: str = "analyst", role: str = "analyst") -> AppTest:
    """The app, signed in through its sign-in form as `username` (the account is created with `role` if new)."""
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    ensure_user(username, role)
    return sign_in(at, username)


def ensure_user(username: str, role: str, password: str = PASSWORD) -> None:
    db = Database(get_settings().db)
    try:
        if username not in {a.username for a in accounts.list_users(db)}:
            accounts.add_user(db, username, role, password, actor="test")
    finally:
        db.dispose()


def sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click().run()
    assert not at.exception, at.exception
    return at


def open_detail(at: AppTest, finding_id: int) -> AppTest:
    at.switch_page("views/detail.py")
    at.query_params["finding"] = str(finding_id)
    at.run()
    assert not at.exception, at.exception
    return at


def select_rows(at: AppTest, *positions: int) -> AppTest:
    """Select queue rows the way the browser does: through the table's selection state."""
    table_key = at.session_state["queue_view"]["key"]
    at.session_state[table_key] = {"selection": {"rows": list(positions), "columns": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def nodes(at: AppTest) -> Iterator[Any]:
    def walk(node: Any) -> Iterator[Any]:
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    yield from walk(at._tree)


def assert_no_markdown_carries(at: AppTest, *values: str) -> None:
    """No element that could render markdown/HTML carries a scraped value, and none allows raw HTML."""
    for node in nodes(at):
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        if getattr(proto, "allow_html", False):
            pytest.fail(f"{node.type} element allows HTML")
        if node.type in TEXT_ONLY:
            continue
        rendered = str(proto)
        for value in values:
            assert value not in rendered, f"{value!r} reached a {node.type} element"


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def queue_table(at: AppTest) -> Any:
    (table,) = [d for d in at.dataframe if d.key and d.key.startswith("queue_table_")]
    return table.value


# --- the queue ------------------------------------------------------------------------------------------------


def test_queue_renders_counts_and_rows_by_score(world: World) -> None:
    low = world.add_finding(score=0.4, verdict=Verdict.DIVERSION, market="ebay")
    high = world.add_finding(score=0.9)
    world.add_finding(score=0.7, verdict=Verdict.PRICE_FLOOR_BREACH)
    world.add_finding(score=0.95, verdict=Verdict.OK)
    world.add_review(world.add_finding(score=0.99))

    at = start()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Unreviewed": "3",
        "Counterfeit": "1",
        "Channel diversion": "1",
        "Price-floor breach": "1",
    }
    table = queue_table(at)
    assert table["Finding"].tolist() == [high, high + 1, low]
    assert table["Verdict"].tolist() == ["Counterfeit", "Price-floor breach", "Channel diversion"]
    assert table["Marketplace"].tolist() == ["taobao", "taobao", "ebay"]
    assert table["Price"].tolist()[0] == "99.00" and table["Currency"].tolist()[0] == "CNY"
    assert table["Ships from"].tolist()[0] == "CN-GD" and table["Seller"].tolist()[0] == "Shop A"
    assert table["First reason"].tolist()[0] == "reason 2"  # the 2nd finding added
    assert "Page 1 of 1 · 3 findings · 0 selected" in texts(at)
    assert all(b.disabled for b in at.button if b.key in {"q_confirmed", "q_dismissed", "q_escalated", "q_open"})


def test_queue_filter_by_verdict_and_paging(world: World) -> None:
    for i in range(30):
        world.add_finding(score=i / 100, verdict=Verdict.DIVERSION if i % 3 == 0 else Verdict.COUNTERFEIT)
    at = start()
    at.selectbox(key="q_page_size").set_value(25).run()
    assert len(queue_table(at)) == 25
    at.number_input(key="q_page").set_value(2).run()
    assert len(queue_table(at)) == 5 and "Page 2 of 2 · 30 findings · 0 selected" in texts(at)
    at.multiselect(key="q_verdicts").select(Verdict.DIVERSION).run()
    table = queue_table(at)
    assert set(table["Verdict"]) == {"Channel diversion"} and len(table) == 10
    assert at.number_input(key="q_page").value == 1  # new filters start at the first page
    # the overview counts are not narrowed by the verdict filter
    assert {m.label: m.value for m in at.metric}["Counterfeit"] == "20"


def test_queue_filter_by_region_seller_and_date_in_the_page(world: World) -> None:
    gd = world.add_finding(score=0.9, region="CN-GD", seller="Canton Deals", created_at=T0)
    world.add_finding(score=0.8, region="DE", seller="Berlin Deals", created_at=T0 + timedelta(days=2))
    at = start()
    at.text_input(key="q_region").input("cn-gd").run()
    assert queue_table(at)["Finding"].tolist() == [gd]
    at.text_input(key="q_region").input("").run()
    at.text_input(key="q_seller").input("deals").run()
    assert len(queue_table(at)) == 2
    at.date_input(key="q_since").set_value((T0 + timedelta(days=1)).date()).run()
    assert queue_table(at)["Seller"].tolist() == ["Berlin Deals"]
    assert "Page 1 of 1 · 1 finding · 0 selected" in texts(at)
    at.multiselect(key="q_products").select(world.product_id).run()
    assert len(queue_table(at)) == 1


def test_queue_filters_survive_a_visit_to_another_page(world: World) -> None:
    world.add_finding(score=0.9, verdict=Verdict.DIVERSION)
    world.add_finding(score=0.8)
    at = start()
    at.multiselect(key="q_verdicts").select(Verdict.DIVERSION).run()
    at.switch_page("views/runs.py").run()
    at.switch_page("views/queue.py").run()
    assert not at.exception
    assert at.multiselect(key="q_verdicts").value == [Verdict.DIVERSION]
    assert queue_table(at)["Verdict"].tolist() == ["Channel diversion"]


def test_confirm_through_the_ui_writes_review_and_audit(world: World) -> None:
    top = world.add_finding(score=0.9)
    other = world.add_finding(score=0.5)
    at = select_rows(start(), 0)
    assert "Page 1 of 1 · 2 findings · 1 selected" in texts(at)
    at.text_area(key="q_note").input("logo is wrong")
    at.button(key="q_confirmed").click().run()
    assert not at.exception

    (review,) = all_rows(world.db, Review)
    assert (review.finding_id, review.reviewer, review.decision, review.note) == (
        top,
        "analyst",
        ReviewDecision.CONFIRMED,
        "logo is wrong",
    )
    (audit,) = [a for a in all_rows(world.db, AuditLog) if a.object_type != "user"]
    assert (audit.actor, audit.action, audit.object_id, audit.detail["note"]) == (
        "analyst",
        "review.confirm",
        str(top),
        "logo is wrong",
    )
    assert [s.value for s in at.success] == ["Confirmed 1 finding."]
    assert queue_table(at)["Finding"].tolist() == [other]
    assert "1 selected" not in " ".join(texts(at))  # the selection was cleared with the reviewed row
    assert at.text_area(key="q_note").value == ""


def test_bulk_dismiss_skips_what_someone_else_reviewed_meanwhile(world: World) -> None:
    a, b, c = (world.add_finding(score=s) for s in (0.9, 0.8, 0.7))
    at = select_rows(start("dora"), 0, 1, 2)
    world.add_review(b, reviewer="carol")  # another analyst, between drawing and clicking
    at.button(key="q_dismissed").click().run()
    assert [s.value for s in at.success] == [
        "Dismissed 2 findings. Skipped 1 finding already reviewed by someone else."
    ]
    reviews = {(r.finding_id, r.reviewer, r.decision) for r in all_rows(world.db, Review)}
    assert reviews == {
        (a, "dora", ReviewDecision.DISMISSED),
        (b, "carol", ReviewDecision.CONFIRMED),
        (c, "dora", ReviewDecision.DISMISSED),
    }


def test_selection_maps_to_the_rows_the_user_saw(world: World) -> None:
    first = world.add_finding(score=0.5)
    at = select_rows(start(), 0)
    world.add_finding(score=0.99)  # a crawl lands a higher-scored finding before the click
    at.button(key="q_escalated").click().run()
    (review,) = all_rows(world.db, Review)
    assert review.finding_id == first and review.decision is ReviewDecision.ESCALATED


def test_open_detail_from_the_queue(world: World) -> None:
    world.add_finding(score=0.3)
    target = world.add_finding(score=0.8, title="Target lamp")
    at = select_rows(start(), 0)
    at.button(key="q_open").click().run()
    assert not at.exception
    assert at.query_params.get("finding") == str(target)
    assert "Target lamp" in texts(at)


# --- detail -------------------------------------------------------------------------------------------------


def test_detail_page_renders_and_reviews(world: World, opened_files: list[str]) -> None:
    fid = world.add_finding(
        score=0.87,
        title="Lumina lamp 1:1",
        reasons=["Uses the brand's front photo", "Price 99.00 CNY is under the floor 580.00"],
        image_url="/etc/passwd",
        thumbnail=png_bytes((200, 0, 0)),
    )
    world.add_history(fid, ["120", "110", "99"])
    at = open_detail(start(), fid)

    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Verdict": "Counterfeit", "Score": "0.87", "Image distance": "6 bits", "Review": "Unreviewed"}
    shown = texts(at)
    assert "Lumina lamp 1:1" in shown
    assert "• Uses the brand's front photo" in shown and "• Price 99.00 CNY is under the floor 580.00" in shown
    assert "Name: Shop A" in shown and "Country / region: CN / CN-GD" in shown
    assert "CNY: suggested 680.00, floor 580.00" in shown
    assert [c.value for c in at.code] == [f"https://item.example/{fid}"]  # the URL as text, not a link
    assert not at.get("link_button") and not at.get("page_link")
    assert len(at.image) == 3  # listing thumbnail, reference thumbnail, PNG screenshot
    assert all(i.url.startswith("data:image/") for e in at.image for i in e.proto.imgs)  # inline, no /media
    assert [d.label for d in at.download_button] == ["Download HTML captured 2026-03-03 08:00 UTC"]
    assert len(at.get("vega_lite_chart")) == 1
    # the scraped image URL was never opened or shown
    assert not [p for p in opened_files if "passwd" in p]
    assert not [n for n in nodes(at) if "/etc/passwd" in str(getattr(n, "proto", ""))]

    at.text_area(key=f"d_note_{fid}").input("seen it")
    at.button(key=f"d_escalated_{fid}").click().run()
    assert [s.value for s in at.success] == ["Escalated 1 finding."]
    (review,) = all_rows(world.db, Review)
    assert (review.finding_id, review.decision, review.note) == (fid, ReviewDecision.ESCALATED, "seen it")
    assert {m.label: m.value for m in at.metric}["Review"] == "Escalated"
    history = [d.value for d in at.dataframe if list(d.value.columns) == ["When", "Reviewer", "Decision", "Note"]]
    assert history and history[0]["Decision"].tolist() == ["Escalated"]


def test_detail_changing_a_decision_needs_the_override(world: World) -> None:
    fid = world.add_finding(score=0.9)
    world.add_review(fid, reviewer="carol", decision=ReviewDecision.CONFIRMED)
    at = open_detail(start(), fid)
    assert "Reviewed: Confirmed by carol on " in " ".join(texts(at))
    assert at.button(key=f"d_dismissed_{fid}").disabled
    at.checkbox(key=f"d_override_{fid}").check().run()
    at.button(key=f"d_dismissed_{fid}").click().run()
    assert [r.decision for r in all_rows(world.db, Review)] == [ReviewDecision.CONFIRMED, ReviewDecision.DISMISSED]
    assert all_rows(world.db, AuditLog)[-1].detail["replaces"] == "confirmed"


def test_detail_page_without_or_with_an_unknown_finding(world: World) -> None:
    at = start()
    at.switch_page("views/detail.py").run()
    assert not at.exception
    assert [i.value for i in at.info] == ["Open a finding from the review queue, or enter its number above."]
    open_detail(at, 4242)
    assert [w.value for w in at.warning] == ["Finding not found."]  # no hint whether it exists
    at.query_params["finding"] = "1 OR 1=1"
    at.run()
    assert not at.exception and [w.value for w in at.warning] == ["Finding not found."]


# --- safety ---------------------------------------------------------------------------------------------------


def test_scraped_text_is_shown_literally_and_never_as_markdown(world: World, opened_files: list[str]) -> None:
    ids = [
        world.add_finding(
            score=0.9 - i / 10,
            title=payload,
            seller=payload,
            reasons=[payload],
            region=None,
            image_url="/etc/passwd",
            thumbnail=png_bytes((9, 9, 9)),
        )
        for i, payload in enumerate(PAYLOADS)
    ]
    at = start()
    table = queue_table(at)
    assert table["Title"].tolist() == list(PAYLOADS)
    assert table["Seller"].tolist() == list(PAYLOADS) and table["First reason"].tolist() == list(PAYLOADS)
    assert_no_markdown_carries(at, *PAYLOADS)

    for fid, payload in zip(ids, PAYLOADS, strict=True):
        open_detail(at, fid)
        assert_no_markdown_carries(at, *PAYLOADS)
        shown = texts(at)
        assert payload in shown and f"• {payload}" in shown and f"Name: {payload}" in shown
        assert all(img.proto.imgs for img in at.image)
    assert opened_files and not [p for p in opened_files if "passwd" in p]  # the hook saw the run's own opens

    # and after a review, the flash message carries numbers only
    at.switch_page("views/queue.py").run()
    select_rows(at, 0, 1)
    at.button(key="q_confirmed").click().run()
    assert_no_markdown_carries(at, *PAYLOADS)


def test_dashboard_source_never_renders_raw_html_or_scraped_links() -> None:
    forbidden = (
        "unsafe_allow_html",
        "st.html(",
        "LinkColumn",
        "link_button",
        "components",
        "st.write(",
        "st.page_link",
    )
    # The one component: the desk's key listener, our own static JavaScript fed only key names, a finding id and
    # a selector of our own (dashboard/keyboard.py); it never writes HTML.
    allowed = {"keyboard.py": {"components"}}
    for path in DASHBOARD.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for token in forbidden:
            if token not in allowed.get(path.name, set()):
                assert token not in source, f"{token} in {path.name}"
    keyboard_source = (DASHBOARD / "keyboard.py").read_text(encoding="utf-8")
    assert "innerHTML" not in keyboard_source and "insertAdjacentHTML" not in keyboard_source
    # floors: the dashboard may import core/ and matching/ only
    sources = "".join(p.read_text(encoding="utf-8") for p in DASHBOARD.rglob("*.py"))
    for layer in ("crawler", "brandpatrol"):
        assert f"import {layer}" not in sources and f"from {layer}" not in sources


# --- runs -----------------------------------------------------------------------------------------------------


def test_runs_page(world: World) -> None:
    with world.db.session() as s:
        s.add(
            CrawlRun(
                marketplace_id=world.market_ids["taobao"],
                status=RunStatus.PARTIAL,
                started_at=T0,
                finished_at=T0 + timedelta(minutes=5),
                pages=4,
                items=37,
                drops={"no_price": 2},
                errors={"last": IMG_XSS},
            )
        )
        s.add(CrawlRun(status=RunStatus.FAILED, started_at=T0 - timedelta(days=1)))
    at = start()
    at.switch_page("views/runs.py").run()
    assert not at.exception
    (table,) = [d.value for d in at.dataframe]
    assert table["Status"].tolist() == ["partial", "failed"]
    assert table["Items"].tolist() == [37, 0] and table["Drops"].tolist() == [2, 0]
    assert {m.label: m.value for m in at.metric} == {"Runs shown": "2", "Failed": "1", "Items in the newest run": "37"}
    assert_no_markdown_carries(at, IMG_XSS)
    # The same health report as `brandpatrol status`, read from the database.
    assert any("status at" in c.value and "taobao" in c.value for c in at.code)
