"""Overview: where the problem is. Suspect findings by the region the goods ship from (diversion is a map of where
goods leak to), per week by verdict and marketplace; how long a finding takes to become a notice and a notice to
end in removal; how often removed listings come back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import auth, insights, present, ui

TOP_REGIONS = 12  # bars in the region chart: the rest are summed as one


def days_text(days: float | None) -> str:
    return "–" if days is None else auth.t("overview.in_days", days=days)


auth.require("overview")
db = ui.database()
st.title(auth.t("page.overview"))

weeks = st.selectbox(auth.t("overview.period"), (4, 13, 26, 52), index=1, key="o_weeks",
                     format_func=lambda w: auth.t("overview.weeks", weeks=w))
since = (datetime.now(UTC) - timedelta(weeks=int(weeks))).date()
counts = insights.findings_per_week(db, since)
flow = insights.pipeline(db, since)
removal = insights.removals(db)

c1, c2, c3, c4, c5, c6 = st.columns(6)
c1.metric(auth.t("overview.findings"), sum(c.findings for c in counts))
c2.metric(auth.t("overview.to_notice"), days_text(flow.median_days_to_notice))
c3.metric(auth.t("overview.to_removal"), days_text(flow.median_days_to_removal))
c4.metric(auth.t("overview.finding_to_removal"), days_text(flow.median_days_finding_to_removal))
c5.metric(auth.t("overview.removal_rate"),
          f"{removal.removal_rate:.0%}" if removal.removal_rate is not None else "–")
c6.metric(auth.t("overview.relisting_rate"),
          "–" if flow.relisting_rate is None else f"{flow.relisting_rate:.0%}")
st.text(auth.t("overview.pipeline_line", on_notices=flow.findings_on_notices, removed=flow.removed,
               relisted=flow.relisted))
st.text(auth.t("overview.notices_line", removed=removal.removed, rejected=removal.rejected, open=removal.open))

if not counts:
    st.info(auth.t("overview.empty"))
    st.stop()

language = auth.language()
frame = pd.DataFrame([{"week": c.week.isoformat(), "verdict": present.verdict_label(c.verdict, auth.t),
                       "marketplace": c.marketplace, "region": present.region_label(c.region, language),
                       "findings": c.findings} for c in counts])
verdict_col, region_col, week_col, market_col, findings_col = (
    auth.t("queue.verdict"), auth.t("overview.region"), auth.t("overview.week"), auth.t("queue.marketplace"),
    auth.t("overview.findings"))
frame = frame.rename(columns={"week": week_col, "verdict": verdict_col, "marketplace": market_col,
                              "region": region_col, "findings": findings_col})

# --- where: one horizontal bar per region, largest on top, split by verdict ----------------------------------------
st.subheader(auth.t("overview.by_region", weeks=weeks))
by_region = frame.pivot_table(index=region_col, columns=verdict_col, values=findings_col, aggfunc="sum",
                              fill_value=0)
order = by_region.sum(axis=1).sort_values(ascending=False)
if len(order) > TOP_REGIONS:
    rest = by_region.loc[order.index[TOP_REGIONS:]].sum()
    by_region = by_region.loc[order.index[:TOP_REGIONS]]
    by_region.loc[auth.t("overview.other_regions", count=len(order) - TOP_REGIONS)] = rest
else:
    by_region = by_region.loc[order.index]
long = by_region.reset_index().melt(id_vars=region_col, var_name=verdict_col, value_name=findings_col)
st.bar_chart(long, x=region_col, y=findings_col, color=verdict_col, horizontal=True, sort=False, stack=True,
             height=max(260, 48 * len(by_region) + 120))  # a bar and its label per region, never skipped

# --- when: per week, by verdict and by marketplace ------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader(auth.t("overview.per_week_verdict"))
    st.bar_chart(frame.pivot_table(index=week_col, columns=verdict_col, values=findings_col, aggfunc="sum",
                                   fill_value=0))
with right:
    st.subheader(auth.t("overview.per_week_marketplace"))
    st.bar_chart(frame.pivot_table(index=week_col, columns=market_col, values=findings_col, aggfunc="sum",
                                   fill_value=0))
st.subheader(auth.t("overview.per_region_week"))
# Marketplace names are our configuration's, but a table keeps every label plain text anyway.
st.dataframe(frame.pivot_table(index=[region_col, verdict_col], columns=week_col, values=findings_col,
                               aggfunc="sum", fill_value=0).reset_index(), hide_index=True, width="stretch")
