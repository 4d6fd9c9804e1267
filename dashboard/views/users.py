"""Users (admins only): the accounts, their roles and languages; add, disable and enable accounts.

Passwords are typed once into a password field, hashed (dashboard/accounts.py) and never shown or kept.
"""

from __future__ import annotations

import streamlit as st

from dashboard import accounts, auth, i18n, ui

me = auth.require("users")
db = ui.database()
st.title(auth.t("users.title"))
ui.show_flash()

rows = accounts.list_users(db)
st.dataframe(
    [{"Username": a.username, "Role": a.role, "Language": a.language, "Active": a.active,
      "Created": a.created_at.strftime("%Y-%m-%d %H:%M")} for a in rows],
    hide_index=True, width="stretch",
)


def _create() -> None:
    try:
        accounts.add_user(db, str(st.session_state.get("u_name", "")), str(st.session_state.get("u_role", "")),
                          str(st.session_state.get("u_password", "")),
                          language=str(st.session_state.get("u_language", "en")), actor=me.username)
    except accounts.AccountError as exc:
        ui.flash("error", f"{auth.t('users.not_created')} {exc}")
    else:
        ui.flash("success", auth.t("users.created"))
        st.session_state["u_name"] = ""
    st.session_state["u_password"] = ""


def _toggle(username: str, active: bool) -> None:
    if username == me.username and not active:
        ui.flash("error", auth.t("users.self"))
        return
    accounts.set_active(db, username, active, actor=me.username)
    ui.flash("success", auth.t("users.changed"))


st.subheader(auth.t("users.add"))
with st.form("u_add", clear_on_submit=False):
    st.text_input(auth.t("login.username"), key="u_name", max_chars=accounts.USERNAME_MAX)
    st.selectbox(auth.t("users.role"), [r.value for r in accounts.Role], key="u_role")
    st.selectbox(auth.t("sidebar.language"), list(i18n.LANGUAGE_NAMES), key="u_language",
                 format_func=i18n.LANGUAGE_NAMES.__getitem__)
    st.text_input(auth.t("login.password"), key="u_password", type="password", max_chars=accounts.PASSWORD_MAX)
    st.form_submit_button(auth.t("users.create"), key="u_create", on_click=_create)

others = [a for a in rows if a.username != me.username]
if others:
    st.subheader(auth.t("users.account"))
    chosen = st.selectbox(auth.t("users.account"), [a.username for a in others], key="u_target")
    target = next(a for a in others if a.username == chosen)
    if target.active:
        st.button(auth.t("users.disable"), key="u_disable", on_click=_toggle, args=(target.username, False))
    else:
        st.button(auth.t("users.enable"), key="u_enable", on_click=_toggle, args=(target.username, True))
