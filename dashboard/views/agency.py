"""Across brands (agency admins): sellers offending several of the agency's brands, with counts and evidence per
brand, worst first (core/agency.py). Seller names, titles, URLs and reasons are scraped: tables and st.text only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.agency import cross_brand_offenders
from dashboard import auth, ui

auth.require("agency")
db = ui.database()
st.title(auth.t("page.agency"))
st.caption(auth.t("agency.caption"))

min_brands = st.number_input(auth.t("agency.min_brands"), min_value=1, max_value=50, value=2, step=1,
                             key="a_min_brands")
offenders = cross_brand_offenders(db, min_brands=int(min_brands), limit=200)
if not offenders:
    st.info(auth.t("agency.empty"))
    st.stop()
st.dataframe(
    pd.DataFrame([{"Seller": o.seller, "Marketplace": o.marketplace, "Region": o.region or "", "Brands": o.brands,
                   "Confirmed": o.confirmed, "Suspect findings": o.suspect_findings,
                   "Per brand": "; ".join(f"{b.brand}: {b.suspect_findings} ({b.confirmed} confirmed)"
                                          for b in o.per_brand)} for o in offenders]),
    hide_index=True, width="stretch",
)
by_id = {o.seller_id: o for o in offenders}
chosen = st.selectbox(auth.t("agency.pick"), list(by_id), key="a_seller",
                      format_func=lambda i: f"#{i} · {by_id[i].marketplace}")
offender = by_id[int(chosen)]
st.text(f"{offender.seller} · {offender.marketplace} · {offender.region or '?'}")
st.subheader(auth.t("agency.per_brand"))
for offence in offender.per_brand:
    st.text(f"{offence.brand}: {offence.suspect_findings} suspect, {offence.confirmed} confirmed · "
            + ", ".join(f"{v} {n}" for v, n in sorted(offence.verdicts.items())))
    st.dataframe(
        pd.DataFrame([{"Finding": e.finding_id, "Listing": e.external_id, "Verdict": e.verdict.value,
                       "Score": round(e.score, 2), "Confirmed": e.confirmed, "Title": e.title, "URL": e.url,
                       "Reason": e.reason or ""} for e in offence.evidence]),
        hide_index=True, width="stretch",
    )
