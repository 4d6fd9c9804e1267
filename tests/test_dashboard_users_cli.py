"""`brandpatrol user add|list|disable|enable` on a real SQLite database; the accounts sign in to the dashboard."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from brandpatrol.cli import app
from core.db import Database
from core.models import AuditLog, User
from dashboard import accounts
from tests.dashboard_support import all_rows

runner = CliRunner()
SECRET = "a very long secret 密码"


def test_add_list_disable_enable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/u.db"
    added = runner.invoke(app, ["user", "add", "ana", "--role", "analyst", "--language", "zh",
                                "--password-stdin", "--db", url], input=SECRET + "\n")
    assert added.exit_code == 0, added.output
    assert added.output == "user ana (analyst) added\n"
    # interactive: prompted twice, never echoed
    prompted = runner.invoke(app, ["user", "add", "lee", "--role", "legal", "--db", url],
                             input=f"{SECRET}\n{SECRET}\n")
    assert prompted.exit_code == 0, prompted.output
    assert SECRET not in prompted.output and "user lee (legal) added" in prompted.output

    listed = runner.invoke(app, ["user", "list", "--json", "--db", url])
    assert json.loads(listed.output) == [
        {"username": "ana", "role": "analyst", "language": "zh", "active": True},
        {"username": "lee", "role": "legal", "language": "en", "active": True},
    ]
    db = Database(url)
    assert accounts.sign_in(db, "ana", SECRET).account is not None
    assert all(SECRET not in u.password_hash for u in all_rows(db, User))

    disabled = runner.invoke(app, ["user", "disable", "ana", "--db", url])
    assert disabled.exit_code == 0 and disabled.output == "user ana disabled\n"
    assert accounts.sign_in(db, "ana", SECRET).account is None
    assert runner.invoke(app, ["user", "list", "--db", url]).output.splitlines()[0] == "ana\tanalyst\tzh\tdisabled"
    assert runner.invoke(app, ["user", "enable", "ana", "--db", url]).exit_code == 0
    assert accounts.sign_in(db, "ana", SECRET).account is not None
    actions = [(a.actor, a.action, a.object_id) for a in all_rows(db, AuditLog) if a.action.startswith("user.")]
    assert actions == [("cli", "user.add", "ana"), ("cli", "user.add", "lee"), ("cli", "user.disable", "ana"),
                       ("cli", "user.enable", "ana")]


def test_bad_input_is_refused_with_the_fix_and_nothing_is_lost(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/u.db"
    ok = runner.invoke(app, ["user", "add", "ana", "--role", "admin", "--password-stdin", "--db", url],
                       input=SECRET + "\n")
    assert ok.exit_code == 0
    cases = [
        (["ana", "--role", "legal"], SECRET, "the user 'ana' exists already"),
        (["bob", "--role", "boss"], SECRET, "'boss' is not a role; use one of analyst, legal, admin"),
        (["bob", "--role", "legal"], "short", "shorter than 10 characters"),
        (["bo b", "--role", "legal"], SECRET, "is not a usable username"),
        (["bob", "--role", "legal", "--language", "fr"], SECRET, "'fr' is not a dashboard language"),
    ]
    for args, password, message in cases:
        result = runner.invoke(app, ["user", "add", *args, "--password-stdin", "--db", url], input=password + "\n")
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    mismatch = runner.invoke(app, ["user", "add", "bob", "--role", "legal", "--db", url], input=f"{SECRET}\nother\n")
    assert mismatch.exit_code != 0 and "the two passwords differ" in mismatch.output
    assert [(a.username, a.role) for a in accounts.list_users(Database(url))] == [("ana", "admin")]
    missing = runner.invoke(app, ["user", "disable", "nobody", "--db", url])
    assert missing.exit_code == 2 and "there is no user 'nobody'" in missing.output
