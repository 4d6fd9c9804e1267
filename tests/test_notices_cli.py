"""`brandpatrol notice ...` and `brandpatrol export --notice`: the takedown desk from the command line, on a real
database; the confirmed-findings export keeps working as before."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

from docx import Document
from pypdf import PdfReader
from typer.testing import CliRunner

from brandpatrol.cli import app
from core.models import AuditLog, ReviewDecision, Verdict
from dashboard.data.reviews import review
from tests.dashboard_support import World, all_rows
from tests.notices_support import set_signals, write_config

runner = CliRunner()


def test_draft_file_export_and_close_from_the_cli(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    fakes = [world.add_finding(score=0.9 - i / 10, title=f"露米娜精华 高仿 {i}") for i in range(3)]
    diverted = world.add_finding(score=0.95, verdict=Verdict.DIVERSION)
    for fid in fakes:
        set_signals(world, fid, **{"text.counterfeit": "match"})
    review(world.db, [*fakes, diverted], ReviewDecision.CONFIRMED, "ana")
    cfg, db = str(write_config(tmp_path)), world.db.url

    drafted = runner.invoke(app, ["notice", "draft", "-m", "taobao", "-t", "alibaba_ipp", "-c", cfg, "--db", db,
                                  "--actor", "lee"])
    assert drafted.exit_code == 0, drafted.output
    assert "drafted notice(s) 1 from 3 confirmed findings" in drafted.output  # the diversion finding is left out
    again = runner.invoke(app, ["notice", "draft", "-m", "taobao", "-t", "alibaba_ipp", "-c", cfg, "--db", db])
    assert again.exit_code != 0 and "no confirmed counterfeit findings on taobao" in str(again.exception)
    wrong = runner.invoke(app, ["notice", "draft", "-m", "taobao", "-t", "alibaba_ipp", "-f", str(diverted),
                                "-c", cfg, "--db", db])
    assert wrong.exit_code != 0 and "distribution_policy" in str(wrong.exception)
    policy = runner.invoke(app, ["notice", "draft", "-m", "taobao", "-t", "distribution_policy", "-c", cfg,
                                 "--db", db])
    assert policy.exit_code == 0 and "drafted notice(s) 2 from 1" in policy.output

    for suffix in ("pdf", "docx", "csv", "xlsx", "zip"):
        out = tmp_path / f"n1.{suffix}"
        result = runner.invoke(app, ["export", "--notice", "1", "-o", str(out), "--db", db, "-c", cfg,
                                     "--actor", "lee"])
        assert result.exit_code == 0, result.output
        assert f"wrote notice 1 to {out}" in result.output
    assert "露米娜精华" in "".join(p.extract_text() for p in PdfReader(tmp_path / "n1.pdf").pages).replace(" ", "")
    assert "阿里巴巴知识产权保护平台投诉" in "\n".join(p.text for p in Document(str(tmp_path / "n1.docx")).paragraphs)
    assert len(list(csv.DictReader((tmp_path / "n1.csv").open(encoding="utf-8-sig")))) == 3
    assert "manifest.json" in zipfile.ZipFile(tmp_path / "n1.zip").namelist()
    exports = [a for a in all_rows(world.db, AuditLog) if a.action == "notice.export"]
    assert [(a.actor, a.detail["format"], a.detail["redacted"]) for a in exports] == [
        ("lee", f, True) for f in ("pdf", "docx", "csv", "xlsx", "zip")]
    bad = runner.invoke(app, ["export", "--notice", "1", "-o", str(tmp_path / "n1.html"), "--db", db])
    assert bad.exit_code != 0 and "use one of pdf, docx, csv, xlsx, zip" in str(bad.exception)
    missing = runner.invoke(app, ["export", "--notice", "42", "-o", str(tmp_path / "x.pdf"), "--db", db])
    assert missing.exit_code != 0 and "there is no notice 42" in str(missing.exception)

    early = runner.invoke(app, ["notice", "close", "1", "--outcome", "removed", "--db", db])
    assert early.exit_code != 0 and "notice 1 is drafted" in str(early.exception)
    filed = runner.invoke(app, ["notice", "file", "1", "--reference", "IPP-77", "--date", "2026-03-04",
                                "--db", db, "--actor", "lee"])
    assert filed.exit_code == 0, filed.output
    closed = runner.invoke(app, ["notice", "close", "1", "--outcome", "rejected", "--note", "need test buy",
                                 "--db", db])
    assert closed.exit_code == 0, closed.output
    listed = json.loads(runner.invoke(app, ["notice", "list", "--json", "--db", db]).output)
    assert [(n["id"], n["status"], n["reference"]) for n in listed] == [(2, "drafted", None),
                                                                       (1, "rejected", "IPP-77")]
    only_drafts = runner.invoke(app, ["notice", "list", "--status", "drafted", "--db", db])
    assert only_drafts.output.startswith("2\tdrafted\ttaobao\tdistribution_policy")


def test_export_of_confirmed_findings_is_unchanged_without_notice(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    fid = world.add_finding(score=0.9)
    review(world.db, [fid], ReviewDecision.CONFIRMED, "ana")
    out = tmp_path / "findings.csv"
    result = runner.invoke(app, ["export", "-o", str(out), "--db", world.db.url])
    assert result.exit_code == 0 and "wrote 1 confirmed listings" in result.output
    assert next(csv.reader(out.open(encoding="utf-8-sig")))[0] == "finding_id"
    refused = runner.invoke(app, ["export", "-o", str(tmp_path / "findings.pdf"), "--db", world.db.url])
    assert refused.exit_code != 0  # a PDF needs --notice


def test_help_lists_the_desk_commands() -> None:
    output = runner.invoke(app, ["notice", "--help"]).output
    for command in ("draft", "list", "file", "close"):
        assert command in output
    assert "purge" in runner.invoke(app, ["privacy", "--help"]).output
