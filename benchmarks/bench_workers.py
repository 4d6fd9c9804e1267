"""Team mode: 1 worker against 2 on the same PostgreSQL (a throwaway Debian server on 127.0.0.1), real
`brandpatrol worker` processes, the same work each time.

- Matching: synthetic listings (titles with or without the demo brand, its products, tells, clearance words; prices
  around the floors; 1-3 photos with random hashes; 400 sellers) matched by match jobs of MATCH_SHARD listings.
  The issue asks for a million; the default is 10,000 (`python -m benchmarks.bench_workers LISTINGS PAGES` for
  more): the full matching pipeline runs at some tens of listings a second per core on this loaded machine, so
  a million would take it hours per round; the speed-up does not depend on the count once jobs outnumber workers.
- Crawling: a loopback marketplace of PAGES listing pages (default 1,000; the issue's 5,000 take 4-5 minutes per
  round here) in 4 shards (start URLs) with `parallel_shards: 4`, each shard through its own loopback proxy.
- Queue overhead per job: the 1-worker round's wall time less the time the jobs' bodies ran (their job_run rows),
  per job: fetching, locking, recording and the worker's own bookkeeping.

Timed from the moment the jobs are queued (the workers are up and idle) to the last job's success. JSON:
`matching_speedup`, `crawl_speedup` (1-worker time over 2-worker time), `queue_overhead_ms_per_job`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, insert, select, text, update

from benchmarks.site import item_html
from brandpatrol import workqueue
from brandpatrol.demo import DemoServer, build_catalogue
from core.catalogue import sync_catalogue
from core.config import load_config
from core.db import Database
from core.models import Finding, ImageStatus, JobRun, Listing, ListingImage, Marketplace, Seller
from core.settings import get_settings
from core.shards import shards_of
from tests.loopback import LocalServer, QuietHandler, RecordingProxy, reply
from tests.postgres import fresh_database, postgres_server

ROOT = Path(__file__).resolve().parent.parent
LISTINGS = 10_000
PAGES = 1_000
MATCH_SHARD = 1_000
SHARDS = 4
PER_SEARCH_PAGE = 50
ENV = {"BRANDPATROL_WORKER_HEARTBEAT_S": "2", "BRANDPATROL_WORKER_STALLED_AFTER_S": "30",
       "BRANDPATROL_WORKER_POLL_S": "0.5", "BRANDPATROL_OCR_ENABLED": "false"}


@contextmanager
def workers(count: int, db_url: str, config: Path, queues: list[str], log_dir: Path) -> Iterator[None]:
    env = {**os.environ, **ENV, "BRANDPATROL_DB": db_url, "BRANDPATROL_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    args = [a for q in queues for a in ("--queue", q)]
    with ExitStack() as stack:
        procs = [subprocess.Popen([sys.executable, "-m", "brandpatrol.cli", "worker", *args], env=env,
                                  stdout=stack.enter_context((log_dir / f"w{n}-{time.time_ns()}.log").open("wb")),
                                  stderr=subprocess.STDOUT)
                 for n in range(count)]
        try:
            yield
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=120)


def _scalar(db: Database, sql: str, **params: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def wait(what: str, ready: Callable[[], bool], timeout: float = 7200) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def wait_workers(db: Database, count: int) -> None:
    wait(f"{count} workers", lambda: _scalar(db, "SELECT count(*) FROM procrastinate_workers "
                                                 "WHERE last_heartbeat > now() - interval '10 seconds'") >= count)


def queue_done(db: Database, task: str) -> bool:
    return _scalar(db, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND status IN ('todo','doing')",
                   t=f"brandpatrol:{task}") == 0


def body_seconds(db: Database, like: str) -> tuple[float, int]:
    with db.read() as session:
        rows = session.execute(select(JobRun.started_at, JobRun.finished_at).where(JobRun.job_id.like(like))).all()
    return sum((f - s).total_seconds() for s, f in rows if f is not None), len(rows)


def clear_queue(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_events"))
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        conn.execute(text("DELETE FROM procrastinate_workers"))
    with db.session() as session:
        session.execute(delete(JobRun))


# --- matching --------------------------------------------------------------------------------------------------

def fill_listings(db: Database, config_path: Path, n: int, seed: int = 13) -> list[int]:
    rng = random.Random(seed)
    config = load_config(config_path)
    names = [name for p in config.products for name in p.names.values()] or [config.brand.name]
    brand = config.brand.name
    words = ["正品", "清仓", "高仿", "1:1", "专柜同款", "适用", "台灯", "手机壳", "官方", "批号 GD240211", "包邮"]
    with db.session() as session:
        market = Marketplace(name="synthetic")
        session.add(market)
        session.flush()
        session.execute(insert(Seller), [{"marketplace_id": market.id, "seller_key": f"s{i}", "external_id": f"s{i}",
                                          "name": f"店铺{i}", "country": "CN", "region": "CN-GD"}
                                         for i in range(400)])
        sellers = list(session.scalars(select(Seller.id).where(Seller.marketplace_id == market.id)))
        rows = [{"marketplace_id": market.id, "external_id": f"L{i}", "url": f"https://synthetic.example/{i}",
                 "title": f"{rng.choice([brand, brand.upper(), ''])} {rng.choice(names)} {rng.choice(words)} {i}",
                 "seller_id": rng.choice(sellers), "price": Decimal(rng.randrange(80, 900)), "currency": "CNY",
                 "country": "CN", "content_version": 1, "matched_version": 0} for i in range(n)]
        for start in range(0, n, 5000):
            session.execute(insert(Listing), rows[start:start + 5000])
        ids = list(session.scalars(select(Listing.id).where(Listing.marketplace_id == market.id).order_by(Listing.id)))
        photos = [{"listing_id": listing, "position": k, "url": f"https://img.example/{listing}-{k}.jpg",
                   "sha256": f"{rng.getrandbits(256):064x}", "phash": f"{rng.getrandbits(64):016x}",
                   "dhash": f"{rng.getrandbits(64):016x}", "status": ImageStatus.OK}
                  for listing in ids for k in range(rng.randint(1, 3))]
        for start in range(0, len(photos), 5000):
            session.execute(insert(ListingImage), photos[start:start + 5000])
    return ids


def reset_matching(db: Database) -> None:
    with db.session() as session:
        session.execute(delete(Finding))
        session.execute(update(Listing).values(matched_version=0))


def match_round(db: Database, db_url: str, config: Path, ids: list[int], count: int, log_dir: Path) -> float:
    clear_queue(db)
    reset_matching(db)
    with workers(count, db_url, config, ["match"], log_dir):
        wait_workers(db, count)
        settings = get_settings().model_copy(update={"db": db_url, "config": config})
        started = time.monotonic()
        with workqueue.opened(settings) as app:
            for start in range(0, len(ids), MATCH_SHARD):
                workqueue.defer(app, "match_listings", config=str(config), listing_ids=ids[start:start + MATCH_SHARD])
        wait("matching", lambda: queue_done(db, "match_listings"))
        elapsed = time.monotonic() - started
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Finding)) == len(ids), "every listing matched once"
    return elapsed


# --- crawling --------------------------------------------------------------------------------------------------

class ShardedBenchShop(LocalServer):
    """SHARDS search chains (`/s/K?page=P`, 50 links a page) over disjoint listings; ~83 KB listing pages."""

    def __init__(self, pages: int):
        per_shard = max(PER_SEARCH_PAGE, pages // SHARDS)
        search_pages = per_shard // PER_SEARCH_PAGE

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("://", 1)[-1]
                path = path[path.find("/"):] if "://" in self.path else self.path
                route, _, query = path.partition("?")
                if route.startswith("/s/"):
                    shard, page = int(route.rsplit("/", 1)[1]), int(query.removeprefix("page=") or 1)
                    first = shard * per_shard + (page - 1) * PER_SEARCH_PAGE
                    links = "".join(f"<a class=item href='/item/{n}'>{n}</a>"
                                    for n in range(first, first + PER_SEARCH_PAGE))
                    more = f"<a class=next href='/s/{shard}?page={page + 1}'>next</a>" if page < search_pages else ""
                    body = f"<html><body>{links}{more}</body></html>".encode()
                elif route.startswith("/item/"):
                    body = item_html(int(route.rsplit("/", 1)[1]), False)
                else:
                    self.send_error(404)
                    return
                reply(body, "text/html; charset=utf-8")(self)

        super().__init__(Handler)
        self.listings = per_shard * SHARDS


def crawl_config(path: Path, base: str, proxies: list[str]) -> Path:
    data = {"brand": {"name": "Acme"},
            "products": [{"sku": "A-1", "names": {"en": "Acme Widget"},
                          "prices": [{"currency": "USD", "suggested": 100, "floor": 80}]}],
            "marketplaces": [{
                "name": "benchshop", "spider": "configured", "base_url": base,
                "start_urls": [f"{base}/s/{k}?page=1" for k in range(SHARDS)], "currency": "USD",
                "id_from_url": r"/item/(\d+)", "obey_robots": False, "parallel_shards": SHARDS, "proxies": proxies,
                "max_pages": 10_000, "concurrency": 8,
                "selectors": {"link": "a.item::attr(href)", "next_page": "a.next::attr(href)", "title": "h1::text",
                              "price": ".price::text", "seller": ".seller::text", "location": ".location::text"}}],
            "egress": {"allow_private_hosts": [base.split("//", 1)[1]]}}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def crawl_round(admin: str, config: Path, count: int, log_dir: Path, listings: int) -> float:
    """One round on a fresh database (nothing stored yet, as the night's first crawl)."""
    db_url = fresh_database(admin)
    db = Database(db_url)
    workqueue.ensure_queue_schema(db)
    with workers(count, db_url, config, ["crawl"], log_dir):
        wait_workers(db, count)
        settings = get_settings().model_copy(update={"db": db_url, "config": config})
        started = time.monotonic()
        with workqueue.opened(settings) as app:
            for shard in shards_of(load_config(config).marketplaces[0]):
                workqueue.defer_shard(app, str(config), shard)
        wait("crawling", lambda: queue_done(db, "crawl_shard"))
        elapsed = time.monotonic() - started
    with db.read() as session:
        stored = session.scalar(select(func.count()).select_from(Listing))
    db.dispose()
    if stored != listings:
        raise SystemExit(f"the crawl stored {stored} listings of {listings}; see the worker logs in {log_dir}")
    return elapsed


def match_rounds(admin: str, work: Path, listings: int) -> dict[str, Any]:
    db_url = fresh_database(admin)
    db = Database(db_url)
    workqueue.ensure_queue_schema(db)
    catalogue = build_catalogue()
    with DemoServer(catalogue) as server:
        config = catalogue.write_workspace(work / "demo", server.base_url)
    sync_catalogue(db, load_config(config))
    ids = fill_listings(db, config, listings)
    one = match_round(db, db_url, config, ids, 1, work)
    body, jobs_run = body_seconds(db, "team:%:match%")
    two = match_round(db, db_url, config, ids, 2, work)
    db.dispose()
    return {"listings": listings, "match_jobs": jobs_run, "matching_1_worker_s": round(one, 2),
            "matching_2_workers_s": round(two, 2), "matching_speedup": round(one / two, 2),
            "listings_per_s_1_worker": round(listings / one, 1),
            "queue_overhead_ms_per_job": round(1000 * (one - body) / max(jobs_run, 1), 1)}


def crawl_rounds(admin: str, work: Path, pages: int) -> dict[str, Any]:
    with ShardedBenchShop(pages) as shop, ExitStack() as stack:
        servers = [stack.enter_context(RecordingProxy("bench", f"p{k}")) for k in range(SHARDS)]
        urls = [proxy.url("bench", f"p{k}") for k, proxy in enumerate(servers)]
        config = crawl_config(work / "crawl.yaml", shop.base_url, urls)
        one = crawl_round(admin, config, 1, work, shop.listings)
        two = crawl_round(admin, config, 2, work, shop.listings)
        # Each shard went out through its own proxy: slot k's search chain only through proxy k.
        for k, proxy in enumerate(servers):
            chains = {path.split("/")[2] for path in proxy.paths() if path.startswith("/s/")}
            assert chains == {str(k)}, (k, chains)
    return {"crawl_pages": shop.listings, "crawl_1_worker_s": round(one, 2), "crawl_2_workers_s": round(two, 2),
            "crawl_speedup": round(one / two, 2), "crawl_pages_per_s_1_worker": round(shop.listings / one, 1)}


def main(listings: int = LISTINGS, pages: int = PAGES) -> dict[str, Any]:
    """Both parts (0 listings or 0 pages skips that part). The workers' logs stay in a temporary folder, named on
    failure."""
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    result: dict[str, Any] = {}
    with postgres_server() as admin:
        if listings:
            result |= match_rounds(admin, work, listings)
            print(json.dumps(result), file=sys.stderr, flush=True)
        if pages:
            result |= crawl_rounds(admin, work, pages)
    shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__":
    print(json.dumps(main(*(int(a) for a in sys.argv[1:3])), indent=2))
