"""The `brandpatrol` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from brandpatrol import jobs
from core.config import ConfigError, load_config
from core.db import DatabaseError
from core.settings import Settings, get_settings

app = typer.Typer(
    name="brandpatrol",
    help="Find counterfeit and channel-diverted listings of your brand on marketplaces, with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="brandpatrol.yaml (or BRANDPATROL_CONFIG)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (or BRANDPATROL_DB); default sqlite:///brandpatrol.db")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def _settings(db: str | None = None, config: Path | None = None) -> Settings:
    base = get_settings()
    updates: dict[str, object] = {}
    if db:
        updates["db"] = db
    if config:
        updates["config"] = config
    return base.model_copy(update=updates)


def _config_path(settings: Settings) -> Path:
    if settings.config is None:
        raise ConfigError("brandpatrol.yaml", ["no configuration given; pass --config FILE or set BRANDPATROL_CONFIG"])
    return settings.config


@app.command("check-config")
def check_config(path: Annotated[Path, typer.Argument(help="the brand configuration to check")]) -> None:
    """Validate a brand configuration; errors name the field, the line and the fix."""
    config = load_config(path)
    typer.echo(
        f"{path}: OK — brand {config.brand.name}, {len(config.products)} products, "
        f"{len(config.authorised_sellers)} authorised sellers, {len(config.marketplaces)} marketplaces"
    )


@app.command()
def crawl(
    config: ConfigOpt = None,
    db: DbOpt = None,
    marketplace: Annotated[list[str] | None, typer.Option("--marketplace", "-m", help="only these")] = None,
) -> None:
    """Crawl the configured marketplaces (one process each) and store what they list."""
    settings = _settings(db, config)
    results = jobs.crawl_all(settings, _config_path(settings), marketplace or None, progress=jobs.echo_progress)
    for result in results:
        typer.echo(result.summary())
    if any(not r.ok for r in results):
        raise typer.Exit(3)


@app.command()
def match(config: ConfigOpt = None, db: DbOpt = None,
          full: Annotated[bool, typer.Option("--full", help="re-examine every listing")] = False,
          as_json: JsonOpt = False) -> None:
    """Run the matching pass over new and changed listings."""
    settings = _settings(db, config)
    summary = jobs.match(settings, _config_path(settings), full=full)
    typer.echo(json.dumps(summary, ensure_ascii=False) if as_json else jobs.format_mapping(summary))


@app.command()
def findings(
    db: DbOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    include_all: Annotated[bool, typer.Option("--all", help="include ok and unrelated verdicts")] = False,
) -> None:
    """Print findings (suspects by default), highest score first."""
    if fmt not in ("json", "csv"):
        raise typer.BadParameter("use --format json or --format csv", param_hint="--format")
    jobs.print_findings(_settings(db), fmt, include_all, sys.stdout)


@app.command()
def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="CSV: marketplace,external_id,label")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Precision, recall and F1 of the suspect flags against labelled listings, and a confusion matrix."""
    report = jobs.evaluate(_settings(db, config), labels)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else jobs.format_evaluation(report))


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write (.csv, .xlsx or .json)")],
    db: DbOpt = None,
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m")] = None,
) -> None:
    """Export confirmed findings per marketplace, ready for a takedown form (formula-safe)."""
    count = jobs.export_confirmed(_settings(db), out, marketplace)
    typer.echo(f"wrote {count} confirmed listings to {out}")


@app.command()
def parse(
    source: Annotated[str, typer.Argument(help="a saved page (file) or an http(s) URL")],
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m", help="extractor to use")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the listings an extractor finds in one page, to debug a marketplace."""
    listings = jobs.parse_page(_settings(None, config), source, marketplace)
    if as_json:
        typer.echo(json.dumps(listings, ensure_ascii=False, indent=2, default=str))
    else:
        for listing in listings:
            typer.echo(jobs.format_mapping(listing))
            typer.echo("")
        typer.echo(f"{len(listings)} listing(s)")


@app.command()
def dashboard(
    db: DbOpt = None,
    port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1")] = 8501,
    host: Annotated[str, typer.Option("--host", help="address to bind")] = "127.0.0.1",
) -> None:
    """Serve the review dashboard (Streamlit)."""
    raise typer.Exit(jobs.serve_dashboard(_settings(db), host, port))


@app.command()
def schedule(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Run the nightly schedule in the foreground (crawl every marketplace, then match)."""
    settings = _settings(db, config)
    from brandpatrol.scheduler import run_scheduler

    run_scheduler(settings, _config_path(settings))


@app.command()
def demo(
    port: Annotated[int, typer.Option("--port", help="dashboard port on 127.0.0.1")] = 8501,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="exit after crawling and matching")] = False,
    as_json: JsonOpt = False,
    workdir: Annotated[Path, typer.Option("--workdir", help="where the demo writes its files")] = Path(
        ".brandpatrol-demo"),
    db: DbOpt = None,
) -> None:
    """Serve the demo marketplace, crawl it, match, print a summary and serve the dashboard."""
    from brandpatrol.demo_run import run_demo

    raise typer.Exit(run_demo(workdir=workdir, db=db, dashboard_port=None if no_serve else port,
                              as_json=as_json))


def main() -> None:
    try:
        app()
    except (ConfigError, DatabaseError, jobs.JobError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
