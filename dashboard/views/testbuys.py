"""Test buys: record a purchase made against a listing, what arrived and the code read from the unit.

The code is traced to the distributor it was shipped to (batch ranges and prefixes in the configuration). Photos are
stored only after safe decoding (core/images.py) and shown from those stored bytes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import streamlit as st

from core.db import Database
from core.models import TestBuyResult
from core.settings import get_settings
from dashboard import auth, desk, present, ui
from dashboard.notices import frames, testbuys

_FINDING_ID = re.compile(r"[1-9][0-9]{0,17}")


def result_label(result: TestBuyResult) -> str:
    return auth.t(f"result.{TestBuyResult(result).value}")


def save_result(db: Database, test_buy_id: int) -> None:
    who = desk.actor()
    if not who:
        ui.flash("error", auth.t("testbuys.need_name"))
        return
    testbuys.set_result(db, test_buy_id, st.session_state[f"tb_set_{test_buy_id}"], actor=who)
    ui.flash("success", auth.t("testbuys.updated", id=test_buy_id))


db = ui.database()
desk.require_access("testbuys")
result_labels = {r: result_label(r) for r in TestBuyResult}  # looked up now: format_func may run after the page
st.title(desk.title("testbuys"))
ui.show_flash()
settings = get_settings()
config = desk.brand_config()

# --- record --------------------------------------------------------------------------------------------------
st.header(auth.t("testbuys.record_header"))
raw = st.query_params.get("finding", "")
from_url = int(raw) if _FINDING_ID.fullmatch(raw) else None
picked = st.number_input(auth.t("testbuys.finding"), min_value=1, step=1, value=from_url,
                         placeholder=auth.t("testbuys.finding_number"), key="tb_finding")
ref = testbuys.listing_of_finding(db, int(picked)) if picked is not None else None
if picked is not None and ref is None:
    st.warning(auth.t("testbuys.missing", id=int(picked)))
if ref is not None:
    st.text(auth.t("testbuys.item", marketplace=ref.marketplace, item=ref.external_id))
    st.text(ref.title)
    st.code(ref.url, language=None, wrap_lines=True)
    today = datetime.now(UTC).date()
    with st.form("tb_form", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
        order = c1.text_input(auth.t("testbuys.order"), max_chars=testbuys.ORDER_MAX, key="tb_order")
        ordered_on = c2.date_input(auth.t("testbuys.ordered_on"), value=today, max_value=today, key="tb_date")
        price = c3.text_input(auth.t("testbuys.price"), max_chars=20, key="tb_price", placeholder="129.00")
        currency = c4.text_input(auth.t("testbuys.currency"), value="CNY", max_chars=3, key="tb_currency")
        d1, d2 = st.columns(2)
        code = d1.text_input(auth.t("testbuys.code"), max_chars=testbuys.CODE_MAX, key="tb_code")
        result = d2.selectbox(auth.t("testbuys.result"), list(TestBuyResult), format_func=result_labels.__getitem__,
                              key="tb_result")
        note = st.text_area(auth.t("testbuys.notes"), max_chars=testbuys.NOTE_MAX, height=80, key="tb_note")
        uploads = st.file_uploader(auth.t("testbuys.photos"), type=["jpg", "jpeg", "png", "webp", "gif"],
                                   accept_multiple_files=True, key="tb_photos") or []
        submitted = st.form_submit_button(auth.t("testbuys.submit"), type="primary", key="tb_submit")
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
                raise testbuys.TestBuyError(
                    [testbuys.Problem("too_big", {"count": len(too_big), "max": settings.image_max_bytes})])
            recorded = testbuys.record_test_buy(
                db, entry, actor=desk.actor(), authorised_sellers=config.authorised_sellers if config else (),
                max_bytes=settings.image_max_bytes, max_pixels=settings.image_max_pixels,
            )
        except testbuys.TestBuyError as exc:
            st.error(auth.t("testbuys.not_recorded"))
            for problem in exc.in_language(auth.language()):
                st.text(f"• {problem}")
        else:
            st.success(auth.t("testbuys.recorded", id=recorded.id, photos=recorded.photos))
            st.text(testbuys.trace_text(recorded.trace, auth.language()))

# --- recent --------------------------------------------------------------------------------------------------
st.header(auth.t("testbuys.recent"))
rows = testbuys.recent(db)
if not rows:
    st.info(auth.t("testbuys.none"))
    st.stop()
st.dataframe(present.localized(frames.purchases_frame(rows), auth.t), hide_index=True, width="stretch")
by_id = {r.id: r for r in rows}
options = {i: auth.t("testbuys.option", id=i, order=r.order_number) for i, r in by_id.items()}
chosen: int = st.selectbox(auth.t("testbuys.pick"), list(by_id), key="tb_pick", format_func=options.__getitem__)
photos = [shown for photo in testbuys.photos_of(db, chosen) if (shown := ui.picture(photo))]
if photos:
    st.image(photos, width=240)  # stored, re-encoded bytes only, inline
else:
    st.text(auth.t("testbuys.no_photos"))
st.selectbox(auth.t("testbuys.set_result"), list(TestBuyResult), format_func=result_labels.__getitem__,
             index=list(TestBuyResult).index(by_id[chosen].result), key=f"tb_set_{chosen}")
st.button(auth.t("testbuys.save"), key=f"tb_save_{chosen}", on_click=save_result, args=(db, chosen))
