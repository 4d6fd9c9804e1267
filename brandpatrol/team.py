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
queues the shard again, where it resumes. The queue itself is brandpatrol/workqueue.py; the worker loop, stalled-job
recovery and heartbeat are brandpatrol/worker.py.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate import JobContext, RetryStrategy
from sqlalchemy import func, select, update

from brandpatrol import alerts, jobs
from brandpatrol.workqueue import JOB_VERSION, MAX_ATTEMPTS, WrongVersion, build_app, defer, defer_shard
from core.cluster import work_left
from core.config import BrandConfig, load_config
from core.db import Database
from core.models import CrawlRun, JobRun, JobRunStatus, Listing, Marketplace, RunStatus, as_utc, utcnow
from core.settings import Settings, get_settings
from core.shards import Shard, shards_of
from matching.network_index import STATE_PENDING, set_state

logger = logging.getLogger(__name__)

MATCH_CHUNK = 5000  # listings per match job


class ShardFailed(RuntimeError):
    """A shard's crawl ended failed or blocked: tried again, then parked."""


tasks = procrastinate.Blueprint()


@functools.lru_cache(maxsize=1)
def worker_app(db_url: str) -> procrastinate.App:
    """The worker's app, with the tasks (a blueprint's tasks bind to one app: one worker app per process)."""
    app = build_app(db_url)
    app.add_tasks_from(tasks, namespace="brandpatrol")
    return app


_worker_settings: Settings | None = None  # set by the worker: its --db and --config win over the environment


def use_settings(settings: Settings) -> None:
    """The worker's settings (its --db and --config), for every job it runs."""
    global _worker_settings
    _worker_settings = settings


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
    detail: dict[str, Any] = field(default_factory=dict)  # kept in the job_run row


def here() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


@contextlib.contextmanager
def attempt(db: Database, context: JobContext, what: str, version: int) -> Iterator[Attempt]:
    """Record the attempt (job_run `team:<id>:<what>`, where it runs); refuse a job of another version; on the last
    attempt's failure, alert that the job is parked, with its reason."""
    job = context.job
    assert job.id is not None
    last = job.attempts + 1 >= MAX_ATTEMPTS
    detail = {"where": here(), "attempt": job.attempts + 1, "task": job.task_name}
    with db.session() as session:
        row = JobRun(job_id=f"team:{job.id}:{what}"[:80], started_at=utcnow(), status=JobRunStatus.RUNNING,
                     detail=detail)
        session.add(row)
        session.flush()
        run_id = row.id
    this = Attempt(run_id, job.id, last)
    status, summary = JobRunStatus.OK, "done"
    try:
        if version != JOB_VERSION:
            raise WrongVersion(
                f"job {job.id} was queued by a BrandPatrol whose jobs are version {version}; this worker runs version "
                f"{JOB_VERSION}. Run the same BrandPatrol release on the scheduler and every worker (upgrade them "
                "together), then queue the work again")
        yield this
    except BaseException as exc:
        status, summary = JobRunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        if last or isinstance(exc, WrongVersion):
            summary = f"parked after {job.attempts + 1} attempts: {summary}"
            _alert_parked(db, job.id, what, summary, str(job.task_kwargs.get("config") or "") or None)
        raise
    finally:
        with db.session() as session:
            session.execute(update(JobRun).where(JobRun.id == run_id).values(
                status=status, summary=summary[:1000], finished_at=utcnow(), detail={**detail, **this.detail}))


def alert_urls(config: str | Path | None) -> list[str]:
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
    alerts.deliver(db, alert_urls(config), alert)


@functools.lru_cache(maxsize=1)
def _worker_database(url: str) -> Database:
    return jobs.open_database(current_settings())  # migrated once, one engine for every job of the process


def worker_database() -> Database:
    return _worker_database(current_settings().db)


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
    db = worker_database()
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


@tasks.task(name="match_listings", queue="match", pass_context=True, retry=_Retry())
def match_listings(context: JobContext, *, config: str, listing_ids: list[int], version: int) -> dict[str, Any]:
    """Match these listings (the catalogue was synced when the work was queued); then settle the networks."""
    db = worker_database()
    with attempt(db, context, f"match {len(listing_ids)} listings", version):
        summary = jobs.match(current_settings(), Path(config), only=listing_ids, networks=False, sync=False, db=db)
        # All of them, not only those examined now: a retry after a crash finds some matched already.
        defer(context.app, "settle_networks", config=config, listing_ids=listing_ids)
        return {k: summary[k] for k in ("examined", "created", "updated", "unchanged")}


@tasks.task(name="settle_networks", queue="networks", pass_context=True, retry=_Retry(), lock="networks")
def settle_networks(context: JobContext, *, config: str, listing_ids: list[int], version: int) -> dict[str, Any]:
    """The seller networks after a match job: its listings join the networks they touch (one network job at a
    time; a network job that fails for good leaves the networks marked behind, so the next recomputes them all)."""
    db = worker_database()
    since = _last_settled(db)
    with attempt(db, context, SETTLE_WHAT, version) as this:
        try:
            summary = jobs.match(current_settings(), Path(config), sync=False, db=db, network_ids=listing_ids)
        except Exception:
            if this.last:
                mark_networks_behind(db)
            raise
        this.detail.update({k: summary[k] for k in ("examined", "seller_networks", "networks_incremental")})
        # The night's findings alert, as the in-process night sends it, once the night's matching is done.
        brand = load_config(config)
        if not work_left(db, this.job_id) and (found := alerts.findings_alert(db, brand, since)) is not None:
            alerts.deliver(db, brand.alerts.urls, found)
        return this.detail


SETTLE_WHAT = "seller networks"


def mark_networks_behind(db: Database) -> None:
    """The next network update recomputes every network (this one's listings would be left out otherwise)."""
    with db.session() as session:
        set_state(session, STATE_PENDING, "1")


def _last_settled(db: Database) -> datetime:
    """When the last settle_networks attempt that succeeded ended (a day ago before any)."""
    with db.read() as session:
        ended = session.scalar(select(func.max(JobRun.finished_at)).where(
            JobRun.job_id.like(f"team:%:{SETTLE_WHAT}"), JobRun.status == JobRunStatus.OK))
    return as_utc(ended) if ended is not None else utcnow() - timedelta(days=1)


@tasks.task(name="removal_check", queue="reports", pass_context=True, retry=_Retry(),
            queueing_lock="removal_check")
def removal_check(context: JobContext, *, config: str, version: int) -> dict[str, Any]:
    from brandpatrol import scheduler

    with attempt(worker_database(), context, "removal check", version):
        return scheduler.removal_check(config, current_settings().db, queue=False)


@tasks.task(name="weekly_digest", queue="reports", pass_context=True, retry=_Retry(), queueing_lock="weekly_digest")
def weekly_digest(context: JobContext, *, config: str, version: int) -> dict[str, Any]:
    from brandpatrol import scheduler

    with attempt(worker_database(), context, "weekly digest", version):
        return scheduler.weekly_digest(config, current_settings().db, queue=False)
