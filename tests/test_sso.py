"""Single sign-on without a browser: the settings, the role map, claims -> person, and the [auth] secrets file.

The whole flow through Chromium and a real OIDC provider is tests/test_sso_browser.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, SsoRoleGrant
from dashboard import sso
from dashboard.accounts import Role

ISSUER = "https://login.example.com/realms/brands"
SECRET = "client-secret-that-must-never-be-printed"


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sso_issuer": ISSUER, "sso_client_id": "dash", "sso_client_secret": SECRET,
        "sso_roles": [
            {"group": "acme-legal", "role": "legal", "brand": "acme"},
            {"group": "staff", "role": "analyst", "brand": "globex"},
            {"group": "agency", "role": "analyst"},
            {"group": "acme-admins", "role": "admin", "brand": "acme"},
        ],
    }
    values.update(overrides)
    return Settings(**values)


def claims(*groups: str, **overrides: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "aud": ["dash"], "sub": "u-1", "email": "lee@acme.example", "groups": list(groups),
            "iat": int(time.time()) - 60, **overrides}


def test_settings_read_the_role_map_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPATROL_SSO_ISSUER", ISSUER)
    monkeypatch.setenv("BRANDPATROL_SSO_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("BRANDPATROL_SSO_ROLES", json.dumps([{"group": "acme-legal", "role": "legal",
                                                             "brand": "acme"}, {"group": "all", "role": "admin"}]))
    read = Settings()
    assert read.sso_roles == (SsoRoleGrant(group="acme-legal", role="legal", brand="acme"),
                              SsoRoleGrant(group="all", role="admin"))
    assert read.sso_discovery_url() == f"{ISSUER}/.well-known/openid-configuration"
    assert SECRET not in repr(read) and SECRET not in str(read.model_dump())  # secrets are never printed


def test_incomplete_or_cleartext_settings_are_refused_with_the_fix() -> None:
    assert settings().sso_problems() == []
    assert Settings().sso_problems() == []  # single sign-on off
    problems = settings(sso_issuer="http://login.example.com", sso_client_secret="", sso_roles=[]).sso_problems()
    assert any("BRANDPATROL_SSO_ISSUER 'http://login.example.com' is not an https:// URL" in p for p in problems)
    assert any("BRANDPATROL_SSO_CLIENT_SECRET is empty" in p for p in problems)
    assert any("BRANDPATROL_SSO_ROLES is empty" in p for p in problems)
    for loopback in ("http://127.0.0.1:8080", "http://localhost:9000/realm", "http://[::1]:80"):
        assert settings(sso_issuer=loopback).sso_problems() == [], loopback
    assert settings(sso_metadata_url="ftp://login.example.com/x").sso_problems()


def test_the_role_map_must_name_roles_and_brands_that_exist() -> None:
    grants = settings(sso_roles=[{"group": "a", "role": "owner"}, {"group": "b", "role": "legal", "brand": "Acme"},
                                 {"group": "c", "role": "legal", "brand": "initech"}]).sso_roles
    problems = sso.role_map_problems(grants, ["acme", "globex"])
    assert problems == [
        "BRANDPATROL_SSO_ROLES entry 1 (group 'a'): 'owner' is not a role; use one of analyst, legal, admin",
        "BRANDPATROL_SSO_ROLES entry 3 (group 'c'): there is no brand 'initech' here (brands: 'acme', 'globex'); "
        "correct the brand or leave it out to give the role on every brand",
    ]
    assert "start the dashboard with --config" in sso.role_map_problems(grants, [])[1]
    with pytest.raises(sso.SsoConfigError, match=r"single sign-on: .*'owner' is not a role"):
        sso.check(settings(sso_roles=[{"group": "a", "role": "owner"}]), ["acme"])


def test_the_first_matching_entry_decides_the_role_on_each_brand() -> None:
    person = sso.identity(claims("staff", "acme-admins", "acme-legal"), settings(), ["acme", "globex", "initech"])
    assert person.username == "lee@acme.example" and person.subject == "u-1"
    # acme: acme-legal comes before acme-admins in the map; globex: staff; initech: nothing maps.
    assert person.brand_roles(["acme", "globex", "initech"]) == {"acme": Role.LEGAL, "globex": Role.ANALYST}
    assert person.role_here(["ACME"]) is Role.LEGAL  # brands compare without case
    agency = sso.identity(claims("agency"), settings(), ["acme"])
    assert agency.brand_roles(["acme", "globex"]) == {"acme": Role.ANALYST, "globex": Role.ANALYST}
    assert agency.role_here([]) is Role.ANALYST
    with pytest.raises(sso.SsoRefused):  # the configured claim is missing: no groups, no role
        sso.identity(claims("agency"), settings(sso_roles_claim="roles"), [])
    one = sso.identity(claims(roles="agency"), settings(sso_roles_claim="roles"), ["acme"])
    assert one.groups == ("agency",)  # a claim holding one group as a string


@pytest.mark.parametrize(("token", "reason"), [
    (claims("acme-legal", iss="https://login.example.com/realms/other"), "issuer"),
    (claims("acme-legal", aud="another-app"), "audience"),
    ({**claims("acme-legal"), "email": None}, "username_claim"),
    (claims("marketing", "sales"), "no_role"),
    (claims("staff"), "other_brands"),  # staff holds a role only on globex
    (claims("acme-legal", iat=int(time.time()) - 13 * 3600), "expired"),  # groups as of 13 hours ago
    ({k: v for k, v in claims("acme-legal").items() if k != "iat"}, "expired"),
    (claims("acme-legal", iat="yesterday"), "expired"),
])
def test_claims_that_may_not_enter_are_refused_with_the_reason(token: dict[str, Any], reason: str) -> None:
    with pytest.raises(sso.SsoRefused) as refused:
        sso.identity(token, settings(), ["acme"])
    assert refused.value.reason == reason
    if reason == "no_role":
        assert refused.value.groups == ("marketing", "sales")
        assert "none of your groups (claim 'groups') gives a role" in refused.value.message()
        assert "lee@acme.example" in refused.value.message("zh")


def test_a_sign_in_counts_for_the_configured_hours() -> None:
    issued = claims("acme-legal", iat=1_000_000)
    assert sso.identity(issued, settings(sso_session_hours=2), ["acme"], now=1_000_000 + 2 * 3600).username
    with pytest.raises(sso.SsoRefused) as refused:
        sso.identity(issued, settings(sso_session_hours=2), ["acme"], now=1_000_000 + 2 * 3600 + 1)
    assert refused.value.message() == ("Your single sign-on is older than 2 hours. Sign out and sign in again, so "
                                       "your identity provider confirms your groups.")


def test_a_provider_cannot_act_under_a_database_accounts_name() -> None:
    with pytest.raises(sso.SsoRefused) as refused:
        sso.identity(claims("acme-legal"), settings(), ["acme"], lambda name: name == "lee@acme.example")
    assert refused.value.reason == "local_account"
    assert sso.identity(claims("acme-legal"), settings(), ["acme"], lambda name: name == "ana").username


def test_groups_from_the_token_are_bounded_and_cleaned() -> None:
    many = [f"g{n}" for n in range(5000)] + ["agency"]
    with pytest.raises(sso.SsoRefused):  # past GROUPS_MAX: never read
        sso.identity(claims(*many), settings(), ["acme"])
    person = sso.identity(claims("agency\u202e", "agency", 7, {"x": 1}), settings(), ["acme"])
    assert person.groups == ("agency", "7")


def test_the_auth_secrets_file_is_private_and_holds_what_st_login_reads(tmp_path: Path) -> None:
    path = sso.write_secrets(settings(sso_cookie_secret="cookie \"secret\" \\ ü"),
                             "http://127.0.0.1:8501/oauth2callback", tmp_path / "private")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    auth = tomllib.loads(path.read_text(encoding="utf-8"))["auth"]
    assert auth["redirect_uri"] == "http://127.0.0.1:8501/oauth2callback"
    assert auth["cookie_secret"] == "cookie \"secret\" \\ ü"
    assert auth["sso"] == {"client_id": "dash", "client_secret": SECRET,
                           "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration",
                           "client_kwargs": {"scope": "openid email profile", "prompt": "login"}}
    generated = tomllib.loads(sso.write_secrets(settings(), "http://x/oauth2callback", tmp_path / "b").read_text())
    assert len(generated["auth"]["cookie_secret"]) >= 40  # a new random one when none is configured


def test_the_dashboard_refuses_to_start_with_unusable_single_sign_on(tmp_path: Path) -> None:
    env = {**os.environ, "BRANDPATROL_SSO_ISSUER": "http://login.example.com", "BRANDPATROL_SSO_CLIENT_ID": "dash",
           "BRANDPATROL_SSO_CLIENT_SECRET": SECRET,
           "BRANDPATROL_SSO_ROLES": json.dumps([{"group": "g", "role": "legal", "brand": "acme"}])}
    done = subprocess.run([sys.executable, "-m", "brandpatrol.cli", "dashboard", "--db", f"sqlite:///{tmp_path}/t.db",
                           "--port", "1"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "BRANDPATROL_SSO_ISSUER 'http://login.example.com' is not an https:// URL" in done.stderr
    assert "there is no brand 'acme' here" in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert not list(tmp_path.glob("**/secrets.toml"))


@pytest.mark.parametrize(("roles", "expected"), [
    ("[{'group': 'g'", "error parsing value for field 'sso_roles'"),
    (json.dumps([{"group": "g", "role": "legal", "colour": SECRET}]), "BRANDPATROL_SSO_ROLES[0][colour]: Extra"),
])
def test_a_role_map_that_does_not_parse_is_a_clear_error(tmp_path: Path, roles: str, expected: str) -> None:
    env = {**os.environ, "BRANDPATROL_SSO_ROLES": roles}
    done = subprocess.run([sys.executable, "-m", "brandpatrol.cli", "status", "--db", f"sqlite:///{tmp_path}/t.db"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "error: the settings in the environment cannot be used: " in done.stderr
    assert expected in done.stderr and SECRET not in done.stderr
