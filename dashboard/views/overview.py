"""Overview: suspect findings over time per verdict and marketplace; how filed notices end and how fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import auth, insights, present, ui

auth.require("overview")
db = ui.database()
st.title(auth.t("page.overview"))

days = st.selectbox(auth.t("overview.period"), (7, 30, 90, 365), index=1, key="o_days",
                    format_func=lambda d: auth.t("overview.days", days=d))
since = (datetime.now(UTC) - timedelta(days=int(days))).date()
counts = insights.findings_per_day(db, since)
removal = insights.removals(db)

c1, c2, c3, c4 = st.columns(4)
c1.metric(auth.t("overview.findings"), sum(c.findings for c in counts))
c2.metric(auth.t("overview.filed"), removal.notices_filed)
c3.metric(auth.t("overview.removal_rate"),
          f"{removal.removal_rate:.0%}" if removal.removal_rate is not None else "–")
c4.metric(auth.t("overview.days_to_removal"),
          f"{removal.median_days_to_removal}" if removal.median_days_to_removal is not None else "–")
st.text(auth.t("overview.notices_line", removed=removal.removed, rejected=removal.rejected, open=removal.open))

if not counts:
    st.info(auth.t("overview.empty"))
    st.stop()
frame = pd.DataFrame([{"Day": c.day, "Verdict": present.verdict_label(c.verdict, auth.t), "Marketplace": c.marketplace,
                       "Findings": c.findings} for c in counts])
st.subheader(auth.t("overview.per_verdict"))
st.bar_chart(frame.pivot_table(index="Day", columns="Verdict", values="Findings", aggfunc="sum", fill_value=0))
st.subheader(auth.t("overview.per_marketplace"))
# Marketplace names are our configuration's, but a table keeps every label plain text anyway.
st.dataframe(frame.pivot_table(index="Marketplace", columns="Verdict", values="Findings", aggfunc="sum",
                               fill_value=0).reset_index(), hide_index=True, width="stretch")
