"""One scheduler per database: `brandpatrol schedule` as real processes, the lease it holds, SIGTERM, status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import create_engine, select, text, update

from brandpatrol.scheduler import NIGHTLY_JOB_ID, build_scheduler
from core.db import Database, make_engine
from core.lease import SchedulerLease, SchedulerLocked, read_holder
from core.models import CrawlRun, JobRun, JobRunStatus, RunStatus, SchedulerLock
from core.operations import JOBS_TABLE
from core.settings import get_settings
from tests.scheduler_kit import Shop, postgres_url, write_config

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The lease on both databases the project supports; a fresh PostgreSQL database for each test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'lock.db'}"
    else:
        server = request.getfixturevalue("postgres")
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = server.rsplit("/", 1)[0] + "/" + name
    database = Database(url)
    yield database
    database.dispose()


def test_second_lease_refused_until_the_first_is_stale(db: Database) -> None:
    first = SchedulerLease(db)
    first.acquire()
    second = SchedulerLease(db)
    with pytest.raises(SchedulerLocked) as refused:
        second.acquire()
    assert f"pid {os.getpid()}" in str(refused.value) and "already running" in str(refused.value)
    assert first.beat()

    # The first holder stops beating (it hung, or its host died): after stale_after the lease is free.
    with db.session() as session:
        session.execute(update(SchedulerLock).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=6)))
    second.acquire()
    holder = read_holder(db)
    assert holder is not None and holder.owner == second.owner
    assert not first.beat()  # the old holder learns it lost the lease
    first.release()  # releasing a lease held by someone else changes nothing
    assert read_holder(db) is not None
    second.release()
    assert read_holder(db) is None


def test_racing_schedulers_one_wins(db: Database) -> None:
    leases = [SchedulerLease(db) for _ in range(6)]
    start = threading.Barrier(len(leases))
    won: list[str] = []
    refused: list[str] = []

    def take(lease: SchedulerLease) -> None:
        start.wait()
        try:
            lease.acquire()
            won.append(lease.owner)
        except SchedulerLocked as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=take, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(won) == 1 and len(refused) == len(leases) - 1
    holder = read_holder(db)
    assert holder is not None and holder.owner == won[0]


def test_lease_of_a_dead_process_on_this_host_is_taken_over(db: Database) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead_pid = int(finished.stdout)
    ghost = SchedulerLease(db)
    ghost.pid = dead_pid  # as if that process had taken it and been killed with -9
    ghost.acquire()
    SchedulerLease(db).acquire()
    holder = read_holder(db)
    assert holder is not None and holder.pid == os.getpid()


def test_heartbeat_reports_a_lost_lease(db: Database) -> None:
    first = SchedulerLease(db, heartbeat_every_s=0.05)
    first.acquire()
    lost = threading.Event()
    reasons: list[str] = []

    def on_lost(why: str) -> None:
        reasons.append(why)
        lost.set()

    first.start_heartbeat(on_lost)
    with db.session() as session:
        session.execute(update(SchedulerLock).values(owner="someone-else"))
    assert lost.wait(30)
    assert "took over" in reasons[0]
    first.release()


def _schedule(config: Path, db_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "brandpatrol.cli", "schedule", "-c", str(config), "--db", db_url],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "BRANDPATROL_LOG_LEVEL": "INFO"})


def test_second_scheduler_refuses_and_sigterm_stops_the_first_cleanly(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    settings = get_settings().model_copy(update={"db": db_url})
    with Shop() as shop:
        shop.gate.clear()  # the nightly crawl hangs on the search page
        config = write_config(tmp_path, shop.base_url,
                              schedule="  stop_grace_seconds: 2\n  removal_check_cron: ''\n  digest_cron: ''\n")
        # The nightly fire was missed a minute ago: the scheduler runs it as soon as it starts.
        scheduler = build_scheduler(settings, config)
        scheduler.start(paused=True)
        scheduler.shutdown(wait=True)
        store = SQLAlchemyJobStore(engine=make_engine(db_url), tablename=JOBS_TABLE)
        store.start(build_scheduler(settings, config), "default")
        job = store.lookup_job(NIGHTLY_JOB_ID)
        assert job is not None
        job._modify(next_run_time=datetime.now(UTC) - timedelta(minutes=1))
        store.update_job(job)
        store.shutdown()

        first = _schedule(config, db_url)
        try:
            assert shop.asked.wait(120), "the first scheduler never started the nightly crawl"
            second = subprocess.run(
                [sys.executable, "-m", "brandpatrol.cli", "schedule", "-c", str(config), "--db", db_url],
                cwd=REPO, capture_output=True, text=True, timeout=120)
            assert second.returncode != 0
            assert "another scheduler is already running" in second.stderr
            assert f"pid {first.pid}" in second.stderr

            first.send_signal(signal.SIGTERM)
            output, _ = first.communicate(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode == 0, output
    assert "stopping: SIGTERM" in output
    db = Database(db_url)
    with db.read() as session:
        crawl = session.scalars(select(CrawlRun)).one()
        nightly = session.scalars(select(JobRun).where(JobRun.job_id == NIGHTLY_JOB_ID)).one()
        assert session.get(SchedulerLock, "scheduler") is None  # the lease is released
    # The crawl hung past the stop grace: it was killed and its run closed, not left running.
    assert crawl.status == RunStatus.FAILED
    assert "the scheduler shut down" in crawl.errors["interrupted"]
    assert crawl.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(crawl.pid, 0)
    assert nightly.status == JobRunStatus.STOPPED and nightly.finished_at is not None
    db.dispose()


def test_status_reports_overdue_and_next_fires(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    config = write_config(tmp_path, "http://127.0.0.1:9", schedule="  cron: '30 1 * * *'\n")
    settings = get_settings().model_copy(update={"db": db_url})
    scheduler = build_scheduler(settings, config)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=True)
    db = Database(db_url)
    with db.session() as session:
        from core.models import Marketplace

        market = Marketplace(name="shop")
        session.add(market)
        session.flush()
        session.add(CrawlRun(marketplace_id=market.id, status=RunStatus.OK, pages=3, items=7,
                             started_at=datetime.now(UTC) - timedelta(hours=30)))
    db.dispose()
    result = subprocess.run([sys.executable, "-m", "brandpatrol.cli", "status", "-c", str(config), "--db", db_url,
                             "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr  # something is overdue
    report = json.loads(result.stdout)
    jobs = {job["id"]: job for job in report["jobs"]}
    assert jobs[NIGHTLY_JOB_ID]["cron"] == "30 1 * * *" and jobs[NIGHTLY_JOB_ID]["next_fire"]
    assert report["scheduler"]["running"] is False
    assert report["marketplaces"][0]["name"] == "shop" and report["marketplaces"][0]["overdue"] is True
    assert any("no scheduler is running" in line for line in report["overdue"])
    assert any("marketplace shop: no crawl since" in line for line in report["overdue"])
    text_report = subprocess.run([sys.executable, "-m", "brandpatrol.cli", "status", "-c", str(config), "--db",
                                  db_url], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "shop: ok at" in text_report.stdout and "OVERDUE" in text_report.stdout
    assert "nightly-crawl-and-match: next" in text_report.stdout
