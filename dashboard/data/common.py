"""What the dashboard's data modules share: stored times as aware UTC datetimes, a finding's reason as text."""

from __future__ import annotations

from datetime import datetime

from core.models import as_utc


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def reason_text(reason: object) -> str:
    """One reason as a sentence: matching stores strings, but tolerate {"text": ...} dicts."""
    if isinstance(reason, dict):
        for key in ("text", "message", "reason"):
            if isinstance(reason.get(key), str):
                return str(reason[key])
    return str(reason)
