"""`brandpatrol user ...`: dashboard accounts and their roles per brand."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from brandpatrol import jobs, takedown
from brandpatrol.cli_options import ActorOpt, DbOpt, JsonOpt, command_settings

user_app = typer.Typer(help="Dashboard accounts: add, list, disable, enable (roles analyst, legal, admin).",
                       no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise typer.BadParameter("the two passwords differ; run the command again", param_hint="password")
    return str(first)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="the sign-in name")],
    role: Annotated[str, typer.Option("--role", help="analyst, legal or admin")],
    language: Annotated[str, typer.Option("--language", help="en or zh")] = "en",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="reset the password of an existing account")] = False,
    db: DbOpt = None,
    actor: ActorOpt = takedown.CLI_ACTOR,
    brand: Annotated[list[str] | None, typer.Option(
        "--brand", "-b", help="a brand the analyst or legal account works on (repeat for several); needed once "
                              "the install has several brands; admins see every brand")] = None,
) -> None:
    """Create a dashboard account; the password is prompted without echo (or read from stdin), stored hashed."""
    from dashboard import accounts

    password = _read_password(password_stdin)
    try:
        account = accounts.add_user(jobs.open_database(command_settings(db)), username, role, password,
                                    language=language, actor=actor, replace=reset, brands=brand or [])
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"user {account.username} ({account.role}) {'reset' if reset else 'added'}")


@user_app.command("list")
def user_list(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The dashboard accounts with role, language and whether they may sign in."""
    from dashboard import accounts

    database = jobs.open_database(command_settings(db))
    rows = [(a, accounts.brand_roles(database, a)) for a in accounts.list_users(database)]
    if as_json:
        typer.echo(json.dumps([{"username": a.username, "role": a.role, "language": a.language,
                                "active": a.active, **({"brands": roles} if roles else {})} for a, roles in rows],
                              ensure_ascii=False))
        return
    for a, roles in rows:
        brands = "\t" + ", ".join(f"{b}: {r}" for b, r in roles.items()) if roles else ""
        typer.echo(f"{a.username}\t{a.role}\t{a.language}\t{'active' if a.active else 'disabled'}{brands}")


@user_app.command("grant")
def user_grant(
    username: Annotated[str, typer.Argument()],
    brand: Annotated[str, typer.Option("--brand", "-b", help="the brand")],
    role: Annotated[str, typer.Option("--role", help="analyst or legal, on that brand")],
    db: DbOpt = None, actor: ActorOpt = takedown.CLI_ACTOR,
) -> None:
    """Give an account a role on one brand (analyst for A, legal for B); it sees only its brands."""
    from dashboard import accounts

    try:
        accounts.grant_brand_role(jobs.open_database(command_settings(db)), username, brand, role, actor=actor)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"user {username} is {role} on {brand}")


@user_app.command("revoke")
def user_revoke(
    username: Annotated[str, typer.Argument()],
    brand: Annotated[str, typer.Option("--brand", "-b", help="the brand")],
    db: DbOpt = None, actor: ActorOpt = takedown.CLI_ACTOR,
) -> None:
    """Take an account's role on one brand away."""
    from dashboard import accounts

    try:
        removed = accounts.revoke_brand_role(jobs.open_database(command_settings(db)), username, brand, actor=actor)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"user {username} no longer works on {brand}" if removed else f"user {username} had no role on {brand}")


def _set_active(username: str, active: bool, db: str | None, actor: str) -> None:
    from dashboard import accounts

    try:
        accounts.set_active(jobs.open_database(command_settings(db)), username, active, actor=actor)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"user {username} {'enabled' if active else 'disabled'}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()], db: DbOpt = None,
                 actor: ActorOpt = takedown.CLI_ACTOR) -> None:
    """Stop an account from signing in (its open sessions end at their next click)."""
    _set_active(username, False, db, actor)


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument()], db: DbOpt = None,
                actor: ActorOpt = takedown.CLI_ACTOR) -> None:
    """Let a disabled account sign in again."""
    _set_active(username, True, db, actor)
