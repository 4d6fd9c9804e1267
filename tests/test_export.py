from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from core.export import neutralise, write_csv, write_xlsx

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1", "{=1+1}", 'a";=1+2']


def test_neutralise_prefixes_formula_text_only() -> None:
    for value in HOSTILE:
        assert str(neutralise(value)).startswith("'")
    assert neutralise("Lumina serum") == "Lumina serum"
    assert neutralise(Decimal("12.50")) == Decimal("12.50")
    assert neutralise(-3) == -3


def test_csv_cells_read_back_as_text() -> None:
    out = io.StringIO()
    write_csv([[v, Decimal("9.99")] for v in HOSTILE], ["seller", "price"], out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    assert all(row[0].startswith("'") for row in rows)
    assert all(row[1] == "9.99" for row in rows)


def test_xlsx_has_no_formulas_and_numbers_stay_numbers(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx([[v, Decimal("9.99")] for v in HOSTILE], ["seller", "price"], path)
    sheet = load_workbook(path).active
    assert sheet is not None
    for row in sheet.iter_rows(min_row=2):
        assert row[0].data_type != "f" and str(row[0].value).startswith("'")
        assert row[1].data_type == "n" and row[1].value == 9.99
