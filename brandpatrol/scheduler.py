"""`brandpatrol schedule`: APScheduler 3 in the foreground, its jobs persisted in the project's database.

Jobs come from the configuration's cron expressions (core/operations.py names them), in the brand's time zone,
with explicit ids and `replace_existing`, so a restart updates them instead of adding copies; `coalesce` runs a
fire missed several times (scheduler down) once, `max_instances=1` skips a fire while the previous run still
goes (recorded as a skipped job run), and the misfire grace time lets a fire missed by hours still run.

Only one scheduler runs per database (core/lease.py). SIGTERM or Ctrl-C stops it cleanly: running crawls
get SIGTERM and finish their current batch (or are killed after `stop_grace_seconds`), their runs are closed,
and the job run is recorded as stopped before the process exits.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import update

from brandpatrol import alerts, jobs, workqueue
from brandpatrol.removals import check_removals, egress_fetcher
from core.cluster import cluster_status
from core.config import BrandConfig, cron_trigger, load_brands
from core.db import Database, make_engine
from core.lease import LEASE_STALE_AFTER, SchedulerLease, SchedulerLocked
from core.models import JobRun, JobRunStatus, RunStatus, utcnow
from core.operations import (
    DIGEST,
    JOB_SPECS,
    JOBS_TABLE,
    NIGHTLY,
    REMOVAL_CHECK,
    WATCHDOG,
    blocked_since,
    marketplace_states,
    next_fire_times,
    overdue_marketplaces,
    scheduler_state,
)
from core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

NIGHTLY_JOB_ID = NIGHTLY.id

# Set when the scheduler is asked to stop: running crawls are told to finish, nothing new starts.
shutdown_requested = threading.Event()


def _job_settings(config_path: str, db_url: str) -> Settings:
    return get_settings().model_copy(update={"db": db_url, "config": Path(config_path)})


@dataclass
class RunRecord:
    status: JobRunStatus = JobRunStatus.OK
    summary: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def recorded(db: Database, job_id: str) -> Iterator[RunRecord]:
    """A job_run row for one execution: running while the body runs, then its outcome (failed on an error)."""
    with db.session() as session:
        row = JobRun(job_id=job_id, started_at=utcnow(), status=JobRunStatus.RUNNING)
        session.add(row)
        session.flush()
        run_id = row.id
    record = RunRecord()
    try:
        yield record
    except BaseException as exc:
        record.status, record.summary = JobRunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with db.session() as session:
            session.execute(update(JobRun).where(JobRun.id == run_id).values(
                status=record.status, summary=record.summary[:1000], detail=record.detail, finished_at=utcnow()))


# --- the nightly crawl ---------------------------------------------------------------------------------------

@dataclass
class CrawlOutcome:
    marketplace: str
    status: str  # a RunStatus value, or "not started"
    items: int = 0
    reason: str = ""
    matched: dict[str, Any] | None = None
    match_error: str | None = None


def failure_reason(result: jobs.CrawlResult) -> str:
    """What went wrong in a crawl, in a line: the interruption, the network errors, or the crawl's last words."""
    errors = result.errors or {}
    if errors.get("interrupted"):
        return str(errors["interrupted"])
    if result.status == RunStatus.BLOCKED:
        return f"blocked: {errors.get('blocked', 'the marketplace refused the crawl')}"
    kinds = [f"{key.rsplit('.', 1)[-1]} x{count}" for key, count in errors.items()
             if key.startswith("downloader/exception_type_count/")]
    if kinds:
        return "network errors: " + ", ".join(kinds)
    if result.status == RunStatus.FAILED and result.pages == 0:
        return "no page could be fetched; check base_url/start_urls and that the site is reachable"
    if result.status == RunStatus.OK:
        return ""
    return f"finish reason {errors.get('finish_reason', 'unknown')}, {errors.get('log_count/ERROR', 0)} errors"


def _with_since(db: Database, outcome: CrawlOutcome) -> str:
    """The outcome's reason; for a blocked marketplace, since when it has been blocked (the first of the runs
    blocked in a row), so the operator sees a block that lasts."""
    reason = outcome.match_error or outcome.reason or outcome.status
    if outcome.status != RunStatus.BLOCKED.value:
        return reason
    since = blocked_since(db, outcome.marketplace)
    return f"{reason} (blocked since {since:%Y-%m-%d %H:%M} UTC)" if since is not None else reason


def crawl_and_match(settings: Settings, config_path: Path, config: BrandConfig,
                    stop: threading.Event) -> list[CrawlOutcome]:
    """One crawl process per marketplace, `crawl_concurrency` at a time; matching runs as each crawl ends."""
    schedule = config.schedule
    match_lock = threading.Lock()  # one matching pass at a time; each is incremental

    def one(name: str) -> CrawlOutcome:
        if stop.is_set():
            return CrawlOutcome(name, "not started", reason="the scheduler is shutting down")
        try:
            result = jobs.crawl_one(settings, config_path, name, timeout=schedule.crawl_timeout_minutes * 60,
                                    progress=logger.info, stop=stop, stop_grace=schedule.stop_grace_seconds)
        except jobs.JobError as exc:
            return CrawlOutcome(name, RunStatus.FAILED.value, reason=str(exc))
        logger.info(result.summary())
        outcome = CrawlOutcome(name, result.status.value, result.items, failure_reason(result))
        if result.status != RunStatus.FAILED and not stop.is_set():
            with match_lock:
                try:
                    outcome.matched = jobs.match(settings, config_path, progress=logger.info)
                except Exception as exc:  # the crawl's data is stored; the next pass matches it
                    logger.exception("matching after the crawl of %s failed", name)
                    outcome.match_error = f"{type(exc).__name__}: {exc}"
            if outcome.match_error is None and not stop.is_set():
                second_stage(name, outcome)
        return outcome

    def second_stage(name: str, outcome: CrawlOutcome) -> None:
        """Item pages of the brand's flagged or undecided card listings, within the budget; then matching again."""
        try:
            fetched = jobs.item_page_stages(settings, config_path, [name], progress=logger.info)
        except jobs.JobError as exc:
            logger.error("the item pages of %s were not fetched: %s", name, exc)
            return
        if any(r.items for r in fetched) and not stop.is_set():
            with match_lock:
                try:
                    outcome.matched = jobs.match(settings, config_path, progress=logger.info)
                except Exception as exc:
                    logger.exception("matching after the item pages of %s failed", name)
                    outcome.match_error = f"{type(exc).__name__}: {exc}"

    names = [m.name for m in config.marketplaces]
    if not names:
        return []
    with ThreadPoolExecutor(max_workers=schedule.crawl_concurrency, thread_name_prefix="crawl") as pool:
        return list(pool.map(one, names))


def _each_brand(config_path: str, db_url: str,
                job: Callable[[Settings, BrandConfig], dict[str, Any]]) -> dict[str, Any]:
    """Run a job for each brand of the configuration (a file may list several, core/config.py), each with its own
    settings; a one-brand file runs it once, as before. A brand's failure does not stop the others' runs."""
    configs = load_brands(config_path)
    settings = _job_settings(config_path, db_url)
    if len(configs) == 1:
        return job(settings, configs[0])
    out: dict[str, Any] = {}
    failed: Exception | None = None
    for config in configs:
        try:
            out[config.brand.name] = job(settings.model_copy(update={"brand": config.brand.name}), config)
        except Exception as exc:  # recorded by the job itself; the next brand still runs
            logger.exception("job for brand %s failed", config.brand.name)
            failed = failed or exc
    if failed is not None:
        raise failed
    return out


def nightly(config_path: str, db_url: str) -> dict[str, Any]:
    """The nightly job: crawl and match every marketplace (of each brand), then one alert for new findings and one
    for failures. Module-level so the job store can reference it. On PostgreSQL it queues the night's shards for the
    workers (brandpatrol/workqueue.py) instead."""
    if workqueue.is_team_database(db_url):
        return _queued(config_path, db_url, NIGHTLY.id, workqueue.enqueue_night)
    return _each_brand(config_path, db_url, _nightly)


def _nightly(settings: Settings, config: BrandConfig) -> dict[str, Any]:
    config_path = str(settings.config)
    db = jobs.open_database(settings)
    try:
        with recorded(db, NIGHTLY.id) as run:
            since = utcnow()
            outcomes = crawl_and_match(settings, Path(config_path), config, shutdown_requested)
            stopped = shutdown_requested.is_set()
            failed = [o for o in outcomes
                      if o.status in (RunStatus.FAILED.value, RunStatus.BLOCKED.value) or o.match_error]
            sent: list[str] = []
            if not stopped:  # a shutdown is no failure to alert about, and matching did not finish
                if (found := alerts.findings_alert(db, config, since)) is not None:
                    alerts.deliver(db, config.alerts.urls, found)
                    sent.append("findings")
                failures = [alerts.FailedCrawl(o.marketplace, o.status, _with_since(db, o)) for o in failed]
                if (failure := alerts.failure_alert(config, failures, len(outcomes))) is not None:
                    alerts.deliver(db, config.alerts.urls, failure)
                    sent.append("failure")
            if stopped:
                run.status = JobRunStatus.STOPPED
            elif outcomes and len(failed) == len(outcomes):
                run.status = JobRunStatus.FAILED
            elif failed or any(o.status != RunStatus.OK.value for o in outcomes):
                run.status = JobRunStatus.PARTIAL
            run.summary = "; ".join(f"{o.marketplace} {o.status}, {o.items} listings" for o in outcomes) or \
                "no marketplaces configured"
            run.detail = {"crawls": [vars(o) for o in outcomes], "alerts": sent}
            return run.detail
    except Exception as exc:
        # The job itself broke (database, configuration): say so, once.
        failure = alerts.failure_alert(config, [], 0, job_error=f"{type(exc).__name__}: {exc}")
        if failure is not None:
            with contextlib.suppress(Exception):
                alerts.deliver(db, config.alerts.urls, failure)
        raise
    finally:
        db.dispose()


# --- the other jobs ------------------------------------------------------------------------------------------

def _queued(config_path: str, db_url: str, job_id: str,
            enqueue: Callable[[Settings, Path], Any]) -> dict[str, Any]:
    """Team mode: the fire queues work for the workers; its job_run says what was queued."""
    settings = _job_settings(config_path, db_url)
    db = jobs.open_database(settings)
    try:
        with recorded(db, job_id) as run:
            done = enqueue(settings, Path(config_path))
            detail: dict[str, Any] = done if isinstance(done, dict) else {"queued": bool(done)}
            queued = detail.get("queued")
            run.summary = (f"queued {len(queued)} shards for the workers, {len(detail.get('already_waiting', []))} "
                           "already waiting" if isinstance(queued, list)
                           else "queued for the workers" if queued else "already waiting in the queue")
            run.detail = detail
            return detail
    finally:
        db.dispose()


def _queue_report(config_path: str, db_url: str, job_id: str, report: str) -> dict[str, Any]:
    return _queued(config_path, db_url, job_id,
                   lambda settings, path: workqueue.enqueue_report(settings, path, report))


def removal_check(config_path: str, db_url: str, *, queue: bool = True) -> dict[str, Any]:
    """Re-check listings under filed notices (each brand's). On PostgreSQL, with `queue`, the fire queues it for a
    worker."""
    if queue and workqueue.is_team_database(db_url):
        return _queue_report(config_path, db_url, REMOVAL_CHECK.id, "removal_check")
    return _each_brand(config_path, db_url, _removal_check)


def _removal_check(settings: Settings, config: BrandConfig) -> dict[str, Any]:
    db = jobs.open_database(settings)
    try:
        with recorded(db, REMOVAL_CHECK.id) as run:
            summary = check_removals(db, config, egress_fetcher(settings, config))
            alert = alerts.removal_alert(config, summary.notices_removed, summary.relistings)
            if alert is not None:
                alerts.deliver(db, config.alerts.urls, alert)
            run.summary = (f"{summary.checked} listings checked: {summary.gone} gone, {summary.present} still up, "
                           f"{summary.unknown} unknown; {len(summary.notices_removed)} notices removed, "
                           f"{len(summary.relistings)} relistings flagged")
            run.detail = summary.to_dict()
            if summary.unknown and summary.unknown == summary.checked:
                run.status = JobRunStatus.FAILED
            elif summary.unknown:
                run.status = JobRunStatus.PARTIAL
            return run.detail
    finally:
        db.dispose()


def weekly_digest(config_path: str, db_url: str, *, queue: bool = True) -> dict[str, Any]:
    if queue and workqueue.is_team_database(db_url):
        return _queue_report(config_path, db_url, DIGEST.id, "weekly_digest")
    return _each_brand(config_path, db_url, _weekly_digest)


def _weekly_digest(settings: Settings, config: BrandConfig) -> dict[str, Any]:
    db = jobs.open_database(settings)
    try:
        with recorded(db, DIGEST.id) as run:
            delivered = alerts.deliver(db, config.alerts.urls, alerts.digest_alert(db, config, utcnow()))
            run.status = JobRunStatus.OK if delivered else JobRunStatus.FAILED
            run.summary = "digest sent" if delivered else "digest not delivered (see alert_log)"
            return {"delivered": delivered}
    finally:
        db.dispose()


def watchdog(config_path: str, db_url: str) -> dict[str, Any]:
    """Alert once per spell when a marketplace has had no crawl in the expected window. Not recorded as a job
    run (it fires every few minutes); the alert it sends is."""
    return _each_brand(config_path, db_url, _watchdog)


def _watchdog(settings: Settings, config: BrandConfig) -> dict[str, Any]:
    db = jobs.open_database(settings)
    try:
        now = utcnow()
        states = marketplace_states(db, [m.name for m in config.marketplaces])
        late = overdue_marketplaces(states, timedelta(hours=config.schedule.expected_within_hours),
                                    scheduler_state(db, now).since, now)
        alert = alerts.overdue_alert(config, [alerts.Overdue(s.name, s.last_started, s.last_run_id) for s in late])
        if alert is not None:
            alerts.deliver(db, config.alerts.urls, alert)
        cluster = cluster_status(db, settings.worker_stalled_after_s)
        stalled = cluster.stalled_workers if cluster is not None else []
        for worker in stalled:  # one that stopped answering while idle (one holding a job is alerted by the others)
            alerts.deliver(db, config.alerts.urls, alerts.Alert(
                "failure", f"BrandPatrol: worker {worker['id']} stopped answering",
                f"Worker {worker['id']} has sent no heartbeat since {worker['last_heartbeat']:%Y-%m-%d %H:%M} UTC.",
                dedupe_key=f"stalled:{worker['id']}"))
        done: dict[str, Any] = {"overdue": [s.name for s in late]}
        if cluster is not None:  # team mode
            done["stalled_workers"] = [w["id"] for w in stalled]
        return done
    finally:
        db.dispose()


JOB_FUNCTIONS = {NIGHTLY.id: nightly, REMOVAL_CHECK.id: removal_check, DIGEST.id: weekly_digest,
                 WATCHDOG.id: watchdog}


# --- the scheduler -------------------------------------------------------------------------------------------

def _record_not_started(db: Database, event: JobEvent) -> None:
    """Fires APScheduler did not run: skipped (the previous run still going) or missed (past the grace time)."""
    if event.job_id == WATCHDOG.id:
        return
    if event.code == EVENT_JOB_MAX_INSTANCES:
        status, times = JobRunStatus.SKIPPED, list(getattr(event, "scheduled_run_times", []))
        summary = "not started: the previous run was still going (max_instances=1)"
    else:
        status, times = JobRunStatus.MISSED, [getattr(event, "scheduled_run_time", None)]
        summary = "not started: the scheduler was down past the misfire grace time"
    logger.warning("job %s %s", event.job_id, summary)
    now = utcnow()
    with db.session() as session:
        for when in times or [None]:
            session.add(JobRun(job_id=event.job_id, scheduled_for=when, started_at=now, finished_at=now,
                               status=status, summary=summary))


def build_scheduler(settings: Settings, config_path: Path,
                    scheduler_class: type[BaseScheduler] = BackgroundScheduler) -> BaseScheduler:
    """A scheduler with every enabled job of the configuration, not yet started (a file listing several brands:
    the first brand's schedule times every brand's jobs)."""
    config = load_brands(config_path)[0]
    db_url = jobs.absolute_db_url(settings.db)
    db = jobs.open_database(settings)  # migrated before the job store touches the database
    zone = config.schedule.timezone
    scheduler = scheduler_class(
        # Our engine, so the job store gets SQLite's WAL mode and busy timeout like every other writer.
        jobstores={"default": SQLAlchemyJobStore(engine=make_engine(db_url), tablename=JOBS_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": int(config.schedule.misfire_grace_hours * 3600)},
        timezone=zone,
    )
    # replace_existing alone would recompute each job's next fire from now, silently dropping a fire missed while
    # the scheduler was down; a stored fire time already past is kept, so APScheduler runs it (coalesced, within
    # the misfire grace time) or records it missed.
    stored = next_fire_times(db)
    now = utcnow()
    for spec in JOB_SPECS:
        cron = spec.cron(config)
        if cron is None:
            continue
        pending = stored.get(spec.id)
        keep = {"next_run_time": pending} if pending is not None and pending < now else {}
        scheduler.add_job(JOB_FUNCTIONS[spec.id], cron_trigger(cron, zone), id=spec.id,
                          name=spec.description, args=[str(config_path.resolve()), db_url], replace_existing=True,
                          **keep)
    scheduler.add_listener(lambda event: _record_not_started(db, event), EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
    return scheduler


def prune_jobs(scheduler: BaseScheduler, config: BrandConfig) -> list[str]:
    """Remove stored jobs the configuration no longer enables (an emptied digest_cron, say)."""
    enabled = {spec.id for spec in JOB_SPECS if spec.cron(config) is not None}
    removed = []
    for job in scheduler.get_jobs():
        if job.id not in enabled:
            scheduler.remove_job(job.id)
            removed.append(job.id)
    return removed


def close_interrupted_runs(db: Database) -> int:
    """Job runs a previous scheduler left running (it was killed): we hold the lease, so none is running."""
    with db.session() as session:
        result = session.execute(update(JobRun).where(JobRun.status == JobRunStatus.RUNNING).values(
            status=JobRunStatus.FAILED, finished_at=utcnow(), summary="the scheduler stopped while this ran"))
        return int(getattr(result, "rowcount", 0) or 0)


def run_scheduler(settings: Settings, config_path: Path, *, lease_stale_after: timedelta | None = None) -> int:
    """Run until SIGTERM/SIGINT; 0 after a clean stop, 1 when another scheduler holds the database."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_brands(config_path)[0]
    db = jobs.open_database(settings)
    lease = SchedulerLease(db, stale_after=lease_stale_after or LEASE_STALE_AFTER)
    try:
        lease.acquire()
    except SchedulerLocked as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    stop = threading.Event()
    lost: list[str] = []
    shutdown_requested.clear()

    def request_stop(reason: str) -> None:
        logger.warning("stopping: %s", reason)
        shutdown_requested.set()
        stop.set()

    def lease_lost(reason: str) -> None:
        lost.append(reason)
        request_stop(f"the scheduler lease was lost: {reason}")

    signal.signal(signal.SIGTERM, lambda signum, _frame: request_stop(signal.Signals(signum).name))
    signal.signal(signal.SIGINT, lambda signum, _frame: request_stop(signal.Signals(signum).name))
    scheduler: BaseScheduler | None = None
    lease.start_heartbeat(lease_lost)
    try:
        if workqueue.is_team_database(settings.db) and workqueue.ensure_queue_schema(db):
            logger.info("created the work queue's tables (procrastinate's schema); start `brandpatrol worker`s")
        if (closed := close_interrupted_runs(db)):
            logger.warning("%d job run(s) left running by a previous scheduler marked failed", closed)
        scheduler = build_scheduler(settings, config_path)
        scheduler.start()
        for job_id in prune_jobs(scheduler, config):
            logger.info("removed job %s: the configuration no longer enables it", job_id)
        for job in scheduler.get_jobs():
            logger.info("job %s next fires at %s", job.id, getattr(job, "next_run_time", None))
        logger.info("scheduler running (pid %s); SIGTERM or Ctrl-C stops it", lease.pid)
        while not stop.wait(timeout=60):
            pass
        logger.info("waiting for running jobs to finish ...")
        scheduler.shutdown(wait=True)
        scheduler = None
    finally:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=True)
        lease.release()
        db.dispose()
    logger.info("scheduler stopped")
    return 1 if lost else 0
