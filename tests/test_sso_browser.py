"""Single sign-on in headless Chromium: `brandpatrol dashboard` with BRANDPATROL_SSO_* set, against the OIDC
provider of tests/oidc_provider.py on 127.0.0.1. A person whose groups map to nothing is refused with the reason
and their groups; a tampered id_token, an id_token of another issuer and a provider claiming another issuer than
the configured one never sign anybody in; a member of a mapped group lands with the mapped role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.models import AuditLog
from core.settings import get_settings
from tests.dashboard_support import World, running_dashboard
from tests.notices_support import write_config
from tests.oidc_provider import running_provider

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CLIENT_ID, CLIENT_SECRET = "brandpatrol-dashboard", "client secret of the test"
ROLES = [
    {"group": "lumina-legal", "role": "legal", "brand": "Lumina"},
    {"group": "acme-admins", "role": "admin"},
]


def sso_env(issuer: str) -> dict[str, str]:
    return {
        "BRANDPATROL_SSO_ISSUER": issuer,
        "BRANDPATROL_SSO_CLIENT_ID": CLIENT_ID,
        "BRANDPATROL_SSO_CLIENT_SECRET": CLIENT_SECRET,
        "BRANDPATROL_SSO_COOKIE_SECRET": "a cookie secret of forty characters!!!!!",
        "BRANDPATROL_SSO_LABEL": "Test IdP",
        "BRANDPATROL_SSO_ROLES": json.dumps(ROLES),
    }


def sign_in_at_provider(page: Any, username: str, password: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign in with Test IdP").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()


def test_sso_sign_in_maps_groups_to_roles_and_refuses_bad_tokens(tmp_path: Path) -> None:
    chromium = get_settings().browser_executable()
    if chromium is None:
        pytest.skip("Chromium is not installed (run tools/install-system-packages.sh)")
    from playwright.sync_api import expect, sync_playwright

    world = World.create(tmp_path)
    db_url = str(world.db.engine.url)
    config = write_config(tmp_path)
    with running_provider() as provider:
        provider.add_user("lee", "lee's password", "lee@lumina.example", ("staff", "lumina-legal"))
        provider.add_user("max", "max's password", "max@lumina.example", ("marketing", "staff"))
        with running_dashboard(db_url, tmp_path, "-c", str(config), env=sso_env(provider.issuer)) as base:
            provider.add_client(CLIENT_ID, CLIENT_SECRET, f"{base}/oauth2callback")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                page.set_default_timeout(30_000)
                page.goto(base)
                expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()

                # Groups that map to nothing: refused, with the reason and the groups, and a way out.
                sign_in_at_provider(page, "max", "max's password")
                expect(page.get_by_text("You cannot use BrandPatrol with this sign-in.")).to_be_visible()
                expect(page.get_by_text("none of your groups (claim 'groups')", exact=False)).to_be_visible()
                expect(page.get_by_text("Your groups: marketing, staff")).to_be_visible()
                page.screenshot(path=str(tmp_path / "1-refused.png"), full_page=True)
                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()

                # Tokens a relying party must refuse: back on the sign-in page, nobody signed in.
                for fault in ("tampered_signature", "token_issuer"):
                    provider.misbehave = fault
                    issued = provider.tokens_issued
                    sign_in_at_provider(page, "lee", "lee's password")
                    expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()
                    assert provider.tokens_issued == issued + 1, fault  # the token was issued, and refused
                    assert page.get_by_text("Signed in as").count() == 0, fault
                    assert not any(c["name"].startswith("_streamlit_user") for c in page.context.cookies()), fault

                # A provider whose discovery document names another issuer than the configured one.
                provider.misbehave = "discovery_issuer"
                sign_in_at_provider(page, "lee", "lee's password")
                expect(page.get_by_text("issued by another identity provider", exact=False)).to_be_visible()
                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()

                # A member of lumina-legal: the legal role on the brand Lumina, landing on the notices desk.
                provider.misbehave = None
                sign_in_at_provider(page, "lee", "lee's password")
                expect(page.get_by_text("Signed in as lee@lumina.example (legal)")).to_be_visible()
                expect(page.get_by_role("heading", name="Draft from confirmed findings")).to_be_visible()
                assert page.get_by_role("link", name="Review queue").count() == 0  # not an analyst page
                page.screenshot(path=str(tmp_path / "2-signed-in.png"), full_page=True)
                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_text("Sign in to BrandPatrol")).to_be_visible()
                assert not any(c["name"].startswith("_streamlit_user") for c in page.context.cookies())
                browser.close()

    with world.db.read() as s:
        rows = [(a.actor, a.action, a.detail) for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert ("max@lumina.example", "auth.fail") in [(actor, action) for actor, action, _ in rows]
    signed = [(actor, detail) for actor, action, detail in rows if action == "auth.sign_in"]
    assert signed == [("lee@lumina.example", {"via": "sso", "issuer": provider.issuer, "role": "legal",
                                              "groups": ["lumina-legal"]})]
