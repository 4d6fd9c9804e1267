"""Alerts through Apprise to real receivers on 127.0.0.1: a webhook (json://) and an SMTP server (mailto://)."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import select

from brandpatrol import alerts
from brandpatrol.scheduler import NIGHTLY_JOB_ID, build_scheduler, watchdog, weekly_digest
from core.config import load_config
from core.db import Database
from core.models import AlertRecord, CrawlRun, Marketplace, RunStatus, Verdict
from core.settings import get_settings
from tests.dashboard_support import World
from tests.scheduler_kit import MailServer, Shop, Webhook, unreachable_marketplace, write_config

pytestmark = pytest.mark.timeout(300)
QUIET = "  removal_check_cron: ''\n  digest_cron: ''\n"


def _mail_text(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(message["Subject"]), body.get_content()


def test_alerts_after_a_run_with_new_findings_and_a_failed_crawl(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    settings = get_settings().model_copy(update={"db": db_url})
    with Shop() as shop, Webhook() as hook, MailServer() as mail:
        config = write_config(tmp_path, shop.base_url, schedule=QUIET,
                              alerts=f"  urls: ['{hook.url}', '{mail.url}']\n  min_score: 0.5\n  top: 3\n",
                              extra_marketplaces=unreachable_marketplace("down"))
        scheduler = build_scheduler(settings, config)
        done = threading.Event()

        def executed(event: JobExecutionEvent) -> None:
            if event.job_id == NIGHTLY_JOB_ID:
                done.set()

        scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
        scheduler.start()
        try:
            scheduler.modify_job(NIGHTLY_JOB_ID, next_run_time=datetime.now(UTC))
            assert done.wait(240), "the nightly job did not finish"
        finally:
            scheduler.shutdown(wait=True)
        posted = sorted(hook.received(), key=lambda m: m["title"])
        mailed = sorted(_mail_text(mail.messages.get(timeout=30)) for _ in range(2))
        assert mail.messages.empty()

    # One message per event, never one per listing: two findings make one message, one failure another.
    assert len(posted) == 2
    found, failure = posted  # sorted by title
    assert found["title"] == "BrandPatrol: 2 new high-score finding(s) — 2 counterfeit"
    assert "counterfeit: 2" in found["message"] and "by marketplace: shop 2" in found["message"]
    assert found["message"].count("http://127.0.0.1:8501/detail?finding=") == 2  # the finding's own page
    assert "review queue: http://127.0.0.1:8501/queue" in found["message"]
    assert "free http:" in found["message"]  # the scraped title's text is there, its markup is not
    for markup in ("](", "<b>", "[free]"):
        assert markup not in found["message"]
    assert failure["title"] == "BrandPatrol: crawl failed — down"
    assert "1 of 2 crawl(s) failed" in failure["message"]
    assert "down: failed" in failure["message"] and "network errors" in failure["message"]
    assert "http://127.0.0.1:8501/runs" in failure["message"]

    assert [subject for subject, _ in mailed] == [found["title"], failure["title"]]
    assert "counterfeit: 2" in mailed[0][1] and "1 of 2 crawl(s) failed" in mailed[1][1]

    db = Database(db_url)
    with db.read() as session:
        records = session.scalars(select(AlertRecord).order_by(AlertRecord.id)).all()
        assert sorted(r.kind for r in records) == ["failure", "findings"]
        assert all(r.delivered and r.error is None for r in records)
    db.dispose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_undeliverable_alert_is_recorded_not_raised(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    alert = alerts.Alert("failure", "BrandPatrol: crawl failed — shop", "shop: failed")
    assert alerts.deliver(db, [f"json://127.0.0.1:{_closed_port()}/hook"], alert) is False
    assert alerts.deliver(db, [], alert) is False
    with db.read() as session:
        records = session.scalars(select(AlertRecord).order_by(AlertRecord.id)).all()
    assert [r.delivered for r in records] == [False, False]
    assert records[0].error and "no alert targets configured" in (records[1].error or "")
    db.dispose()


def _add_run(db: Database, marketplace: str, started: datetime) -> None:
    with db.session() as session:
        market = session.scalar(select(Marketplace).where(Marketplace.name == marketplace))
        if market is None:
            market = Marketplace(name=marketplace)
            session.add(market)
            session.flush()
        session.add(CrawlRun(marketplace_id=market.id, status=RunStatus.OK, started_at=started,
                             finished_at=started + timedelta(minutes=5)))


def test_overdue_alert_once_per_spell(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 's.db'}"
    with Webhook() as hook:
        config = write_config(tmp_path, "http://127.0.0.1:9", schedule="  expected_within_hours: 26\n",
                              alerts=f"  urls: ['{hook.url}']\n")
        db = Database(db_url)
        now = datetime.now(UTC)
        _add_run(db, "shop", now - timedelta(hours=2))
        assert watchdog(str(config), db_url) == {"overdue": []}
        assert hook.received() == []

        _add_run(db, "shop", now - timedelta(hours=1))
        with db.session() as session:  # pretend both runs were long ago
            for run in session.scalars(select(CrawlRun)):
                run.started_at = run.started_at - timedelta(hours=40)
        assert watchdog(str(config), db_url) == {"overdue": ["shop"]}
        assert watchdog(str(config), db_url) == {"overdue": ["shop"]}  # the same spell: no second message
        first = hook.received()
        assert len(first) == 1
        assert first[0]["title"] == "BrandPatrol: crawl overdue — shop"
        assert "no crawl started within the expected 26 hours" in first[0]["message"]

        # A crawl ran, but the schedule stopped again: a new spell, a new message.
        _add_run(db, "shop", now - timedelta(hours=30))
        assert watchdog(str(config), db_url) == {"overdue": ["shop"]}
        assert len(hook.received()) == 1
        db.dispose()


def test_weekly_digest_sums_up_the_week(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    now = datetime.now(UTC)
    world.add_finding(score=0.9, created_at=now - timedelta(days=1))
    world.add_finding(score=0.8, verdict=Verdict.DIVERSION, created_at=now - timedelta(days=2))
    world.add_finding(score=0.9, created_at=now - timedelta(days=20))  # before the week
    _add_run(world.db, "taobao", now - timedelta(days=1))
    with Webhook() as hook:
        config = write_config(tmp_path, None, alerts=f"  urls: ['{hook.url}']\n")
        db_url = str(world.db.url)
        assert weekly_digest(str(config), db_url) == {"delivered": True}
        [digest] = hook.received()
    assert digest["title"].startswith("BrandPatrol weekly digest")
    assert "taobao: 1 ok" in digest["message"]
    assert "new suspect findings: 1 counterfeit, 1 diversion" in digest["message"] or \
        "new suspect findings: 1 diversion, 1 counterfeit" in digest["message"]
    assert "waiting for review: 3" in digest["message"]
    # the waiting findings link to their own pages, highest score first
    links = [line.rsplit(" · ", 1)[1] for line in digest["message"].splitlines() if "/detail?finding=" in line]
    assert links == [f"http://127.0.0.1:8501/detail?finding={i}" for i in (1, 3, 2)], digest["message"]
    world.db.dispose()


def test_neutral_keeps_text_and_drops_markup() -> None:
    assert alerts.neutral("[click](javascript:alert(1)) <img src=x>") == "click javascript:alert 1 img src=x"
    assert alerts.neutral("露米娜\u202e精华液\x00") == "露米娜精华液"
    assert len(alerts.neutral("A" * 500)) == 80


def test_alert_urls_checked_without_echoing_secrets(tmp_path: Path) -> None:
    from core.config import ConfigError

    config = write_config(tmp_path, None, alerts="  urls: ['nosuch://token-abc123@host']\n")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert "alerts.urls" in str(refused.value) and "nosuch://..." in str(refused.value)
    assert "token-abc123" not in str(refused.value)
