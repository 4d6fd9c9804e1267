"""The review desk on the queue page: the finding under review with its photos, single keys to move and decide,
and one decision for a whole group (seller, network, product, filter) behind a confirmation that states the count.

The finding under review is kept by id (CURSOR_KEY), never by position: after a decision the reviewed finding
leaves the queue and the one after it comes under review. Keys arrive with the id of the finding shown when they
were pressed (dashboard/keyboard.py), and that is the finding decided.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from core.models import ReviewDecision
from core.settings import get_settings
from dashboard import auth, keyboard, pictures, present, ui
from dashboard.data import groups, reviews
from dashboard.data.groups import Group
from dashboard.data.queue import QueueFilters, QueueRow

CURSOR_KEY = "q_cursor"  # the finding id under review
IDS_KEY = "q_desk_ids"  # finding ids of the page as last drawn, in order
NOTES_KEY = "q_notes"  # {finding id: note} waiting for that finding's decision
NOTE_OPEN_KEY = "q_note_open"  # the finding id whose note field is open
NOTE_FIELD = "q_quick_note"
KEYBOARD_KEY = "q_keys"
PANEL_KEY = "desk_panel"
BULK_KEY = "q_bulk"  # the group decision waiting for its confirmation
TABLE_NONCE_KEY = "queue_nonce"  # bumped after a decision: the table's row selection is cleared

KEY_DECISIONS: dict[str, ReviewDecision] = {
    "c": ReviewDecision.CONFIRMED, "d": ReviewDecision.DISMISSED, "e": ReviewDecision.ESCALATED}
MOVE_KEYS = {"j": 1, "k": -1}
NOTE_KEY = "n"
DESK_SIDE = 180  # pixels of the photos under review


def current_id(ids: Sequence[int], cursor: object) -> int | None:
    """The finding under review: the cursor while it is on the page, else the page's first."""
    if isinstance(cursor, int) and cursor in ids:
        return cursor
    return ids[0] if ids else None


def moved(ids: Sequence[int], current: int | None, step: int) -> int | None:
    """The finding `step` rows from `current`, held at the first and last row."""
    if not ids:
        return None
    at = ids.index(current) if current in ids else 0
    return ids[max(0, min(len(ids) - 1, at + step))]


def after_decision(ids: Sequence[int], decided: int) -> int | None:
    """What comes under review once `decided` leaves the queue: the row after it, else the row before it."""
    if decided not in ids:
        return current_id(ids, None)
    at = ids.index(decided)
    rest = [*ids[at + 1:], *reversed(ids[:at])]
    return rest[0] if rest else None


@dataclass(frozen=True)
class KeyAction:
    """What a key does: move by `step`, decide `finding_id`, open its note, or nothing (`stale`)."""

    step: int = 0
    finding_id: int | None = None
    decision: ReviewDecision | None = None
    note: bool = False
    stale: bool = False


def key_action(key: str, on_screen: Sequence[int], ids: Sequence[int], cursor: int | None) -> KeyAction:
    """The action of one key pressed while the findings `on_screen` were drawn (two while the page redraws: the old
    panel and the new), over the page drawn last (`ids`) with `cursor` under review. A decision or note goes to a
    finding that was on screen: the one under review if it was, else the only one still on the page; otherwise
    (a key pressed before the next finding appeared) nothing happens."""
    live = [i for i in on_screen if i in ids]
    shown = cursor if cursor in live else (live[0] if len(live) == 1 else None)
    if key in MOVE_KEYS:
        return KeyAction(step=MOVE_KEYS[key], finding_id=shown if shown in ids else None)
    if key not in KEY_DECISIONS and key != NOTE_KEY:
        return KeyAction()
    if shown is None or shown not in ids:
        return KeyAction(stale=True)
    if key == NOTE_KEY:
        return KeyAction(finding_id=shown, note=True)
    return KeyAction(finding_id=shown, decision=KEY_DECISIONS[key])


# --- actions (widget callbacks: they run before the page draws) ---------------------------------------------------

def _decide(finding_id: int, decision: ReviewDecision) -> None:
    who = auth.actor()
    if not who or not auth.may_review():
        ui.flash("error", auth.t("denied.review"))
        return
    notes: dict[int, str] = st.session_state.setdefault(NOTES_KEY, {})
    outcome = reviews.review(ui.database(), [finding_id], decision, who, notes.get(finding_id, ""))
    notes.pop(finding_id, None)
    ui.flash("success" if outcome.reviewed else "warning", auth.t("desk.decided", id=finding_id) + " "
             + present.review_summary(outcome, auth.t))
    ids: list[int] = st.session_state.get(IDS_KEY, [])
    st.session_state[CURSOR_KEY] = after_decision(ids, finding_id)
    st.session_state[NOTE_OPEN_KEY] = None
    st.session_state[TABLE_NONCE_KEY] = st.session_state.get(TABLE_NONCE_KEY, 0) + 1


def _move(step: int, shown: int | None = None) -> None:
    ids: list[int] = st.session_state.get(IDS_KEY, [])
    st.session_state[CURSOR_KEY] = moved(ids, shown if shown in ids else st.session_state.get(CURSOR_KEY), step)
    st.session_state[NOTE_OPEN_KEY] = None


def _open_note(finding_id: int) -> None:
    st.session_state[NOTE_OPEN_KEY] = finding_id
    st.session_state[NOTE_FIELD] = st.session_state.get(NOTES_KEY, {}).get(finding_id, "")


def _save_note(finding_id: int) -> None:
    text = str(st.session_state.get(NOTE_FIELD, "")).strip()
    notes: dict[int, str] = st.session_state.setdefault(NOTES_KEY, {})
    if text:
        notes[finding_id] = text[:reviews.NOTE_MAX]
    else:
        notes.pop(finding_id, None)
    st.session_state[NOTE_OPEN_KEY] = None


def _on_key() -> None:
    pressed = keyboard.pressed(KEYBOARD_KEY)
    if pressed is None:
        return
    key, on_screen = pressed
    action = key_action(key, on_screen, st.session_state.get(IDS_KEY, []), st.session_state.get(CURSOR_KEY))
    if action.step:
        _move(action.step, action.finding_id)
    elif action.stale:
        ui.flash("warning", auth.t("desk.key_stale"))  # the page changed under the key: nothing decided
    elif action.finding_id is not None and action.decision is not None:
        _decide(action.finding_id, action.decision)
    elif action.finding_id is not None and action.note:
        _open_note(action.finding_id)


def _ask_group(options: dict[str, Group], verbs: dict[str, ReviewDecision], group_key: str,
               decision_key: str) -> None:
    group = options.get(str(st.session_state.get(group_key)))
    decision = verbs.get(str(st.session_state.get(decision_key)))
    if group is None or decision is None:
        return
    ids = groups.group_finding_ids(ui.database(), group)
    if not ids:
        ui.flash("info", auth.t("desk.group_empty"))
        return
    st.session_state[BULK_KEY] = {"group": group, "decision": decision, "ids": ids, "step": 1}


def _cancel_group() -> None:
    st.session_state.pop(BULK_KEY, None)


# --- drawing -----------------------------------------------------------------------------------------------------

def _photo(data: bytes | None, caption: str, missing: str) -> None:
    st.image(pictures.picture_or_tile(data, auth.t("desk.photo_unavailable"), auth.t(missing), DESK_SIDE),
             width=DESK_SIDE, caption=caption)


def group_label(group: Group, count: int | None = None) -> str:
    """Our own words for a group (never a scraped name: option labels are not guaranteed plain text)."""
    return auth.t(f"desk.group.{group.kind.value}", id=group.key, count=count)


def panel(rows: Sequence[QueueRow], filters: QueueFilters) -> QueueRow | None:
    """The finding under review, its keys and buttons, the group decision; returns the row under review."""
    ids = [r.finding_id for r in rows]
    st.session_state[IDS_KEY] = ids
    current = current_id(ids, st.session_state.get(CURSOR_KEY))
    st.session_state[CURSOR_KEY] = current
    reviewer = auth.may_review()
    note_open = st.session_state.get(NOTE_OPEN_KEY) == current and current is not None
    keys = [*MOVE_KEYS, *KEY_DECISIONS, NOTE_KEY] if reviewer else [*MOVE_KEYS]
    keyboard.listen(KEYBOARD_KEY, keys, current, _on_key, note_key=NOTE_KEY,
                    focus=f".st-key-{NOTE_FIELD} input" if note_open else None)
    if current is None:
        return None
    row = rows[ids.index(current)]
    with st.container(border=True, key=PANEL_KEY):
        st.text(auth.t("desk.reviewing", at=ids.index(current) + 1, of=len(ids), id=row.finding_id))
        left, middle, right = st.columns([1, 1, 2])
        with left:
            _photo(row.photo, auth.t("desk.listing_photo"), "desk.no_photo")
        with middle:
            _photo(row.reference_photo, auth.t("desk.reference_photo"), "desk.no_reference")
        with right:
            st.subheader(f"{present.verdict_label(row.verdict, auth.t)} · {row.score:.2f}")
            st.text(row.first_reason or auth.t("detail.no_reasons"))  # scraped words quoted: text only
            st.text(auth.t("desk.where", marketplace=row.marketplace, seller=row.seller or "—",
                           price=f"{present.format_price(row.price, row.price_high)} {row.currency or ''}".strip()
                           or "—", ship_from=row.ship_from or "—"))
            note = st.session_state.get(NOTES_KEY, {}).get(row.finding_id)
            if note:
                st.text(auth.t("desk.note_waiting", note=note))
        _buttons(row, reviewer)
        if note_open:
            with st.form("q_note_form", border=False, enter_to_submit=True):
                st.text_input(auth.t("desk.note_label", id=row.finding_id), key=NOTE_FIELD,
                              max_chars=reviews.NOTE_MAX)
                st.form_submit_button(auth.t("desk.note_save"), on_click=_save_note, args=(row.finding_id,))
        if reviewer:
            _group_controls(row, filters)
    if isinstance(st.session_state.get(BULK_KEY), dict):
        _confirm_group_dialog()
    return row


def _buttons(row: QueueRow, reviewer: bool) -> None:
    cols = st.columns(7)
    cols[0].button(auth.t("desk.previous"), key="desk_prev", on_click=_move, args=(-1,), width="stretch")
    cols[1].button(auth.t("desk.next"), key="desk_next", on_click=_move, args=(1,), width="stretch")
    for col, (key, decision) in zip(cols[2:5], KEY_DECISIONS.items(), strict=True):
        col.button(f"{present.decision_verb(decision, auth.t)} · {key}", key=f"desk_{decision.value}",
                   on_click=_decide, args=(row.finding_id, decision), disabled=not reviewer, width="stretch",
                   type="primary" if decision is ReviewDecision.CONFIRMED else "secondary")
    cols[5].button(auth.t("desk.note"), key="desk_note", on_click=_open_note, args=(row.finding_id,),
                   disabled=not reviewer, width="stretch")
    if cols[6].button(auth.t("queue.open_detail"), key="desk_open", width="stretch"):
        st.switch_page(ui.DETAIL_PAGE, query_params={"finding": str(row.finding_id)})


def _group_controls(row: QueueRow, filters: QueueFilters) -> None:
    options = {group_label(g): g for g in groups.groups_of(row, filters)}
    verbs = {present.decision_verb(d, auth.t): d for d in ReviewDecision}
    g1, g2, g3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    # Plain labels as options, keyed per language: a choice is kept while its label stays the same.
    group_key, decision_key = f"desk_group_{auth.language()}", f"desk_group_decision_{auth.language()}"
    g1.selectbox(auth.t("desk.group"), list(options), key=group_key)
    g2.selectbox(auth.t("desk.group_decision"), list(verbs), key=decision_key)
    # The callback reads both choices as they are when the button is pressed, not as this render drew them.
    g3.button(auth.t("desk.group_ask"), key="desk_group_ask", on_click=_ask_group,
              args=(options, verbs, group_key, decision_key), width="stretch")


def _run_group() -> None:
    pending = st.session_state.pop(BULK_KEY, None)
    who = auth.actor()
    if not isinstance(pending, dict) or not who or not auth.may_review():
        ui.flash("error", auth.t("denied.review"))
        return
    group: Group = pending["group"]
    ids: list[int] = pending["ids"]
    outcome = reviews.review(ui.database(), ids, pending["decision"], who, group=group.audit(len(ids)))
    ui.flash("success" if outcome.reviewed else "warning", present.review_summary(outcome, auth.t))
    st.session_state[TABLE_NONCE_KEY] = st.session_state.get(TABLE_NONCE_KEY, 0) + 1


def _next_step() -> None:
    pending = st.session_state.get(BULK_KEY)
    if isinstance(pending, dict):
        pending["step"] = 2


def _confirm_group_dialog() -> None:
    pending = st.session_state[BULK_KEY]
    count = len(pending["ids"])
    limit = get_settings().bulk_review_max
    verb = present.decision_verb(pending["decision"], auth.t)
    what = group_label(pending["group"], count)

    def body() -> None:
        st.text(auth.t("desk.group_question", verb=verb, count=present.count_findings(count, auth.t), group=what))
        st.text(auth.t("desk.group_audit"))
        again = count > limit and pending["step"] == 1
        if count > limit and pending["step"] == 2:
            st.warning(auth.t("desk.group_over_max", count=count, max=limit))
        yes, no = st.columns(2)
        label = auth.t("desk.group_yes", verb=verb, count=present.count_findings(count, auth.t))
        if again:
            yes.button(label, key="desk_group_step", type="primary", on_click=_next_step)
        elif yes.button(label if count <= limit else auth.t("desk.group_yes_again", verb=verb, count=count),
                        key="desk_group_yes", type="primary"):
            _run_group()
            st.rerun()
        if no.button(auth.t("desk.group_cancel"), key="desk_group_no"):
            _cancel_group()
            st.rerun()

    dialog: Callable[[], None] = st.dialog(auth.t("desk.group_title"), on_dismiss=_cancel_group)(body)
    dialog()
