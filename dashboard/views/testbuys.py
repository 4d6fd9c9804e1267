"""Test buys: record a purchase made against a listing, what arrived and the code read from the unit.

The code is traced to the distributor it was shipped to (batch prefixes in the configuration). Photos are stored
only after safe decoding (core/images.py) and shown from those stored bytes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import streamlit as st

from core.db import Database
from core.models import TestBuyResult
from core.settings import get_settings
from dashboard import desk, ui
from dashboard.notices import frames, testbuys

_FINDING_ID = re.compile(r"[1-9][0-9]{0,17}")
RESULT_LABELS = {
    TestBuyResult.PENDING: "Pending (not examined yet)",
    TestBuyResult.GENUINE: "Genuine",
    TestBuyResult.COUNTERFEIT: "Counterfeit",
    TestBuyResult.INCONCLUSIVE: "Inconclusive",
}


def save_result(db: Database, test_buy_id: int) -> None:
    who = desk.actor()
    if not who:
        ui.flash("error", "Enter your name in the sidebar first.")
        return
    testbuys.set_result(db, test_buy_id, st.session_state[f"tb_set_{test_buy_id}"], actor=who)
    ui.flash("success", f"Test buy {test_buy_id} updated.")


db = ui.database()
desk.require_access("testbuys")
st.title(desk.title("testbuys"))
ui.show_flash()
settings = get_settings()
config = desk.brand_config()

# --- record --------------------------------------------------------------------------------------------------
st.header("Record a test buy")
raw = st.query_params.get("finding", "")
from_url = int(raw) if _FINDING_ID.fullmatch(raw) else None
picked = st.number_input("Finding the purchase was made against", min_value=1, step=1, value=from_url,
                         placeholder="Finding number", key="tb_finding")
ref = testbuys.listing_of_finding(db, int(picked)) if picked is not None else None
if picked is not None and ref is None:
    st.warning(f"There is no finding {int(picked)}.")
if ref is not None:
    st.text(f"{ref.marketplace} · item {ref.external_id}")
    st.text(ref.title)
    st.code(ref.url, language=None, wrap_lines=True)
    today = datetime.now(UTC).date()
    with st.form("tb_form", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
        order = c1.text_input("Order number", max_chars=testbuys.ORDER_MAX, key="tb_order")
        ordered_on = c2.date_input("Ordered on", value=today, max_value=today, key="tb_date")
        price = c3.text_input("Price paid", max_chars=20, key="tb_price", placeholder="129.00")
        currency = c4.text_input("Currency", value="CNY", max_chars=3, key="tb_currency")
        d1, d2 = st.columns(2)
        code = d1.text_input("Code read from the unit (batch / anti-diversion code)", max_chars=testbuys.CODE_MAX,
                             key="tb_code")
        result = d2.selectbox("Result", list(TestBuyResult), format_func=RESULT_LABELS.__getitem__, key="tb_result")
        note = st.text_area("Notes", max_chars=testbuys.NOTE_MAX, height=80, key="tb_note")
        uploads = st.file_uploader("Photos of what arrived", type=["jpg", "jpeg", "png", "webp", "gif"],
                                   accept_multiple_files=True, key="tb_photos") or []
        submitted = st.form_submit_button("Record test buy", type="primary", key="tb_submit")
    if submitted:
        too_big = [u.name for u in uploads if u.size > settings.image_max_bytes]
        entry = testbuys.TestBuyEntry(
            listing_id=ref.listing_id,
            order_number=order,
            ordered_on=ordered_on if isinstance(ordered_on, date) else today,
            price_paid=price,
            currency=currency,
            result=result,
            code_read=code,
            note=note,
            photos=[u.getvalue() for u in uploads if u.size <= settings.image_max_bytes],
        )
        try:
            if too_big:
                raise testbuys.TestBuyError([f"{len(too_big)} photo(s) over {settings.image_max_bytes} bytes"])
            recorded = testbuys.record_test_buy(
                db, entry, actor=desk.actor(), authorised_sellers=config.authorised_sellers if config else (),
                max_bytes=settings.image_max_bytes, max_pixels=settings.image_max_pixels,
            )
        except testbuys.TestBuyError as exc:
            st.error("The test buy was not recorded:")
            for problem in exc.problems:
                st.text(f"• {problem}")
        else:
            st.success(f"Recorded test buy {recorded.id} with {recorded.photos} photo(s).")
            st.text(recorded.trace.describe())

# --- recent --------------------------------------------------------------------------------------------------
st.header("Recent test buys")
rows = testbuys.recent(db)
if not rows:
    st.info("No test buys recorded yet.")
    st.stop()
st.dataframe(frames.purchases_frame(rows), hide_index=True, width="stretch")
by_id = {r.id: r for r in rows}
chosen: int = st.selectbox("Test buy", list(by_id), key="tb_pick",
                           format_func=lambda i: f"Test buy {i} · order {by_id[i].order_number}")
photos = testbuys.photos_of(db, chosen)
if photos:
    st.image(photos, width=240)  # stored, re-encoded bytes only
else:
    st.text("No photos stored for this test buy.")
st.selectbox("Set the result", list(TestBuyResult), format_func=RESULT_LABELS.__getitem__,
             index=list(TestBuyResult).index(by_id[chosen].result), key=f"tb_set_{chosen}")
st.button("Save result", key=f"tb_save_{chosen}", on_click=save_result, args=(db, chosen))
