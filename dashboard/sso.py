"""Single sign-on: who an identity provider's sign-in makes a person here, and the [auth] secrets st.login reads.

No Streamlit here (dashboard/auth.py draws the pages). Streamlit's st.login runs the OIDC authorization-code flow
with Authlib: it checks the id_token's RS256 signature against the provider's JWKS, its issuer against the
discovery document, its audience, expiry and nonce, and keeps the token's claims in a signed cookie (st.user).
This module then decides, on every script run, what those claims allow:

- the claims must come from the configured issuer and name this dashboard's client id as audience (a second
  lock: a discovery document that names another issuer passes Authlib's own check);
- the person is named by `sso_username_claim` (email by default), which must not be the name of a database
  account, so an identity provider cannot act under a local user's name in reviews and the audit log;
- their groups (`sso_roles_claim`) go through the role map in order: for each brand, the first entry whose
  group the person holds and whose brand is that brand (or unset: every brand) decides the role;
- a person whose groups map to nothing on this install's brands is refused, with the groups they hold.

Brands: `install_brands` names the brands a map entry may give a role on (today the brand of the configured
file; with brand workspaces, the brand rows). A map entry naming another brand is a configuration error.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import ConfigError, load_config
from core.settings import Settings, SsoRoleGrant
from core.text import NAME_MAX, clean_line
from dashboard import i18n
from dashboard.accounts import USERNAME_MAX, Role

PROVIDER = "sso"  # the provider's name in secrets.toml ([auth.sso]) and in st.login("sso")
GROUPS_MAX = 500  # groups read from one token; a claim with more is cut (bounded input)
GROUP_MAX = 200


class SsoConfigError(ValueError):
    """Single sign-on is configured so that it cannot work; the message names each problem and its fix."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("single sign-on: " + "; ".join(self.problems))


class SsoRefused(Exception):
    """The identity provider signed the person in, but they may not use this dashboard.

    `reason` picks the sentence (i18n "sso.refused.<reason>"), `values` fill it; `groups` are the token's claim
    values. Values from the token are shown only as text.
    """

    def __init__(self, reason: str, groups: Sequence[str] = (), **values: str):
        self.reason = reason
        self.groups = tuple(groups)
        self.values = values
        super().__init__(self.message())

    def message(self, language: str = i18n.DEFAULT_LANGUAGE) -> str:
        return i18n.translate(f"sso.refused.{self.reason}", language, **self.values)


@dataclass(frozen=True)
class SsoIdentity:
    username: str
    issuer: str
    subject: str
    groups: tuple[str, ...]
    grants: tuple[SsoRoleGrant, ...]  # the map's entries the person's groups match, in the map's order

    def role_on(self, brand: str) -> Role | None:
        """The role on one brand: the first matching entry for that brand or for every brand."""
        for grant in self.grants:
            if grant.brand is None or same_brand(grant.brand, brand):
                return Role(grant.role)
        return None

    def brand_roles(self, brands: Iterable[str]) -> dict[str, Role]:
        """The role on each of these brands that the person has one on."""
        return {b: role for b in brands if (role := self.role_on(b)) is not None}

    def role_here(self, brands: Sequence[str]) -> Role:
        """The role on this install: on its brand, or (no brand configured) the first entry for every brand."""
        if brands:
            return self.brand_roles(brands)[brands[0]]
        return Role(next(g for g in self.grants if g.brand is None).role)


def same_brand(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def install_brands(settings: Settings) -> tuple[str, ...]:
    """The brands of this install that the role map may name: the configured brand file's brand (none without
    one). The one place brands are found for single sign-on; brand workspaces put their brand rows here."""
    if settings.config is None:
        return ()
    try:
        return (load_config(settings.config).brand.name,)
    except (ConfigError, OSError):
        return ()  # the dashboard says what is wrong with the file on the pages that need it


def role_map_problems(grants: Sequence[SsoRoleGrant], brands: Sequence[str]) -> list[str]:
    """Entries of the role map that cannot be used: an unknown role, a brand this install does not have."""
    found = []
    roles = ", ".join(r.value for r in Role)
    for n, grant in enumerate(grants, start=1):
        where = f"BRANDPATROL_SSO_ROLES entry {n} (group {grant.group!r})"
        if grant.role not in {r.value for r in Role}:
            found.append(f"{where}: {grant.role!r} is not a role; use one of {roles}")
        if grant.brand is not None and not any(same_brand(grant.brand, b) for b in brands):
            known = ", ".join(repr(b) for b in brands) or "none: start the dashboard with --config"
            found.append(f"{where}: there is no brand {grant.brand!r} here (brands: {known}); correct the brand "
                         "or leave it out to give the role on every brand")
    return found


def sso_problems(settings: Settings, brands: Sequence[str]) -> list[str]:
    """Every problem of the single sign-on settings and role map; empty when it is off or usable."""
    if not settings.sso_enabled:
        return []
    return settings.sso_problems() + role_map_problems(settings.sso_roles, brands)


def check(settings: Settings, brands: Sequence[str]) -> None:
    """Raise SsoConfigError with every problem of the single sign-on settings; nothing when it is off."""
    found = sso_problems(settings, brands)
    if found:
        raise SsoConfigError(found)


def _groups(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    cleaned = (clean_line(g, GROUP_MAX) for g in value[:GROUPS_MAX] if isinstance(g, str | int))
    return tuple(dict.fromkeys(g for g in cleaned if g))


def _audiences(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    return {a for a in value if isinstance(a, str)} if isinstance(value, list | tuple) else set()


def _issued_at(claims: Mapping[str, Any]) -> float | None:
    value = claims.get("iat")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def identity(claims: Mapping[str, Any], settings: Settings, brands: Sequence[str],
             is_database_account: Callable[[str], bool] = lambda name: False,
             now: float | None = None) -> SsoIdentity:
    """Who the signed-in claims make a person here; SsoRefused (with the reason) when they may not enter."""
    issuer = str(claims.get("iss") or "")
    if issuer.rstrip("/") != (settings.sso_issuer or "").rstrip("/"):
        raise SsoRefused("issuer")
    if settings.sso_client_id not in _audiences(claims.get("aud")):
        raise SsoRefused("audience")
    # The cookie keeps the token's claims for 30 days; groups are only as fresh as the sign-in that sent them.
    issued = _issued_at(claims)
    hours = settings.sso_session_hours
    if issued is None or (now if now is not None else time.time()) - issued > hours * 3600:
        raise SsoRefused("expired", hours=f"{hours:g}")
    raw_name = claims.get(settings.sso_username_claim)
    username = clean_line(raw_name, USERNAME_MAX) if isinstance(raw_name, str) else ""
    if not username:
        raise SsoRefused("username_claim", claim=settings.sso_username_claim)
    if is_database_account(username):
        raise SsoRefused("local_account", user=username)
    groups = _groups(claims.get(settings.sso_roles_claim))
    grants = tuple(g for g in settings.sso_roles if g.group in groups)
    found = SsoIdentity(username=username, issuer=issuer, subject=clean_line(claims.get("sub"), NAME_MAX),
                        groups=groups, grants=grants)
    if not grants:
        raise SsoRefused("no_role", groups, user=username, claim=settings.sso_roles_claim)
    if brands and not found.brand_roles(brands):
        raise SsoRefused("other_brands", groups, user=username, brands=", ".join(brands))
    return found


# ----------------------------------------------------------------------------------------------------
# Streamlit's [auth] secrets, generated from the settings


def auth_secrets(settings: Settings, redirect_uri: str, cookie_secret: str) -> dict[str, Any]:
    """The [auth] section st.login reads: shared keys, and the provider under [auth.sso]."""
    return {
        "redirect_uri": redirect_uri,
        "cookie_secret": cookie_secret,
        PROVIDER: {
            "client_id": settings.sso_client_id,
            "client_secret": settings.sso_client_secret.get_secret_value(),
            "server_metadata_url": settings.sso_discovery_url(),
            # "login": the provider asks who signs in, even with a session of its own (a shared desk computer).
            "client_kwargs": {"scope": settings.sso_scope, "prompt": "login"},
        },
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string with ASCII escapes is a valid TOML basic string
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def secrets_toml(section: Mapping[str, Any]) -> str:
    """`[auth]` and its provider tables as TOML (strings and inline tables only)."""
    plain = [f"{k} = {_toml_value(v)}" for k, v in section.items() if not isinstance(v, Mapping)]
    lines = ["[auth]", *plain]
    for name, table in section.items():
        if isinstance(table, Mapping):
            lines += ["", f"[auth.{name}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_secrets(settings: Settings, redirect_uri: str, folder: Path) -> Path:
    """Write secrets.toml for `streamlit run --secrets.files`: in `folder` (made private), readable by us only.

    The cookie secret is the configured one, or a new random one for this start.
    """
    cookie_secret = settings.sso_cookie_secret.get_secret_value() or secrets.token_urlsafe(32)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / "secrets.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets_toml(auth_secrets(settings, redirect_uri, cookie_secret)))
    return path
