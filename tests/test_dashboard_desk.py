"""The takedown desk pages (Notices, Test buys) through streamlit.testing (AppTest) on a real SQLite database:
drafting from confirmed findings, preview as text, downloads, status changes with audit rows, test-buy entry with
photo upload; scraped text never reaches a markdown element."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.models import AuditLog, Notice, NoticeStatus, ReviewDecision, TestBuy, TestBuyPhoto, Verdict
from core.settings import get_settings
from dashboard.data.reviews import review
from tests.dashboard_support import World, all_rows
from tests.images import jpeg, photo
from tests.notices_support import set_signals, write_config
from tests.test_dashboard_app import IMG_XSS, JS_LINK, PAYLOADS, assert_no_markdown_carries, start, texts

NOTICES = "views/notices.py"
TESTBUYS = "views/testbuys.py"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World.create(tmp_path)
    monkeypatch.setenv("BRANDPATROL_DB", world.db.url)
    monkeypatch.setenv("BRANDPATROL_CONFIG", str(write_config(tmp_path)))
    get_settings.cache_clear()
    return world


def open_page(page: str, username: str = "lee", role: str = "legal") -> AppTest:
    at = start(username, role)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def select_rows(at: AppTest, *positions: int) -> AppTest:
    table_key = at.session_state["n_view"]["key"]
    at.session_state[table_key] = {"selection": {"rows": list(positions), "columns": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def confirmed_fakes(world: World, *titles: str) -> list[int]:
    ids = [world.add_finding(score=0.9 - i / 100, title=t, seller=t) for i, t in enumerate(titles)]
    for fid in ids:
        set_signals(world, fid, **{"text.counterfeit": "match"})
    review(world.db, ids, ReviewDecision.CONFIRMED, "ana")
    return ids


def test_draft_preview_export_and_follow_a_notice(world: World) -> None:
    ids = confirmed_fakes(world, "露米娜精华 高仿 A", "露米娜精华 高仿 B")
    world.add_finding(score=0.99, title="not confirmed yet")
    at = open_page(NOTICES)
    assert at.selectbox(key="n_market").value == world.market_ids["taobao"]
    assert at.selectbox(key="n_template").value == "alibaba_ipp"
    [table] = [d.value for d in at.dataframe if "Confirmed by" in d.value.columns]
    assert table["Finding"].tolist() == ids  # only confirmed findings are offered
    assert at.button(key="n_draft").disabled  # nothing chosen yet

    select_rows(at, 0, 1)
    assert "2 confirmed findings shown · 2 chosen · split into requests of 300" in texts(at)
    at.button(key="n_draft").click().run()
    assert not at.exception
    [notice] = all_rows(world.db, Notice)
    assert notice.status is NoticeStatus.DRAFTED and notice.created_by == "lee"
    assert [s.value for s in at.success] == [f"Drafted notice {notice.id} from 2 confirmed findings."]
    body = [c.value for c in at.code if "Alibaba IPP complaint" in c.value]
    assert body and "露米娜精华 高仿 A" in body[0]  # the preview, as text
    assert [d.label for d in at.download_button] == [
        "PDF", "DOCX (to edit)", "CSV bulk form", "XLSX bulk form", "ZIP evidence bundle"]
    assert "Removal confirmed by the crawls: 0 of 2 listings gone." in texts(at)

    at.text_input(key=f"n_ref_{notice.id}").input("IPP-2026-0815")
    at.button(key=f"n_file_{notice.id}").click().run()
    assert not at.exception
    [notice] = all_rows(world.db, Notice)
    assert notice.status is NoticeStatus.FILED and notice.reference == "IPP-2026-0815"
    at.text_area(key=f"n_note_{notice.id}").input("removed in 2 days")
    at.button(key=f"n_removed_{notice.id}").click().run()
    [notice] = all_rows(world.db, Notice)
    assert notice.status is NoticeStatus.REMOVED and notice.status_note == "removed in 2 days"
    assert "This notice is closed (removed)." in texts(at)
    trail = [(a.action, a.actor) for a in all_rows(world.db, AuditLog) if a.object_type == "notice"]
    assert trail == [("notice.draft", "lee"), ("notice.file", "lee"), ("notice.removed", "lee")]


def test_filing_without_a_reference_is_refused_on_the_page(world: World) -> None:
    confirmed_fakes(world, "A")
    at = select_rows(open_page(NOTICES), 0)
    at.button(key="n_draft").click().run()
    [notice] = all_rows(world.db, Notice)
    at.button(key=f"n_file_{notice.id}").click().run()
    assert [e.value for e in at.error] == ["Nothing was changed:"]
    assert any("filing needs the reference" in t for t in texts(at))
    assert all_rows(world.db, Notice)[0].status is NoticeStatus.DRAFTED


def test_diversion_is_drafted_only_as_a_distribution_policy_report(world: World) -> None:
    fid = world.add_finding(score=0.9, verdict=Verdict.DIVERSION)
    set_signals(world, fid, seller="no_match")
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    at = open_page(NOTICES)
    [table] = [d.value for d in at.dataframe if "Confirmed by" in d.value.columns]
    assert table.empty  # the counterfeit ground of the default template does not offer diversion findings
    at.selectbox(key="n_template").set_value("distribution_policy").run()
    assert at.selectbox(key="n_ground").value == "diversion"
    assert "A distribution-policy report: no IP claim, no prices. The goods may be genuine." in texts(at)
    select_rows(at, 0)
    at.button(key="n_draft").click().run()
    [notice] = all_rows(world.db, Notice)
    assert notice.template == "distribution_policy" and "经销渠道政策报告" in notice.body


def test_scraped_text_on_the_desk_is_only_text(world: World) -> None:
    confirmed_fakes(world, *PAYLOADS)
    at = select_rows(open_page(NOTICES), 0, 1, 2)
    assert_no_markdown_carries(at, *PAYLOADS)
    at.button(key="n_draft").click().run()
    assert not at.exception
    assert any(IMG_XSS in c.value and JS_LINK in c.value for c in at.code)
    assert_no_markdown_carries(at, *PAYLOADS)
    assert not at.get("link_button") and not at.get("page_link")


def test_without_a_configuration_the_desk_explains_how_to_draft(world: World,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRANDPATROL_CONFIG")
    get_settings.cache_clear()
    confirmed_fakes(world, "A")
    at = open_page(NOTICES)
    assert any("brandpatrol dashboard -c brandpatrol.yaml" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "n_draft"]


def test_record_a_test_buy_with_a_photo(world: World) -> None:
    fid = confirmed_fakes(world, JS_LINK)[0]
    at = open_page(TESTBUYS)
    assert [i.value for i in at.info] == ["No test buys recorded yet."]
    at.number_input(key="tb_finding").set_value(fid).run()
    assert JS_LINK in texts(at) and [c.value for c in at.code] == [f"https://item.example/{fid}"]
    at.text_input(key="tb_order").input("2026031288812")
    at.text_input(key="tb_price").input("129.00")
    at.text_input(key="tb_code").input("gd24-0311")
    at.selectbox(key="tb_result").set_value("genuine")
    at.file_uploader(key="tb_photos").set_value([("unit.jpg", jpeg(photo("coffee")), "image/jpeg")])
    at.button(key="tb_submit").click().run()
    assert not at.exception, at.exception
    [buy] = all_rows(world.db, TestBuy)
    assert (buy.order_number, str(buy.price_paid), buy.code_read, buy.distributor) == (
        "2026031288812", "129.0000", "GD240311", "South China Beauty Trading")
    assert buy.ordered_on == datetime.now(UTC).date() and len(all_rows(world.db, TestBuyPhoto)) == 1
    assert [s.value for s in at.success] == [f"Recorded test buy {buy.id} with 1 photo(s)."]
    assert ("Code GD240311 (prefix GD24) was shipped to South China Beauty Trading (authorised for CN-GD)."
            in texts(at))
    assert len(at.image) == 1 and at.image[0].proto.imgs[0].url.startswith("data:image/jpeg;base64,")  # inline
    assert_no_markdown_carries(at, JS_LINK)

    at.selectbox(key=f"tb_set_{buy.id}").set_value("counterfeit")
    at.button(key=f"tb_save_{buy.id}").click().run()
    assert all_rows(world.db, TestBuy)[0].result.value == "counterfeit"


def test_a_bad_test_buy_is_refused_with_reasons(world: World) -> None:
    fid = confirmed_fakes(world, "A")[0]
    at = open_page(TESTBUYS)
    at.number_input(key="tb_finding").set_value(fid).run()
    at.text_input(key="tb_price").input("free")
    at.file_uploader(key="tb_photos").set_value([("x.png", b"<html>not a photo</html>", "image/png")])
    at.button(key="tb_submit").click().run()
    assert [e.value for e in at.error] == ["The test buy was not recorded:"]
    shown = texts(at)
    assert "• the order number is missing; copy it from the marketplace's order page" in shown
    assert "• 'free' is not a price paid; give an amount such as 129.00" in shown
    assert "• photo 1 was not stored (not an image): body is text (HTML/JSON), not an image" in shown
    assert all_rows(world.db, TestBuy) == []
