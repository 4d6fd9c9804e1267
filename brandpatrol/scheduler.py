"""`brandpatrol schedule`: APScheduler 3 in the foreground, its jobs persisted in the project's database."""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from brandpatrol import jobs
from core.config import load_config
from core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

NIGHTLY_JOB_ID = "nightly-crawl-and-match"
MISFIRE_GRACE_S = 6 * 3600


def nightly(config_path: str, db_url: str) -> dict[str, Any]:
    """Crawl every marketplace, then match what changed. Module-level so the job store can reference it."""
    settings = get_settings().model_copy(update={"db": db_url, "config": Path(config_path)})
    results = jobs.crawl_all(settings, Path(config_path), progress=logger.info)
    for result in results:
        logger.info(result.summary())
    summary = jobs.match(settings, Path(config_path), progress=logger.info)
    logger.info("matching: %s", summary)
    return summary


def build_scheduler(settings: Settings, config_path: Path,
                    scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    config = load_config(config_path)
    db_url = jobs.absolute_db_url(settings.db)
    jobs.open_database(settings).dispose()
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(url=db_url, tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
        timezone=config.schedule.timezone,
    )
    scheduler.add_job(
        nightly,
        CronTrigger.from_crontab(config.schedule.cron, timezone=config.schedule.timezone),
        id=NIGHTLY_JOB_ID,
        name="nightly crawl of every marketplace, then matching",
        args=[str(config_path.resolve()), db_url],
        replace_existing=True,
    )
    return scheduler


def run_scheduler(settings: Settings, config_path: Path) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = build_scheduler(settings, config_path)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=True))
    config = load_config(config_path)
    trigger = CronTrigger.from_crontab(config.schedule.cron, timezone=config.schedule.timezone)
    now = datetime.now(trigger.timezone)
    logger.info("scheduler started; %s next fires at %s", NIGHTLY_JOB_ID, trigger.get_next_fire_time(None, now))
    scheduler.start()  # blocks until SIGTERM or Ctrl-C
