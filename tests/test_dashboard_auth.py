"""Sign-in, roles and languages of the dashboard through AppTest on a real SQLite database (fault row 46).

Before sign-in no page script is registered (every address draws the sign-in form); each role gets its own pages
and no others; a role without pages gets the access-denied view; a page script run for the wrong role stops itself;
failures are audited and limited; passwords never reach the database or the audit log in clear.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.models import AuditLog, NoticeStatus, Review, ReviewDecision, TestBuyResult, User
from core.settings import get_settings
from dashboard import accounts, auth, i18n, present
from dashboard.data.reviews import review
from dashboard.notices.model import Ground
from tests.dashboard_support import World, all_rows
from tests.notices_support import set_signals, write_config
from tests.test_dashboard_app import APP, PASSWORD, ensure_user, sign_in, start, texts

VIEWS = APP.parent / "views"
ALL_PAGES = {"queue", "notices", "detail", "testbuys", "sellers", "overview", "runs", "users", "agency"}
EXPECTED = {
    "analyst": {"queue", "detail", "sellers", "overview", "runs"},
    "legal": {"notices", "detail", "testbuys", "overview"},
    "admin": ALL_PAGES,
}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World.create(tmp_path)
    monkeypatch.setenv("BRANDPATROL_DB", world.db.url)
    monkeypatch.setenv("BRANDPATROL_CONFIG", str(write_config(tmp_path)))
    get_settings.cache_clear()
    return world


def registered(at: AppTest) -> set[str]:
    """The page scripts st.navigation registered in the last run (by the file name, without .py)."""
    found = set()
    for name in ALL_PAGES:
        try:
            at.switch_page(f"views/{name}.py")
        except ValueError:
            continue
        found.add(name)
    return found


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_before_sign_in_only_the_sign_in_page_exists(world: World) -> None:
    world.add_finding(score=0.9, title="secret lamp")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert titles(at) == ["Sign in to BrandPatrol"]
    assert registered(at) == set()  # pages not registered: no URL reaches them
    assert not at.dataframe and not at.metric and "secret lamp" not in str(at._tree)
    # with no account at all, the page says how to make the first one
    assert any("brandpatrol user add NAME --role admin" in i.value for i in at.info)


@pytest.mark.parametrize("role", ["analyst", "legal", "admin"])
def test_each_role_sees_its_pages_and_only_them(world: World, role: str) -> None:
    at = start(f"user-{role}", role)
    assert registered(at) == EXPECTED[role] == set(auth.page_keys(accounts.Role(role)))
    for page in sorted(EXPECTED[role]):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (role, page, at.exception)
        assert not at.error, (role, page, [e.value for e in at.error])
    for page in sorted(ALL_PAGES - EXPECTED[role]):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"views/{page}.py")


def test_a_page_script_run_for_the_wrong_role_stops_itself(world: World) -> None:
    world.add_finding(score=0.9, title="secret lamp")
    ensure_user("lee", "legal")
    [lee] = [a for a in accounts.list_users(world.db) if a.username == "lee"]
    at = AppTest.from_file(str(VIEWS / "queue.py"), default_timeout=60)
    at.session_state[auth.ACCOUNT_KEY] = lee.id
    at.run()
    assert [e.value for e in at.error] == ["Access denied"]
    assert "Your role (legal) does not include this page. Ask an administrator if you need it." in texts(at)
    assert not at.dataframe and "secret lamp" not in str(at._tree)


def test_an_account_without_a_known_role_gets_access_denied(world: World) -> None:
    ensure_user("vic", "analyst")
    with world.db.session() as s:
        user = s.scalar(select(User).where(User.username == "vic"))
        assert user is not None
        user.role = "viewer"  # not one of ours: no pages
    at = start("vic", "analyst")
    assert titles(at) == ["Access denied"]
    assert [e.value for e in at.error] == ["Your account has no dashboard role. Ask an administrator to set one."]
    assert registered(at) == set()


def test_wrong_password_is_refused_audited_and_limited(world: World) -> None:
    ensure_user("ana", "analyst")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    for _ in range(accounts.FAILURE_LIMIT):
        sign_in(at, "ana", "not the password")
        assert [e.value for e in at.error] == ["Wrong username or password."]
        assert titles(at) == ["Sign in to BrandPatrol"]
    sign_in(at, "ana", PASSWORD)  # right password, but the username is locked for the window
    assert [e.value for e in at.error] == [
        "Too many failed sign-ins for this username; wait 15 minutes and try again."]
    assert titles(at) == ["Sign in to BrandPatrol"]
    sign_in(at, "nobody", PASSWORD)
    assert [e.value for e in at.error] == ["Wrong username or password."]  # same words as a bad password

    trail = [(a.action, a.object_id, a.detail.get("reason")) for a in all_rows(world.db, AuditLog)
             if a.action.startswith("auth.")]
    assert trail == [("auth.fail", "ana", "bad password")] * 5 + [
        ("auth.locked", "ana", None), ("auth.fail", "nobody", "unknown user")]
    assert at.text_input(key="login_password").value == ""  # not kept in the session


def test_passwords_are_stored_hashed_and_never_in_clear(world: World) -> None:
    ensure_user("ana", "analyst")
    start("ana", "analyst")
    [user] = all_rows(world.db, User)
    assert user.password_hash.startswith("scrypt$") and PASSWORD not in user.password_hash
    assert accounts.verify_password(PASSWORD, user.password_hash)
    assert not accounts.verify_password(PASSWORD + "x", user.password_hash)
    other = accounts.hash_password(PASSWORD)
    assert other != user.password_hash  # a salt per hash
    for row in all_rows(world.db, AuditLog):
        assert PASSWORD not in repr(row.detail) + row.object_id + row.actor
    raw = Path(world.db.url.removeprefix("sqlite:///")).read_bytes()
    assert PASSWORD.encode() not in raw


def test_reviews_carry_the_signed_in_username(world: World) -> None:
    world.add_finding(score=0.9)
    at = start("ana", "analyst")
    assert "Signed in as ana (analyst)" in texts(at)
    table_key = at.session_state["queue_view"]["key"]
    at.session_state[table_key] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    at.button(key="q_confirmed").click().run()
    assert [(r.reviewer, r.decision) for r in all_rows(world.db, Review)] == [("ana", ReviewDecision.CONFIRMED)]


def test_legal_reads_the_detail_but_does_not_review(world: World) -> None:
    fid = world.add_finding(score=0.9, title="Lumina lamp")
    at = start("lee", "legal")
    at.switch_page("views/detail.py")
    at.query_params["finding"] = str(fid)
    at.run()
    assert "Lumina lamp" in texts(at)
    assert "Only analysts and administrators record review decisions." in [i.value for i in at.info]
    assert all(at.button(key=f"d_{d.value}_{fid}").disabled for d in ReviewDecision)
    assert all_rows(world.db, Review) == []


def test_a_disabled_account_is_signed_out_at_the_next_click(world: World) -> None:
    at = start("ana", "analyst")
    assert titles(at) == ["Review queue"]
    accounts.set_active(world.db, "ana", False, actor="admin")
    at.run()
    assert titles(at) == ["Sign in to BrandPatrol"] and registered(at) == set()
    sign_in(at, "ana")
    assert [e.value for e in at.error] == ["Wrong username or password."]


def test_sign_out(world: World) -> None:
    at = start("ana", "analyst")
    at.button(key="sign_out").click().run()
    assert titles(at) == ["Sign in to BrandPatrol"] and registered(at) == set()


def test_admin_adds_and_disables_users_on_the_users_page(world: World) -> None:
    at = start("root", "admin")
    at.switch_page("views/users.py").run()
    at.text_input(key="u_name").input("newbie")
    at.selectbox(key="u_role").set_value("legal")
    at.text_input(key="u_password").input("short")
    at.button(key="u_create").click().run()
    assert any("shorter than 10 characters" in e.value for e in at.error)
    at.text_input(key="u_password").input("a long enough password")
    at.button(key="u_create").click().run()
    assert [s.value for s in at.success] == ["Created the account."]
    assert {(a.username, a.role, a.active) for a in accounts.list_users(world.db)} == {
        ("root", "admin", True), ("newbie", "legal", True)}
    at.selectbox(key="u_target").set_value("newbie").run()
    at.button(key="u_disable").click().run()
    assert {a.username: a.active for a in accounts.list_users(world.db)}["newbie"] is False
    actions = [(a.actor, a.action, a.object_id) for a in all_rows(world.db, AuditLog) if a.action.startswith("user.")]
    assert actions[-2:] == [("root", "user.add", "newbie"), ("root", "user.disable", "newbie")]


# --- languages ------------------------------------------------------------------------------------------------


def test_every_label_has_english_and_chinese() -> None:
    for key, entry in i18n.MESSAGES.items():
        assert set(entry) == set(i18n.LANGUAGE_NAMES), key
        assert all(entry.values()), key
        placeholders = {lang: sorted(p for p in text.split("{")[1:]) for lang, text in entry.items()}
        assert placeholders["en"] == placeholders["zh"] or {
            p.split("}")[0] for p in placeholders["en"]} == {p.split("}")[0] for p in placeholders["zh"]}, key


def test_every_key_the_pages_use_exists() -> None:
    used = set()
    for path in APP.parent.rglob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*"([a-z_]+\.[a-z_]+)\"""", path.read_text(encoding="utf-8")))
    assert len(used) > 40
    assert used - set(i18n.MESSAGES) == set()
    assert {f"page.{p.key}" for p in auth.PAGES} <= set(i18n.MESSAGES)
    assert {f"role.{r.value}" for r in accounts.Role} <= set(i18n.MESSAGES)
    # the desk pages and the listing detail page are translated, not only the older pages
    for name in ("notices", "testbuys", "detail"):
        page_keys = set(re.findall(r"""\bt\(\s*"([a-z_]+\.[a-z_]+)\"""", (VIEWS / f"{name}.py").read_text("utf-8")))
        assert len(page_keys) > 20, name
    # keys built at run time: statuses, grounds, test-buy results, export buttons and table column headers
    dynamic = {f"status.{s.value}" for s in NoticeStatus} | {f"ground.{g.value}" for g in Ground}
    dynamic |= {f"result.{r.value}" for r in TestBuyResult} | {f"notices.export_{f}" for f in notices_view_formats()}
    dynamic |= set(present.COLUMN_KEYS.values())
    assert dynamic - set(i18n.MESSAGES) == set()
    # English stays the default: a column header's English label is the frame's own column name
    assert all(i18n.translate(key, "en") == name for name, key in present.COLUMN_KEYS.items())


def notices_view_formats() -> tuple[str, ...]:
    """The export formats the Notices page offers (read from its source: importing it would run the page)."""
    source = (VIEWS / "notices.py").read_text(encoding="utf-8")
    match = re.search(r"EXPORT_FORMATS = \(([^)]*)\)", source)
    assert match is not None
    return tuple(re.findall(r'"([a-z]+)"', match.group(1)))


def test_the_notices_and_test_buys_pages_speak_chinese(world: World) -> None:
    fid = world.add_finding(score=0.9, title="露米娜精华 高仿")
    set_signals(world, fid, **{"text.counterfeit": "match"})
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    at = start("lee", "legal")
    at.selectbox(key="ui_language").set_value("zh").run()
    assert not at.exception
    [user] = [u for u in all_rows(world.db, User) if u.username == "lee"]
    assert user.language == "zh"

    at.switch_page("views/notices.py").run()
    assert not at.exception, at.exception
    assert titles(at) == ["投诉通知"]
    assert {"根据已确认的发现起草", "投诉通知"} <= {h.value for h in at.header}
    assert at.button(key="n_draft").label == "起草投诉通知"
    assert at.selectbox(key="n_ground").label == "投诉理由"
    confirmed = [d.value for d in at.dataframe if "确认人" in d.value.columns]
    assert len(confirmed) == 1 and "露米娜精华 高仿" in confirmed[0]["标题"].tolist()  # scraped values untouched
    assert "尚无投诉通知。" in [i.value for i in at.info]

    at.switch_page("views/testbuys.py")
    at.query_params["finding"] = str(fid)
    at.run()
    assert not at.exception, at.exception
    assert titles(at) == ["试买"]
    assert {"登记试买", "最近的试买"} <= {h.value for h in at.header}
    assert at.button(key="tb_submit").label == "登记试买"
    assert at.selectbox(key="tb_result").options[0] == "待检验（尚未检查）"
    assert "露米娜精华 高仿" in texts(at)  # the listing title is shown as scraped, in a text element


def test_the_detail_page_speaks_chinese(world: World) -> None:
    fid = world.add_finding(score=0.9)
    at = start("ana", "analyst")
    at.selectbox(key="ui_language").set_value("zh").run()
    at.switch_page("views/detail.py")
    at.query_params["finding"] = str(fid)
    at.run()
    assert not at.exception
    assert titles(at) == ["商品详情"]
    assert {"商品标题", "价格历史", "卖家", "审核"} <= {h.value for h in at.subheader}
    assert {m.label for m in at.metric} >= {"判定", "分数", "图像距离"}
    assert "假冒" in {m.value for m in at.metric}
    assert [b.label for b in at.button if b.key and b.key.startswith("d_")][:3] == ["确认", "排除", "上报"]


def test_the_queue_speaks_chinese_down_to_its_verdicts(world: World) -> None:
    world.add_finding(score=0.9)
    at = start("ana", "analyst")
    at.selectbox(key="ui_language").set_value("zh").run()
    assert not at.exception
    assert {m.label for m in at.metric} >= {"假冒", "窜货", "低于限价"}
    assert at.button(key="q_confirmed").label == "确认所选"
    assert "第 1/1 页 · 1 条 · 已选 0 条" in texts(at)
    (table,) = [d.value for d in at.dataframe]
    assert set(table.iloc[:, list(table.columns).index(next(c for c in table.columns if "判定" in str(c)))]) == {"假冒"}


def test_switching_the_language_changes_titles_and_is_saved_per_user(world: World) -> None:
    at = start("ana", "analyst")
    assert titles(at) == ["Review queue"]
    at.selectbox(key="ui_language").set_value("zh").run()
    assert not at.exception
    assert titles(at) == ["审核队列"] and "已登录：ana（分析员）" in texts(at)
    [user] = all_rows(world.db, User)
    assert user.language == "zh"
    at.switch_page("views/runs.py").run()
    assert titles(at) == ["抓取记录"]
    # a new session of the same user starts in the saved language
    again = start("ana", "analyst")
    assert titles(again) == ["审核队列"]
