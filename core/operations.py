"""Nightly operation as data: the scheduled jobs, and how they are doing (last runs, next fires, what is overdue).

The scheduler (brandpatrol/scheduler.py) runs the jobs named here; `brandpatrol status` and the dashboard read
their state through `gather_status`, from the database alone, so they work on any host that reaches it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from core.cluster import STALLED_AFTER_S, ClusterStatus, cluster_status, format_cluster
from core.config import BrandConfig
from core.db import Database
from core.lease import LEASE_NAME, LEASE_STALE_AFTER, crawl_lease_name, process_gone
from core.models import CrawlRun, JobRun, Marketplace, RunStatus, SchedulerLock, as_utc, utcnow

JOBS_TABLE = "apscheduler_jobs"
FIRE_LATE_AFTER = timedelta(minutes=5)  # a fire time this far in the past means nobody is running the jobs


@dataclass(frozen=True)
class JobSpec:
    id: str
    description: str
    cron: Callable[[BrandConfig], str | None]  # None: the job is disabled


NIGHTLY = JobSpec("nightly-crawl-and-match", "crawl every marketplace, match after each crawl, alert",
                  lambda c: c.schedule.cron)
REMOVAL_CHECK = JobSpec("removal-check", "re-check listings under filed notices, flag relistings",
                        lambda c: c.schedule.removal_check_cron)
DIGEST = JobSpec("weekly-digest", "weekly digest to the alert targets", lambda c: c.schedule.digest_cron)
WATCHDOG = JobSpec("watchdog", "alert when a marketplace has not been crawled in the expected window",
                   lambda c: "*/15 * * * *")
JOB_SPECS = (NIGHTLY, REMOVAL_CHECK, DIGEST, WATCHDOG)


@dataclass
class JobState:
    id: str
    description: str
    cron: str | None
    next_fire: datetime | None
    last_status: str | None = None
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_summary: str = ""


@dataclass
class MarketplaceState:
    name: str
    last_run_id: int | None = None
    last_status: str | None = None
    last_started: datetime | None = None
    last_finished: datetime | None = None
    pages: int = 0
    items: int = 0
    last_ok: datetime | None = None
    overdue: bool = False
    interrupted: str = ""  # a run still marked running whose crawl is gone, in words


@dataclass
class SchedulerState:
    running: bool
    holder: str | None = None
    since: datetime | None = None
    heartbeat_at: datetime | None = None


@dataclass
class OperationsStatus:
    now: datetime
    timezone: str
    scheduler: SchedulerState
    jobs: list[JobState] = field(default_factory=list)
    marketplaces: list[MarketplaceState] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    cluster: ClusterStatus | None = None  # team mode's work queue (core/cluster.py); None on SQLite

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return {k: plain(v) for k, v in asdict(self).items()}


def next_fire_times(db: Database) -> dict[str, datetime | None]:
    """Job id -> next fire time, read from APScheduler's job store table (empty before a scheduler ran)."""
    if JOBS_TABLE not in inspect(db.engine).get_table_names():
        return {}
    with db.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}"))  # noqa: S608
        return {str(row[0]): datetime.fromtimestamp(row[1], UTC) if row[1] is not None else None for row in rows}


def scheduler_state(db: Database, now: datetime) -> SchedulerState:
    with db.read() as session:
        row = session.get(SchedulerLock, LEASE_NAME)
    if row is None:
        return SchedulerState(running=False)
    heartbeat = as_utc(row.heartbeat_at)
    return SchedulerState(running=now - heartbeat <= LEASE_STALE_AFTER, holder=f"pid {row.pid} on {row.host}",
                          since=as_utc(row.acquired_at), heartbeat_at=heartbeat)


def _gone_crawl(session: Session, run: CrawlRun, marketplace: str, now: datetime) -> str:
    """Why a run marked running has no crawl behind it any more, from the marketplace's crawl lease ("" when its
    crawl may still be running). Status only reads: the next crawl closes such a run."""
    lease = session.get(SchedulerLock, crawl_lease_name(marketplace))
    if lease is None:
        return ""  # a crawl that took no lease (`scrapy crawl`), or one just starting
    heartbeat = as_utc(lease.heartbeat_at)
    if now - heartbeat > LEASE_STALE_AFTER:
        why = f"its crawl (pid {lease.pid} on {lease.host}) last gave a sign of life at {heartbeat:%Y-%m-%d %H:%M} UTC"
    elif lease.host == socket.gethostname()[:255] and process_gone(lease.pid):
        why = f"its crawl process {lease.pid} on this host is gone"
    else:
        return ""
    return (f"interrupted: {why}; it had fetched {run.pages} pages and stored {run.items} listings "
            "(the next crawl closes it)")


def blocked_since(db: Database, marketplace: str) -> datetime | None:
    """When the marketplace's current run of blocked crawls began (the first of the latest crawls blocked in a
    row), or None when its latest crawl was not blocked."""
    with db.read() as session:
        runs = session.execute(
            select(CrawlRun.status, CrawlRun.started_at).join(Marketplace, Marketplace.id == CrawlRun.marketplace_id)
            .where(Marketplace.name == marketplace, CrawlRun.status != RunStatus.RUNNING)
            .order_by(CrawlRun.id.desc()).limit(1000)
        ).all()
    since = None
    for status, started in runs:
        if status != RunStatus.BLOCKED:
            break
        since = as_utc(started)
    return since


def marketplace_states(db: Database, names: list[str], now: datetime | None = None) -> list[MarketplaceState]:
    now = now or utcnow()
    states = []
    with db.read() as session:
        for name in names:
            state = MarketplaceState(name)
            last = session.scalar(select(CrawlRun).join(Marketplace).where(Marketplace.name == name)
                                  .order_by(CrawlRun.id.desc()).limit(1))
            if last is not None:
                state.last_run_id, state.last_status = last.id, last.status.value
                state.last_started = as_utc(last.started_at)
                state.last_finished = as_utc(last.finished_at) if last.finished_at else None
                state.pages, state.items = last.pages, last.items
                if last.status == RunStatus.RUNNING:
                    state.interrupted = _gone_crawl(session, last, name, now)
            ok = session.scalar(select(CrawlRun.started_at).join(Marketplace)
                                .where(Marketplace.name == name, CrawlRun.status == RunStatus.OK)
                                .order_by(CrawlRun.id.desc()).limit(1))
            state.last_ok = as_utc(ok) if ok else None
            states.append(state)
    return states


def overdue_marketplaces(states: list[MarketplaceState], expected: timedelta, watched_since: datetime | None,
                         now: datetime) -> list[MarketplaceState]:
    """Marketplaces no crawl started for within `expected`; a never-crawled one once the schedule has been
    running (since `watched_since`) for that long."""
    late = []
    for state in states:
        reference = state.last_started or watched_since
        if reference is not None and now - reference > expected:
            late.append(state)
    return late


def gather_status(db: Database, config: BrandConfig | None, now: datetime | None = None,
                  stalled_after_s: float = STALLED_AFTER_S) -> OperationsStatus:
    now = now or utcnow()
    zone = config.schedule.timezone if config else "UTC"
    status = OperationsStatus(now=now, timezone=zone, scheduler=scheduler_state(db, now))
    fires = next_fire_times(db)
    with db.read() as session:
        for spec in JOB_SPECS:
            cron = spec.cron(config) if config else None
            if spec.id not in fires and cron is None:
                continue
            job = JobState(spec.id, spec.description, cron, fires.get(spec.id))
            last = session.scalar(select(JobRun).where(JobRun.job_id == spec.id)
                                  .order_by(JobRun.id.desc()).limit(1))
            if last is not None:
                job.last_status, job.last_summary = last.status.value, last.summary
                job.last_started = as_utc(last.started_at)
                job.last_finished = as_utc(last.finished_at) if last.finished_at else None
            status.jobs.append(job)
        names = [m.name for m in config.marketplaces] if config else list(
            session.scalars(select(Marketplace.name).order_by(Marketplace.name)))
    status.marketplaces = marketplace_states(db, names, now)
    if fires and not status.scheduler.running:
        status.overdue.append("no scheduler is running on this database (start `brandpatrol schedule`)")
    for job in status.jobs:
        if job.next_fire is not None and now - job.next_fire > FIRE_LATE_AFTER:
            status.overdue.append(f"job {job.id} was due at {local(job.next_fire, zone)} and has not run")
    if config is not None:
        expected = timedelta(hours=config.schedule.expected_within_hours)
        watched = status.scheduler.since if status.scheduler.running else None
        for state in overdue_marketplaces(status.marketplaces, expected, watched, now):
            state.overdue = True
            when = f"since {local(state.last_started, zone)}" if state.last_started else "ever"
            status.overdue.append(f"marketplace {state.name}: no crawl {when} "
                                  f"(expected within {config.schedule.expected_within_hours:g} h)")
    status.cluster = cluster_status(db, stalled_after_s)
    for worker in status.cluster.stalled_workers if status.cluster else []:
        status.overdue.append(f"worker {worker['id']} stopped answering (last heartbeat "
                              f"{local(worker['last_heartbeat'], zone)}); its job goes to another worker")
    return status


def local(value: datetime | None, zone: str) -> str:
    if value is None:
        return "-"
    return as_utc(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def format_status(status: OperationsStatus) -> str:
    zone = status.timezone
    sched = status.scheduler
    lines = [f"status at {local(status.now, zone)} ({zone})", ""]
    if sched.running:
        lines.append(f"scheduler: running, {sched.holder}, since {local(sched.since, zone)}")
    elif sched.holder:
        lines.append(f"scheduler: not running (last held by {sched.holder}, "
                     f"last heartbeat {local(sched.heartbeat_at, zone)})")
    else:
        lines.append("scheduler: not running")
    lines += ["", "jobs:"]
    for job in status.jobs:
        lines.append(f"  {job.id}: next {local(job.next_fire, zone)}  [{job.cron or 'disabled'}]  {job.description}")
        if job.last_status:
            lines.append(f"    last: {job.last_status} at {local(job.last_started, zone)}"
                         + (f" — {job.last_summary}" if job.last_summary else ""))
    if not status.jobs:
        lines.append("  none scheduled")
    lines += ["", "last crawl per marketplace:"]
    for m in status.marketplaces:
        if m.last_status is None:
            lines.append(f"  {m.name}: never crawled" + ("  OVERDUE" if m.overdue else ""))
            continue
        lines.append(f"  {m.name}: {m.last_status} at {local(m.last_started, zone)}, {m.pages} pages, {m.items} "
                     f"listings; last ok {local(m.last_ok, zone)}" + ("  OVERDUE" if m.overdue else ""))
        if m.interrupted:
            lines.append(f"    {m.interrupted}")
    if status.cluster is not None:
        lines += format_cluster(status.cluster, lambda when: local(when, zone))
    lines += ["", "overdue:" if status.overdue else "overdue: nothing"]
    lines += [f"  - {item}" for item in status.overdue]
    return "\n".join(lines)
