"""Sign-in, roles and the pages each role may open; the one place for access checks in the dashboard.

Before sign-in every page's address is registered with st.navigation, each drawing the sign-in form and nothing
else: a link opened while signed out (`/detail?finding=21`) shows the form under its own address, and the sign-in's
rerun lands on that very page with its query (Streamlit names a page by the hash of its url path, and the query
stays in the browser's address). A signed-in user gets the pages of their role; a page outside the role keeps its
address too, hidden from the menu, and says access is denied. Every page script also calls `require()` as a
second lock.
The account is re-read from the database on every run, so a disabled account or a changed role takes effect at
the user's next click.

Single sign-on (dashboard/sso.py): with BRANDPATROL_SSO_ISSUER set, the sign-in page also offers st.login. A
person the identity provider signed in is mapped from the token's claims on every run (so a changed role map
takes effect at the next click); they have no database row, act under the provider's name, and sign out with
st.logout. Someone whose groups map to no role sees why, with their groups, and a sign-out button.

Roles: analysts review (queue, detail, sellers, overview, runs); legal staff turn confirmed findings into notices
(notices, test buys, detail read-only, overview) and do not record review decisions; admins have everything plus
the Users page and the agency's view across brands.

Brands (core/scope.py): a user holds a role per brand (analyst for A, legal for B); the sidebar's brand switcher
lists only the user's brands, and the pages are those of the role on the brand chosen. Every page reads through
`ui.database()`, narrowed to that brand (an agency admin may also choose every brand at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAuthError

from core import scope as scope_rules
from core.scope import BrandScope
from core.settings import get_settings
from dashboard import accounts, i18n, sso, ui
from dashboard.accounts import Account, Role

ACCOUNT_KEY = "_account_id"
LANGUAGE_KEY = "_language"
SSO_AUDITED_KEY = "_sso_audited"  # the single sign-on outcome already audited in this session
SSO_ACCOUNT_ID = 0  # the id of a person signed in by single sign-on: no database row
SSO_ROLES_KEY = "_sso_brand_roles"  # brand name -> role of the person single sign-on signed in, from this run
BRAND_KEY = "ui_brand"  # the brand switcher's choice: a brand id, or ALL_BRANDS (agency admins only)
ALL_BRANDS = 0


@dataclass(frozen=True)
class PageSpec:
    key: str  # i18n "page.<key>"; also the url path
    script: Path | Callable[[], None]
    icon: str
    roles: frozenset[Role]


_ALL = frozenset(Role)
_ANALYSTS = frozenset({Role.ANALYST, Role.ADMIN})
_LEGAL = frozenset({Role.LEGAL, Role.ADMIN})
REVIEW_ROLES = _ANALYSTS

PAGES: tuple[PageSpec, ...] = (
    PageSpec("queue", ui.QUEUE_PAGE, ":material/checklist:", _ANALYSTS),
    PageSpec("notices", ui.VIEWS / "notices.py", ":material/gavel:", _LEGAL),
    PageSpec("detail", ui.DETAIL_PAGE, ":material/search:", _ALL),
    PageSpec("testbuys", ui.VIEWS / "testbuys.py", ":material/shopping_bag:", _LEGAL),
    PageSpec("sellers", ui.VIEWS / "sellers.py", ":material/storefront:", _ANALYSTS),
    PageSpec("overview", ui.VIEWS / "overview.py", ":material/insights:", _ALL),
    PageSpec("runs", ui.RUNS_PAGE, ":material/history:", _ANALYSTS),
    PageSpec("users", ui.VIEWS / "users.py", ":material/group:", frozenset({Role.ADMIN})),
    PageSpec("agency", ui.VIEWS / "agency.py", ":material/hub:", frozenset({Role.ADMIN})),
)


@dataclass(frozen=True)
class Workspace:
    """The brands a signed-in user holds roles on, the one chosen, and the role and scope that follow."""

    brands: dict[int, str]  # id -> name, the user's brands only
    chosen: int  # a brand id, or ALL_BRANDS
    role: Role | None
    scope: BrandScope


def workspace(account: Account) -> Workspace:
    """The user's brands and roles, read from the database on every run (a revoked role ends at the next click)."""
    with ui.install_database().read() as session:
        if account.id == SSO_ACCOUNT_ID:  # the identity provider's groups give the roles, per brand
            held = st.session_state.get(SSO_ROLES_KEY) or {}
            roles = {i: held[name] for name, i in scope_rules.brand_ids(session).items() if name in held}
        else:
            roles = scope_rules.roles_of(session, account.id, account.role)
        names = scope_rules.brand_names(session, BrandScope.of(roles))
    chosen = st.session_state.get(BRAND_KEY)
    if account.role == Role.ADMIN:
        if chosen in names:
            return Workspace(names, int(chosen), Role.ADMIN, BrandScope.of([int(chosen)]))
        return Workspace(names, ALL_BRANDS, Role.ADMIN, BrandScope.all_brands())
    if chosen not in names:
        chosen = next(iter(names), None)  # the first of the user's brands
    if chosen is None:
        return Workspace({}, ALL_BRANDS, None, BrandScope())
    try:
        role: Role | None = Role(roles[int(chosen)])
    except ValueError:
        role = None  # a role written by hand into the database: no pages
    return Workspace(names, int(chosen), role, BrandScope.of([int(chosen)]))


def brand_name() -> str | None:
    """The name of the brand chosen in the switcher; None for every brand at once, or when signed out."""
    account = current_account()
    if account is None:
        return None
    place = workspace(account)
    return place.brands.get(place.chosen)


def role_of(account: Account | None) -> Role | None:
    """The user's role on the brand chosen in the switcher (admin for an agency admin)."""
    return None if account is None else workspace(account).role


def page_keys(role: Role | None) -> list[str]:
    """The pages a role may open, in menu order (the first is the landing page)."""
    return [p.key for p in PAGES if role is not None and role in p.roles]


def language() -> str:
    return str(st.session_state.get(LANGUAGE_KEY, i18n.DEFAULT_LANGUAGE))


def t(key: str, **values: object) -> str:
    """A label in the signed-in user's language."""
    return i18n.translate(key, language(), **values)


def current_account() -> Account | None:
    """The signed-in, still active account, or None (and the session forgets a disabled or deleted one)."""
    signed = sso_sign_in()
    if isinstance(signed, Account):
        return signed
    user_id = st.session_state.get(ACCOUNT_KEY)
    if not isinstance(user_id, int):
        return None
    account = accounts.get_user(ui.install_database(), user_id)
    if account is None or not account.active:
        sign_out()
        return None
    st.session_state.setdefault(LANGUAGE_KEY, account.language)
    return account


@st.cache_data(show_spinner=False, max_entries=4)
def _brands_of(path: str, mtime: float) -> tuple[str, ...]:
    del mtime  # part of the cache key: an edited file is read again
    return sso.install_brands(get_settings().model_copy(update={"config": Path(path)}))


def install_brands() -> tuple[str, ...]:
    path = get_settings().config
    if path is None:
        return ()
    try:
        return _brands_of(str(path), Path(path).stat().st_mtime)
    except OSError:
        return ()


def sso_sign_in() -> Account | sso.SsoRefused | None:
    """The person single sign-on signed in (as an Account without a row), why they are refused, or None."""
    settings = get_settings()
    # .get: st.user has no is_logged_in at all when Streamlit was started without the [auth] secrets
    if not settings.sso_enabled or not st.user.get("is_logged_in"):
        return None
    db = ui.install_database()
    with db.read() as session:  # the brands stored, and those configured that have not been matched yet
        brands = tuple(dict.fromkeys([*scope_rules.brand_ids(session), *install_brands()]))
    try:
        person = sso.identity(st.user.to_dict(), settings, brands, lambda name: accounts.is_account(db, name))
    except sso.SsoRefused as refusal:
        _audit_once(db, str(st.user.get(settings.sso_username_claim) or "?"), "auth.fail", reason=refusal.reason,
                    via="sso", groups=list(refusal.groups))
        return refusal
    role = person.role_here(brands)
    st.session_state[SSO_ROLES_KEY] = {name: held.value for name, held in person.brand_roles(brands).items()}
    _audit_once(db, person.username, "auth.sign_in", via="sso", issuer=person.issuer, role=role.value,
                groups=[g.group for g in person.grants])
    return Account(id=SSO_ACCOUNT_ID, username=person.username, role=role.value, language=language(), active=True,
                   created_at=datetime.now(UTC))


def _audit_once(db: Any, username: str, action: str, **detail: object) -> None:
    outcome = (username, action, str(detail.get("role") or detail.get("reason")))
    if st.session_state.get(SSO_AUDITED_KEY) != outcome:
        st.session_state[SSO_AUDITED_KEY] = outcome
        accounts.audit_sign_in(db, username[: accounts.USERNAME_MAX], action, **detail)


def actor() -> str:
    """The signed-in username, for reviews, notices, test buys and the audit log ('' when nobody is)."""
    account = current_account()
    return account.username if account is not None else ""


def may_review() -> bool:
    return role_of(current_account()) in REVIEW_ROLES


def require(page_key: str) -> Account:
    """Stop the page unless the signed-in user's role includes it."""
    account = current_account()
    role = role_of(account)
    if account is None or page_key not in page_keys(role):
        st.error(t("page.denied"))
        if account is not None:
            st.text(t("denied.page", role=account.role))
        st.stop()
    return account


SIGNED_OUT_KEY = "_signed_out"


def sign_out() -> None:
    for key in (ACCOUNT_KEY, LANGUAGE_KEY, BRAND_KEY, ui.SCOPE_KEY):
        st.session_state.pop(key, None)
    st.session_state[SIGNED_OUT_KEY] = True


SSO_SIGN_OUT_KEY = "_sso_sign_out"


def _request_sso_sign_out() -> None:
    st.session_state[SSO_SIGN_OUT_KEY] = "asked"
    st.session_state.pop(SSO_AUDITED_KEY, None)


def _sso_sign_out_when_asked() -> None:
    """st.logout in the run after the click's: like `_forget_downloads` for database accounts, the two runs after
    which Streamlit has dropped the session's downloads, while the session still runs."""
    step = st.session_state.get(SSO_SIGN_OUT_KEY)
    if step == "asked":
        st.session_state[SSO_SIGN_OUT_KEY] = "rerun"
        st.rerun()
    elif step == "rerun":
        del st.session_state[SSO_SIGN_OUT_KEY]
        st.logout()


def _forget_downloads() -> None:
    """Run the page once more after a sign-out, so Streamlit drops the files downloaded in the session.

    A download button's file is made when it is clicked and served once from /media/<hash>; Streamlit marks such
    a file at the end of the next script run and deletes it at the end of the one after. The sign-out's own run
    and this rerun are those two, so no download of the session answers once the sign-in page shows.
    """
    if st.session_state.pop(SIGNED_OUT_KEY, False):
        st.rerun()


def _submit_login() -> None:
    username = str(st.session_state.get("login_user", ""))
    password = str(st.session_state.get("login_password", ""))
    st.session_state["login_password"] = ""  # never kept in the session after the attempt
    outcome = accounts.sign_in(ui.install_database(), username, password)
    if outcome.account is None:
        ui.flash("error", t("login.locked") if outcome.locked else t("login.failed"))
        return
    st.session_state[ACCOUNT_KEY] = outcome.account.id
    st.session_state[LANGUAGE_KEY] = outcome.account.language


def _sso_button() -> None:
    settings = get_settings()
    if not settings.sso_enabled:
        return
    problems = sso.sso_problems(settings, install_brands())
    if problems:
        st.error(t("login.sso_unavailable"))
        st.text("\n".join(problems))
        return
    if st.button(t("login.sso", label=settings.sso_label), key="login_sso", type="primary"):
        try:
            st.login(sso.PROVIDER)
        except StreamlitAuthError as exc:  # started without `brandpatrol dashboard`, which writes the secrets
            st.error(t("login.sso_unavailable"))
            st.text(str(exc))
    st.caption(t("login.local"))


def login_page() -> None:
    st.title(t("login.title"))
    ui.show_flash()
    _sso_button()
    with st.form("login", enter_to_submit=True):
        st.text_input(t("login.username"), key="login_user", max_chars=accounts.USERNAME_MAX)
        st.text_input(t("login.password"), key="login_password", type="password", max_chars=accounts.PASSWORD_MAX)
        st.form_submit_button(t("login.submit"), key="login_submit", type="primary", on_click=_submit_login)
    if not accounts.list_users(ui.install_database()):
        st.info(t("login.no_users"))


def sso_refused_page(refusal: sso.SsoRefused) -> Callable[[], None]:
    def page() -> None:
        st.title(t("page.denied"))
        st.error(t("sso.refused"))
        st.text(refusal.message(language()))  # holds the provider's name for the person: shown as text only
        st.text(t("sso.groups", groups=", ".join(refusal.groups)) if refusal.groups else t("sso.no_groups"))
        st.button(t("sidebar.sign_out"), key="sso_refused_sign_out", on_click=st.logout)

    return page


def denied_page() -> None:
    st.title(t("page.denied"))
    account = current_account()
    if account is not None and role_of(account) is not None:
        st.error(t("denied.page", role=account.role))  # a page outside the role, opened by its address
    else:
        st.error(t("denied.role"))


def _save_language() -> None:
    account = current_account()
    chosen = str(st.session_state.get("ui_language", i18n.DEFAULT_LANGUAGE))
    if account is not None and account.id != SSO_ACCOUNT_ID:
        accounts.set_language(ui.install_database(), account.id, chosen)
    st.session_state[LANGUAGE_KEY] = chosen


def _brand_switcher(place: Workspace, is_admin: bool) -> None:
    """The brands the user holds a role on (and, for an agency admin, all of them at once); brand names are our
    configuration's, shown as plain option text."""
    options = ([ALL_BRANDS] if is_admin else []) + list(place.brands)
    if len(options) < 2:
        return
    st.session_state[BRAND_KEY] = place.chosen
    st.sidebar.selectbox(t("sidebar.brand"), options, key=BRAND_KEY,
                         format_func=lambda b: t("sidebar.all_brands") if b == ALL_BRANDS else place.brands[b])


def sidebar(account: Account, place: Workspace) -> None:
    role = place.role
    role_label = t(f"role.{role.value}") if role is not None else account.role
    st.sidebar.text(t("sidebar.signed_in", user=account.username, role=role_label))
    _brand_switcher(place, account.role == Role.ADMIN)
    st.session_state["ui_language"] = language()
    st.sidebar.selectbox(t("sidebar.language"), list(i18n.LANGUAGE_NAMES), key="ui_language",
                         format_func=i18n.LANGUAGE_NAMES.__getitem__, on_change=_save_language)
    st.sidebar.caption(t("sidebar.audit"))
    if account.id == SSO_ACCOUNT_ID:
        st.sidebar.button(t("sidebar.sign_out"), key="sign_out", on_click=_request_sso_sign_out)
    else:
        st.sidebar.button(t("sidebar.sign_out"), key="sign_out", on_click=sign_out)


def navigation() -> Any:
    """The st.navigation of this session: the sign-in form (under every page's address), a single sign-on refusal
    (likewise), or the role's pages (with the others' addresses kept, hidden, saying access is denied)."""
    _sso_sign_out_when_asked()
    signed = sso_sign_in()
    if isinstance(signed, sso.SsoRefused):
        refused = sso_refused_page(signed)
        return st.navigation([st.Page(refused, title=t("page.denied"), url_path="denied", default=True),
                              *(st.Page(refused, title=t("page.denied"), url_path=p.key) for p in PAGES)],
                             position="hidden")
    account = current_account()
    if account is None:
        _forget_downloads()
        return st.navigation([st.Page(login_page, title=t("page.login"), url_path="login", default=True),
                              *(st.Page(login_page, title=t("page.login"), url_path=p.key) for p in PAGES)],
                             position="hidden")
    place = workspace(account)
    st.session_state[ui.SCOPE_KEY] = place.scope
    sidebar(account, place)
    allowed = set(page_keys(place.role))
    pages = [st.Page(p.script, title=t(f"page.{p.key}"), icon=p.icon, url_path=p.key)
             for p in PAGES if p.key in allowed]
    if not pages:
        pages = [st.Page(denied_page, title=t("page.denied"), url_path="denied", default=True)]
    # Same address, same page hash: an out-of-role link says "denied" instead of Streamlit's "Page not found".
    pages += [st.Page(denied_page, title=t("page.denied"), url_path=p.key, visibility="hidden")
              for p in PAGES if p.key not in allowed]
    return st.navigation(pages)
