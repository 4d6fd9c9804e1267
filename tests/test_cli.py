"""The CLI on real databases and real pages: export of confirmed findings, findings, parse."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from brandpatrol.cli import app
from core.models import ReviewDecision
from dashboard.data.reviews import review
from tests.dashboard_support import World

runner = CliRunner()


def test_export_confirmed_findings_formula_safe(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    confirmed = world.add_finding(score=0.9, title='=HYPERLINK("http://x","y")', seller="@SUM(A1)")
    world.add_finding(score=0.8, title="dismissed one")
    world.add_finding(score=0.7, title="never reviewed")
    review(world.db, [confirmed], ReviewDecision.CONFIRMED, "legal", "fake, test buy ordered")
    review(world.db, [2], ReviewDecision.DISMISSED, "analyst", "genuine")
    db = world.db.url

    for name in ("out.csv", "out.xlsx", "out.json"):
        result = runner.invoke(app, ["export", "-o", str(tmp_path / name), "--db", db])
        assert result.exit_code == 0, result.output
        assert "wrote 1 confirmed listings" in result.output
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8-sig")))
    assert [r["title"] for r in rows] == ['\'=HYPERLINK("http://x","y")']
    assert rows[0]["seller"] == "'@SUM(A1)" and rows[0]["price"] == "99.00" and rows[0]["review"] == "confirmed"
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert sheet is not None
    cells = {c.value: c for c in sheet[1]}
    title_col = list(cells).index("title")
    price_col = list(cells).index("price")
    data = sheet[2]
    assert data[title_col].data_type == "s" and str(data[title_col].value).startswith("'=")
    assert data[price_col].data_type == "n"
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))[0]["finding_id"] == confirmed

    bad = runner.invoke(app, ["export", "-o", str(tmp_path / "out.pdf"), "--db", db])
    assert bad.exit_code != 0


def test_findings_json_lists_suspects_by_score(tmp_path: Path) -> None:
    world = World.create(tmp_path)
    world.add_finding(score=0.6)
    world.add_finding(score=0.95)
    result = runner.invoke(app, ["findings", "--format", "json", "--db", world.db.url])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["score"] for r in records] == [0.95, 0.6]


def test_parse_reads_structured_data_of_a_real_page(shared_pages: Path) -> None:
    page = shared_pages / "ebay_item_rtx5090_seller_paris_2025.html"
    result = runner.invoke(app, ["parse", str(page), "--json"])
    assert result.exit_code == 0, result.output
    [listing] = json.loads(result.output)
    assert listing["title"] == "NVIDIA GeForce RTX 5090 FE Founders Edition"
    # Recognised as eBay by its address: the seller's own price, not eBay's USD conversion in its JSON-LD.
    assert listing["marketplace"] == "ebay"
    assert listing["currency"] == "EUR" and listing["price"] == "3500.00"
    assert listing["country"] == "FR"
    assert listing["image_urls"][0].startswith("https://i.ebayimg.com/")


def test_parse_refuses_private_urls_and_missing_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["parse", "http://127.0.0.1:9/item", "--json"])
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception) and "non-public" in str(result.exception)
    missing = runner.invoke(app, ["parse", str(tmp_path / "nope.html")])
    assert missing.exit_code != 0 and "neither a file" in str(missing.exception)


@pytest.mark.parametrize("command", ["demo", "crawl", "match", "findings", "dashboard", "schedule", "export",
                                     "evaluate", "check-config", "parse"])
def test_help_lists_every_command(command: str) -> None:
    result = runner.invoke(app, ["--help"])
    assert command in result.output
