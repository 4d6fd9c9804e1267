"""Streamlit plumbing shared by the pages: the database handle, page paths and flash messages.

Safety rule for every page: scraped values (titles, seller names, reasons, URLs) go only through `st.text`,
`st.code` or `st.dataframe`, never through markdown-rendering calls (st.markdown/write/caption/metric labels,
widget labels), never with raw HTML switched on, never as a link; images only from stored thumbnail bytes,
and only through `picture` (inline, never a /media address).
"""

from __future__ import annotations

import base64
from collections.abc import Collection
from pathlib import Path
from typing import Literal

import streamlit as st

from core.db import Database, DatabaseError
from core.images import sniff_media_type
from core.scope import BrandScope
from core.settings import get_settings

VIEWS = Path(__file__).resolve().parent / "views"
QUEUE_PAGE = VIEWS / "queue.py"
DETAIL_PAGE = VIEWS / "detail.py"
RUNS_PAGE = VIEWS / "runs.py"

FLASH_KEY = "_flash"

FlashKind = Literal["success", "info", "warning", "error"]


@st.cache_resource(show_spinner=False)
def _open_database(url: str) -> Database:
    # One engine per process and URL: Streamlit reruns the page script on every click.
    return Database(url)


SCOPE_KEY = "_brand_scope"


def install_database() -> Database:
    """The process-wide database seen whole: only for accounts and brand roles (dashboard/auth.py)."""
    try:
        return _open_database(get_settings().db)
    except DatabaseError as exc:
        st.error("The database cannot be opened.")
        st.code(str(exc), language=None)
        st.stop()


def database() -> Database:
    """The database as the signed-in user may see it: narrowed to the brands of the session's scope (set by
    dashboard/auth.py from the user's brand roles and the brand switcher; nothing before sign-in). Every page's
    query goes through this, so a crafted finding, notice or evidence id of another brand finds nothing."""
    scope = st.session_state.get(SCOPE_KEY)
    return install_database().scoped(scope if isinstance(scope, BrandScope) else BrandScope())


def flash(kind: FlashKind, message: str) -> None:
    """A message for the next render (callbacks run before the page draws). Only our own text, never scraped."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop(FLASH_KEY, (None, None))
    if kind == "success":
        st.success(message)
    elif kind == "info":
        st.info(message)
    elif kind == "warning":
        st.warning(message)
    elif kind == "error":
        st.error(message)


def keep_state(*keys: str) -> None:
    """Keep page widgets' values when the user visits another page and comes back.

    Streamlit drops the state of widgets that were not drawn in a run; writing a key back stops that.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def follow_link(param: str, state_key: str, choices: Collection[int]) -> None:
    """Let a link pick what a page shows (`/sellers?seller=12`): a number in the query that is one of `choices`
    becomes the picker's value once per link, so the analyst can still pick another afterwards."""
    raw = st.query_params.get(param, "")
    followed = f"_followed_{param}"
    if raw.isdigit() and int(raw) in choices and st.session_state.get(followed) != raw:
        st.session_state[state_key] = int(raw)
        st.session_state[followed] = raw


def keep_link(param: str, value: object) -> None:
    """Write what the page shows back into its address, so the URL can be shared (and survives sign-in)."""
    if value is not None and st.query_params.get(param) != str(value):
        st.query_params[param] = str(value)
        st.session_state[f"_followed_{param}"] = str(value)


def picture(data: bytes | None) -> str | None:
    """Stored picture bytes (PNG, JPEG or WebP by their first bytes) as a data: URI for st.image; None otherwise.

    Evidence never gets a URL. Given bytes, st.image files them in Streamlit's media store and the browser loads
    them from /media/<hash>, which answers anyone who has the address, with no session, until Streamlit drops the
    file. A data: URI travels inside the signed-in session's own messages and exists nowhere else.
    """
    media_type = sniff_media_type(data) if data else None
    if data is None or media_type is None:
        return None
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
