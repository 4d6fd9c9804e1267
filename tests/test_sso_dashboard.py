"""The dashboard with single sign-on through AppTest (st.user set as Streamlit's cookie would set it), on a real
SQLite database: the mapped role's pages and no others, the refusal page with the reason and the groups as plain
text, the audit rows, signing out, and st.user ignored while single sign-on is off."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.models import AuditLog
from core.settings import get_settings
from dashboard import accounts
from tests.dashboard_support import World
from tests.notices_support import write_config
from tests.test_dashboard_app import APP, PASSWORD, texts
from tests.test_dashboard_auth import registered

ISSUER = "https://login.example.com/realms/brands"
ROLES = [{"group": "lumina-legal", "role": "legal", "brand": "Lumina"},
         {"group": "lumina-admins", "role": "admin", "brand": "lumina"},
         {"group": "bp-analysts", "role": "analyst"}]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World.create(tmp_path)
    monkeypatch.setenv("BRANDPATROL_DB", world.db.url)
    monkeypatch.setenv("BRANDPATROL_CONFIG", str(write_config(tmp_path)))
    monkeypatch.setenv("BRANDPATROL_SSO_ISSUER", ISSUER)
    monkeypatch.setenv("BRANDPATROL_SSO_CLIENT_ID", "dash")
    monkeypatch.setenv("BRANDPATROL_SSO_CLIENT_SECRET", "secret")
    monkeypatch.setenv("BRANDPATROL_SSO_ROLES", json.dumps(ROLES))
    get_settings.cache_clear()
    yield world
    get_settings.cache_clear()


def signed_in(*groups: Any, email: str = "lee@lumina.example", **claims: Any) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.user = {"is_logged_in": True, "iss": ISSUER, "aud": "dash", "sub": "u1", "email": email,
               "groups": list(groups), "iat": int(time.time()) - 60, **claims}
    return at.run()


def audit(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    with world.db.read() as s:
        return [(a.actor, a.action, a.detail) for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_a_mapped_group_gets_its_roles_pages_and_no_others(world: World) -> None:
    at = signed_in("staff", "lumina-admins", "lumina-legal")  # the map's order decides, not the token's
    assert not at.exception, at.exception
    assert registered(at) == {"notices", "detail", "testbuys", "overview"}
    assert "Signed in as lee@lumina.example (legal)" in texts(at)
    at.run()  # audited once per session, not once per click
    assert audit(world) == [("lee@lumina.example", "auth.sign_in", {
        "via": "sso", "issuer": ISSUER, "role": "legal", "groups": ["lumina-legal", "lumina-admins"]})]

    at.sidebar.button(key="sign_out").click().run()
    assert at.user == {"is_logged_in": False}
    assert [t.value for t in at.title] == ["Sign in to BrandPatrol"]
    assert registered(at) == set()


def test_unmapped_groups_are_refused_with_the_reason_and_the_groups_as_text(world: World) -> None:
    at = signed_in("marketing", "<img src=x onerror=alert(1)>")
    assert not at.exception, at.exception
    assert registered(at) == set()
    assert [e.value for e in at.error] == ["You cannot use BrandPatrol with this sign-in."]
    shown = texts(at)
    assert any("none of your groups (claim 'groups') gives a role in BrandPatrol" in t for t in shown)
    assert "Your groups: marketing, <img src=x onerror=alert(1)>" in shown  # st.text: never markup
    [(actor, action, detail)] = audit(world)
    assert (actor, action, detail["reason"], detail["via"]) == ("lee@lumina.example", "auth.fail", "no_role", "sso")
    at.button(key="sso_refused_sign_out").click().run()
    assert at.user == {"is_logged_in": False} and [t.value for t in at.title] == ["Sign in to BrandPatrol"]


def test_a_provider_name_that_is_a_database_account_is_refused(world: World) -> None:
    accounts.add_user(world.db, "ana", "admin", PASSWORD, actor="test")
    at = signed_in("bp-analysts", email="ana")
    assert registered(at) == set()
    assert any("which is the name of a BrandPatrol database account" in t for t in texts(at))


def test_the_sign_in_page_offers_the_provider_beside_the_password_form(world: World) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button if b.key == "login_sso"] == ["Sign in with single sign-on"]
    assert at.text_input(key="login_user") is not None


def test_st_user_is_ignored_while_single_sign_on_is_off(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRANDPATROL_SSO_ISSUER")
    get_settings.cache_clear()
    at = signed_in("bp-analysts")
    assert registered(at) == set() and [t.value for t in at.title] == ["Sign in to BrandPatrol"]
    assert not [b for b in at.button if b.key == "login_sso"]
    assert audit(world) == []


def test_without_the_auth_secrets_the_button_says_so_instead_of_failing(world: World) -> None:
    # `streamlit run dashboard/app.py` by hand: nobody wrote the [auth] secrets that `brandpatrol dashboard` writes,
    # so st.user has no is_logged_in at all.
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    at.button(key="login_sso").click().run()
    assert not at.exception, at.exception
    assert "Single sign-on is configured but cannot be used:" in [e.value for e in at.error]
    assert any("secrets.toml" in t for t in texts(at))
