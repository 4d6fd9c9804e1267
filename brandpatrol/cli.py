"""The `brandpatrol` command line."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from brandpatrol import jobs, takedown
from brandpatrol.cli_banks import bank_app
from brandpatrol.cli_options import ActorOpt, BrandOpt, ConfigOpt, DbOpt, JsonOpt, command_settings, config_path_of
from brandpatrol.cli_users import user_app
from core.catalogue import reference_problems
from core.config import ConfigError, load_brands, load_config
from core.db import DatabaseError
from core.scope import ScopeError
from core.settings import SETTINGS_ERRORS, describe_settings_error

app = typer.Typer(
    name="brandpatrol",
    help="Find counterfeit and channel-diverted listings of your brand on marketplaces, with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

@app.command("check-config")
def check_config(path: Annotated[Path, typer.Argument(help="the brand configuration to check")]) -> None:
    """Validate a brand configuration (or every brand of a file listing several) and the reference photos it
    names; errors name the field or file and the fix."""
    configs = load_brands(path)
    if problems := [p for config in configs for p in reference_problems(config)]:
        raise ConfigError(path, problems)
    for config in configs:
        typer.echo(
            f"{path}: OK — brand {config.brand.name}, {len(config.products)} products, "
            f"{len(config.authorised_sellers)} authorised sellers, {len(config.marketplaces)} marketplaces"
        )


@app.command()
def crawl(
    config: ConfigOpt = None,
    db: DbOpt = None,
    marketplace: Annotated[list[str] | None, typer.Option("--marketplace", "-m", help="only these")] = None,
    brand: BrandOpt = None,
    item_pages: Annotated[bool, typer.Option(
        "--item-pages", help="the second stage: item pages of the brand's flagged or undecided card listings "
        "(run after `match`), within each marketplace's item_page_budget")] = False,
    listing: Annotated[list[int] | None, typer.Option(
        "--listing", help="fetch the item pages of these listing ids now, whatever the budget")] = None,
) -> None:
    """Crawl the configured marketplaces (one process each, for each brand of the file) and store what they list."""
    settings = command_settings(db, config, brand)
    if listing:
        results = jobs.capture_item_pages(settings, config_path_of(settings), listing, progress=jobs.echo_progress)
    elif item_pages:
        results = jobs.item_page_stages(settings, config_path_of(settings), marketplace or None,
                                        progress=jobs.echo_progress)
    else:
        results = jobs.crawl_all(settings, config_path_of(settings), marketplace or None, progress=jobs.echo_progress)
    for result in results:
        typer.echo(result.summary())
    if not (listing or item_pages) and any(r.stats.get("brandpatrol/cards/kept") for r in results):
        typer.echo("listings were kept from search cards: run `brandpatrol match`, then `brandpatrol crawl "
                   "--item-pages` for the item pages that matter (the scheduler's nightly job does all three)")
    if any(not r.ok for r in results):
        raise typer.Exit(3)


@app.command()
def match(config: ConfigOpt = None, db: DbOpt = None,
          full: Annotated[bool, typer.Option("--full", help="re-examine every listing")] = False,
          as_json: JsonOpt = False, brand: BrandOpt = None) -> None:
    """Run the matching pass over new and changed listings (for each brand of the file, or --brand's)."""
    settings = command_settings(db, config, brand)
    summaries = jobs.match_brands(settings, config_path_of(settings), full=full)
    for name, summary in summaries.items():
        if len(summaries) > 1 and not as_json:
            typer.echo(f"brand {name}:")
        typer.echo(json.dumps(summary, ensure_ascii=False) if as_json else jobs.format_mapping(summary))
        for problem in summary[jobs.REFERENCE_PROBLEMS]:
            typer.echo(f"reference photo problem (matched without it): {problem}", err=True)


@app.command()
def findings(
    db: DbOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    include_all: Annotated[bool, typer.Option("--all", help="include ok and unrelated verdicts")] = False,
    brand: BrandOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print one brand's findings (suspects by default), highest score first."""
    if fmt not in ("json", "csv"):
        raise typer.BadParameter("use --format json or --format csv", param_hint="--format")
    jobs.print_findings(command_settings(db, config, brand), fmt, include_all, sys.stdout)


@app.command()
def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="CSV: marketplace,external_id,label")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
) -> None:
    """Precision, recall and F1 of the suspect flags against labelled listings, and a confusion matrix."""
    report = jobs.evaluate(command_settings(db, config, brand), labels)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else jobs.format_evaluation(report))




@app.command()
def export(
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="file to write: .csv, .xlsx or .json; with --notice also .pdf, .docx or .zip")],
    db: DbOpt = None,
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m")] = None,
    notice: Annotated[int | None, typer.Option("--notice", help="export this notice instead")] = None,
    config: ConfigOpt = None,
    actor: ActorOpt = takedown.CLI_ACTOR,
    brand: BrandOpt = None,
) -> None:
    """Export one brand's confirmed findings per marketplace (formula-safe), or one of its notices as PDF, DOCX,
    CSV, XLSX or ZIP."""
    if notice is not None:
        size = takedown.export(command_settings(db, config, brand), notice, out, actor=actor)
        typer.echo(f"wrote notice {notice} to {out} ({size} bytes)")
        return
    settings = command_settings(db, config, brand)
    # With a configuration, its privacy.redact_exports decides; without one the export is as it always was.
    redact = load_config(settings.config, settings.brand).privacy.redact_exports if settings.config else False
    count = jobs.export_confirmed(settings, out, marketplace, redact=redact)
    typer.echo(f"wrote {count} confirmed listings to {out}")


notice_app = typer.Typer(help="Takedown notices: draft from confirmed findings, list, mark filed / removed / "
                              "rejected (export with `brandpatrol export --notice ID`).", no_args_is_help=True)
app.add_typer(notice_app, name="notice")


@notice_app.command("draft")
def notice_draft(
    marketplace: Annotated[str, typer.Option("--marketplace", "-m", help="the marketplace the notice goes to")],
    template: Annotated[str, typer.Option(
        "--template", "-t", help="alibaba_ipp, jd, pinduoduo, amazon_rav, ebay_vero, dmca, dsa_art16, "
                                 "distribution_policy")],
    ground: Annotated[str | None, typer.Option(
        "--ground", "-g", help="counterfeit, copyright_image, diversion or unlawful_importation; "
                               "default: the template's first")] = None,
    finding: Annotated[list[int] | None, typer.Option(
        "--finding", "-f", help="these confirmed findings (default: every confirmed one not on an open notice)")]
    = None,
    countries: Annotated[str, typer.Option(
        "--countries", help="eBay 9037: ISO codes of the countries where importation is unlawful, e.g. US,DE")] = "",
    config: ConfigOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = takedown.CLI_ACTOR,
    brand: BrandOpt = None,
) -> None:
    """Draft notices from one brand's confirmed findings (split at the form's link limit); prints the notice ids."""
    summary = takedown.draft_notices(
        command_settings(db, config, brand), marketplace=marketplace, template_name=template, ground=ground,
        finding_ids=finding or [], countries=countries.split(","), actor=actor)
    ids = ", ".join(str(i) for i in summary.notice_ids)
    typer.echo(f"drafted notice(s) {ids} from {summary.findings} confirmed findings")


@notice_app.command("collective")
def notice_collective(
    marketplace: Annotated[str, typer.Option("--marketplace", "-m", help="the marketplace the notice goes to")],
    holder: Annotated[list[Path], typer.Option(
        "--holder", "-H", help="a rights holder's brand configuration (give two or more), in the notice's order")],
    seller: Annotated[str | None, typer.Option(
        "--seller", "-s", help="the seller's id on the marketplace, or its shop name; without it, list the sellers "
                               "every holder could complain about")] = None,
    template: Annotated[str | None, typer.Option(
        "--template", "-t", help="the marketplace's IP form: alibaba_ipp, jd, pinduoduo, amazon_rav, ebay_vero, "
                                 "dsa_art16")] = None,
    db: DbOpt = None,
    actor: ActorOpt = takedown.CLI_ACTOR,
) -> None:
    """Draft one collective notice against one seller for several rights holders, each with its own trademarks
    and its own confirmed counterfeit findings; prints the notice id (without --seller: the candidate sellers)."""
    if seller is None:
        found = takedown.collective_candidates(command_settings(db), marketplace=marketplace, holder_configs=holder)
        for candidate in found:
            counts = ", ".join(f"{brand} {n}" for brand, n in candidate.findings.items())
            typer.echo(f"{candidate.seller.seller_id}\t{candidate.seller.name}\t{counts}")
        if not found:
            typer.echo(f"no seller on {marketplace} has confirmed counterfeit findings of every one of these brands "
                       "that no open notice covers")
        return
    if template is None:
        raise jobs.JobError("give --template: the marketplace's IP form the notice is filed on (alibaba_ipp, jd, "
                            "pinduoduo, amazon_rav, ebay_vero or dsa_art16)")
    notice_id, findings = takedown.draft_collective(
        command_settings(db), marketplace=marketplace, seller=seller, holder_configs=holder, template_name=template,
        actor=actor)
    typer.echo(f"drafted collective notice {notice_id} for {len(holder)} rights holders from {findings} "
               "confirmed findings")


@notice_app.command("list")
def notice_list(
    status: Annotated[list[str] | None, typer.Option("--status", help="drafted, filed, removed, rejected")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
    config: ConfigOpt = None,
) -> None:
    """One brand's newest notices first, with how many of their listings the crawls no longer find."""
    rows = takedown.list_notices(command_settings(db, config, brand), status or [])
    if as_json:
        typer.echo(json.dumps([vars(r) for r in rows], ensure_ascii=False, indent=2, default=str))
        return
    for r in rows:
        part = f" part {r.part}/{r.parts}" if r.parts > 1 else ""
        typer.echo(f"{r.id}\t{r.status.value}\t{r.marketplace}\t{r.template}\t{r.ground}{part}\t"
                   f"{r.gone}/{r.listings} gone\t{r.reference or ''}")


@notice_app.command("file")
def notice_file(
    notice_id: Annotated[int, typer.Argument(help="the notice")],
    reference: Annotated[str, typer.Option("--reference", help="the marketplace's case or ticket number")],
    on: Annotated[datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="filing date")] = None,
    db: DbOpt = None,
    actor: ActorOpt = takedown.CLI_ACTOR,
    brand: BrandOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Mark a drafted notice filed, with the marketplace's reference."""
    takedown.change_status(command_settings(db, config, brand), notice_id, "filed", on=on.date() if on else None,
                           reference=reference,
                           note=None, actor=actor)
    typer.echo(f"notice {notice_id} filed")


@notice_app.command("close")
def notice_close(
    notice_id: Annotated[int, typer.Argument(help="the notice")],
    outcome: Annotated[str, typer.Option("--outcome", help="removed or rejected")],
    note: Annotated[str | None, typer.Option("--note", help="what the marketplace said")] = None,
    on: Annotated[datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="date of the outcome")]
    = None,
    db: DbOpt = None,
    actor: ActorOpt = takedown.CLI_ACTOR,
    brand: BrandOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Mark a filed notice removed or rejected."""
    if outcome not in ("removed", "rejected"):
        raise typer.BadParameter("use --outcome removed or --outcome rejected", param_hint="--outcome")
    takedown.change_status(command_settings(db, config, brand), notice_id, outcome, on=on.date() if on else None,
                           reference=None,
                           note=note, actor=actor)
    typer.echo(f"notice {notice_id} {outcome}")


privacy_app = typer.Typer(help="Seller personal data (PIPL / GDPR).", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")


@privacy_app.command("purge")
def privacy_purge(config: ConfigOpt = None, db: DbOpt = None, actor: ActorOpt = takedown.CLI_ACTOR,
                  brand: BrandOpt = None) -> None:
    """Remove seller contact details unseen for privacy.seller_contact_retention_days (open notices keep theirs)."""
    result = takedown.purge(command_settings(db, config, brand), actor=actor)
    typer.echo(f"removed contact details of {result.sellers} sellers and {result.listings} listings last seen "
               f"before {result.cutoff:%Y-%m-%d}; kept {result.held} on open notices")


@app.command()
def parse(
    source: Annotated[str, typer.Argument(help="a saved page (file) or an http(s) URL")],
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m", help="extractor to use")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
) -> None:
    """Print the listings an extractor finds in one page, to debug a marketplace."""
    listings = jobs.parse_page(command_settings(None, config, brand), source, marketplace)
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
    config: ConfigOpt = None,
) -> None:
    """Serve the review dashboard (Streamlit); with --config the takedown desk can draft notices."""
    raise typer.Exit(jobs.serve_dashboard(command_settings(db, config), host, port))


@app.command()
def schedule(config: ConfigOpt = None, db: DbOpt = None, brand: BrandOpt = None) -> None:
    """Run the schedule in the foreground: nightly crawl and match, removal checks, weekly digest, alerts."""
    settings = command_settings(db, config, brand)
    from brandpatrol.scheduler import run_scheduler

    raise typer.Exit(run_scheduler(settings, config_path_of(settings)))


@app.command()
def worker(
    config: ConfigOpt = None, db: DbOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64,
                                             help="jobs run at once (each crawl is its own process)")] = 1,
    queue: Annotated[list[str] | None, typer.Option(
        "--queue", help="crawl, match, networks or reports (repeat; default all)")] = None,
) -> None:
    """Team mode (PostgreSQL): run queued crawl shards, match jobs and reports until SIGTERM."""
    from brandpatrol.worker import run_worker
    from brandpatrol.workqueue import QUEUES, TeamModeError

    settings = command_settings(db, config)
    unknown = sorted(set(queue or []) - set(QUEUES))
    if unknown:
        raise typer.BadParameter(f"no queue {', '.join(unknown)}; use {', '.join(QUEUES)}", param_hint="--queue")
    try:
        raise typer.Exit(run_worker(settings, concurrency=concurrency, queues=queue))
    except TeamModeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def status(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False, brand: BrandOpt = None) -> None:
    """Last runs, next fire times and anything overdue; exits 1 when something is overdue."""
    from core.operations import format_status, gather_status

    settings = command_settings(db, config, brand)
    brand_config = load_config(settings.config, settings.brand) if settings.config else None
    report = gather_status(jobs.open_database(settings), brand_config,
                          stalled_after_s=settings.worker_stalled_after_s)
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json else format_status(report))
    if report.overdue:
        raise typer.Exit(1)


@app.command()
def demo(
    port: Annotated[int, typer.Option("--port", help="dashboard port on 127.0.0.1")] = 8501,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="exit after crawling and matching")] = False,
    as_json: JsonOpt = False,
    workdir: Annotated[Path | None, typer.Option(
        "--workdir", help="where the demo writes its files [default: .brandpatrol-demo, or "
                          ".brandpatrol-demo-heldout for the held-out market]")] = None,
    db: DbOpt = None,
    market: Annotated[str, typer.Option(
        "--market", help="tuning (the demo's own market) or heldout (a market detection was never tuned on)",
    )] = "tuning",
) -> None:
    """Serve the demo marketplace, crawl it, match, print a summary and serve the dashboard."""
    from brandpatrol.demo.surfaces import MARKETS
    from brandpatrol.demo_run import run_demo

    if market not in MARKETS:
        raise typer.BadParameter(f"use one of {', '.join(MARKETS)}", param_hint="--market")
    if workdir is None:
        workdir = Path(".brandpatrol-demo" if market == "tuning" else f".brandpatrol-demo-{market}")
    raise typer.Exit(run_demo(workdir=workdir, db=db, dashboard_port=None if no_serve else port,
                              as_json=as_json, market=market))


@app.command()
def offenders(
    db: DbOpt = None,
    brand: Annotated[list[str] | None, typer.Option(
        "--brand", "-b", help="only these brands (repeat); default every brand of the install")] = None,
    min_brands: Annotated[int, typer.Option("--min-brands", help="sellers offending at least this many brands")] = 2,
    limit: Annotated[int, typer.Option("--limit", help="at most this many sellers")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The agency's view: sellers offending several of its brands, worst first, with counts and evidence per brand."""
    from core.agency import cross_brand_offenders
    from core.scope import BrandScope, brand_id

    database = jobs.open_database(command_settings(db))
    if brand:
        with database.read() as session:
            database = database.scoped(BrandScope.of(brand_id(session, name) for name in brand))
    found = cross_brand_offenders(database, min_brands=min_brands, limit=limit)
    if as_json:
        typer.echo(json.dumps([o.to_dict() for o in found], ensure_ascii=False, indent=2))
        return
    for o in found:
        typer.echo(f"{o.marketplace}\t{o.seller}\t{o.brands} brands\t{o.confirmed} confirmed\t"
                   f"{o.suspect_findings} suspect")
        for b in o.per_brand:
            findings = ", ".join(str(e.finding_id) for e in b.evidence)
            typer.echo(f"  {b.brand}: {b.suspect_findings} suspect, {b.confirmed} confirmed (findings {findings})")
    if not found:
        typer.echo(f"no seller offends {min_brands} or more brands")


app.add_typer(user_app, name="user")
app.add_typer(bank_app, name="bank")


def main() -> None:
    try:
        app()
    except (ConfigError, DatabaseError, jobs.JobError, ScopeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except SETTINGS_ERRORS as exc:
        typer.echo(f"error: the settings in the environment cannot be used: {describe_settings_error(exc)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
