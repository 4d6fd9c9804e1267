"""`brandpatrol demo`: the whole job on the bundled demo marketplace, end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from brandpatrol import jobs
from core.settings import Settings, get_settings

DEMO_USER = "demo"


def _demo_account(settings: Settings) -> str:
    """An admin account for the demo's dashboard with a fresh random password (printed, never stored in clear)."""
    from dashboard import accounts

    password = accounts.generate_password()
    database = jobs.open_database(settings)
    try:
        accounts.add_user(database, DEMO_USER, "admin", password, actor="demo", replace=True)
    finally:
        database.dispose()
    return password


def run_demo(*, workdir: Path, db: str | None, dashboard_port: int | None, as_json: bool,
             market: str = "tuning") -> int:
    """Crawl, match and score one evaluation market ("tuning", the demo's own, or "heldout", never tuned on)."""
    from brandpatrol.demo import DemoServer, build_catalogue
    from matching.evaluate import format_cases

    workdir.mkdir(parents=True, exist_ok=True)
    settings = get_settings().model_copy(update={"db": db or f"sqlite:///{(workdir / 'demo.db').resolve()}"})
    progress = jobs.echo_progress
    progress(f"building the demo marketplace ({market} market) ...")
    catalogue = build_catalogue(market=market)
    with DemoServer(catalogue) as server:
        config_path = catalogue.write_workspace(workdir, server.base_url)
        settings = settings.model_copy(update={"config": config_path})
        progress(f"demo marketplace at {server.base_url}; brand config {config_path}")
        crawls = jobs.crawl_all(settings, config_path, progress=progress)
        matched = jobs.match(settings, config_path, progress=progress)
        report = jobs.evaluate(settings, workdir / "labels.csv")
        summary: dict[str, Any] = {
            "market": market,
            "listings": sum(c.items for c in crawls),
            "findings": report.get("flagged"),
            "precision": report.get("precision"),
            "recall": report.get("recall"),
            "f1": report.get("f1"),
            "verdict_accuracy": report.get("verdict_accuracy"),
            "cases": report.get("cases"),
            "crawls": {c.marketplace: c.status.value for c in crawls},
            "matching": matched,
            "database": jobs.absolute_db_url(settings.db),
            "config": str(config_path),
        }
        if as_json:
            print(json.dumps(summary, ensure_ascii=False, default=str))
        else:
            print(f"crawled {summary['listings']} listings from {len(crawls)} demo marketplaces; "
                  f"flagged {summary['findings']} as suspect "
                  f"(precision {summary['precision']}, recall {summary['recall']} against the demo's labels)")
            for crawl in crawls:
                print("  " + crawl.summary())
            for line in format_cases(summary["cases"] or {}):
                print(line)
        failed = any(not c.ok for c in crawls)
        if dashboard_port is None:
            return 3 if failed else 0
        password = _demo_account(settings)
        print(f"serving the dashboard on http://127.0.0.1:{dashboard_port} (Ctrl-C to stop)", file=sys.stderr)
        print(f"sign in as {DEMO_USER} with password {password} (a new one each run)", file=sys.stderr, flush=True)
        return jobs.serve_dashboard(settings, "127.0.0.1", dashboard_port)
