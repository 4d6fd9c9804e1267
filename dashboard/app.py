"""BrandPatrol dashboard: `streamlit run dashboard/app.py` with BRANDPATROL_DB set (the CLI does this).

Pages live in dashboard/views/ as scripts; this entry point draws the sidebar and routes with st.navigation.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# `streamlit run` puts dashboard/ (not the project root) on sys.path; make `import dashboard` work from a checkout.
if importlib.util.find_spec("dashboard") is None:  # pragma: no cover - depends on how it was installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st

from dashboard import desk, ui
from dashboard.views import QUEUE_STATE_KEYS

st.set_page_config(page_title="BrandPatrol", page_icon=":material/policy:", layout="wide")
ui.keep_state(*QUEUE_STATE_KEYS, *desk.STATE_KEYS)
ui.reviewer_sidebar()

pages = [
    st.Page(ui.QUEUE_PAGE, title="Review queue", icon=":material/checklist:", url_path="queue", default=True),
    st.Page(ui.DETAIL_PAGE, title="Listing detail", icon=":material/search:", url_path="listing"),
    st.Page(ui.RUNS_PAGE, title="Crawl runs", icon=":material/history:", url_path="runs"),
    *desk.pages(),  # the takedown desk: notices and test buys
]
st.navigation(pages).run()
