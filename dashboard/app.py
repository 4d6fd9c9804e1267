"""BrandPatrol dashboard: `streamlit run dashboard/app.py` with BRANDPATROL_DB set (the CLI does this).

Pages live in dashboard/views/ as scripts; this entry point routes with st.navigation. Which pages exist for a
session is decided by dashboard/auth.py: before sign-in only the sign-in page is registered.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# `streamlit run` puts dashboard/ (not the project root) on sys.path; make `import dashboard` work from a checkout.
if importlib.util.find_spec("dashboard") is None:  # pragma: no cover - depends on how it was installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st

from dashboard import auth, desk, ui
from dashboard.views import QUEUE_STATE_KEYS

st.set_page_config(page_title="BrandPatrol", page_icon=":material/policy:", layout="wide")
ui.keep_state(*QUEUE_STATE_KEYS, *desk.STATE_KEYS)
auth.navigation().run()
