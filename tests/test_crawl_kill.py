"""Killed crawls, as real processes: a crawl dies with the `brandpatrol crawl` that started it (and its browser with
it), a second crawl of a marketplace is refused while one runs, and a killed run's row says what happened and how
far it got."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from brandpatrol import jobs
from core.config import load_config
from core.models import CrawlRun, Listing, ListingSnapshot, RunStatus
from core.operations import format_status, gather_status
from core.settings import Settings, get_settings
from tests.crawl_kit import configured_shop, item_page, search_page
from tests.loopback import Route, reply
from tests.test_crawl_resume import slow

pytestmark = pytest.mark.timeout(300)
ITEMS = [f"i{n:02d}" for n in range(60)]
READY = b"<script>document.body.dataset.ready='1'</script>"
GONE_WITHIN_S = 15.0


def slow_shop(*, seconds: float = 0.25) -> dict[str, Route]:
    """60 listings, a quarter of a second each: a crawl of it runs for about 15 s, long enough to kill half way."""
    table: dict[str, Route] = {"/search": reply(search_page(*ITEMS) + READY)}
    for item in ITEMS:
        table[f"/item/{item}"] = slow(item_page(f"Acme widget {item}") + READY, seconds)
    return table


def stored(settings: Settings) -> int:
    with jobs.open_database(settings).read() as session:
        return int(session.scalar(select(func.count()).select_from(Listing)) or 0)


def wait_until_stored(settings: Settings, count: int, alive: psutil.Process) -> None:
    deadline = time.monotonic() + 120
    while stored(settings) < count:
        assert alive.is_running() and alive.status() != psutil.STATUS_ZOMBIE, "the crawl ended before the kill"
        assert time.monotonic() < deadline, f"the crawl stored fewer than {count} listings in 120 s"
        time.sleep(0.2)


def crawl_processes(parent: psutil.Process) -> list[psutil.Process]:
    return [p for p in parent.children(recursive=True) if "crawler.run" in " ".join(p.cmdline())]


def started_crawl(parent: psutil.Process) -> psutil.Process:
    """The crawl process `parent` starts, once it is there."""
    deadline = time.monotonic() + 60
    while not crawl_processes(parent):
        assert time.monotonic() < deadline, "no crawl process was started"
        time.sleep(0.1)
    return crawl_processes(parent)[0]


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@contextmanager
def brandpatrol_crawl(settings: Settings, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`brandpatrol crawl` in its own session, as an operator starts it from a shell."""
    jobs.open_database(settings).dispose()
    command = [sys.executable, "-m", "brandpatrol.cli", "crawl", "-c", str(config), "--db", settings.db]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        for child in psutil.Process().children(recursive=True):
            if child.pid != os.getpid():
                child.kill()  # what the test left behind: only if the defence failed
        proc.wait()


@pytest.mark.parametrize("javascript", [False, pytest.param(True, marks=pytest.mark.browser)],
                         ids=["http", "browser"])
def test_sigkill_of_brandpatrol_crawl_takes_its_crawl_and_browser(tmp_path: Path, javascript: bool) -> None:
    if javascript and get_settings().browser_executable() is None:
        pytest.skip("Chromium is not installed (run tools/install-system-packages.sh)")
    market = {"concurrency": 1, **({"javascript": True, "wait_for": "body[data-ready]"} if javascript else {})}
    with configured_shop(tmp_path, slow_shop(), marketplace=market) as (server, config, settings), \
            brandpatrol_crawl(settings, config) as supervisor:
        crawl = started_crawl(psutil.Process(supervisor.pid))
        wait_until_stored(settings, 5, crawl)
        family = [*crawl.children(recursive=True), crawl]
        if javascript:
            assert any("chrom" in p.name().lower() for p in family), "the crawl runs no browser"

        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait()
        _gone, still = psutil.wait_procs(family, timeout=GONE_WITHIN_S)
        assert not alive(still), f"still running {GONE_WITHIN_S:.0f} s after brandpatrol crawl was killed: " \
                                 f"{[(p.pid, p.name()) for p in alive(still)]}"
        # Nothing more is fetched or written once the crawl is gone.
        count, hits = stored(settings), sum(server.hits.values())
        time.sleep(2)
        assert (stored(settings), sum(server.hits.values())) == (count, hits)
        assert 5 <= count < len(ITEMS)

        # Nobody closed the run; its row already says how far it got.
        with jobs.open_database(settings).read() as session:
            killed = session.scalars(select(CrawlRun)).one()
            snapshots = session.scalar(select(func.count()).select_from(ListingSnapshot)
                                       .where(ListingSnapshot.crawl_run_id == killed.id))
        assert killed.status == RunStatus.RUNNING
        assert killed.items == snapshots == count
        assert killed.pages > count  # the search page and each stored listing's page

        # `brandpatrol status` sees that its crawl is gone.
        report = format_status(gather_status(jobs.open_database(settings), load_config(config)))
        assert (f"interrupted: its crawl process {crawl.pid} on this host is gone; it had fetched {killed.pages} "
                f"pages and stored {count} listings (the next crawl closes it)") in report

        # The next crawl finds it, closes it with a sentence, and resumes where it stopped.
        if not javascript:
            result = jobs.crawl_one(settings, config, "shop")
            assert result.status == RunStatus.OK, result.summary()
            with jobs.open_database(settings).read() as session:
                reason = session.get(CrawlRun, killed.id).errors["interrupted"]  # type: ignore[union-attr]
            assert reason == (f"crawl process {crawl.pid} ended unannounced (found by the next crawl); it had "
                              f"fetched {killed.pages} pages and stored {count} listings, and did not close its run")


def test_sigkill_of_the_crawl_is_recorded_with_its_counts(tmp_path: Path) -> None:
    """The crawl process itself is killed: the supervisor closes its run saying so, with the stored counts, and
    not with whatever the crawl last logged."""
    with configured_shop(tmp_path, slow_shop(), marketplace={"concurrency": 1}) as (_server, config, settings):
        jobs.open_database(settings).dispose()
        results: list[jobs.CrawlResult] = []
        supervisor = threading.Thread(target=lambda: results.append(jobs.crawl_one(settings, config, "shop")))
        supervisor.start()
        crawl = started_crawl(psutil.Process())
        wait_until_stored(settings, 8, crawl)
        crawl.send_signal(signal.SIGKILL)
        supervisor.join(timeout=60)
        [result] = results

        count = stored(settings)
        with jobs.open_database(settings).read() as session:
            run = session.scalars(select(CrawlRun)).one()
        assert run.status == RunStatus.FAILED
        assert (result.items, run.items) == (count, count)
        assert result.pages == run.pages > count
        reason = run.errors["interrupted"]
        assert reason == (f"killed (SIGKILL); it had fetched {run.pages} pages and stored {count} listings, "
                          "and did not close its run")
        assert reason in result.summary()


def held_until(release: threading.Event, body: bytes) -> Route:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        release.wait(60)
        reply(body)(handler)

    return handle


def test_second_crawl_of_a_marketplace_refused_while_one_runs(tmp_path: Path) -> None:
    release = threading.Event()  # the first crawl's listing pages wait for it: it is mid-crawl while the second tries
    routes: dict[str, Route] = {"/search": reply(search_page(*ITEMS[:10]))}
    routes.update({f"/item/{item}": held_until(release, item_page(f"Acme widget {item}")) for item in ITEMS[:10]})
    with configured_shop(tmp_path, routes, marketplace={"concurrency": 1}) as (server, config, settings), \
            brandpatrol_crawl(settings, config) as first:
        crawl = started_crawl(psutil.Process(first.pid))
        deadline = time.monotonic() + 60
        while not any(path.startswith("/item/") for path in list(server.hits)):
            assert time.monotonic() < deadline, "the first crawl never asked for a listing page"
            time.sleep(0.1)

        with pytest.raises(jobs.JobError) as refused:
            jobs.crawl_one(settings, config, "shop", timeout=60)  # refused at once; a crawl would be held here
        release.set()
        message = str(refused.value)
        assert "marketplace 'shop' is already being crawled" in message
        assert f"pid {crawl.pid} on {socket.gethostname()}" in message

        # The first crawl was not disturbed: it ends ok, its run the only one.
        assert first.wait(timeout=120) == 0
        with jobs.open_database(settings).read() as session:
            runs = session.scalars(select(CrawlRun)).all()
        assert [r.status for r in runs] == [RunStatus.OK]
        assert stored(settings) == 10
        assert jobs.crawl_one(settings, config, "shop").status == RunStatus.OK  # the lease was released
