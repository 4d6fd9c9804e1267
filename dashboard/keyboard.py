"""Single-key shortcuts for the review desk (j/k move, c confirm, d dismiss, e escalate, n note), as a Streamlit
components v2 element: a few lines of our own JavaScript, no iframe, no package.

Why not `streamlit-shortcuts` (MIT, 1.2.2): its listener clicks a button on any matching key, also while a note is
being typed, so writing "checked" in a note would confirm the finding. Streamlit's own `st.button(shortcut=...)`
reserves "c". This listener:
- ignores keys typed into a field (input, textarea, select, contenteditable), keys with Ctrl/Alt/Cmd, key repeat
  (holding "c" decides one finding, not a screenful) and IME composition;
- sends the key with the id of the finding drawn with it, so a key pressed while the page redraws decides the
  finding the analyst saw or nothing, never one that moved into its place (review_desk.key_action);
- listens on the window in the capture phase and stops the keys it handles, so Streamlit's own "c" (clear caches)
  and "r" (rerun) never fire on the desk;
- can move the focus into the note field when the note opens ("n"), so the note is typed without the mouse; keys
  typed between "n" and the field's arrival (at most 3 s) are swallowed, so the words of a note typed too early
  ("seen twice": e, n, c) never escalate, open or confirm anything.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import streamlit.components.v2 as components

_JS = """
export default function(component) {
  const { data, setTriggerValue } = component;
  window.__brandpatrolDesk = data;
  window.__brandpatrolDeskSend = (value) => setTriggerValue('key', value);
  if (!window.__brandpatrolDeskListener) {
    window.__brandpatrolDeskListener = (event) => {
      const desk = window.__brandpatrolDesk;
      if (!desk || event.ctrlKey || event.metaKey || event.altKey || event.repeat || event.isComposing) return;
      const target = event.target;
      if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
      if (document.querySelector('[role="dialog"]')) return;  // a confirmation is open: keys belong to it
      if (performance.now() < (window.__brandpatrolDeskNoteOpening || 0)) {
        event.preventDefault();  // typed before the note field is there: never a decision
        event.stopImmediatePropagation();
        return;
      }
      const key = (event.key || '').toLowerCase();
      if (!desk.keys.includes(key)) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      if (key === desk.note_key) window.__brandpatrolDeskNoteOpening = performance.now() + 3000;
      // The finding drawn with this listener: its data arrives with the panel it belongs to.
      window.__brandpatrolDeskSend({key: key, shown: [desk.shown]});
    };
    window.addEventListener('keydown', window.__brandpatrolDeskListener, {capture: true});
  }
  if (data.focus) {
    requestAnimationFrame(() => {
      const field = document.querySelector(data.focus);
      if (field) field.focus();
      window.__brandpatrolDeskNoteOpening = 0;
    });
  }
}
"""

_desk_keys = components.component("brandpatrol.desk_keys", js=_JS)


def listen(widget_key: str, keys: list[str], shown: int | None, on_key: Any, *, note_key: str = "",
           focus: str | None = None) -> None:
    """Mount the listener: `on_key` runs (as a widget callback) with st.session_state[widget_key]["key"] holding
    {"key": "c", "shown": [finding id drawn with it]}. `note_key` opens a field; `focus` is the CSS selector of
    the field to focus after this render."""
    _desk_keys(key=widget_key, data={"keys": keys, "shown": shown, "focus": focus, "note_key": note_key},
               on_key_change=on_key)


def pressed(widget_key: str) -> tuple[str, list[int]] | None:
    """The key of the trigger being handled and the findings on screen when it was pressed (None if no key)."""
    state = st.session_state.get(widget_key)
    value = state.get("key") if isinstance(state, dict) else getattr(state, "key", None)
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        return None
    shown = value.get("shown")
    ids = [i for i in shown if isinstance(i, int) and not isinstance(i, bool)] if isinstance(shown, list) else []
    return value["key"], ids[:4]
