"""Notices: draft takedown notices from confirmed findings, preview them, export them, follow them to removal.

Scraped values (titles, sellers, URLs, the notice text quoting them) reach the screen only through st.text,
st.code and st.dataframe (see dashboard/ui.py). Exports are built only when a download is clicked.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from core.config import AuthorisedSeller
from core.db import Database
from core.item_pages import card_only_by_marketplace, fetch_item_pages
from core.models import NoticeStatus
from core.settings import get_settings
from dashboard import auth, desk, present, ui
from dashboard.data.queue import marketplaces
from dashboard.notices import exports, frames, registry, store
from dashboard.notices.drafting import DraftError
from dashboard.notices.model import GROUND_VERDICTS, Ground, Party

VIEW_KEY = "n_view"  # {"key": table widget key, "ids": finding ids in the rows shown}
NONCE_KEY = "n_nonce"
PROBLEMS_KEY = "n_problems"
ALL_KEY = "n_all"
EXPORT_FORMATS = ("pdf", "docx", "csv", "xlsx", "zip")  # labels: i18n "notices.export_<fmt>"


def export_bytes(db: Database, notice_id: int, fmt: str, redacted: bool, who: str) -> bytes:
    """Deferred download data: built, and audited, only when the button is clicked."""
    exported = exports.export_notice(db, notice_id, fmt, redacted=redacted)
    store.record_export(db, notice_id, fmt, actor=who or "dashboard", redacted=redacted)
    return exported.data


def selected_ids() -> list[int]:
    """Finding ids of the rows selected in the table as the user last saw it (see views/queue.py)."""
    view = st.session_state.get(VIEW_KEY) or {"key": "", "ids": []}
    ids: list[int] = view["ids"]
    if st.session_state.get(ALL_KEY):
        return list(ids)
    state = st.session_state.get(view["key"]) if view["key"] else None
    positions = state.get("selection", {}).get("rows", []) if isinstance(state, dict) else []
    return [ids[i] for i in positions if isinstance(i, int) and 0 <= i < len(ids)]


def draft_selected(db: Database, party: Party, spec: registry.TemplateSpec, ground: Ground,
                   sellers: Sequence[AuthorisedSeller]) -> None:
    """Button callback: runs before the page draws, so the new notice is already in the list below."""
    st.session_state.pop(PROBLEMS_KEY, None)
    who = desk.actor()
    if not who:
        ui.flash("error", auth.t("notices.need_name"))
        return
    ids = selected_ids()
    if not ids:
        ui.flash("warning", auth.t("notices.select_first"))
        return
    countries = [c.strip().upper() for c in st.session_state.get("n_countries", "").split(",") if c.strip()]
    fetch_card_only_item_pages(db, ids)
    try:
        notice_ids = store.draft_notices(
            db, ids, template=spec, ground=ground, party=party, actor=who, countries=countries,
            authorised_sellers=sellers,
        )
    except DraftError as exc:
        st.session_state[PROBLEMS_KEY] = exc.problems
        return
    except ValueError as exc:
        st.session_state[PROBLEMS_KEY] = [str(exc)]
        return
    numbers = ", ".join(str(i) for i in notice_ids)
    ui.flash("success", auth.t("notices.drafted", numbers=numbers, count=len(ids)))
    st.session_state["n_notice"] = notice_ids[0]
    st.session_state[ALL_KEY] = False
    st.session_state[NONCE_KEY] = st.session_state.get(NONCE_KEY, 0) + 1  # clears the selection


def fetch_card_only_item_pages(db: Database, finding_ids: list[int]) -> None:
    """A notice rests on item pages: fetch now those of listings seen only on search cards (one crawl process per
    marketplace, through the same gate and pipelines as the nightly crawl). What could not be fetched is refused by
    the store with the reason."""
    settings = get_settings()
    if settings.config is None:
        return
    with db.read() as session:
        by_market = card_only_by_marketplace(session, store.listing_ids_of(db, finding_ids))
    for market, listing_ids in by_market.items():
        with st.spinner(auth.t("notices.fetching_item_pages", count=len(listing_ids), market=market)):
            fetch_item_pages(market, str(settings.config), db.url, listing_ids)


def set_status(db: Database, notice_id: int, status: NoticeStatus) -> None:
    who = desk.actor()
    if not who:
        ui.flash("error", auth.t("notices.need_name"))
        return
    suffix = "filed" if status is NoticeStatus.FILED else "closed"
    try:
        store.change_status(
            db, notice_id, status, actor=who,
            on=st.session_state.get(f"n_{suffix}_on_{notice_id}"),
            reference=st.session_state.get(f"n_ref_{notice_id}"),
            note=st.session_state.get(f"n_note_{notice_id}"),
        )
    except ValueError as exc:
        st.session_state[PROBLEMS_KEY] = [str(exc)]
        return
    ui.flash("success", auth.t("notices.marked", id=notice_id, status=status_label(status)))


def status_label(status: NoticeStatus | str) -> str:
    return auth.t(f"status.{NoticeStatus(status).value}")


def ground_label(ground: Ground | str) -> str:
    return auth.t(f"ground.{Ground(ground).value}")


def t_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return present.localized(frame, auth.t)


db = ui.database()
desk.require_access("notices")
# Widget labels are looked up while the page draws (format_func may be called later, outside this run).
ground_labels = {g: ground_label(g) for g in Ground}
status_labels = {s: status_label(s) for s in NoticeStatus}
st.title(desk.title("notices"))
ui.show_flash()
problems = st.session_state.pop(PROBLEMS_KEY, None)
if problems:
    st.error(auth.t("notices.unchanged"))
    for problem in problems:
        st.text(f"• {problem}")

# --- draft ---------------------------------------------------------------------------------------------------
st.header(auth.t("notices.draft_header"))
desk_config = desk.brand_config()
markets = {m.id: m.name for m in marketplaces(db)}
if desk_config is not None and not markets:
    st.info(auth.t("notices.no_marketplace"))
elif desk_config is not None:
    holder = desk_config.brand.rights_holder
    if holder is None:
        st.warning(auth.t("notices.no_holder"))
    waiting = store.waiting_per_marketplace(db)
    if st.session_state.get("n_market") not in markets:  # start where confirmed findings wait
        st.session_state["n_market"] = max(markets, key=lambda i: (waiting.get(i, 0), -i))
    c1, c2, c3 = st.columns(3)
    market_labels = {i: auth.t("notices.waiting", name=n, count=waiting.get(i, 0)) for i, n in markets.items()}
    market_id: int = c1.selectbox(auth.t("notices.marketplace"), list(markets), key="n_market",
                                  format_func=market_labels.__getitem__)
    specs = registry.templates_for(markets[market_id])
    names = [s.name for s in specs]
    if st.session_state.get("n_template") not in names:
        st.session_state["n_template"] = names[0]
    template_name: str = c2.selectbox(auth.t("notices.template"), names,
                                      format_func=lambda n: registry.TEMPLATES[n].label, key="n_template")
    spec = registry.TEMPLATES[template_name]
    if st.session_state.get("n_ground") not in spec.grounds:
        st.session_state["n_ground"] = spec.grounds[0]
    ground: Ground = c3.selectbox(auth.t("notices.ground"), list(spec.grounds), format_func=ground_labels.__getitem__,
                                  key="n_ground")
    if ground is Ground.UNLAWFUL_IMPORTATION:
        st.text_input(auth.t("notices.countries"), key="n_countries", max_chars=200)
    if ground is Ground.DIVERSION:
        st.text(auth.t("notices.diversion_hint"))

    rows = store.confirmed_findings(db, marketplace_id=market_id, verdicts=GROUND_VERDICTS[ground])
    signature = f"{market_id}|{ground.value}|{st.session_state.get(NONCE_KEY, 0)}"
    table_key = "n_table_" + hashlib.sha256(signature.encode()).hexdigest()[:12]
    if not rows:
        st.info(auth.t("notices.none_fit"))
    st.dataframe(
        t_columns(frames.confirmed_frame(rows)), key=table_key, on_select="rerun", selection_mode="multi-row",
        hide_index=True, width="stretch",
        column_config={auth.t("col.score"): st.column_config.NumberColumn(format="%.2f"),
                       auth.t("col.title"): st.column_config.TextColumn(width="large")},
    )
    st.session_state[VIEW_KEY] = {"key": table_key, "ids": [r.finding_id for r in rows]}
    st.checkbox(auth.t("notices.use_all"), key=ALL_KEY)
    chosen = len(selected_ids())
    st.text(auth.t("notices.shown", shown=len(rows), chosen=chosen)
            + (auth.t("notices.split", size=spec.max_links) if spec.max_links else ""))
    st.button(
        auth.t("notices.draft_button"), key="n_draft", type="primary", on_click=draft_selected,
        args=(db, Party.from_config(holder) if holder else Party(name=""), spec, ground,
              desk_config.authorised_sellers),
        disabled=holder is None or chosen == 0,
    )

# --- notices -------------------------------------------------------------------------------------------------
st.header(auth.t("notices.list_header"))
statuses = st.multiselect(auth.t("notices.status"), list(NoticeStatus), key="n_statuses",
                          format_func=status_labels.__getitem__, placeholder=auth.t("notices.all"))
summaries = store.notices(db, statuses=statuses or None)
if not summaries:
    st.info(auth.t("notices.none"))
    st.stop()
st.dataframe(t_columns(frames.notices_frame(summaries)), hide_index=True, width="stretch")
by_id = {s.id: s for s in summaries}
ui.follow_link("notice", "n_notice", by_id)
if st.session_state.get("n_notice") not in by_id:
    st.session_state["n_notice"] = summaries[0].id
notice_id: int = st.selectbox(
    auth.t("notices.notice"), list(by_id), key="n_notice",
    format_func={i: auth.t("notices.option", id=i, status=status_label(s.status), marketplace=s.marketplace,
                           template=s.template) for i, s in by_id.items()}.__getitem__,
)
ui.keep_link("notice", notice_id)
doc = store.load_notice(db, notice_id)
if doc is None:
    st.warning(auth.t("notices.gone_missing", id=notice_id))
    st.stop()

st.subheader(auth.t("notices.heading", id=doc.id))
st.text(f"{ground_label(doc.ground)} · {doc.marketplace} · {doc.template}"
        + (auth.t("notices.part", part=doc.part, parts=doc.parts) if doc.parts > 1 else ""))
st.text(auth.t("notices.status_line", status=status_label(doc.status), who=doc.created_by,
               on=f"{doc.created_at:%Y-%m-%d}")
        + (auth.t("notices.filed_line", on=f"{doc.filed_at:%Y-%m-%d}", reference=doc.reference)
           if doc.filed_at else "")
        + (auth.t("notices.closed_line", on=f"{doc.closed_at:%Y-%m-%d}") if doc.closed_at else ""))
st.text(auth.t("notices.removal", gone=len(doc.gone), total=len(doc.listings)))
if doc.status_note:
    st.text(auth.t("notices.note", note=doc.status_note))
if doc.warnings:
    st.warning(auth.t("notices.weigh"))
    for warning in doc.warnings:
        st.text(f"• {warning}")

st.text(auth.t("notices.body"))
st.code(doc.body, language=None, wrap_lines=True)
st.dataframe(t_columns(frames.notice_listings_frame(doc)), hide_index=True, width="stretch")

# --- export --------------------------------------------------------------------------------------------------
redacted = store.redaction_of(desk_config.privacy if desk_config else None)
st.text(auth.t("notices.redacted") if redacted else auth.t("notices.not_redacted"))
export_cols = st.columns(len(EXPORT_FORMATS))
for col, fmt in zip(export_cols, EXPORT_FORMATS, strict=True):
    col.download_button(
        auth.t(f"notices.export_{fmt}"),
        data=functools.partial(export_bytes, db, doc.id, fmt, redacted, desk.actor()),
        file_name=exports.file_name(doc, fmt),
        mime=exports.MEDIA_TYPES[fmt],
        on_click="ignore",
        key=f"n_dl_{fmt}_{doc.id}",
    )

# --- status --------------------------------------------------------------------------------------------------
today = datetime.now(UTC).date()
if doc.status is NoticeStatus.DRAFTED:
    f1, f2 = st.columns(2)
    f1.date_input(auth.t("notices.filed_on"), value=today, max_value=today, key=f"n_filed_on_{doc.id}")
    f2.text_input(auth.t("notices.reference"), key=f"n_ref_{doc.id}",
                  max_chars=store.REFERENCE_MAX)
    st.button(auth.t("notices.mark_filed"), key=f"n_file_{doc.id}", on_click=set_status,
              args=(db, doc.id, NoticeStatus.FILED), type="primary")
elif doc.status is NoticeStatus.FILED:
    st.date_input(auth.t("notices.outcome_on"), value=today, max_value=today, key=f"n_closed_on_{doc.id}")
    st.text_area(auth.t("notices.outcome"), key=f"n_note_{doc.id}", max_chars=store.NOTE_MAX, height=80)
    b1, b2 = st.columns(2)
    b1.button(auth.t("notices.mark_removed"), key=f"n_removed_{doc.id}", on_click=set_status,
              args=(db, doc.id, NoticeStatus.REMOVED), type="primary")
    b2.button(auth.t("notices.mark_rejected"), key=f"n_rejected_{doc.id}", on_click=set_status,
              args=(db, doc.id, NoticeStatus.REJECTED))
else:
    st.text(auth.t("notices.closed", status=status_label(doc.status)))
