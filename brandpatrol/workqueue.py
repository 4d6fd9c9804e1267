"""Team mode's work queue: procrastinate's app on the team's PostgreSQL, its schema, and what the scheduler queues
there. The jobs are in brandpatrol/team.py, the worker that runs them in brandpatrol/worker.py. A process that only
queues work (the scheduler, tests, benchmarks) binds no task: jobs are queued by name with DEFER_OPTIONS.

A marketplace's shards (core/shards.py) are queued with the job lock `crawl:<marketplace>#<slot>`, so the shards of
one slot run one after another on the whole cluster, and a queueing lock per shard, so a shard never waits twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text
from sqlalchemy.engine import make_url

from brandpatrol import jobs
from core.config import load_config
from core.db import Database
from core.settings import Settings
from core.shards import Shard, shards_of

logger = logging.getLogger(__name__)

# Bump when a job's arguments change meaning: a worker refuses jobs queued by a scheduler of another version.
JOB_VERSION = 1
MAX_ATTEMPTS = 3
QUEUES = ("crawl", "match", "networks", "reports")
SCHEMA_LOCK = 7_301_013  # pg_advisory_lock key: one process applies the queue's schema


class TeamModeError(RuntimeError):
    """Team mode cannot start, with what to do about it."""


class WrongVersion(RuntimeError):
    """A job queued by a BrandPatrol whose jobs this worker cannot run."""


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


# Where each job goes, and its locks: the tasks below declare the same; `defer` applies them by name, so a process
# that only queues work (the scheduler, tests) needs no task bound to its app.
DEFER_OPTIONS: dict[str, dict[str, Any]] = {
    "crawl_shard": {"queue": "crawl"},
    "match_listings": {"queue": "match"},
    "settle_networks": {"queue": "networks", "lock": "networks"},
    "removal_check": {"queue": "reports", "queueing_lock": "removal_check"},
    "weekly_digest": {"queue": "reports", "queueing_lock": "weekly_digest"},
}


def build_app(db_url: str) -> procrastinate.App:
    """An app that queues jobs (by task name, see `defer`) on the database."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(db_url)))


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


def crawl_lock(shard: Shard) -> str:
    return f"crawl:{shard.marketplace}#{shard.slot}"


def defer_shard(app: procrastinate.App, config: str, shard: Shard, *, schedule_in: float | None = None) -> bool:
    """Queue one shard's crawl; False when it is already waiting."""
    return defer(app, "crawl_shard", schedule_in=schedule_in,
                 options={"lock": crawl_lock(shard), "queueing_lock": f"crawl:{shard.marketplace}:{shard.key}"},
                 config=config, marketplace=shard.marketplace, shard=shard.key)


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
