"""What the dashboard's data modules share: stored times as aware UTC datetimes, a finding's reason as text."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything the models store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def reason_text(reason: object) -> str:
    """One reason as a sentence: matching stores strings, but tolerate {"text": ...} dicts."""
    if isinstance(reason, dict):
        for key in ("text", "message", "reason"):
            if isinstance(reason.get(key), str):
                return str(reason[key])
    return str(reason)
