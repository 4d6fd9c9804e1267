"""Streamlit plumbing of the takedown desk (notices, test buys): its pages, who acts, the brand configuration.

One place for access: every desk page starts with `require_access()` and takes the acting person from `actor()`;
both defer to dashboard/auth.py (legal staff and admins use the desk).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.config import BrandConfig, ConfigError, Schedule, load_brands
from core.settings import get_settings
from dashboard import auth

# Widgets of the desk whose values survive a visit to another page.
STATE_KEYS = ("n_market", "n_template", "n_ground", "n_notice", "n_statuses")


def require_access(page_key: str) -> None:
    """Stop the page for someone whose role does not include this desk page."""
    auth.require(page_key)


def title(page_key: str) -> str:
    return auth.t(f"page.{page_key}")


def actor() -> str:
    """The signed-in person, for notices, status changes, test buys and the audit log."""
    return auth.actor()


@st.cache_data(show_spinner=False, max_entries=4)
def _load(path: str, mtime: float) -> list[BrandConfig]:
    del mtime  # part of the cache key: an edited file is read again
    return load_brands(path)


def _of_brand(configs: list[BrandConfig]) -> BrandConfig | None:
    """The configuration of the brand chosen in the switcher (never another brand's rights holder or sellers); with
    every brand chosen (an agency admin), the configuration's only brand if it holds one (a notice of findings of
    several brands is refused by the store)."""
    name = auth.brand_name()
    if name is None and len(configs) == 1:
        return configs[0]
    return next((c for c in configs if c.brand.name == name), None)


def brand_config() -> BrandConfig | None:
    """The brand configuration (BRANDPATROL_CONFIG), or None with an explanation on the page."""
    path = get_settings().config
    if path is None:
        st.info(
            "Drafting needs the brand configuration (the rights holder and the distributors). Start the "
            "dashboard with `brandpatrol dashboard -c brandpatrol.yaml`, or set BRANDPATROL_CONFIG."
        )
        return None
    try:
        configs = _load(str(path), Path(path).stat().st_mtime)
    except (ConfigError, OSError) as exc:
        st.error("The brand configuration cannot be used.")
        st.code(str(exc), language=None)
        return None
    config = _of_brand(configs)
    if config is None:
        st.info("Drafting is for one brand: choose it in the sidebar. The configuration holds "
                + ", ".join(c.brand.name for c in configs) + ".")
    return config


def schedule() -> Schedule | None:
    """The configuration's schedule for the Runs page, or None quietly when there is no usable configuration."""
    path = get_settings().config
    if path is None:
        return None
    try:
        config = _of_brand(_load(str(path), Path(path).stat().st_mtime))
    except (ConfigError, OSError):
        return None
    return config.schedule if config is not None else None
