"""The schedule with a real APScheduler, its job store in a real SQLite database, and real crawl processes.

Time is driven by setting a job's next fire time (to now, or to fire times in the past) and waiting on the
scheduler's own events; nothing here measures how long anything took.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import (
    EVENT_ALL,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    SchedulerEvent,
)
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import create_engine, select, text

from brandpatrol.scheduler import NIGHTLY_JOB_ID, build_scheduler
from core.config import cron_trigger
from core.db import Database, make_engine
from core.models import CrawlRun, JobRun, JobRunStatus, Marketplace, RunStatus
from core.operations import DIGEST, JOBS_TABLE, REMOVAL_CHECK, WATCHDOG
from core.settings import Settings, get_settings
from tests.scheduler_kit import Shop, Webhook, postgres_url, write_config
from tests.test_config import MINIMAL

pytestmark = pytest.mark.timeout(300)
QUIET = "  removal_check_cron: ''\n  digest_cron: ''\n"  # only the nightly job (and the watchdog) in these tests


class Events:
    """Scheduler events as they happen, to wait on."""

    def __init__(self, scheduler: BaseScheduler):
        self.seen: defaultdict[int, list[SchedulerEvent]] = defaultdict(list)
        self.changed = threading.Condition()
        scheduler.add_listener(self._record, EVENT_ALL)

    def _record(self, event: SchedulerEvent) -> None:
        with self.changed:
            self.seen[event.code].append(event)
            self.changed.notify_all()

    def of(self, code: int, job_id: str = NIGHTLY_JOB_ID) -> list[SchedulerEvent]:
        return [e for e in self.seen[code] if getattr(e, "job_id", None) == job_id]

    def wait(self, code: int, count: int = 1, job_id: str = NIGHTLY_JOB_ID, timeout: float = 200) -> None:
        with self.changed:
            done = self.changed.wait_for(lambda: len(self.of(code, job_id)) >= count, timeout)
        assert done, f"event {code} of {job_id} not seen {count} time(s); seen: {dict(self.seen)}"


def _settings(tmp_path: Path) -> Settings:
    return get_settings().model_copy(update={"db": f"sqlite:///{tmp_path / 's.db'}"})


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh database: SQLite, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return _settings(tmp_path)
    server: str = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return get_settings().model_copy(update={"db": server.rsplit("/", 1)[0] + "/" + name})


def _job_runs(settings: Settings, job_id: str = NIGHTLY_JOB_ID) -> list[JobRun]:
    db = Database(settings.db)
    with db.read() as session:
        rows = list(session.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))
    db.dispose()
    return rows


def _crawl_runs(settings: Settings, marketplace: str) -> list[CrawlRun]:
    db = Database(settings.db)
    with db.read() as session:
        rows = list(session.scalars(select(CrawlRun).join(Marketplace).where(Marketplace.name == marketplace)
                                    .order_by(CrawlRun.id)))
    db.dispose()
    return rows


def _fire_now(scheduler: BaseScheduler, job_id: str = NIGHTLY_JOB_ID) -> None:
    scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))


@pytest.fixture
def running() -> Iterator[list[BaseScheduler]]:
    """Schedulers a test started, shut down at its end whatever happens."""
    started: list[BaseScheduler] = []
    yield started
    for scheduler in started:
        if scheduler.running:
            scheduler.shutdown(wait=True)


def test_restart_no_duplicate_jobs(tmp_path: Path, any_db: Settings) -> None:
    config = tmp_path / "brandpatrol.yaml"
    config.write_text(MINIMAL + "schedule: {cron: '30 1 * * *', timezone: Asia/Shanghai}\n", encoding="utf-8")
    settings = any_db
    for _restart in range(3):
        scheduler = build_scheduler(settings, config, BackgroundScheduler)
        scheduler.start(paused=True)
        job = scheduler.get_job(NIGHTLY_JOB_ID)
        assert job is not None
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 3600
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        assert "hour='1'" in str(job.trigger) and "minute='30'" in str(job.trigger)
        assert {j.id for j in scheduler.get_jobs()} == {NIGHTLY_JOB_ID, REMOVAL_CHECK.id, DIGEST.id, WATCHDOG.id}
        scheduler.shutdown(wait=False)
    engine = create_engine(settings.db)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar() == 4

    # A changed configuration replaces the stored trigger; a job it disables leaves the store.
    from brandpatrol.scheduler import prune_jobs
    from core.config import load_config

    config.write_text(MINIMAL + "schedule: {cron: '0 3 * * *', timezone: Asia/Shanghai, digest_cron: ''}\n",
                      encoding="utf-8")
    scheduler = build_scheduler(settings, config, BackgroundScheduler)
    scheduler.start(paused=True)
    assert prune_jobs(scheduler, load_config(config)) == [DIGEST.id]
    job = scheduler.get_job(NIGHTLY_JOB_ID)
    assert job is not None and "hour='3'" in str(job.trigger)
    scheduler.shutdown(wait=False)
    with engine.connect() as connection:
        ids = {row[0] for row in connection.execute(text("SELECT id FROM apscheduler_jobs"))}
    assert ids == {NIGHTLY_JOB_ID, REMOVAL_CHECK.id, WATCHDOG.id}
    engine.dispose()


def _daily_cron_half_a_day_away(zone: str) -> tuple[str, CronTrigger]:
    """A daily cron whose next fire is about 12 hours away, so no regular fire happens during the test."""
    hour = (datetime.now(ZoneInfo(zone)).hour + 12) % 24
    cron = f"0 {hour} * * *"
    return cron, cron_trigger(cron, zone)


def _missed_twice(trigger: CronTrigger) -> tuple[datetime, datetime]:
    """The last two fire times of a daily trigger before now."""
    now = datetime.now(trigger.timezone)
    first = trigger.get_next_fire_time(None, now - timedelta(days=2))
    assert first is not None
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert second is not None and second < now
    return first, second


def _went_down_before(settings: Settings, config: Path, fire: datetime) -> None:
    """A scheduler that stored its jobs with the nightly one next due at `fire`, then stopped.

    The fire time is written through APScheduler's job store: a scheduler thread asked to stop right after
    a fire time in the past was set may still submit that fire while stopping."""
    scheduler = build_scheduler(settings, config)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=True)
    store = SQLAlchemyJobStore(engine=make_engine(settings.db), tablename=JOBS_TABLE)
    store.start(build_scheduler(settings, config), "default")
    job = store.lookup_job(NIGHTLY_JOB_ID)
    assert job is not None
    job._modify(next_run_time=fire)
    store.update_job(job)
    store.shutdown()


def test_misfire_within_grace_runs_once(tmp_path: Path, any_db: Settings, running: list[BaseScheduler]) -> None:
    cron, trigger = _daily_cron_half_a_day_away("Asia/Shanghai")
    config = write_config(tmp_path, None, schedule=f"  cron: '{cron}'\n  misfire_grace_hours: 72\n{QUIET}")
    settings = any_db
    first_missed, second_missed = _missed_twice(trigger)

    # The scheduler ran, stored its next fire (first_missed) and went down; it comes back after two fire times.
    _went_down_before(settings, config, first_missed)

    scheduler = build_scheduler(settings, config)
    events = Events(scheduler)
    running.append(scheduler)
    scheduler.start()
    events.wait(EVENT_JOB_EXECUTED)
    submitted = events.of(EVENT_JOB_SUBMITTED)
    assert len(submitted) == 1
    assert submitted[0].scheduled_run_times == [second_missed]  # coalesced: the two fires ran as one
    job = scheduler.get_job(NIGHTLY_JOB_ID)
    assert job is not None and job.next_run_time > datetime.now(UTC)
    scheduler.shutdown(wait=True)
    assert [r.status for r in _job_runs(settings)] == [JobRunStatus.OK]
    assert not events.of(EVENT_JOB_MISSED)


def test_misfire_past_grace_is_recorded_not_run(tmp_path: Path, running: list[BaseScheduler]) -> None:
    cron, trigger = _daily_cron_half_a_day_away("Asia/Shanghai")
    config = write_config(tmp_path, None, schedule=f"  cron: '{cron}'\n  misfire_grace_hours: 1\n{QUIET}")
    settings = _settings(tmp_path)
    first_missed, _ = _missed_twice(trigger)
    _went_down_before(settings, config, first_missed)

    scheduler = build_scheduler(settings, config)
    events = Events(scheduler)
    running.append(scheduler)
    scheduler.start()
    events.wait(EVENT_JOB_MISSED)
    scheduler.shutdown(wait=True)
    runs = _job_runs(settings)
    assert [r.status for r in runs] == [JobRunStatus.MISSED]
    assert "misfire grace" in runs[0].summary
    assert not events.of(EVENT_JOB_EXECUTED)


def test_overrun_skips_next(tmp_path: Path, running: list[BaseScheduler]) -> None:
    settings = _settings(tmp_path)
    with Shop() as shop:
        shop.gate.clear()  # the crawl waits on the search page until the test opens the gate
        config = write_config(tmp_path, shop.base_url, schedule=QUIET)
        scheduler = build_scheduler(settings, config)
        events = Events(scheduler)
        running.append(scheduler)
        scheduler.start()
        _fire_now(scheduler)
        assert shop.asked.wait(120), "the crawl never asked for the search page"
        _fire_now(scheduler)  # the next fire comes while the first run is still crawling
        events.wait(EVENT_JOB_MAX_INSTANCES)
        shop.gate.set()
        events.wait(EVENT_JOB_EXECUTED)
        scheduler.shutdown(wait=True)
    runs = _job_runs(settings)
    assert [r.status for r in runs] == [JobRunStatus.OK, JobRunStatus.SKIPPED]
    assert "max_instances" in runs[1].summary and runs[1].scheduled_for is not None
    assert len(events.of(EVENT_JOB_SUBMITTED)) == 1
    crawls = _crawl_runs(settings, "shop")
    assert [c.status for c in crawls] == [RunStatus.OK] and crawls[0].items == 2


def test_hung_crawl_killed(tmp_path: Path, running: list[BaseScheduler]) -> None:
    settings = _settings(tmp_path)
    with Shop() as shop, Webhook() as hook:
        shop.gate.clear()  # the search page never answers: the crawl hangs
        config = write_config(tmp_path, shop.base_url, schedule=f"  crawl_timeout_minutes: 0.25\n{QUIET}",
                              alerts=f"  urls: ['{hook.url}']\n")
        scheduler = build_scheduler(settings, config)
        events = Events(scheduler)
        running.append(scheduler)
        scheduler.start()
        _fire_now(scheduler)
        assert shop.asked.wait(120), "the crawl never asked for the search page"
        events.wait(EVENT_JOB_EXECUTED)

        crawls = _crawl_runs(settings, "shop")
        assert [c.status for c in crawls] == [RunStatus.FAILED]
        assert crawls[0].errors["interrupted"].startswith("killed at its time limit of 15 s; it had fetched 0 pages")
        assert crawls[0].pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(crawls[0].pid, 0)  # the crawl process is gone, not left hanging
        assert [r.status for r in _job_runs(settings)] == [JobRunStatus.FAILED]
        failure = hook.messages.get(timeout=30)
        assert "crawl failed" in failure["title"] and "shop" in failure["title"]
        assert "killed at its time limit of 15 s" in failure["message"]

        # The next night the marketplace answers again: nothing of the hung night is in the way.
        shop.gate.set()
        _fire_now(scheduler)
        events.wait(EVENT_JOB_EXECUTED, count=2)
        scheduler.shutdown(wait=True)
        crawls = _crawl_runs(settings, "shop")
        assert [c.status for c in crawls] == [RunStatus.FAILED, RunStatus.OK]
        assert crawls[1].items == 2
        assert [r.status for r in _job_runs(settings)] == [JobRunStatus.FAILED, JobRunStatus.OK]
        found = hook.messages.get(timeout=30)
        assert "2 new high-score finding(s)" in found["title"]
        assert hook.messages.empty()


def test_stop_lets_a_crawl_close_its_own_run(tmp_path: Path) -> None:
    """On shutdown a crawl is asked to stop: it finishes what is in flight and closes its run itself."""
    from brandpatrol import jobs

    settings = _settings(tmp_path)
    with Shop() as shop:
        shop.gate.clear()
        config = write_config(tmp_path, shop.base_url)
        stop = threading.Event()
        results: list[jobs.CrawlResult] = []
        crawl = threading.Thread(target=lambda: results.append(
            jobs.crawl_one(settings, config, "shop", stop=stop, stop_grace=120)))
        crawl.start()
        assert shop.asked.wait(120), "the crawl never asked for the search page"
        stop.set()
        shop.gate.set()  # the page in flight arrives
        crawl.join(timeout=200)
    [result] = results
    assert result.status in (RunStatus.PARTIAL, RunStatus.OK)
    assert "interrupted" not in result.errors and result.errors.get("finish_reason") in ("shutdown", "finished")
    [run] = _crawl_runs(settings, "shop")
    assert run.status == result.status and run.finished_at is not None
