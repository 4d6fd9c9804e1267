"""Review queue: unreviewed suspect findings, highest score first. The desk at the top shows the finding under
review beside the reference it matched, decided with single keys (dashboard/review_desk.py); below, the page as a
table (rows selected and decided together) or as a grid of photos."""

from __future__ import annotations

import hashlib
from datetime import date

import streamlit as st

from core.models import SUSPECT_VERDICTS, ReviewDecision, Verdict
from dashboard import auth, pictures, present, review_desk, ui
from dashboard.data import queue, reviews

PAGE_SIZES = (25, 50, 100, 200)
VIEW_KEY = "queue_view"  # {"key": table widget key, "ids": finding ids in the rows shown}
NONCE_KEY = review_desk.TABLE_NONCE_KEY
LAYOUTS = ("table", "grid")
GRID_COLUMNS = 4
ROW_HEIGHT = 64  # pixels: room for the two thumbnails
TABLE_ROWS_SHOWN = 12
NOTE_KEY = "q_note"

auth.require("queue")
db = ui.database()
st.title(auth.t("page.queue"))
ui.show_flash()

# --- filters ------------------------------------------------------------------------------------------------
markets = {m.id: m.name for m in queue.marketplaces(db)}
products = {p.id: p.label for p in queue.products(db)}
st.session_state.setdefault("q_verdicts", [])
st.session_state.setdefault("q_markets", [])
st.session_state.setdefault("q_min_score", 0.0)
st.session_state.setdefault("q_include_gone", True)
st.session_state.setdefault("q_page_size", 50)
st.session_state.setdefault("q_page", 1)
st.session_state.setdefault("q_products", [])
st.session_state.setdefault("q_region", "")
st.session_state.setdefault("q_seller", "")
st.session_state.setdefault("q_since", None)
st.session_state.setdefault("q_until", None)
st.session_state["q_products"] = [p for p in st.session_state["q_products"] if p in products]
# A marketplace deleted since the last run would make the multiselect fail.
st.session_state["q_markets"] = [m for m in st.session_state["q_markets"] if m in markets]

f1, f2, f3, f4 = st.columns([3, 3, 2, 2])
verdicts: list[Verdict] = f1.multiselect(
    auth.t("queue.verdict"), sorted(SUSPECT_VERDICTS), key="q_verdicts", bind="query-params",
    format_func=lambda v: present.verdict_label(v, auth.t),
    placeholder=auth.t("queue.all"),
)
market_ids: list[int] = f2.multiselect(
    auth.t("queue.marketplace"), list(markets), key="q_markets", bind="query-params",
    format_func=lambda i: markets.get(i, "?"),
    placeholder=auth.t("queue.all"),
)
min_score = f3.number_input(auth.t("queue.min_score"), min_value=0.0, step=0.05, key="q_min_score")
include_gone = f4.checkbox(auth.t("queue.include_gone"), key="q_include_gone")
g1, g2, g3, g4, g5 = st.columns([3, 2, 2, 1.5, 1.5])
product_ids: list[int] = g1.multiselect(
    auth.t("queue.product"), list(products), key="q_products", bind="query-params",
    format_func=lambda i: products.get(i, "?"),
    placeholder=auth.t("queue.all"),
)
region = g2.text_input(auth.t("queue.region"), key="q_region", bind="query-params", max_chars=queue.REGION_FILTER_MAX,
                       placeholder="CN, CN-GD")
seller = g3.text_input(auth.t("queue.seller"), key="q_seller", bind="query-params", max_chars=queue.SELLER_FILTER_MAX)
since = g4.date_input(auth.t("queue.since"), key="q_since", format="YYYY-MM-DD")
until = g5.date_input(auth.t("queue.until"), key="q_until", format="YYYY-MM-DD")
filters = queue.QueueFilters(
    verdicts=frozenset(verdicts),
    marketplace_ids=frozenset(market_ids),
    min_score=float(min_score or 0.0),
    include_gone=include_gone,
    product_ids=frozenset(product_ids),
    region=region or "",
    seller=seller or "",
    since=since if isinstance(since, date) else None,
    until=until if isinstance(until, date) else None,
)

# --- counts -------------------------------------------------------------------------------------------------
counts = queue.queue_counts(db, filters)
metric_cols = st.columns(len(counts) + 1)
metric_cols[0].metric(auth.t("queue.unreviewed"), sum(counts.values()))
for col, (verdict, count) in zip(metric_cols[1:], counts.items(), strict=True):
    col.metric(present.verdict_label(verdict, auth.t), count)

# --- the page of findings -------------------------------------------------------------------------------------
page_size = int(st.session_state["q_page_size"])
view_signature = repr(
    (sorted(filters.verdicts), sorted(filters.marketplace_ids), filters.min_score, filters.include_gone, page_size,
     sorted(filters.product_ids), filters.region, filters.seller, filters.since, filters.until)
)
if st.session_state.get("_q_signature") != view_signature:
    st.session_state["_q_signature"] = view_signature
    st.session_state["q_page"] = 1  # new filters start at the first page
result = queue.queue_page(db, filters, int(st.session_state["q_page"]), page_size,
                         total=queue.queue_total(counts, filters), thumbnails=True)
st.session_state["q_page"] = result.page  # clamp when the queue shrank under the user

# --- the desk: the finding under review, single keys, decisions for a group --------------------------------------
st.caption(auth.t("desk.keys"))
under_review = review_desk.panel(result.rows, filters)


def selected_ids() -> list[int]:
    """Finding ids of the rows selected in the table as the user last saw it.

    Selection state holds row positions; they are mapped through the ids drawn in the previous run, never
    through a fresh query, so rows that moved in the meantime are not reviewed by mistake.
    """
    view = st.session_state.get(VIEW_KEY) or {"key": "", "ids": []}
    state = st.session_state.get(view["key"]) if view["key"] else None
    positions = state.get("selection", {}).get("rows", []) if isinstance(state, dict) else []
    ids: list[int] = view["ids"]
    return [ids[i] for i in positions if isinstance(i, int) and 0 <= i < len(ids)]


def review_selected(decision: ReviewDecision) -> None:
    """Button callback: runs before the page draws, so counts and table already show the outcome."""
    ids = selected_ids()
    who = auth.actor()
    if not who or not auth.may_review():
        ui.flash("error", auth.t("denied.review"))
        return
    if not ids:
        ui.flash("warning", "Select one or more rows first.")
        return
    outcome = reviews.review(db, ids, decision, who, st.session_state.get(NOTE_KEY, ""))
    ui.flash("success" if outcome.reviewed else "warning", present.review_summary(outcome, auth.t))
    st.session_state[NOTE_KEY] = ""
    # A new table key clears the selection, so a second click cannot hit rows that moved into those positions.
    st.session_state[NONCE_KEY] = st.session_state.get(NONCE_KEY, 0) + 1


nonce = st.session_state.get(NONCE_KEY, 0)
table_key = "queue_table_" + hashlib.sha256(f"{view_signature}|{result.page}|{nonce}".encode()).hexdigest()[:12]
last_view = st.session_state.get(VIEW_KEY) or {"key": ""}
selected = selected_ids() if last_view["key"] == table_key else []

if not result.rows:
    st.info(auth.t("queue.empty"))
layout = st.segmented_control(auth.t("queue.layout"), LAYOUTS, key="q_layout", bind="query-params",
                              format_func=lambda v: auth.t(f"queue.layout.{v}"), default="table")
tiles = {key: auth.t(key) for key in ("desk.photo_unavailable", "desk.no_photo", "desk.no_reference")}
if layout == "grid":
    for start in range(0, len(result.rows), GRID_COLUMNS):
        for cell, row in zip(st.columns(GRID_COLUMNS), result.rows[start:start + GRID_COLUMNS], strict=False):
            with cell.container(border=True, key=f"grid_{row.finding_id}"):
                photos = st.columns(2)
                photos[0].image(pictures.picture_or_tile(row.photo, tiles["desk.photo_unavailable"],
                                                         tiles["desk.no_photo"]), width="stretch")
                photos[1].image(pictures.picture_or_tile(row.reference_photo, tiles["desk.photo_unavailable"],
                                                         tiles["desk.no_reference"]), width="stretch")
                st.text(f"#{row.finding_id} · {present.verdict_label(row.verdict, auth.t)} · {row.score:.2f}")
                st.text(row.first_reason or "")  # scraped words quoted: text only
                if under_review is not None and row.finding_id == under_review.finding_id:
                    st.text(auth.t("queue.under_review"))
                else:
                    st.button(auth.t("queue.review_this"), key=f"grid_review_{row.finding_id}",
                              on_click=st.session_state.__setitem__, args=(review_desk.CURSOR_KEY, row.finding_id))
else:
    frame = present.queue_frame(result.rows, auth.t)
    frame.insert(1, "Photo", [pictures.picture_or_tile(r.photo, tiles["desk.photo_unavailable"],
                                                       tiles["desk.no_photo"]) for r in result.rows])
    frame.insert(2, "Reference photo", [pictures.picture_or_tile(r.reference_photo, tiles["desk.photo_unavailable"],
                                                                 tiles["desk.no_reference"]) for r in result.rows])
    st.dataframe(
        present.localized(frame, auth.t),
        key=table_key,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        width="stretch",
        row_height=ROW_HEIGHT,
        height=min(max(len(result.rows), 1), TABLE_ROWS_SHOWN) * ROW_HEIGHT + 40,  # photos need room
        column_config={
            auth.t("col.photo"): st.column_config.ImageColumn(width="small"),
            auth.t("col.reference_photo"): st.column_config.ImageColumn(width="small"),
            auth.t("col.score"): st.column_config.NumberColumn(format="%.2f"),
            auth.t("col.title"): st.column_config.TextColumn(width="large"),
            auth.t("col.first_reason"): st.column_config.TextColumn(width="large"),
        },
    )
st.session_state[VIEW_KEY] = {"key": table_key, "ids": [r.finding_id for r in result.rows]}

p1, p2, p3 = st.columns([2, 2, 6])
p1.number_input(auth.t("queue.page"), min_value=1, max_value=result.pages, step=1, key="q_page")
p2.selectbox(auth.t("queue.rows_per_page"), PAGE_SIZES, key="q_page_size")
p3.text(auth.t("queue.page_status", page=result.page, pages=result.pages,
               count=present.count_findings(result.total, auth.t), selected=len(selected)))

# --- actions ------------------------------------------------------------------------------------------------
st.text_area(auth.t("queue.note"), key=NOTE_KEY, max_chars=reviews.NOTE_MAX, height=80)
a1, a2, a3, a4 = st.columns(4)
for col, decision in zip((a1, a2, a3), ReviewDecision, strict=True):
    col.button(
        auth.t("queue.act_selected", verb=present.decision_verb(decision, auth.t)),
        key=f"q_{decision.value}",
        on_click=review_selected,
        args=(decision,),
        disabled=len(selected) == 0,
        type="primary" if decision is ReviewDecision.CONFIRMED else "secondary",
    )
if a4.button(auth.t("queue.open_detail"), key="q_open", disabled=len(selected) == 0) and selected:
    st.switch_page(ui.DETAIL_PAGE, query_params={"finding": str(selected[0])})
