"""Team mode on a real PostgreSQL with real worker processes (`brandpatrol worker`, the command line of
deploy/brandpatrol-worker.service): shards crawled across workers, one worker SIGKILLed mid-shard, politeness held
across the cluster, a job failing three times parked and alerted."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text

from brandpatrol import scheduler, team, workqueue
from core.config import ConfigError, load_config
from core.db import Database
from core.models import AlertRecord, CrawlRun, JobRun, JobRunStatus, Listing, Marketplace, RunStatus, utcnow
from core.operations import format_status, gather_status
from core.settings import get_settings
from core.shards import shards_of
from crawler.context import build_context
from dashboard import present
from tests.crawl_kit import SELECTORS, item_page, search_page
from tests.loopback import LocalServer, QuietHandler, reply

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parent.parent
TERMS = ["t0", "t1", "t2", "t3"]
PER_TERM = 3
DELAY = 0.2  # download_delay
SLOW_ITEM_S = 0.1
WORKER_ENV = {  # short heartbeats and stall timeout so a killed worker is noticed in seconds
    "BRANDPATROL_WORKER_HEARTBEAT_S": "0.5", "BRANDPATROL_WORKER_STALLED_AFTER_S": "3",
    "BRANDPATROL_WORKER_POLL_S": "0.5", "BRANDPATROL_JOB_RETRY_WAIT_S": "0",
    "BRANDPATROL_OCR_ENABLED": "false",  # no photos here; loading the OCR models costs seconds per match job
}


class ShardedShop(LocalServer):
    """Search pages per term (`/search?q=t1` lists items 1-0 .. 1-3) and slow item pages; every request is logged
    with its time and the shard it belongs to."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, str]] = []  # (monotonic time, shard term, path)
        self.lock = threading.Lock()
        shop = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/search":
                    term = query.removeprefix("q=")
                    body = search_page(*(f"{term[1:]}-{i}" for i in range(PER_TERM)))
                elif path.startswith("/item/"):
                    item = path.rsplit("/", 1)[1]
                    term = f"t{item.split('-')[0]}"
                    time.sleep(SLOW_ITEM_S)  # the server is slow, so a shard is caught mid-way
                    body = item_page(f"Acme widget {item}")
                else:
                    self.send_error(404)
                    return
                with shop.lock:
                    shop.log.append((time.monotonic(), term, path))
                reply(body)(self)

        super().__init__(Handler)

    def hits(self) -> list[tuple[float, str, str]]:
        with self.lock:
            return sorted(self.log)


def write_config(path: Path, base_url: str, **marketplace: Any) -> Path:
    host = base_url.split("//", 1)[1]
    data = {
        "brand": {"name": "Acme"},
        "products": [{"sku": "A-1", "names": {"en": "Acme Widget"},
                      "prices": [{"currency": "USD", "suggested": 100, "floor": 80}]}],
        "marketplaces": [{"name": "shop", "spider": "configured", "base_url": base_url,
                          "search_url": base_url + "/search?q={query}", "search_terms": TERMS, "currency": "USD",
                          "id_from_url": r"/item/([\w-]+)", "selectors": SELECTORS, "download_delay": DELAY,
                          "autothrottle": False, "obey_robots": False, "retries": 0, **marketplace}],
        "egress": {"allow_private_hosts": [host]},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def worker_command() -> list[str]:
    """The worker's command line as deploy/brandpatrol-worker.service runs it, from this checkout's Python."""
    unit = (ROOT / "deploy" / "brandpatrol-worker.service").read_text(encoding="utf-8")
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    executable, *args = shlex.split(line.removeprefix("ExecStart="))
    assert executable.endswith("/bin/brandpatrol")
    return [sys.executable, "-m", "brandpatrol.cli", *args]


@contextmanager
def workers(count: int, db_url: str, config: Path, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, **WORKER_ENV, "BRANDPATROL_DB": db_url, "BRANDPATROL_CONFIG": str(config),
           "PYTHONPATH": str(ROOT)}
    with ExitStack() as stack:
        procs = []
        for n in range(count):
            log = stack.enter_context((tmp_path / f"worker{n}.log").open("wb"))
            procs.append(subprocess.Popen(worker_command(), env=env, cwd=tmp_path, stdout=log,
                                          stderr=subprocess.STDOUT))
        try:
            yield procs
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def wait_until(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def jobs_by_status(db: Database, task: str) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name = :t "
                                 "GROUP BY status"), {"t": f"brandpatrol:{task}"})
        return {str(row[0]): int(row[1]) for row in rows}


def shards_done(db: Database) -> int:
    with db.read() as session:
        return len(set(session.scalars(select(CrawlRun.shard).where(CrawlRun.status == RunStatus.OK))))


def running_shard(db: Database) -> tuple[int, str] | None:
    """(pid of the worker, shard term) of a crawl attempt now running, as its job_run row records it."""
    with db.read() as session:
        for row in session.scalars(select(JobRun).where(JobRun.job_id.like("team:%:crawl shop%"),
                                                        JobRun.finished_at.is_(None))):
            where = str((row.detail or {}).get("where", ""))
            return int(where.rsplit(" ", 1)[1]), row.job_id.rsplit("term:", 1)[1]
    return None


def test_two_workers_crawl_four_shards_one_killed_mid_shard(postgres_url: str, tmp_path: Path) -> None:
    with ShardedShop() as shop:
        config = write_config(tmp_path / "brandpatrol.yaml", shop.base_url)
        db = Database(postgres_url)
        workqueue.ensure_queue_schema(db)
        assert not workqueue.ensure_queue_schema(db)  # applied once; a second call changes nothing
        with workers(2, postgres_url, config, tmp_path) as procs:
            detail = scheduler.nightly(str(config), postgres_url)  # the scheduler's fire, on PostgreSQL: queue
            assert sorted(detail["queued"]) == [f"shop term:{t}" for t in TERMS]

            def mid_shard() -> tuple[int, str] | None:
                current = running_shard(db)
                if current is None:
                    return None
                items = [p for _, term, p in shop.hits() if term == current[1] and p.startswith("/item/")]
                return current if items else None

            pid, killed_term = wait_until("a worker in the middle of a shard", mid_shard)
            victim = next(p for p in procs if p.pid == pid)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed_at = time.monotonic()
            wait_until("every shard crawled", lambda: set(jobs_by_status(db, "crawl_shard")) == {"succeeded"}
                       and shards_done(db) == len(TERMS))
            wait_until("matching and networks done", lambda: set(jobs_by_status(db, "match_listings"))
                       == {"succeeded"} and set(jobs_by_status(db, "settle_networks")) == {"succeeded"})

        with db.read() as session:
            ids = sorted(session.scalars(select(Listing.external_id)))
            runs = session.execute(select(CrawlRun.shard, CrawlRun.status, CrawlRun.errors)
                                   .order_by(CrawlRun.id)).all()
            alerts = list(session.scalars(select(AlertRecord.title)))
            failed_attempts = list(session.scalars(select(JobRun.summary).where(
                JobRun.job_id.like("team:%:crawl shop%"), JobRun.status == JobRunStatus.FAILED)))
            settled = list(session.scalars(select(JobRun.detail).where(JobRun.job_id.like("team:%:seller networks"))
                                           .order_by(JobRun.id)))
        # One network job per match job: the first builds the networks, the others join their listings to them.
        assert len(settled) >= 2 and not settled[0]["networks_incremental"], settled
        assert all(d["networks_incremental"] for d in settled[1:]), settled
        # The queue's lock kept the shards apart: the only failed attempt is the killed one (without the lock,
        # workers start shards the crawl lease then refuses).
        assert len(failed_attempts) == 1 and "stopped answering" in failed_attempts[0], failed_attempts
        # Every listing stored exactly once (the killed shard's rerun upserted what it had stored).
        assert ids == sorted(f"{t[1:]}-{i}" for t in TERMS for i in range(PER_TERM))
        # The killed shard ran again: its first run closed as interrupted, the rerun ok.
        killed = [(status, errors) for shard, status, errors in runs if shard == f"term:{killed_term}"]
        assert [s for s, _ in killed] == [RunStatus.FAILED, RunStatus.OK], runs
        assert "interrupted" in killed[0][1]
        assert [s for shard, s, _ in runs if shard != f"term:{killed_term}"] == [RunStatus.OK] * 3
        assert any("stopped answering" in title for title in alerts), alerts

        # Politeness: with parallel_shards 1 the shards ran one after another across both workers (the killed
        # shard's requests stop at the kill and resume after it), and no two requests came closer than Scrapy's
        # randomised download delay (0.5-1.5 x) allows; a switch of shard waited the full delay.
        hits = shop.hits()
        spells = Counter(term for n, (_, term, _) in enumerate(hits) if n == 0 or hits[n - 1][1] != term)
        assert set(spells) == set(TERMS) and all(n == 1 for term, n in spells.items() if term != killed_term), spells
        before_kill = [term for when, term, _ in hits if when < killed_at]
        assert before_kill[-1] == killed_term
        for (t1, term1, _), (t2, term2, _) in itertools.pairwise(hits):
            assert t2 - t1 >= (DELAY if term1 != term2 else DELAY * 0.5) - 0.02, (term1, term2, t2 - t1)

        # The status report shows the queue and the worker that stopped answering.
        report = gather_status(db, None, stalled_after_s=3)
        assert report.cluster is not None and report.cluster.counts.get("succeeded", 0) >= 4
        assert any(f"worker {w['id']} stopped answering" in line for w in report.cluster.stalled_workers
                   for line in report.overdue)
        assert "work queue:" in format_status(report)
        db.dispose()


def test_sigterm_finishes_the_page_batch_and_requeues_the_shard(postgres_url: str, tmp_path: Path) -> None:
    with ShardedShop() as shop:
        config = write_config(tmp_path / "brandpatrol.yaml", shop.base_url, search_terms=["t0"])
        settings = get_settings().model_copy(update={"db": postgres_url, "config": config})
        db = Database(postgres_url)
        workqueue.ensure_queue_schema(db)
        workqueue.enqueue_night(settings, config)
        with workers(1, postgres_url, config, tmp_path) as (first,):
            wait_until("the shard under way", lambda: any(p.startswith("/item/") for _, _, p in shop.hits()))
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=60) == 0
        with db.read() as session:
            stopped = session.execute(select(CrawlRun.status, CrawlRun.finished_at, CrawlRun.items)).one()
        assert stopped.status != RunStatus.RUNNING and stopped.finished_at is not None  # the crawl closed its run
        assert jobs_by_status(db, "crawl_shard") == {"succeeded": 1, "todo": 1}  # and its shard went back
        with workers(1, postgres_url, config, tmp_path):
            wait_until("the shard crawled", lambda: jobs_by_status(db, "crawl_shard") == {"succeeded": 2})
        with db.read() as session:
            assert sorted(session.scalars(select(Listing.external_id))) == [f"0-{i}" for i in range(PER_TERM)]
            assert [r.status for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))][-1] == RunStatus.OK
        db.dispose()


def test_a_job_failing_three_times_is_parked_and_alerted(postgres_url: str, tmp_path: Path) -> None:
    with ShardedShop() as shop:
        config = write_config(tmp_path / "brandpatrol.yaml", shop.base_url)
    settings = get_settings().model_copy(update={"db": postgres_url, "config": config})
    db = Database(postgres_url)
    workqueue.ensure_queue_schema(db)
    with workqueue.opened(settings) as app:
        # A digest whose configuration is gone fails every attempt; a job queued by another release is refused.
        workqueue.defer(app, "weekly_digest", config=str(tmp_path / "moved.yaml"))
        workqueue.defer(app, "removal_check", config=str(config), version=workqueue.JOB_VERSION + 1)
    with workers(1, postgres_url, config, tmp_path):
        wait_until("both jobs parked", lambda: jobs_by_status(db, "weekly_digest") == {"failed": 1}
                   and jobs_by_status(db, "removal_check") == {"failed": 1})
    with db.read() as session:
        attempts = list(session.execute(select(JobRun.job_id, JobRun.summary).where(
            JobRun.job_id.like("team:%")).order_by(JobRun.id)))
        alerts = list(session.scalars(select(AlertRecord.body).where(AlertRecord.kind == "failure")))
    digests = [summary for job, summary in attempts if "weekly digest" in job]
    assert len(digests) == 3 and all("moved.yaml" in s for s in digests), digests
    assert digests[-1].startswith("parked after 3 attempts: ConfigError")
    refused = [summary for job, summary in attempts if "removal check" in job]
    assert len(refused) == 1 and "version" in refused[0] and "same BrandPatrol release" in refused[0]
    assert sum("parked after 3 attempts: ConfigError" in body for body in alerts) == 1
    assert any("same BrandPatrol release" in body for body in alerts)
    health = gather_status(db, None)
    report = format_status(health)
    assert "failed: #" in report and "parked after 3 attempts" in report
    assert health.cluster is not None
    shown = present.work_queue_frame(health.cluster)  # the Runs page's table
    assert sorted(shown["Task"]) == ["removal_check", "weekly_digest"] and set(shown["Status"]) == {"failed"}
    assert all(why.startswith("parked after") for why in shown["Why"])
    as_json = json.loads(json.dumps(health.to_dict()))  # `brandpatrol status --json`
    assert {job["task"] for job in as_json["cluster"]["failed"]} == {"removal_check", "weekly_digest"}
    db.dispose()


def test_a_worker_on_sqlite_says_team_mode_needs_postgresql(tmp_path: Path) -> None:
    env = {**os.environ, "BRANDPATROL_DB": f"sqlite:///{tmp_path / 'x.db'}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(worker_command(), env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert "workers need PostgreSQL" in done.stderr and "BRANDPATROL_DB=postgresql+psycopg://" in done.stderr


def test_parallel_shards_take_a_proxy_each_and_fewer_proxies_are_refused(tmp_path: Path) -> None:
    proxies = [f"http://u:p@127.0.0.1:{9000 + k}" for k in range(3)]
    config = write_config(tmp_path / "ok.yaml", "http://127.0.0.1:1", parallel_shards=3, proxies=proxies,
                          search_terms=["a", "b", "c", "d"])
    market = load_config(config).marketplaces[0]
    shards = shards_of(market)
    assert [(s.key, s.slot) for s in shards] == [("term:a", 0), ("term:b", 1), ("term:c", 2), ("term:d", 0)]
    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    for shard in shards:
        context = build_context("shop", config, db_url, shard=shard.key)
        assert context.proxy_url == proxies[shard.slot] and context.marketplace.search_terms == [shard.value]
    assert {workqueue.crawl_lock(s) for s in shards} == {"crawl:shop#0", "crawl:shop#1", "crawl:shop#2"}

    with pytest.raises(ConfigError, match="parallel_shards: 3 needs as many proxies"):
        load_config(write_config(tmp_path / "bad.yaml", "http://127.0.0.1:1", parallel_shards=3, proxies=proxies[:2]))


def test_a_shard_waits_in_the_queue_until_its_slot_had_its_download_delay(tmp_path: Path) -> None:
    proxies = [f"http://u:p@127.0.0.1:{9000 + k}" for k in range(2)]
    config = load_config(write_config(tmp_path / "c.yaml", "http://127.0.0.1:1", parallel_shards=2, proxies=proxies,
                                      download_delay=30, search_terms=["a", "b", "c"]))
    a, b, c = shards_of(config.marketplaces[0])  # slots 0, 1, 0
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    assert team.wait_for_slot(db, c, config) == 0.0  # nothing crawled yet
    with db.session() as session:
        market = Marketplace(name="shop")
        session.add(market)
        session.flush()
        session.add(CrawlRun(marketplace_id=market.id, shard=b.key, status=RunStatus.OK, finished_at=utcnow()))
    assert team.wait_for_slot(db, c, config) == 0.0  # another slot's crawl: its own proxy, no wait
    with db.session() as session:
        session.add(CrawlRun(marketplace_id=market.id, shard=a.key, status=RunStatus.OK,
                             finished_at=utcnow() - timedelta(seconds=10)))
    assert 19 <= team.wait_for_slot(db, c, config) <= 20  # its slot's last crawl ended 10 s ago: 20 s to go
    db.dispose()
