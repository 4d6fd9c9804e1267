"""Crawl runs: the newest runs with their counts, so a failed or empty night is noticed."""

from __future__ import annotations

import streamlit as st

from core.models import RunStatus
from dashboard import auth, data, present, ui

auth.require("runs")
db = ui.database()
st.title(auth.t("page.runs"))
limit = st.selectbox("Show the latest", (20, 50, 100, 200), index=1, key="r_limit")
runs = data.recent_runs(db, limit)
if not runs:
    st.info("No crawl has run yet.")
    st.stop()
failed = sum(1 for r in runs if r.status is RunStatus.FAILED)
c1, c2, c3 = st.columns(3)
c1.metric("Runs shown", len(runs))
c2.metric("Failed", failed)
c3.metric("Items in the newest run", runs[0].items)
# Error texts may quote scraped pages: a dataframe shows them as plain text.
st.dataframe(present.runs_frame(runs), hide_index=True, width="stretch")
