"""Safe export writers: scraped values never become spreadsheet formulas.

A cell that a spreadsheet would read as a formula (leading =, +, -, @, tab, CR, or those after leading spaces,
or a {=...} array formula) is written with a leading apostrophe, as OWASP advises. Real numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "{", "|", "%")

Cell = str | int | float | Decimal | datetime | None


def neutralise(value: Cell) -> Cell:
    """Text that could start a formula gets a leading apostrophe; numbers and dates pass through unchanged."""
    if value is None or isinstance(value, int | float | Decimal | datetime):
        return value
    text = str(value)
    stripped = text.lstrip(" \u00a0")
    if text.startswith(FORMULA_TRIGGERS) or stripped.startswith(FORMULA_TRIGGERS) or '";=' in text:
        return "'" + text
    return text


def _csv_cell(value: Cell) -> str:
    safe = neutralise(value)
    if safe is None:
        return ""
    if isinstance(safe, datetime):
        return safe.isoformat()
    return str(safe)


def write_csv(rows: Iterable[Sequence[Cell]], header: Sequence[str], out: io.TextIOBase | Any) -> None:
    writer = csv.writer(out)
    writer.writerow([_csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])


def write_xlsx(
    rows: Iterable[Sequence[Cell]], header: Sequence[str], path: Path | BinaryIO, sheet: str = "findings"
) -> None:
    """Write one sheet to a file path or a binary file object (e.g. io.BytesIO for a download)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(title=sheet[:31])
    ws.append([str(h) for h in header])
    for row in rows:
        cells: list[Any] = []
        for value in row:
            safe = neutralise(value)
            if isinstance(safe, Decimal):
                safe = float(safe)
            if isinstance(safe, datetime) and safe.tzinfo is not None:
                safe = safe.replace(tzinfo=None)  # Excel has no time zones; values are UTC
            cells.append(safe)
        ws.append(cells)
    book.save(path)
