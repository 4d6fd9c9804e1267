"""Sellers: repeat offenders, their networks of shops, listings back after a takedown, listings over time.

Seller names are scraped: they appear only in st.dataframe cells and st.text.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, insights, ui

auth.require("sellers")
db = ui.database()
st.title(auth.t("page.sellers"))

offenders = insights.repeat_offenders(db, limit=200)
if not offenders:
    st.info(auth.t("sellers.empty"))
    st.stop()
c1, c2, c3 = st.columns(3)
c1.metric(auth.t("sellers.with_suspects"), len(offenders))
c2.metric(auth.t("sellers.relisting"), sum(1 for o in offenders if o.relisted))
c3.metric(auth.t("sellers.in_networks"), sum(1 for o in offenders if o.network_size))
st.dataframe(
    pd.DataFrame([{"Seller": o.name, "Marketplace": o.marketplace, "Region": o.region or "",
                   "Suspect listings": o.suspect_listings, "Confirmed": o.confirmed,
                   "Removed by notices": o.removed_by_notice, "Relisted after removal": o.relisted,
                   "Network (shops)": o.network_size or 0} for o in offenders]),
    hide_index=True, width="stretch",
)

by_id = {o.seller_id: o for o in offenders}
ui.follow_link("seller", "s_seller", by_id)
chosen = st.selectbox(auth.t("sellers.pick"), list(by_id), key="s_seller",
                      format_func=lambda i: f"#{i} · {by_id[i].marketplace}")
offender = by_id[int(chosen)]
ui.keep_link("seller", offender.seller_id)
st.text(f"{offender.name} · {offender.marketplace} · {offender.region or '?'}")
weeks = insights.listings_per_week(db, offender.seller_id)
if weeks:
    st.subheader(auth.t("sellers.over_time"))
    st.bar_chart(pd.DataFrame({"Week": [w.week for w in weeks], "Listings": [w.listings for w in weeks]})
                 .set_index("Week"))
members = insights.network_members(db, offender.seller_id)
if members:
    st.subheader(auth.t("sellers.network"))
    st.dataframe(pd.DataFrame(members, columns=["Marketplace", "Seller"]), hide_index=True, width="stretch")
