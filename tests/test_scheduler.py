from __future__ import annotations

from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text

from brandpatrol.scheduler import NIGHTLY_JOB_ID, build_scheduler
from core.settings import get_settings
from tests.test_config import MINIMAL


def test_nightly_job_persisted_once_with_safe_defaults(tmp_path: Path) -> None:
    config = tmp_path / "brandpatrol.yaml"
    config.write_text(MINIMAL + "schedule: {cron: '30 1 * * *', timezone: Asia/Shanghai}\n", encoding="utf-8")
    db_path = tmp_path / "s.db"
    settings = get_settings().model_copy(update={"db": f"sqlite:///{db_path}"})
    for _restart in range(2):
        scheduler = build_scheduler(settings, config, BackgroundScheduler)
        scheduler.start(paused=True)
        job = scheduler.get_job(NIGHTLY_JOB_ID)
        assert job is not None
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 3600
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        assert "hour='1'" in str(job.trigger) and "minute='30'" in str(job.trigger)
        scheduler.shutdown(wait=False)
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar() == 1
    engine.dispose()
