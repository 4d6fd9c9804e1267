"""Team mode: the nightly work as jobs in PostgreSQL (procrastinate), run by `brandpatrol worker` on any number of
hosts. `brandpatrol schedule` stays the one clock: on PostgreSQL it enqueues, on SQLite it runs the same job
functions (brandpatrol/jobs.py, brandpatrol/scheduler.py) in its own process.

Jobs:
- crawl_shard: one shard of a marketplace (core/shards.py: a search term or start URL) in its own crawl process.
  Lock `crawl:<marketplace>#<slot>`: the shards of one slot run one after another on the whole cluster, so at most
  `parallel_shards` of a marketplace run at once, each slot through its own proxy. A shard whose slot finished a
  crawl less than `download_delay` ago is put back with `schedule_in` instead of sleeping, so the delay holds
  between shards too. Queueing lock per shard: a shard is never waiting twice.
- match_listings: the listings a shard stored (new or changed), matched without the seller networks; several run
  at once.
- settle_networks: the seller networks after matching (lock and queueing lock `networks`: one at a time, at most
  one waiting).
- removal_check, weekly_digest: the scheduler's jobs of the same names.

Nothing lost, nothing twice: a job runs at most MAX_ATTEMPTS times (RetryStrategy); a worker that stops beating
its heartbeat (SIGKILL, machine gone) has its job put back by the other workers (procrastinate's stalled-job
recovery: get_stalled_jobs + retry_job, run in every worker), and the rerun upserts (one listing per marketplace and
external id) and resumes the interrupted run. A job failing its last attempt is parked (procrastinate's `failed`)
and alerted with its reason. Every attempt is a job_run row (`team:<job id>:<what>`): host, pid, error.
On SIGTERM a worker asks its crawl to finish the current page batch (Scrapy's graceful stop), closes the run and
queues the shard again, where it resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate import JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url

from brandpatrol import alerts, jobs
from core.config import BrandConfig, load_config
from core.db import Database
from core.models import CrawlRun, JobRun, JobRunStatus, Listing, Marketplace, RunStatus, as_utc, utcnow
from core.settings import Settings, get_settings
from core.shards import Shard, shards_of

logger = logging.getLogger(__name__)

# Bump when a job's arguments change meaning: a worker refuses jobs queued by a scheduler of another version.
JOB_VERSION = 1
MAX_ATTEMPTS = 3
QUEUES = ("crawl", "match", "networks", "reports")
MATCH_CHUNK = 5000  # listings per match job
SCHEMA_LOCK = 7_301_013  # pg_advisory_lock key: one process applies the queue's schema


class TeamModeError(RuntimeError):
    """Team mode cannot start, with what to do about it."""


class WrongVersion(RuntimeError):
    """A job queued by a BrandPatrol whose jobs this worker cannot run."""


class ShardFailed(RuntimeError):
    """A shard's crawl ended failed or blocked: tried again, then parked."""


def is_team_database(db_url: str) -> bool:
    return make_url(db_url).get_backend_name() == "postgresql"


def conninfo(db_url: str) -> str:
    """libpq's form of a SQLAlchemy PostgreSQL URL; SQLite is refused with the way to team mode."""
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        raise TeamModeError(
            f"workers need PostgreSQL: the database is {url.render_as_string(hide_password=True)}. Team mode keeps "
            "its jobs in the team's PostgreSQL; set BRANDPATROL_DB=postgresql+psycopg://user:pass@host/brandpatrol "
            "(or --db). With SQLite, `brandpatrol schedule` runs every job in its own process and no worker is needed")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# --- the app and its schema --------------------------------------------------------------------------------

tasks = procrastinate.Blueprint()


# Where each job goes, and its locks: the tasks below declare the same; `defer` applies them by name, so a process
# that only queues work (the scheduler, tests) needs no task bound to its app.
DEFER_OPTIONS: dict[str, dict[str, Any]] = {
    "crawl_shard": {"queue": "crawl"},
    "match_listings": {"queue": "match"},
    "settle_networks": {"queue": "networks", "lock": "networks", "queueing_lock": "networks"},
    "removal_check": {"queue": "reports", "queueing_lock": "removal_check"},
    "weekly_digest": {"queue": "reports", "queueing_lock": "weekly_digest"},
}


def build_app(db_url: str) -> procrastinate.App:
    """An app that queues jobs (by task name, see `defer`) on the database."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(db_url)))


@functools.lru_cache(maxsize=1)
def worker_app(db_url: str) -> procrastinate.App:
    """The worker's app, with the tasks (a blueprint's tasks bind to one app: one worker app per process)."""
    app = build_app(db_url)
    app.add_tasks_from(tasks, namespace="brandpatrol")
    return app


def defer(app: procrastinate.App, task: str, *, schedule_in: float | None = None, options: dict[str, Any] | None = None,
          **arguments: Any) -> bool:
    """Queue `task` with `arguments` (and this release's JOB_VERSION); False when its queueing lock says the same
    job is already waiting."""
    settings = {**DEFER_OPTIONS[task], **(options or {})}
    if schedule_in:
        settings["schedule_in"] = {"seconds": max(1, round(schedule_in + 0.5))}
    try:
        app.configure_task(f"brandpatrol:{task}", **settings).defer(**{"version": JOB_VERSION, **arguments})
    except AlreadyEnqueued:
        return False
    return True


def ensure_queue_schema(db: Database) -> bool:
    """Apply procrastinate's schema once, with procrastinate's own tooling (its SchemaManager, what `procrastinate
    schema --apply` runs); True when it was applied now. Idempotent, and safe when several workers start at once
    (a PostgreSQL advisory lock around the check and the apply)."""
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
        conn.commit()
        try:
            if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
                return False
            app = build_app(db.url)
            with app.open():
                app.schema_manager.apply_schema()
            return True
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
            conn.commit()


@contextlib.contextmanager
def opened(settings: Settings) -> Iterator[procrastinate.App]:
    """The app opened for deferring from synchronous code (the scheduler, a job deferring the next)."""
    app = build_app(settings.db)
    with app.open():
        yield app


# --- what jobs share ---------------------------------------------------------------------------------------

_worker_settings: Settings | None = None  # set by run_worker: its --db and --config win over the environment


def current_settings() -> Settings:
    return _worker_settings or get_settings()


def _retry() -> RetryStrategy:
    return RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, wait=current_settings().job_retry_wait_s)


class _Retry(RetryStrategy):
    """MAX_ATTEMPTS attempts, the wait read from the worker's settings; a job of another version is not retried
    (no worker of this version can run it)."""

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> Any:
        if isinstance(exception, WrongVersion):
            return None
        return _retry().get_retry_decision(exception=exception, job=job)


@dataclass(frozen=True)
class Attempt:
    """One attempt of a queued job, as our job_run row records it."""

    run_id: int
    job_id: int
    last: bool  # no attempt after this one


def _where() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


@contextlib.contextmanager
def attempt(db: Database, context: JobContext, what: str, version: int) -> Iterator[Attempt]:
    """Record the attempt (job_run `team:<id>:<what>`, where it runs); refuse a job of another version; on the last
    attempt's failure, alert that the job is parked, with its reason."""
    job = context.job
    assert job.id is not None
    last = job.attempts + 1 >= MAX_ATTEMPTS
    with db.session() as session:
        row = JobRun(job_id=f"team:{job.id}:{what}"[:80], started_at=utcnow(), status=JobRunStatus.RUNNING,
                     detail={"where": _where(), "attempt": job.attempts + 1, "task": job.task_name})
        session.add(row)
        session.flush()
        run_id = row.id
    status, summary = JobRunStatus.OK, "done"
    try:
        if version != JOB_VERSION:
            raise WrongVersion(
                f"job {job.id} was queued by a BrandPatrol whose jobs are version {version}; this worker runs version "
                f"{JOB_VERSION}. Run the same BrandPatrol release on the scheduler and every worker (upgrade them "
                "together), then queue the work again")
        yield Attempt(run_id, job.id, last)
    except BaseException as exc:
        status, summary = JobRunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        if last or isinstance(exc, WrongVersion):
            summary = f"parked after {job.attempts + 1} attempts: {summary}"
            _alert_parked(db, job.id, what, summary, str(job.task_kwargs.get("config") or "") or None)
        raise
    finally:
        with db.session() as session:
            session.execute(update(JobRun).where(JobRun.id == run_id).values(
                status=status, summary=summary[:1000], finished_at=utcnow()))


def _alert_urls(config: str | Path | None) -> list[str]:
    if config is None:
        return []
    try:
        return list(load_config(config).alerts.urls)
    except Exception:  # an alert about the job must not fail on the configuration it may be about
        return []


def _alert_parked(db: Database, job_id: int, what: str, why: str, config: str | None) -> None:
    alert = alerts.Alert("failure", f"BrandPatrol: job {what} parked", f"Job #{job_id} ({what}) {why}\n"
                         "It is not tried again; `brandpatrol status` lists parked jobs. Fix the cause, then queue "
                         "the work again (the next scheduled run does).", dedupe_key=f"parked:{job_id}")
    alerts.deliver(db, _alert_urls(config), alert)


@functools.lru_cache(maxsize=1)
def _worker_database(url: str) -> Database:
    return jobs.open_database(current_settings())  # migrated once, one engine for every job of the process


def _database() -> Database:
    return _worker_database(current_settings().db)


# --- crawl ---------------------------------------------------------------------------------------------------

def crawl_lock(shard: Shard) -> str:
    return f"crawl:{shard.marketplace}#{shard.slot}"


def _slot_runs(session: Any, marketplace: str, keys: list[str]) -> Any:
    return (select(func.max(CrawlRun.finished_at)).join(Marketplace, Marketplace.id == CrawlRun.marketplace_id)
            .where(Marketplace.name == marketplace, CrawlRun.shard.in_(keys)))


def wait_for_slot(db: Database, shard: Shard, config: BrandConfig) -> float:
    """Seconds until the shard's slot is polite again: `download_delay` after its last crawl ended."""
    market = config.marketplace(shard.marketplace)
    if not market.download_delay:
        return 0.0
    keys = [s.key for s in shards_of(market) if s.slot == shard.slot]
    with db.read() as session:
        ended = session.scalar(_slot_runs(session, shard.marketplace, keys))
    if ended is None:
        return 0.0
    return max(0.0, market.download_delay - (utcnow() - as_utc(ended)).total_seconds())


@contextlib.contextmanager
def _stop_on_shutdown(context: JobContext) -> Iterator[threading.Event]:
    """An event set once the worker is shutting down (SIGTERM): the crawl then finishes its page batch."""
    stop, done = threading.Event(), threading.Event()

    def watch() -> None:
        while not done.wait(0.25):
            if context.should_abort():
                stop.set()
                return

    thread = threading.Thread(target=watch, name="shutdown-watch", daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        done.set()
        thread.join(timeout=2)


@tasks.task(name="crawl_shard", queue="crawl", pass_context=True, retry=_Retry())
def crawl_shard(context: JobContext, *, config: str, marketplace: str, shard: str, version: int) -> dict[str, Any]:
    settings = current_settings()
    db = _database()
    brand = load_config(config)
    part = next((s for s in shards_of(brand.marketplace(marketplace)) if s.key == shard), None)
    with attempt(db, context, f"crawl {marketplace} {shard}", version):
        if part is None:
            raise ShardFailed(f"marketplace '{marketplace}' no longer has shard '{shard}'; nothing crawled")
        wait = wait_for_slot(db, part, brand)
        if wait > 0:
            # Politeness without sleeping in the worker: the shard waits in the queue, the worker takes other work.
            defer_shard(context.app, config, part, schedule_in=wait)
            return {"deferred_s": round(wait, 3)}
        with _stop_on_shutdown(context) as stop:
            result = jobs.crawl_one(settings, Path(config), marketplace, shard=shard, stop=stop,
                                    timeout=brand.schedule.crawl_timeout_minutes * 60,
                                    stop_grace=brand.schedule.stop_grace_seconds, progress=logger.info)
        if stop.is_set():
            defer_shard(context.app, config, part)  # the rerun resumes the run it closed
            return {"status": "stopped", "requeued": True}
        if result.status in (RunStatus.FAILED, RunStatus.BLOCKED):
            raise ShardFailed(result.summary())
        ids = listings_to_match(db, marketplace, result.run_id)
        for start in range(0, len(ids), MATCH_CHUNK):
            defer(context.app, "match_listings", config=config, listing_ids=ids[start:start + MATCH_CHUNK])
        return {"status": result.status.value, "items": result.items, "to_match": len(ids)}


def listings_to_match(db: Database, marketplace: str, run_id: int | None) -> list[int]:
    """The listings the run stored that wait for matching (new or changed since they were last matched)."""
    if run_id is None:
        return []
    with db.read() as session:
        return list(session.scalars(
            select(Listing.id).join(Marketplace, Marketplace.id == Listing.marketplace_id)
            .where(Marketplace.name == marketplace, Listing.last_run_id == run_id,
                   Listing.content_version > Listing.matched_version).order_by(Listing.id)))


def defer_shard(app: procrastinate.App, config: str, shard: Shard, *, schedule_in: float | None = None) -> bool:
    """Queue one shard's crawl; False when it is already waiting."""
    return defer(app, "crawl_shard", schedule_in=schedule_in,
                 options={"lock": crawl_lock(shard), "queueing_lock": f"crawl:{shard.marketplace}:{shard.key}"},
                 config=config, marketplace=shard.marketplace, shard=shard.key)


# --- match ---------------------------------------------------------------------------------------------------

@tasks.task(name="match_listings", queue="match", pass_context=True, retry=_Retry())
def match_listings(context: JobContext, *, config: str, listing_ids: list[int], version: int) -> dict[str, Any]:
    """Match these listings (the catalogue was synced when the work was queued); then settle the networks."""
    db = _database()
    with attempt(db, context, f"match {len(listing_ids)} listings", version):
        summary = jobs.match(current_settings(), Path(config), only=listing_ids, networks=False, sync=False, db=db)
        defer_networks(context.app, config)
        return {k: summary[k] for k in ("examined", "created", "updated", "unchanged")}


def defer_networks(app: procrastinate.App, config: str) -> None:
    defer(app, "settle_networks", config=config)  # one waiting covers every match job before it


@tasks.task(name="settle_networks", queue="networks", pass_context=True, retry=_Retry(), lock="networks",
            queueing_lock="networks")
def settle_networks(context: JobContext, *, config: str, version: int) -> dict[str, Any]:
    db = _database()
    since = _last_settled(db)
    with attempt(db, context, SETTLE_WHAT, version):
        summary = jobs.match(current_settings(), Path(config), sync=False, db=db)
        # The night's findings alert, as the in-process night sends it: what matching found since the last one.
        brand = load_config(config)
        if (found := alerts.findings_alert(db, brand, since)) is not None:
            alerts.deliver(db, brand.alerts.urls, found)
        return {k: summary[k] for k in ("examined", "seller_networks", "networks_incremental")}


SETTLE_WHAT = "seller networks"


def _last_settled(db: Database) -> datetime:
    """When the last settle_networks attempt that succeeded ended (a day ago before any)."""
    with db.read() as session:
        ended = session.scalar(select(func.max(JobRun.finished_at)).where(
            JobRun.job_id.like(f"team:%:{SETTLE_WHAT}"), JobRun.status == JobRunStatus.OK))
    return as_utc(ended) if ended is not None else utcnow() - timedelta(days=1)


# --- reports -------------------------------------------------------------------------------------------------

@tasks.task(name="removal_check", queue="reports", pass_context=True, retry=_Retry(),
            queueing_lock="removal_check")
def removal_check(context: JobContext, *, config: str, version: int) -> dict[str, Any]:
    from brandpatrol import scheduler

    with attempt(_database(), context, "removal check", version):
        return scheduler.removal_check(config, current_settings().db, queue=False)


@tasks.task(name="weekly_digest", queue="reports", pass_context=True, retry=_Retry(), queueing_lock="weekly_digest")
def weekly_digest(context: JobContext, *, config: str, version: int) -> dict[str, Any]:
    from brandpatrol import scheduler

    with attempt(_database(), context, "weekly digest", version):
        return scheduler.weekly_digest(config, current_settings().db, queue=False)


# --- what the scheduler enqueues -----------------------------------------------------------------------------

def enqueue_night(settings: Settings, config_path: Path) -> dict[str, Any]:
    """Sync the catalogue once, then queue every shard of every marketplace (a shard already waiting is left)."""
    from core.catalogue import sync_catalogue

    config = load_config(config_path)
    db = jobs.open_database(settings)
    sync = sync_catalogue(db, config)
    db.dispose()
    queued: list[str] = []
    waiting: list[str] = []
    with opened(settings) as app:
        for market in config.marketplaces:
            for shard in shards_of(market):
                (queued if defer_shard(app, str(config_path), shard) else waiting).append(
                    f"{market.name} {shard.key}")
    return {"queued": queued, "already_waiting": waiting, jobs.REFERENCE_PROBLEMS: list(sync.errors)}


def enqueue_report(settings: Settings, config_path: Path, task: str) -> bool:
    with opened(settings) as app:
        return defer(app, task, config=str(config_path))


# --- the worker ----------------------------------------------------------------------------------------------

async def _recover_stalled(app: procrastinate.App, db: Database, settings: Settings,
                           on_stalled: Callable[[int, int | None, str], None]) -> None:
    """Every poll: jobs whose worker stopped beating its heartbeat go back to the queue (or are parked when that
    was their last attempt)."""
    from procrastinate.jobs import Status

    while True:
        try:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.worker_stalled_after_s)
            for job in stalled:
                assert job.id is not None
                last = job.attempts + 1 >= MAX_ATTEMPTS
                what = f"job #{job.id} ({job.task_name} {job.task_kwargs.get('shard', '')})".strip()
                if last:
                    await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
                else:
                    await app.job_manager.retry_job(job)
                on_stalled(job.id, job.worker_id, what + (" parked: that was its last attempt" if last
                                                          else " put back in the queue"))
        except Exception:  # another worker took the same job back first, or the database blinked: next round
            logger.debug("stalled-job recovery round failed", exc_info=True)
        await asyncio.sleep(settings.worker_poll_s)


def _heartbeat_while_running(every_s: float) -> Callable[..., Any]:
    """A worker middleware that beats the worker's heartbeat while one of its jobs runs. procrastinate stops its own
    heartbeat as soon as a shutdown begins, but a crawl told to stop still finishes its page batch and closes its
    run: without this the other workers would take the job for stalled and run the shard twice meanwhile."""

    async def middleware(call_next: Callable[[], Any], context: JobContext, worker: Any) -> Any:
        worker_id = worker.worker_id

        async def beat() -> None:
            while True:
                await asyncio.sleep(every_s)
                with contextlib.suppress(Exception):  # the database blinked: the next beat
                    await worker.app.job_manager.update_heartbeat(worker_id)

        beating = asyncio.create_task(beat())
        try:
            return await call_next()
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    return middleware


def _stalled_alert(db: Database, job_id: int, worker_id: int | None, what: str) -> None:
    logger.warning("worker %s stopped answering: %s", worker_id, what)
    with db.session() as session:
        session.execute(update(JobRun).where(JobRun.job_id.like(f"team:{job_id}:%"),
                                             JobRun.status == JobRunStatus.RUNNING).values(
            status=JobRunStatus.FAILED, finished_at=utcnow(),
            summary=f"worker {worker_id} stopped answering (no heartbeat); {what}"[:1000]))
    alert = alerts.Alert("failure", f"BrandPatrol: worker {worker_id} stopped answering",
                         f"Worker {worker_id} has sent no heartbeat; {what}.",
                         dedupe_key=f"stalled:{worker_id}:{job_id}")
    alerts.deliver(db, _alert_urls(current_settings().config), alert)


def run_worker(settings: Settings, *, concurrency: int = 1, queues: list[str] | None = None) -> int:
    """Run jobs until SIGTERM/SIGINT. Refuses SQLite (team mode needs PostgreSQL)."""
    global _worker_settings
    conninfo(settings.db)  # raises TeamModeError with the fix
    _worker_settings = settings
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = _database()  # migrated
    if ensure_queue_schema(db):
        logger.info("created the work queue's tables (procrastinate's schema)")
    app = worker_app(settings.db)

    async def main() -> None:
        async with app.open_async():
            recovery = asyncio.create_task(_recover_stalled(
                app, db, settings, lambda job, worker, what: _stalled_alert(db, job, worker, what)))
            try:
                await app.run_worker_async(
                    queues=queues or list(QUEUES), concurrency=concurrency,
                    name=f"{socket.gethostname()}:{os.getpid()}",
                    update_heartbeat_interval=settings.worker_heartbeat_s,
                    stalled_worker_timeout=settings.worker_stalled_after_s,
                    fetch_job_polling_interval=settings.worker_poll_s,
                    shutdown_graceful_timeout=0,  # at once: running jobs see should_abort() and stop their crawl
                    worker_middleware=[_heartbeat_while_running(settings.worker_heartbeat_s)],
                    install_signal_handlers=True)
            finally:
                recovery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovery

    started = time.monotonic()
    logger.info("worker %s on %s, queues %s; SIGTERM stops it", _where(), make_url(settings.db).host,
                ",".join(queues or QUEUES))
    asyncio.run(main())
    logger.info("worker stopped after %s", timedelta(seconds=round(time.monotonic() - started)))
    db.dispose()
    return 0
