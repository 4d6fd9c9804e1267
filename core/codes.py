"""Codes printed on a pack: GTINs (the barcode under the price) and the brand's issued serials (一物一码).

GTIN-8, -12 (UPC-A), -13 (EAN-13) and -14 end in a check digit (GS1's mod-10: from the right, digits weigh 3, 1,
3, 1 ...); a brand lists its products' GTINs under `gtins` and check-config refuses one whose check digit is wrong.

A brand that prints a serial or QR code on every unit exports the codes it issued from its code system as a CSV
(`brand.issued_codes: codes.csv`, relative to the YAML) with the header `code,distributor` and an optional `sku`
column: `distributor` is an authorised seller's `distributor` value, or its `name` where it has none. Codes are
compared as upper-case letters and digits (core.batchcodes.normalise_code). A file with bad rows is refused as a
whole, each bad row named by its line: nothing is half-loaded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.batchcodes import normalise_code

GTIN_LENGTHS = (8, 12, 13, 14)
MAX_CODES_FILE_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS_LISTED = 20
_LETTERS_THEN_DIGITS = re.compile(r"([A-Z]*)([0-9].*)\Z")


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit of a GTIN's digits without their last one."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin_problem(text: str) -> str | None:
    """Why `text` is not a GTIN (wrong length, not digits, wrong check digit), or None when it is one."""
    digits = str(text).strip()
    if not digits.isascii() or not digits.isdigit():
        return f"'{text}' is not a GTIN: a GTIN is digits only"
    if len(digits) not in GTIN_LENGTHS:
        return f"'{text}' is not a GTIN: it has {len(digits)} digits, a GTIN has 8, 12, 13 or 14"
    expected = gtin_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        return f"'{text}' is not a GTIN: its check digit is {digits[-1]}, the digits before it give {expected}"
    return None


def gtin14(digits: str) -> str:
    """A GTIN of any length as 14 digits, so an EAN-13 and the UPC-A or GTIN-14 of the same item compare equal."""
    return digits.zfill(14)


def code_shape(code: str) -> tuple[str, int] | None:
    """(letters before the first digit, length) of a normalised code: `SN00012345` is ('SN', 10). None for a
    code without digits. Issued serials share a few shapes; a code of the same shape that was never issued is one
    a copier made up."""
    match = _LETTERS_THEN_DIGITS.match(code)
    return (match.group(1), len(code)) if match else None


class CodesFileError(ValueError):
    """An issued-codes file that cannot be used, with every problem found (lines numbered from the header, 1)."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_LISTED]
        more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"{self.path}: " + "; ".join(shown) + more)


@dataclass(frozen=True)
class IssuedCode:
    code: str  # normalised
    distributor: str
    sku: str | None
    line: int


@dataclass(frozen=True)
class IssuedCodes:
    """The brand's issued serials by normalised code, the shapes they come in, and a digest of the file."""

    codes: Mapping[str, IssuedCode] = field(default_factory=dict)
    shapes: frozenset[tuple[str, int]] = frozenset()
    sha256: str = ""
    source: str = ""

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, code: str) -> IssuedCode | None:
        return self.codes.get(normalise_code(code))

    def shaped_like_ours(self, code: str) -> bool:
        return code_shape(normalise_code(code)) in self.shapes


def parse_issued_codes(text: str, source: Path | str, distributors: Iterable[str],
                       skus: Iterable[str] = ()) -> IssuedCodes:
    """Read a `code,distributor[,sku]` CSV. Raises CodesFileError listing every bad row by its line."""
    known = {d for d in distributors if d}
    known_skus = set(skus)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    problems: list[str] = []
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CodesFileError(source, ["the file is empty; its first line must be the header code,distributor"]
                             ) from None
    except csv.Error as exc:
        raise CodesFileError(source, [f"line 1: {exc}"]) from None
    if "code" not in header or "distributor" not in header:
        raise CodesFileError(source, [f"line 1: the header is {','.join(header) or 'empty'}; it must name the "
                                      "columns code and distributor (and optionally sku)"])
    extra = [h for h in header if h not in ("code", "distributor", "sku")]
    if extra:
        problems.append(f"line 1: unknown column {', '.join(extra)}; the columns are code, distributor and sku")
    at = {name: header.index(name) for name in ("code", "distributor", "sku") if name in header}
    codes: dict[str, IssuedCode] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(f"line {line}: {len(row)} fields where the header has {len(header)}")
                continue
            raw, distributor = row[at["code"]].strip(), row[at["distributor"]].strip()
            sku = row[at["sku"]].strip() or None if "sku" in at else None
            code = normalise_code(raw)
            if not code or code_shape(code) is None:
                problems.append(f"line {line}: code '{raw[:40]}' has no digits; a serial is letters and digits")
            elif distributor not in known:
                problems.append(f"line {line}: distributor '{distributor[:60]}' is no authorised seller's distributor "
                                f"(known: {', '.join(sorted(known)) or 'none'}); use its distributor value, or its "
                                "name where it has none")
            elif sku is not None and known_skus and sku not in known_skus:
                problems.append(f"line {line}: sku '{sku[:40]}' is not one of the products")
            elif code in codes and codes[code].distributor != distributor:
                problems.append(f"line {line}: code {code} was already issued to {codes[code].distributor} "
                                f"(line {codes[code].line}); a serial goes to one distributor")
            else:
                codes.setdefault(code, IssuedCode(code, distributor, sku, line))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    if problems:
        raise CodesFileError(source, problems)
    return IssuedCodes(codes=codes, shapes=frozenset(s for c in codes if (s := code_shape(c)) is not None),
                       sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), source=str(source))


def load_issued_codes(path: Path, distributors: Iterable[str], skus: Iterable[str] = ()) -> IssuedCodes:
    try:
        if path.stat().st_size > MAX_CODES_FILE_BYTES:
            raise CodesFileError(path, [f"larger than {MAX_CODES_FILE_BYTES} bytes; split the export"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodesFileError(path, ["file not found; issued_codes is a path relative to the YAML file"]) from None
    except UnicodeDecodeError:
        raise CodesFileError(path, ["not UTF-8 text; export the CSV as UTF-8"]) from None
    return parse_issued_codes(text, path, distributors, skus)
