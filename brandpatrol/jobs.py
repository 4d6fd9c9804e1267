"""The jobs behind the CLI and the scheduler: crawl, match, report, export, parse, serve the dashboard."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

from sqlalchemy import select
from sqlalchemy.engine import make_url

from core.config import BrandConfig, Thresholds, load_brands, load_config
from core.db import Database
from core.export import write_csv, write_xlsx
from core.item_pages import card_only_by_marketplace
from core.models import (
    SUSPECT_VERDICTS,
    CrawlRun,
    Finding,
    Listing,
    Marketplace,
    RunStatus,
    Seller,
)
from core.money import tidy
from core.privacy import redact as redact_value
from core.reviews import confirmed_finding_ids, latest_decisions
from core.scope import command_scope
from core.settings import Settings
from crawler.exits import EXIT_NOT_STARTED, STATUS_OF_EXIT
from crawler.item_stage import item_stage_plan
from crawler.storage import fail_open_runs

Progress = Callable[[str], None]


class JobError(RuntimeError):
    """A job that cannot run, with what to do about it."""


def echo_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quiet(_message: str) -> None:
    return None


def absolute_db_url(url: str) -> str:
    """SQLite paths made absolute, so child processes in another directory open the same file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return parsed.set(database=str(Path(parsed.database).expanduser().resolve())).render_as_string(
            hide_password=False)
    return url


def open_database(settings: Settings) -> Database:
    """The install's database, seen whole: for install-wide work (accounts, crawls, schedules, seller data)."""
    return Database(absolute_db_url(settings.db))


def brand_configs(settings: Settings, config_path: Path) -> list[BrandConfig]:
    """The brands a command works for: the one of --brand, else every brand of the configuration file."""
    return [load_config(config_path, settings.brand)] if settings.brand else load_brands(config_path)


def open_scoped(settings: Settings) -> Database:
    """The database as a brand's command sees it (core/scope.py): --brand, else the configuration's one brand,
    else the database's only brand; a database of several brands and no choice is a ScopeError."""
    db = open_database(settings)
    configured = None
    if settings.brand is None and settings.config is not None:
        names = [c.brand.name for c in load_brands(settings.config)]
        configured = names[0] if len(names) == 1 else None
    with db.read() as session:
        return db.scoped(command_scope(session, settings.brand, configured))


@dataclass(frozen=True)
class CrawlResult:
    marketplace: str
    status: RunStatus
    pages: int
    items: int
    seconds: float
    errors: dict[str, Any]
    stderr_tail: str
    run_id: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.OK

    def summary(self) -> str:
        line = (f"{self.marketplace}: {self.status.value} — {self.pages} pages, {self.items} listings "
                f"in {self.seconds:.1f} s")
        if self.errors.get("interrupted"):
            line += f"\n  {self.errors['interrupted']}"
        elif self.status == RunStatus.BLOCKED:
            line += (f"\n  the marketplace refused the crawl: {self.errors.get('blocked', 'see the run')}; the page is"
                     f" kept as evidence and no listing was marked gone. Sign in by hand and export cookies"
                     f" (cookie_file), or try later.")
        elif self.status == RunStatus.FAILED:
            line += (f"\n  no page could be fetched or the crawl could not start; stored listings are untouched."
                     f"\n  check the marketplace's base_url/search_url and that the site is reachable."
                     f"\n  {self.stderr_tail}")
        elif self.status == RunStatus.PARTIAL:
            line += f"\n  some pages failed: {json.dumps(self.errors, ensure_ascii=False)[:400]}"
        stages = item_pages_line(self.stats)
        if stages:
            line += f"\n  {stages}"
        return line


def item_pages_line(stats: dict[str, Any]) -> str | None:
    """What a run says about item pages: a first stage that kept cards (and a budget of 0: cards only), or a
    second stage's item pages within and past the budget."""
    if stats.get("brandpatrol/stage") == "items":
        return (f"item pages: {stats.get('brandpatrol/item_pages/within_budget', 0)} fetched of "
                f"{stats.get('brandpatrol/item_pages/wanted', 0)} wanted (budget "
                f"{stats.get('brandpatrol/item_pages/budget')}), {stats.get('brandpatrol/item_pages/over_budget', 0)}"
                f" left for later, {stats.get('brandpatrol/item_pages/unchanged_card', 0)} unchanged since captured")
    if stats.get("brandpatrol/item_pages/mode") != "relevant" or not (
            stats.get("brandpatrol/cards/kept") or stats.get("brandpatrol/item_pages/note")):
        return None
    line = (f"listings from search cards: {stats.get('brandpatrol/cards/kept', 0)} kept, "
            f"{stats.get('brandpatrol/cards/skipped', 0)} skipped (no id or link)")
    note = stats.get("brandpatrol/item_pages/note")
    return f"{line}; {note}" if note else line


def _last_run(db: Database, marketplace: str, shard: str | None = None) -> CrawlRun | None:
    with db.read() as session:
        query = select(CrawlRun).join(Marketplace).where(Marketplace.name == marketplace)
        if shard is not None:
            query = query.where(CrawlRun.shard == shard)
        return session.scalar(query.order_by(CrawlRun.id.desc()).limit(1))


def _forward(stream: IO[str], marketplace: str, progress: Progress, tail: deque[str]) -> None:
    """Relay the crawl's periodic page counts as progress; keep its warnings and errors for the summary.

    A log record's continuation lines (a traceback) are kept with a kept record only: an INFO record that runs over
    lines (the settings Scrapy prints at start) is not a reason anyone wants to read. Lines before any record
    (a configuration error the crawl printed before its logging started) are kept.
    """
    keeping = True
    for line in stream:
        line = line.rstrip()
        record = LOG_RECORD.match(line)
        if record is not None:
            keeping = record.group("level") in ("WARNING", "ERROR", "CRITICAL")
            if record.group("level") == "INFO" and "] INFO: Crawled " in line:
                progress(f"  {marketplace}: {line.split('] INFO: ', 1)[1]}")
        if keeping and line:
            tail.append(line[:500])


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[^\]]*\] (?P<level>[A-Z]+): ")


def _wait_crawl(proc: subprocess.Popen[str], timeout: float, stop: threading.Event | None,
                stop_grace: float) -> tuple[int, str | None]:
    """The crawl's exit status, and what we did to it when we stopped it: at `timeout` the crawl is killed with its
    browser.

    When `stop` is set (the scheduler is shutting down) the crawl gets SIGTERM, on which Scrapy finishes the
    requests in flight, writes its last batch and closes its run; still running `stop_grace` seconds later it is
    killed like a crawl past its timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _kill_group(proc)
            return proc.returncode, f"killed at its time limit of {timeout:.0f} s"
        if stop is not None and stop.is_set():
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=min(stop_grace, remaining))
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return proc.returncode, (f"killed: the scheduler shut down and the crawl did not stop within "
                                         f"{stop_grace:.0f} s")
            _kill_group(proc)  # a browser the crawl left behind
            return code, None
        try:
            return proc.wait(timeout=remaining if stop is None else min(remaining, 0.5)), None
        except subprocess.TimeoutExpired:
            continue


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the whole group has exited already
    proc.wait()


def _how_it_ended(code: int, tail: deque[str]) -> str:
    """A crawl process's unplanned end in words: the signal that killed it, or its status and last words."""
    if code < 0:
        try:
            return f"killed ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    last = tail[-1] if tail else ""
    return f"crawl process exited with status {code}" + (f" ({last[:200]})" if last else "")


def crawl_one(settings: Settings, config_path: Path, marketplace: str, *, timeout: float = 3 * 3600,
              progress: Progress | None = None, stop: threading.Event | None = None,
              stop_grace: float = 120.0, shard: str | None = None, stage: str = "search",
              listings: list[int] | None = None) -> CrawlResult:
    """Crawl one marketplace (one `shard` of it: core/shards.py; `stage` "items": the item pages the second stage
    picks, or those of `listings`) in its own process and read back the run it recorded.

    A crawl still running at `timeout` is killed with its browser, and its run is marked failed. Setting `stop`
    asks the crawl to finish its current batch and close its run (see _wait_crawl). The crawl dies with this
    process (core/children.py), so it is waited for in this thread.
    """
    db_url = absolute_db_url(settings.db)
    command = [sys.executable, "-m", "crawler.run", "--marketplace", marketplace,
               "--config", str(config_path.resolve()), "--db", db_url, "--log-level", "INFO",
               "--parent-pid", str(os.getpid()), "--stage", stage] + (["--shard", shard] if shard else [])
    if listings:
        command += ["--listings", ",".join(str(i) for i in listings)]
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=20)
    # The crawl's own settings read the brand (a configuration listing several) from the environment.
    env = {**os.environ, "BRANDPATROL_BRAND": settings.brand} if settings.brand else None
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,  # noqa: S603
                            encoding="utf-8", errors="replace", start_new_session=True, env=env)
    assert proc.stderr is not None
    reader = threading.Thread(target=_forward, args=(proc.stderr, marketplace, progress or quiet, tail), daemon=True)
    reader.start()
    code, stopped = _wait_crawl(proc, timeout, stop, stop_grace)
    reader.join(timeout=10)
    elapsed = time.monotonic() - started
    if code == EXIT_NOT_STARTED:
        raise JobError("\n".join(tail).strip() or f"crawl of {marketplace} could not start")
    db = Database(db_url)
    status = STATUS_OF_EXIT.get(code)
    if status is None or stopped:
        # The crawl could not close its run; the row's counts are what its batches stored.
        fail_open_runs(db, marketplace, stopped or _how_it_ended(code, tail), shard)
        status = RunStatus.FAILED
    run = _last_run(db, marketplace, shard)
    summary_tail = " | ".join(list(tail)[-3:])[:600]
    if run is None:
        return CrawlResult(marketplace, RunStatus.FAILED, 0, 0, elapsed, {}, summary_tail)
    return CrawlResult(marketplace, status, run.pages, run.items, elapsed, run.errors, summary_tail, run.id,
                       run.stats or {})


def _for_brand(settings: Settings, config: BrandConfig, configs: list[BrandConfig]) -> Settings:
    """The settings a brand's crawls run with: naming the brand when the file lists several."""
    return settings.model_copy(update={"brand": config.brand.name}) if len(configs) > 1 else settings


def crawl_all(settings: Settings, config_path: Path, only: list[str] | None = None,
              progress: Progress = quiet) -> list[CrawlResult]:
    """Crawl each brand's marketplaces (every brand of the file, or --brand's), one process per marketplace; what
    a crawl finds is stored once and becomes that brand's to judge."""
    configs = brand_configs(settings, config_path)
    names = {m.name for config in configs for m in config.marketplaces}
    unknown = sorted(set(only or []) - names)
    if unknown:
        raise JobError(f"no marketplace named {', '.join(unknown)} in {config_path} "
                       f"(configured: {', '.join(sorted(names))})")
    open_database(settings).dispose()  # migrate once, before the crawl processes start
    results = []
    for config in configs:
        brand_settings = _for_brand(settings, config, configs)
        for name in [m.name for m in config.marketplaces if not only or m.name in only]:
            progress(f"crawling {name} ..." if len(configs) == 1 else f"crawling {name} for {config.brand.name} ...")
            result = crawl_one(brand_settings, config_path, name, progress=progress)
            progress(f"  {result.status.value}: {result.pages} pages, {result.items} listings in "
                     f"{result.seconds:.1f} s")
            results.append(result)
    return results


def item_page_stages(settings: Settings, config_path: Path, only: list[str] | None = None,
                     progress: Progress = quiet) -> list[CrawlResult]:
    """The second stage of every marketplace with `item_pages: relevant` and a budget over 0 (after matching has
    judged its cards): the item pages of the brand's flagged or undecided listings, within the budget (each brand of
    the file, or --brand's)."""
    configs = brand_configs(settings, config_path)
    db = open_database(settings)
    results = []
    for config in configs:
        brand_settings = _for_brand(settings, config, configs)
        for market in config.marketplaces:
            if ((only and market.name not in only) or market.item_pages_mode != "relevant"
                    or not market.item_page_budget):
                continue
            if not item_stage_plan(db, market.name, market.item_page_budget).targets:
                continue  # nothing wanted tonight (every card followed, or every page current): no crawl to start
            progress(f"fetching item pages of {market.name} (budget {market.item_page_budget}) ...")
            result = crawl_one(brand_settings, config_path, market.name, progress=progress, stage="items")
            progress(f"  {item_pages_line(result.stats) or result.status.value}")
            results.append(result)
    return results


def crawl_and_match_night(settings: Settings, config_path: Path, only: list[str] | None = None,
                          progress: Progress = quiet) -> tuple[list[CrawlResult], dict[str, Any]]:
    """A night on the command line: search pages (cards kept as listings where item_pages is relevant), matching,
    the item pages that matter, and matching again over what they showed."""
    results = crawl_all(settings, config_path, only, progress)
    matched = match(settings, config_path, progress=progress)
    second = item_page_stages(settings, config_path, only, progress)
    if any(r.items for r in second):
        matched = match(settings, config_path, progress=progress)
    return results + second, matched


def capture_item_pages(settings: Settings, config_path: Path, listing_ids: list[int],
                       progress: Progress = quiet) -> list[CrawlResult]:
    """Fetch now the item pages of these listings that have only card evidence (a notice needs HTML, screenshot and
    SHA-256 of the item page), whatever the budget: one item-page crawl per marketplace."""
    with open_database(settings).read() as session:
        by_market = card_only_by_marketplace(session, listing_ids)
    results = []
    for name, ids in sorted(by_market.items()):
        progress(f"fetching {len(ids)} item pages of {name} for evidence ...")
        results.append(crawl_one(settings, config_path, name, progress=progress, stage="items", listings=ids))
    return results


REFERENCE_PROBLEMS = "reference_problems"  # the match summary's list of reference photos it had to do without


def match_brands(settings: Settings, config_path: Path, *, full: bool = False,
                 progress: Progress = quiet) -> dict[str, dict[str, Any]]:
    """match() for each brand of the configuration (or --brand's): brand name to its summary."""
    out = {}
    for config in brand_configs(settings, config_path):
        out[config.brand.name] = match(settings.model_copy(update={"brand": config.brand.name}), config_path,
                                       full=full, progress=progress)
    return out


def match(settings: Settings, config_path: Path, *, full: bool = False, progress: Progress = quiet,
          only: list[int] | None = None, networks: bool = True, sync: bool = True,
          db: Database | None = None, network_ids: list[int] | None = None) -> dict[str, Any]:
    """Sync the catalogue and match one brand (--brand, or the file's one brand); the summary names every reference
    photo that could not be used (with its path and the fix) under REFERENCE_PROBLEMS, so neither the command nor
    the nightly run record is silent.

    Team mode's match jobs pass `only` (the listings a shard stored), `networks=False` (a settle_networks job
    follows, with `network_ids`: those listings), `sync=False` (the scheduler synced the catalogue when it queued
    the night) and the worker's `db`."""
    from core.catalogue import sync_catalogue
    from matching.run import run_matching

    config = load_config(config_path, settings.brand)
    db = db or open_database(settings)
    problems: list[str] = []
    if sync:
        progress("hashing reference photos ...")
        problems = list(sync_catalogue(db, config).errors)
    for problem in problems:
        progress(f"  reference problem: {problem}")
    progress("matching listings ...")
    summary = run_matching(db, config, full=full, only=only, clusters=networks,
                           mark_pending=networks or only is None, network_ids=network_ids or ())
    return {**summary.to_dict(), REFERENCE_PROBLEMS: problems}


def evaluate(settings: Settings, labels: Path) -> dict[str, Any]:
    from matching.evaluate import evaluate as evaluate_labels

    if not labels.is_file():
        raise JobError(f"labels file {labels} not found; pass --labels with a CSV of marketplace,external_id,label")
    # Flagged means what the review queue shows: the configured minimum score, else the default.
    min_score = (load_config(settings.config, settings.brand).thresholds.min_score if settings.config
                 else Thresholds().min_score)
    try:
        return evaluate_labels(open_scoped(settings), labels, min_score=min_score).to_dict()
    except ValueError as exc:
        raise JobError(str(exc)) from None


FINDING_COLUMNS = ["finding_id", "verdict", "score", "marketplace", "external_id", "url", "title", "price",
                   "currency", "seller", "ship_from", "region", "reasons", "review"]


def finding_rows(db: Database, *, include_all: bool = False, confirmed_only: bool = False,
                 marketplace: str | None = None) -> list[list[Any]]:
    with db.read() as session:
        query = (
            select(Finding, Listing, Marketplace, Seller)
            .join(Listing, Finding.listing_id == Listing.id)
            .join(Marketplace, Listing.marketplace_id == Marketplace.id)
            .outerjoin(Seller, Listing.seller_id == Seller.id)
            .where(db.scope.clause(Finding))
            .order_by(Finding.score.desc(), Finding.id)
        )
        if not include_all:
            query = query.where(Finding.verdict.in_(SUSPECT_VERDICTS))
        if marketplace:
            query = query.where(Marketplace.name == marketplace)
        if confirmed_only:
            query = query.where(Finding.id.in_(confirmed_finding_ids()))
        found = session.execute(query).all()
        decisions = latest_decisions(session, [finding.id for finding, *_ in found])
        rows = []
        for finding, listing, market, seller in found:
            latest = decisions.get(finding.id)
            rows.append([
                finding.id, finding.verdict.value, round(finding.score, 3), market.name, listing.external_id,
                listing.url, listing.title, tidy(listing.price), listing.currency, seller.name if seller else None,
                listing.location_text, listing.region or listing.country, "; ".join(finding.reasons),
                latest.value if latest else None,
            ])
        return rows


def print_findings(settings: Settings, fmt: str, include_all: bool, out: TextIO) -> None:
    rows = finding_rows(open_scoped(settings), include_all=include_all)
    if fmt == "csv":
        write_csv(rows, FINDING_COLUMNS, out)
        return
    records = [dict(zip(FINDING_COLUMNS, row, strict=True)) for row in rows]
    out.write(json.dumps(records, ensure_ascii=False, indent=2, default=str) + "\n")


def export_confirmed(settings: Settings, out: Path, marketplace: str | None, *, redact: bool = False) -> int:
    """Confirmed findings to a file; with `redact` the location as the seller wrote it (personal data) is left
    out, the derived ISO region stays."""
    rows = finding_rows(open_scoped(settings), confirmed_only=True, marketplace=marketplace)
    if redact:
        column = FINDING_COLUMNS.index("ship_from")
        for row in rows:
            row[column] = redact_value(row[column], True)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            write_csv(rows, FINDING_COLUMNS, handle)
    elif suffix == ".xlsx":
        write_xlsx(rows, FINDING_COLUMNS, out)
    elif suffix == ".json":
        records = [dict(zip(FINDING_COLUMNS, row, strict=True)) for row in rows]
        out.write_text(json.dumps(records, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    else:
        raise JobError(f"cannot export to '{out.name}': use a .csv, .xlsx or .json file name")
    return len(rows)


def parse_page(settings: Settings, source: str, marketplace: str | None) -> list[dict[str, Any]]:
    from scrapy.http import HtmlResponse

    from core.egress import EgressBlocked, EgressPolicy, FetchFailed, fetch
    from crawler.extractors import extract_page
    from crawler.normalise import MissingField, normalise_listing

    if source.startswith(("http://", "https://")):
        hosts: list[str] = []
        if settings.config:
            hosts = load_config(settings.config, settings.brand).egress.allow_private_hosts
        try:
            result = fetch(source, EgressPolicy.from_hosts(hosts), max_bytes=settings.page_max_bytes,
                           timeout=settings.fetch_timeout_s, accept="text/html,*/*")
        except (EgressBlocked, FetchFailed) as exc:
            raise JobError(f"cannot fetch {source[:200]}: {exc}") from None
        url, body = result.url, result.body
    else:
        path = Path(source)
        if not path.is_file():
            raise JobError(f"{source} is neither a file nor an http(s) URL")
        if path.stat().st_size > settings.page_max_bytes:
            raise JobError(f"{source} is larger than {settings.page_max_bytes} bytes")
        url, body = path.resolve().as_uri(), path.read_bytes()
    response = HtmlResponse(url=url, body=body)
    try:
        listings = extract_page(response, marketplace)
    except KeyError as exc:
        raise JobError(str(exc.args[0])) from None
    out = []
    for listing in listings:
        try:
            out.append(normalise_listing(listing).to_json())
        except MissingField as exc:
            out.append({**listing.to_json(), "error": f"dropped by the pipeline: {exc}"})
    return out


def serve_dashboard(settings: Settings, host: str, port: int) -> int:
    open_database(settings).dispose()  # migrate before Streamlit starts
    env = {**os.environ, "BRANDPATROL_DB": absolute_db_url(settings.db)}
    if settings.config:  # the takedown desk drafts with the brand's rights holder and distributors
        env["BRANDPATROL_CONFIG"] = str(Path(settings.config).resolve())
    app = importlib.util.find_spec("dashboard.app")
    if app is None or app.origin is None:
        raise JobError("the dashboard package is not installed; reinstall brandpatrol")
    command = [sys.executable, "-m", "streamlit", "run", app.origin, "--server.address", host,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "minimal"]
    with tempfile.TemporaryDirectory(prefix="brandpatrol-auth-") as private:
        if settings.sso_enabled:  # st.login reads its [auth] secrets from a file, written here for this run only
            from dashboard import sso

            try:
                sso.check(settings, sso.install_brands(settings))
            except sso.SsoConfigError as exc:
                raise JobError(str(exc)) from None
            redirect = settings.sso_redirect_uri or f"http://{host}:{port}/oauth2callback"
            command += ["--secrets.files", str(sso.write_secrets(settings, redirect, Path(private)))]
            print(f"single sign-on: {settings.sso_issuer} (redirect {redirect})", file=sys.stderr, flush=True)
        print(f"dashboard: http://{host}:{port}", file=sys.stderr, flush=True)
        # SIGTERM unwinds like Ctrl-C, so the secrets file goes with the run (the default handler would leave it).
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        streamlit = subprocess.Popen(command, env=env)  # noqa: S603
        try:
            return streamlit.wait()
        except KeyboardInterrupt:
            streamlit.terminate()
            streamlit.wait(timeout=30)
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def format_mapping(mapping: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in mapping.items())


def format_evaluation(report: dict[str, Any]) -> str:
    keys = ("total", "true_suspects", "flagged", "precision", "recall", "f1", "verdict_accuracy")
    lines = [f"{k}: {report[k]}" for k in keys if k in report]
    confusion: dict[str, dict[str, int]] = report.get("confusion") or {}
    if confusion:
        labels = sorted({v for row in confusion.values() for v in row})
        lines.append("confusion (rows: verdict, columns: label)")
        lines.append("  " + "".join(f"{v:>20}" for v in ["", *labels]))
        for verdict, row in sorted(confusion.items()):
            lines.append("  " + f"{verdict:>20}" + "".join(f"{row.get(v, 0):>20}" for v in labels))
    from matching.evaluate import format_cases

    lines += format_cases(report.get("cases") or {})
    for kind in ("false_positive_listings", "false_negative_listings"):
        for entry in report.get(kind) or []:
            lines.append(f"{kind.split('_listings')[0].replace('_', ' ')}: {entry}")
    return "\n".join(lines)
