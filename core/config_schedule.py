"""The schedule and alerts of the brand configuration: cron expressions checked as the scheduler reads them, and
where alerts go."""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    Field,
    field_validator,
)

from core.config_base import Strict

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron_weekdays(field: str) -> str:
    """A cron day-of-week field (0 or 7 = Sunday, 1 = Monday) in APScheduler's names.

    APScheduler 3 numbers weekdays from Monday = 0, so a crontab's `1` would otherwise mean Tuesday.
    """
    if field == "*":
        return field
    days: list[str] = []
    for token in field.split(","):
        part, _, step_text = token.partition("/")
        step = int(step_text) if step_text else 1
        if part == "*":
            numbers = list(range(0, 7))
        elif "-" in part and all(x.isdigit() for x in part.split("-")):
            low, high = (int(x) for x in part.split("-"))
            numbers = list(range(low, high + 1))
        elif part.isdigit():
            numbers = [int(part)]
        else:
            days.append(token)  # names such as mon-fri pass through
            continue
        days.extend(_CRON_DAYS[n % 7] for n in numbers[::step] if 0 <= n <= 7)
    return ",".join(dict.fromkeys(days))


def cron_trigger(expression: str, timezone: str) -> Any:
    """An APScheduler CronTrigger for a five-field crontab expression, with crontab's weekday numbers."""
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, weekdays = expression.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_cron_weekdays(weekdays),
                       timezone=timezone)


def _cron_problem(expression: str) -> str | None:
    if len(expression.split()) != 5:
        return f"'{expression}' is not a five-field cron expression such as '0 2 * * *'"
    try:
        cron_trigger(expression, "UTC")
    except ValueError as exc:
        return f"'{expression}' is not a valid cron expression ({exc})"
    return None


class Schedule(Strict):
    """When `brandpatrol schedule` runs what. Cron expressions are read in `timezone`; an empty one disables a job."""

    cron: str = Field("0 2 * * *", description="nightly crawl of every marketplace, each followed by matching")
    timezone: str = Field("Asia/Shanghai", description="IANA time zone the cron expressions are read in")
    crawl_concurrency: int = Field(2, ge=1, le=32, description="crawl processes running at once")
    crawl_timeout_minutes: float = Field(
        240, gt=0, le=24 * 60, description="a crawl process still running after this is stopped, its run failed")
    stop_grace_seconds: float = Field(
        120, ge=0, le=3600, description="on shutdown, time a crawl gets to finish its current batch")
    removal_check_cron: str | None = Field("0 9 * * *", description="re-check listings under filed notices")
    digest_cron: str | None = Field("0 9 * * 1", description="weekly digest to the alert targets")
    expected_within_hours: float = Field(
        26, gt=0, le=24 * 31, description="no crawl of a marketplace for this long raises an alert")
    misfire_grace_hours: float = Field(
        6, gt=0, le=7 * 24, description="a fire missed while the scheduler was down still runs within this")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        problem = _cron_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("removal_check_cron", "digest_cron")
    @classmethod
    def _optional_cron(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        problem = _cron_problem(v)
        if problem:
            raise ValueError(problem + "; or leave it empty to disable the job")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{v}' is not a known time zone; use an IANA name such as Asia/Shanghai") from None
        return v


class Alerts(Strict):
    """Where alerts go (Apprise URLs: mailto://, json://, wecombot://, dingtalk://, slack:// ...) and when."""

    urls: list[str] = Field(default_factory=list, description="Apprise notification URLs")
    min_score: float = Field(0.8, ge=0, le=1, description="new suspect findings at or over this score are alerted")
    top: int = Field(5, ge=0, le=50, description="how many of the highest-scoring findings a message lists")
    dashboard_url: str = Field("http://127.0.0.1:8501", description="base URL of the dashboard, for links")

    @field_validator("urls")
    @classmethod
    def _apprise_urls(cls, v: list[str]) -> list[str]:
        import apprise

        for i, url in enumerate(v):
            # Never echo the URL: it usually carries a token or a password.
            scheme = url.split("://", 1)[0][:20] if "://" in url else None
            if scheme is None or not apprise.Apprise().add(url):
                raise ValueError(
                    f"URL {i + 1} ({scheme + '://...' if scheme else 'no scheme'}) is not a notification URL "
                    "Apprise understands; see the Apprise wiki for the form of each service"
                )
        return v

    @field_validator("dashboard_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"'{v}' is not an http(s) URL such as http://127.0.0.1:8501")
        return v.rstrip("/")
