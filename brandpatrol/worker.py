"""`brandpatrol worker`: run team mode's jobs (brandpatrol/team.py) from the queue (brandpatrol/workqueue.py) until
SIGTERM, put back the jobs of workers that stopped answering (procrastinate's stalled-job recovery), and keep this
worker's heartbeat while a stopping job finishes its page batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate import JobContext
from sqlalchemy import update
from sqlalchemy.engine import make_url

from brandpatrol import alerts, team
from brandpatrol.workqueue import MAX_ATTEMPTS, QUEUES, conninfo, ensure_queue_schema
from core.db import Database
from core.models import JobRun, JobRunStatus, utcnow
from core.settings import Settings

logger = logging.getLogger(__name__)


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
    alerts.deliver(db, team.alert_urls(team.current_settings().config), alert)


def run_worker(settings: Settings, *, concurrency: int = 1, queues: list[str] | None = None) -> int:
    """Run jobs until SIGTERM/SIGINT. Refuses SQLite (team mode needs PostgreSQL)."""
    conninfo(settings.db)  # raises TeamModeError with the fix
    team.use_settings(settings)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = team.worker_database()  # migrated
    if ensure_queue_schema(db):
        logger.info("created the work queue's tables (procrastinate's schema)")
    app = team.worker_app(settings.db)

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
    logger.info("worker %s on %s, queues %s; SIGTERM stops it", team.here(), make_url(settings.db).host,
                ",".join(queues or QUEUES))
    asyncio.run(main())
    logger.info("worker stopped after %s", timedelta(seconds=round(time.monotonic() - started)))
    db.dispose()
    return 0
