"""Listing detail: photos side by side, reasons, price history, seller, evidence and the review of one finding.

Every scraped value here goes through st.text / st.code / st.dataframe (see dashboard/ui.py for the rule).
"""

from __future__ import annotations

import functools
import re

import streamlit as st

from core.db import Database
from core.models import ReviewDecision
from dashboard import auth, pictures, present, ui
from dashboard.data.detail import listing_detail, photo_readings
from dashboard.data.evidence import evidence_content
from dashboard.data.matched import MatchedRegion, matched_regions
from dashboard.data.neighbours import seller_listings, seller_network
from dashboard.data.reviews import NOTE_MAX, review

MAX_DOWNLOADS = 10  # newest HTML captures offered for download
PHOTO_SIDE = 320
_FINDING_ID = re.compile(r"[1-9][0-9]{0,17}")  # fits a 64-bit integer column


def evidence_bytes(db: Database, sha256: str) -> bytes:
    """Deferred download data: the decompressed capture, fetched only when the button is clicked."""
    content = evidence_content(db, sha256)
    return content.data if content is not None else b""


def review_this(db: Database, finding_id: int, decision: ReviewDecision) -> None:
    """Button callback (runs before the page draws, so the history below already shows the new review)."""
    who = auth.actor()
    if not who or not auth.may_review():
        ui.flash("error", auth.t("denied.review"))
        return
    note = st.session_state.get(f"d_note_{finding_id}", "")
    override = bool(st.session_state.get(f"d_override_{finding_id}", False))
    outcome = review(db, [finding_id], decision, who, note, override=override)
    ui.flash("success" if outcome.reviewed else "warning", present.review_summary(outcome, auth.t))
    st.session_state[f"d_note_{finding_id}"] = ""
    st.session_state[f"d_override_{finding_id}"] = False


auth.require("detail")
db = ui.database()
st.title(auth.t("page.detail"))
ui.show_flash()

raw = st.query_params.get("finding", "")
from_url = int(raw) if _FINDING_ID.fullmatch(raw) else None
picked = st.number_input(auth.t("detail.finding"), min_value=1, step=1, value=from_url,
                         placeholder=auth.t("detail.finding_number"))
finding_id = int(picked) if picked is not None else None
if finding_id is not None and finding_id != from_url:
    st.query_params["finding"] = str(finding_id)  # keep the URL shareable
if finding_id is None and not raw:
    st.info(auth.t("detail.open_hint"))
    st.stop()

# One answer for a malformed id, an id that does not exist and (with brand scoping) one the user may not see:
# the page gives no hint which.
detail = listing_detail(db, finding_id) if finding_id is not None else None
if detail is None:
    st.warning(auth.t("detail.not_found"))
    st.stop()
finding, listing = detail.finding, detail.listing

# --- verdict ------------------------------------------------------------------------------------------------
m1, m2, m3, m4 = st.columns(4)
m1.metric(auth.t("queue.verdict"), present.verdict_label(finding.verdict, auth.t))
m2.metric(auth.t("detail.score"), f"{finding.score:.2f}")
m3.metric(auth.t("detail.image_distance"),
          "—" if finding.image_distance is None else auth.t("detail.bits", bits=finding.image_distance))
latest = detail.latest_review
m4.metric(auth.t("detail.review"),
          present.decision_label(latest.decision, auth.t) if latest else auth.t("detail.unreviewed"))

st.subheader(auth.t("detail.title"))
st.text(listing.title)

# --- photos -------------------------------------------------------------------------------------------------
def show_photo(data: bytes | None, missing: str) -> None:
    """A stored thumbnail (never a scraped URL), or in its place why there is none or why it cannot be shown."""
    if not data:
        st.text(auth.t(missing))
    elif shown := pictures.small_picture(data, PHOTO_SIDE):
        st.image(shown, width=PHOTO_SIDE)
    else:
        st.text(auth.t("desk.photo_unavailable").replace("\n", " "))


left, right = st.columns(2)
with left:
    st.subheader(auth.t("detail.photo"))
    show_photo(detail.listing_thumbnail, "detail.no_photo")
with right:
    st.subheader(auth.t("detail.reference"))
    show_photo(detail.reference_thumbnail, "detail.no_reference")
    if detail.reference_ref_id:
        st.text(auth.t("detail.reference_id", ref=detail.reference_ref_id))
if finding.image_distance is not None:
    st.text(auth.t("detail.hamming", bits=finding.image_distance))

# --- what matching saw: the artwork's outline found by keypoints, or the whole photo compared by hash ----------------


def region_caption(region: MatchedRegion) -> str:
    position = region.photo_position + 1
    if region.kind == "artwork":
        return auth.t("detail.region_artwork", position=position, reference=region.reference or "?",
                      inliers=region.inliers or 0, matches=region.matches or 0,
                      coverage=f"{(region.coverage or 0):.0%}")
    caption = auth.t("detail.region_whole", position=position, reference=region.reference or "?",
                     distance=region.distance if region.distance is not None else "?", view=region.view or "—")
    if region.keypoints_confirmed is not None:
        caption += " " + auth.t("detail.region_keypoints", inliers=region.inliers or 0, matches=region.matches or 0)
    return caption


regions = matched_regions(db, finding.id)
if regions:
    st.subheader(auth.t("detail.matched"))
    for region_col, region in zip(st.columns(len(regions)), regions, strict=True):
        with region_col:
            if drawn_region := ui.picture(region.picture):
                st.image(drawn_region, width=384)
            else:
                st.text(auth.t("desk.photo_unavailable").replace("\n", " "))
            st.text(region_caption(region))  # our words with numbers; reference ids are the brand's own

# --- read on the photos (OCR and codes, boxes drawn on the stored copy) ----------------------------------------
readings = photo_readings(db, finding.id)
if readings:
    st.subheader(auth.t("detail.photo_reading"))
    for position, drawn in readings:
        if drawn_photo := ui.picture(drawn):  # inline, like every photo here (see ui.picture)
            st.image(drawn_photo, width=480, caption=auth.t("detail.photo_reading_caption", position=position + 1))

# --- reasons ------------------------------------------------------------------------------------------------
st.subheader(auth.t("detail.why"))
if finding.reasons:
    for reason in finding.reasons:
        st.text(f"• {reason}")
else:
    st.text(auth.t("detail.no_reasons"))
st.text(auth.t("detail.rule_set", version=finding.rule_set_version, found=present.format_when(finding.created_at),
               updated=present.format_when(finding.updated_at)))

# --- price history ------------------------------------------------------------------------------------------
st.subheader(auth.t("detail.prices"))
currency = present.history_currency(detail.price_history, listing.currency)
band = detail.product.band(currency) if detail.product else None
if detail.product:
    name = f" ({detail.product.name})" if detail.product.name else ""
    st.text(auth.t("detail.product", sku=detail.product.sku, name=name))
if band:
    unknown = auth.t("detail.unknown")
    st.text(auth.t("detail.band", currency=band.currency,
                   suggested=present.format_amount(band.suggested) or unknown,
                   floor=present.format_amount(band.floor) or unknown))
if currency:
    st.line_chart(present.price_chart_frame(detail.price_history, currency, band), y_label=currency)
    other = sum(1 for p in detail.price_history if p.price is not None and p.currency != currency)
    if other:
        st.text(auth.t("detail.other_currencies", count=other))
else:
    st.text(auth.t("detail.no_prices"))
if detail.price_history:
    st.dataframe(present.localized(present.history_frame(detail.price_history), auth.t), hide_index=True,
                 width="stretch")

# --- seller and listing -------------------------------------------------------------------------------------
s_col, l_col = st.columns(2)
with s_col, st.container(border=True):
    st.subheader(auth.t("detail.seller"))
    seller = detail.seller
    if seller is None:
        st.text(auth.t("detail.seller_unknown"))
    else:
        st.text(auth.t("detail.seller_name", value=seller.name))
        st.text(auth.t("detail.external_id", value=seller.external_id or "—"))
        st.text(auth.t("detail.location", value=seller.location_text or "—"))
        st.text(auth.t("detail.country_region", country=seller.country or "—", region=seller.region or "—"))
with l_col, st.container(border=True):
    st.subheader(auth.t("detail.listing"))
    st.text(auth.t("detail.marketplace", value=listing.marketplace))
    st.text(auth.t("detail.external_id", value=listing.external_id))
    price_text = f"{present.format_price(listing.price, listing.price_high)} {listing.currency or ''}".rstrip()
    st.text(auth.t("detail.price", value=price_text))
    st.text(auth.t("detail.ships_from", place=listing.region or listing.country or "—",
                   location=listing.location_text or auth.t("detail.not_stated")))
    st.text(auth.t("detail.seen", first=present.format_when(listing.first_seen),
                   last=present.format_when(listing.last_seen)))
    if listing.gone:
        st.text(auth.t("detail.gone_since",
                       when=present.format_when(listing.gone_at) or auth.t("detail.unknown_time")))
    st.text(auth.t("detail.live_url"))
    st.code(listing.url, language=None, wrap_lines=True)

# --- the seller's other listings and its network of shops ------------------------------------------------------
if detail.seller is not None:
    others = seller_listings(db, detail.seller.id, except_listing=listing.id)
    st.subheader(auth.t("detail.other_listings", count=len(others)))
    if others:
        st.dataframe(present.localized(present.other_listings_frame(others, auth.t), auth.t), hide_index=True,
                     width="stretch")
    else:
        st.text(auth.t("detail.no_other_listings"))
    network = seller_network(db, detail.seller.id)
    if network is not None:
        st.subheader(auth.t("detail.network", id=network.id, size=network.size))
        st.dataframe(present.localized(present.network_frame(network.shops), auth.t), hide_index=True,
                     width="stretch")
        if network.links:
            st.dataframe(present.localized(present.network_links_frame(network.links), auth.t), hide_index=True,
                         width="stretch")

# --- evidence -----------------------------------------------------------------------------------------------
st.subheader(auth.t("detail.evidence"))
if detail.listing.card_only:
    st.warning(auth.t("detail.card_only"))
if not detail.evidence:
    st.text(auth.t("detail.no_evidence"))
else:
    st.dataframe(present.localized(present.evidence_frame(detail.evidence), auth.t), hide_index=True, width="stretch")
    screenshot = next((e for e in detail.evidence if e.kind == "screenshot" and e.encoding == "identity"), None)
    if screenshot is not None:
        content = evidence_content(db, screenshot.sha256)
        if content is not None and content.is_picture and (shot := ui.picture(content.data)):
            st.image(shot, width="stretch")
            st.text(auth.t("detail.screenshot_verified" if content.verified else "detail.screenshot_mismatch",
                           when=present.format_when(screenshot.snapshot_captured_at)))
    for item in [e for e in detail.evidence if e.kind == "html"][:MAX_DOWNLOADS]:
        # Raw page HTML is offered as a .txt download of the bytes and never rendered here.
        st.download_button(
            auth.t("detail.download_html", when=present.format_when(item.snapshot_captured_at)),
            data=functools.partial(evidence_bytes, db, item.sha256),
            file_name=f"evidence-{item.sha256[:16]}.html.txt",
            mime="text/plain",
            on_click="ignore",
            key=f"d_html_{item.sha256}",
        )

# --- review -------------------------------------------------------------------------------------------------
st.subheader(auth.t("detail.review"))
reviewer_role = auth.may_review()
if not reviewer_role:
    st.info(auth.t("denied.review"))
if latest is not None:
    st.text(auth.t("detail.reviewed", decision=present.decision_label(latest.decision, auth.t),
                   reviewer=latest.reviewer, when=present.format_when(latest.created_at)))
    st.checkbox(auth.t("detail.override"), key=f"d_override_{finding.id}", disabled=not reviewer_role)
st.text_area(auth.t("detail.note"), key=f"d_note_{finding.id}", max_chars=NOTE_MAX, height=80,
             disabled=not reviewer_role)
may_review = reviewer_role and (latest is None or bool(st.session_state.get(f"d_override_{finding.id}")))
b_cols = st.columns(3)
for col, decision in zip(b_cols, ReviewDecision, strict=True):
    col.button(
        present.decision_verb(decision, auth.t),
        key=f"d_{decision.value}_{finding.id}",
        on_click=review_this,
        args=(db, finding.id, decision),
        disabled=not may_review,
        type="primary" if decision is ReviewDecision.CONFIRMED else "secondary",
    )
if detail.reviews:
    st.dataframe(present.localized(present.reviews_frame(detail.reviews, auth.t), auth.t), hide_index=True,
                 width="stretch")
else:
    st.text(auth.t("detail.no_reviews"))
