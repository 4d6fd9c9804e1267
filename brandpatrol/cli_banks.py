"""`brandpatrol bank ...`: banks shared with partner brands (signed files: core/banks.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from brandpatrol import jobs, takedown
from brandpatrol.cli_options import ActorOpt, BrandOpt, ConfigOpt, DbOpt, JsonOpt, command_settings, config_path_of
from core.config import BrandConfig, load_config
from core.db import Database
from core.settings import Settings, get_settings

bank_app = typer.Typer(help="Banks shared with partner brands: keygen, export, trust, import, accept, list.",
                       no_args_is_help=True)


@contextmanager
def _bank_errors() -> Iterator[None]:
    from core.banks import BankError

    try:
        yield
    except BankError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


KeyFileOpt = Annotated[Path | None, typer.Option(
    "--key-file", help="this brand's signing key (or BRANDPATROL_BANK_KEY_FILE); default data_dir/bank-key.pem")]


def _bank_world(db: str | None, config: Path | None, brand: str | None,
                key_file: Path | None = None) -> tuple[Settings, Database, BrandConfig]:
    """The settings, database and the one brand's configuration (--brand picks one of a file listing several)."""
    settings = command_settings(db, config, brand)
    if key_file is not None:
        settings = settings.model_copy(update={"bank_key_file": key_file})
    return settings, jobs.open_database(settings), load_config(config_path_of(settings), settings.brand)


@bank_app.command("keygen")
def bank_keygen(
    key_file: KeyFileOpt = None,
    replace: Annotated[bool, typer.Option("--replace", help="make a new key over the old one")] = False,
) -> None:
    """Make this brand's signing key (mode 0600) and, beside it, the public key (.pub) to give partners."""
    from core.banks import generate_key

    with _bank_errors():
        info = generate_key(key_file or get_settings().bank_key_path(), replace=replace)
    typer.echo(f"wrote the signing key to {info.key_file} (keep it private) and the public key to "
               f"{info.public_file} (give it to partners)\nfingerprint {info.fingerprint}")


@bank_app.command("export")
def bank_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="the bank file to write")],
    valid_days: Annotated[int, typer.Option("--valid-days", help="partners may import it this many days")] = 30,
    sellers: Annotated[bool, typer.Option("--sellers/--no-sellers", help="share offender sellers")] = True,
    photos: Annotated[bool, typer.Option("--photos/--no-photos", help="share hashes of counterfeit photos")] = True,
    withhold: Annotated[list[str] | None, typer.Option(
        "--withhold", help="leave this entry id out (revoked if shared before)")] = None,
    key_file: KeyFileOpt = None,
    config: ConfigOpt = None, db: DbOpt = None, actor: ActorOpt = takedown.CLI_ACTOR, brand: BrandOpt = None,
) -> None:
    """Write a signed bank file of a brand's confirmed offenders for partner brands; revokes what is no longer
    shared."""
    from matching.banks import export_bank

    settings, database, brand_config = _bank_world(db, config, brand, key_file)
    with _bank_errors():
        result = export_bank(database, brand_config, settings.bank_key_path(), out, actor=actor, valid_days=valid_days,
                             sellers=sellers, photos=photos, withhold=withhold or [])
    typer.echo(f"wrote bank file {result.sequence} to {out}: {result.sellers} sellers, {result.photos} photos, "
               f"{result.revocations} revocations; valid until {result.expires_at}; key {result.fingerprint}")


@bank_app.command("trust")
def bank_trust(
    name: Annotated[str, typer.Argument(help="the partner's name, as its reports will say")],
    public_key_file: Annotated[Path, typer.Argument(help="the .pub file the partner's `bank keygen` wrote")],
    replace: Annotated[bool, typer.Option("--replace", help="the partner made a new key")] = False,
    config: ConfigOpt = None, db: DbOpt = None, actor: ActorOpt = takedown.CLI_ACTOR, brand: BrandOpt = None,
) -> None:
    """Trust a partner brand's public key; compare the fingerprint printed with the partner first."""
    from matching.banks import trust_partner

    _, database, brand_config = _bank_world(db, config, brand)
    with _bank_errors():
        partner = trust_partner(database, brand_config, name, public_key_file, actor=actor, replace=replace)
    typer.echo(f"trusted partner {partner.name}, key fingerprint {partner.fingerprint}")


@bank_app.command("import")
def bank_import(
    file: Annotated[Path, typer.Argument(help="a bank file from a trusted partner")],
    config: ConfigOpt = None, db: DbOpt = None, actor: ActorOpt = takedown.CLI_ACTOR, brand: BrandOpt = None,
) -> None:
    """Verify a partner's bank file and hold its entries in quarantine (`bank accept` puts them to use)."""
    from matching.banks import import_bank

    settings, database, brand_config = _bank_world(db, config, brand)
    with _bank_errors():
        if not file.is_file():
            from core.banks import BankError

            raise BankError(f"no bank file at {file}")
        with file.open("rb") as handle:
            data = handle.read(settings.bank_max_bytes + 1)
        result = import_bank(database, brand_config, data, actor=actor, max_bytes=settings.bank_max_bytes)
    typer.echo(f"imported file {result.sequence} of partner {result.partner}: {result.entries} entries, "
               f"{result.added} new, {result.updated} updated, {result.revoked} revoked; {result.quarantined} "
               "in quarantine (`brandpatrol bank accept`)")


@bank_app.command("accept")
def bank_accept(
    entry_ids: Annotated[list[str] | None, typer.Argument(help="entry ids from `bank list`")] = None,
    accept_all: Annotated[bool, typer.Option("--all", help="every quarantined entry")] = False,
    partner: Annotated[str | None, typer.Option("--partner", help="only this partner's entries")] = None,
    config: ConfigOpt = None, db: DbOpt = None, actor: ActorOpt = takedown.CLI_ACTOR, brand: BrandOpt = None,
) -> None:
    """Take quarantined partner entries into use; matching weighs them from its next run."""
    from matching.banks import accept_entries

    _, database, brand_config = _bank_world(db, config, brand)
    with _bank_errors():
        count = accept_entries(database, brand_config, entry_ids or [], accept_all=accept_all, partner=partner,
                               actor=actor)
    typer.echo(f"accepted {count} entries")


@bank_app.command("list")
def bank_list(
    status: Annotated[str | None, typer.Option("--status", help="quarantined, accepted or revoked")] = None,
    config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False, brand: BrandOpt = None,
) -> None:
    """A brand's trusted partners and the entries taken from them."""
    from core.models import BankEntryStatus
    from matching.banks import list_bank

    if status is not None and status not in set(BankEntryStatus):
        raise typer.BadParameter("use quarantined, accepted or revoked", param_hint="--status")
    _, database, brand_config = _bank_world(db, config, brand)
    listing = list_bank(database, brand_config, status=status)
    if as_json:
        typer.echo(json.dumps({"partners": listing.partners, "entries": listing.entries}, ensure_ascii=False))
        return
    for p in listing.partners:
        typer.echo(f"partner {p['name']}\tkey {p['fingerprint']}\tlast file {p['last_sequence']}")
    for e in listing.entries:
        what = f"{e['marketplace']} {e['seller_id']}" if e["kind"] == "seller" else f"{e['phash']}/{e['dhash']}"
        typer.echo(f"{e['id']}\t{e['status']}\t{e['partner']}\t{e['kind']} {what}\t{e['confirmed']} confirmed")
