"""Single-key shortcuts for the review desk (j/k move, c confirm, d dismiss, e escalate, n note), as a Streamlit
components v2 element: a few lines of our own JavaScript, no iframe, no package.

Why not `streamlit-shortcuts` (MIT, 1.2.2): its listener clicks a button on any matching key, also while a note is
being typed, so writing "checked" in a note would confirm the finding. Streamlit's own `st.button(shortcut=...)`
reserves "c". This listener:
- ignores keys typed into a field (input, textarea, select, contenteditable), keys with Ctrl/Alt/Cmd, key repeat
  (holding "c" decides one finding, not a screenful) and IME composition;
- sends the key with the id of the finding shown when it was pressed, so a key pressed while the page redraws
  decides the finding the analyst saw, never one that moved into its place (see review_desk.apply_key);
- listens on the window in the capture phase and stops the keys it handles, so Streamlit's own "c" (clear caches)
  and "r" (rerun) never fire on the desk;
- can move the focus into the note field when the note opens ("n"), so the note is typed without the mouse.
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
      const key = (event.key || '').toLowerCase();
      if (!desk.keys.includes(key)) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      window.__brandpatrolDeskSend({key: key, shown: desk.shown});
    };
    window.addEventListener('keydown', window.__brandpatrolDeskListener, {capture: true});
  }
  if (data.focus) {
    requestAnimationFrame(() => { const field = document.querySelector(data.focus); if (field) field.focus(); });
  }
}
"""

_desk_keys = components.component("brandpatrol.desk_keys", js=_JS)


def listen(widget_key: str, keys: list[str], shown: int | None, on_key: Any, focus: str | None = None) -> None:
    """Mount the listener: `on_key` runs (as a widget callback) with st.session_state[widget_key]["key"] holding
    {"key": "c", "shown": finding id}. `focus` is a CSS selector of a field to focus after this render."""
    _desk_keys(key=widget_key, data={"keys": keys, "shown": shown, "focus": focus}, on_key_change=on_key)


def pressed(widget_key: str) -> tuple[str, int | None] | None:
    """The key of the trigger being handled and the finding shown when it was pressed (None if no key)."""
    state = st.session_state.get(widget_key)
    value = state.get("key") if isinstance(state, dict) else getattr(state, "key", None)
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        return None
    shown = value.get("shown")
    return value["key"], shown if isinstance(shown, int) and not isinstance(shown, bool) else None
