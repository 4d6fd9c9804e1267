"""Batch and anti-diversion codes: which distributor a unit was shipped to, from the code printed on it.

Each authorised seller in the configuration lists the `batch_prefixes` and `batch_ranges` of goods shipped to its
distributor. A code read from a unit (a test buy) or seen in a listing's text resolves to a distributor:

- **Ranges first.** A range `LOW..HIGH` (e.g. `GD240100..GD240399`) holds the codes of the same length as its ends,
  with the same letters part (everything before the digits at the end, `GD` here), whose trailing number lies
  between LOW's and HIGH's, both ends included. A longer code is read by its first len(LOW) characters, as a prefix
  is: lots are often printed with a suffix (`GD240211X3` is lot `GD240211`). A shorter code never lies in a range.
  A range match is more specific than any prefix match, so a range given to one distributor wins over another
  distributor's prefix (`GD24`) the code also starts with. Among ranges the longest ends win (as `GD24` beats `GD`);
  ranges of the same length held by two distributors that both contain the code are reported as ambiguous.
- **Then prefixes.** The longest prefix the code starts with wins, so `GD24` beats `GD`. Two distributors holding
  the same longest prefix is a configuration problem, reported as ambiguous rather than guessed.

Ranges are written `LOW..HIGH`. `LOW-HIGH` is accepted too when the hyphen splits the text into two codes of the same
shape (`A7-0001-A7-5000` is `A7-0001..A7-5000`); codes themselves may contain hyphens, so `..` is the documented form.
Both ends are normalised as codes (`normalise_code`), must have the same length and letters part, end in digits,
and LOW must not be above HIGH; the configuration is refused otherwise (core/config.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # core.config validates batch_ranges with parse_batch_range, so it imports this module
    from core.config import AuthorisedSeller

CODE_MAX = 100
_NOT_CODE = re.compile(r"[^0-9A-Z]")
_TRAILING_DIGITS = re.compile(r"[0-9]+\Z")
_RANGE_DOTS = re.compile(r"\s*\.{2,}\s*")
RANGE_EXAMPLE = "GD240100..GD240399"


def normalise_code(text: str | None) -> str:
    """Upper-case letters and digits only: `gd24-0311`, `ＧＤ２４ 0311` and `GD240311` are the same code."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)[: CODE_MAX * 4]).upper()
    return _NOT_CODE.sub("", folded)[:CODE_MAX]


def _split_code(code: str) -> tuple[str, str]:
    """(letters part, trailing digits): `GD240100` is ('GD', '240100'), `A7X001` is ('A7X', '001')."""
    digits = _TRAILING_DIGITS.search(code)
    if digits is None:
        return code, ""
    return code[: digits.start()], digits.group(0)


@dataclass(frozen=True)
class BatchRange:
    """A range of normalised codes, LOW and HIGH included; see the module docstring for what lies in it."""

    low: str
    high: str

    def __str__(self) -> str:
        return f"{self.low}..{self.high}"

    @property
    def width(self) -> int:
        return len(self.low)

    def contains(self, code: str) -> bool:
        """Whether a normalised code (or, for a longer code, its first `width` characters) lies in the range."""
        if len(code) < self.width:
            return False
        head = code[: self.width]
        stem, low_digits = _split_code(self.low)
        number = head[len(stem):]
        if not head.startswith(stem) or not number.isascii() or not number.isdigit():
            return False
        return int(low_digits) <= int(number) <= int(_split_code(self.high)[1])


def _shape_problem(low: str, high: str) -> str | None:
    """Why two normalised codes cannot be the ends of a range, and the fix; None when they can."""
    if not low or not high:
        return f"it needs a code at both ends; write it as LOW..HIGH, such as {RANGE_EXAMPLE}"
    if len(low) != len(high):
        return (f"{low} and {high} are not the same length; write both ends in full, "
                f"as in {RANGE_EXAMPLE} (not GD240100..399)")
    (low_stem, low_digits), (high_stem, high_digits) = _split_code(low), _split_code(high)
    if not low_digits or not high_digits:
        end = low if not low_digits else high
        return (f"{end} does not end in digits; a range counts through the digits at the end of its codes, "
                f"as in {RANGE_EXAMPLE}; give letters-only codes as batch_prefixes")
    if low_stem != high_stem:
        return (f"{low} and {high} differ before their trailing digits ({low_stem or 'nothing'} against "
                f"{high_stem or 'nothing'}); only the digits at the end may differ, so give one range per "
                "letters part")
    if int(low_digits) > int(high_digits):
        return f"{low} is above {high}; write the lower code first, as {high}..{low}"
    return None


def parse_batch_range(text: str) -> BatchRange:
    """A configured range, `LOW..HIGH` (or `LOW-HIGH` when that splits only one way); ValueError says what to fix."""
    raw = str(text).strip()
    fix = f"write it as LOW..HIGH, such as {RANGE_EXAMPLE}"
    if _RANGE_DOTS.search(raw):
        parts = _RANGE_DOTS.split(raw)
        if len(parts) != 2:
            raise ValueError(f"'{raw}' is not one batch range; {fix}, and give each range as its own entry")
        low, high = normalise_code(parts[0]), normalise_code(parts[1])
        problem = _shape_problem(low, high)
        if problem:
            raise ValueError(f"'{raw}' is not a batch range: {problem}")
        return BatchRange(low, high)
    hyphens = [i for i, char in enumerate(raw) if char == "-"]
    splits = {(normalise_code(raw[:i]), normalise_code(raw[i + 1:])) for i in hyphens}
    fitting = sorted(pair for pair in splits if _shape_problem(*pair) is None)
    if len(fitting) == 1:
        return BatchRange(*fitting[0])
    if len(splits) == 1:  # one way to split it, and that way is wrong: say why
        raise ValueError(f"'{raw}' is not a batch range: {_shape_problem(*next(iter(splits)))}")
    if not hyphens:
        raise ValueError(f"'{raw}' is not a batch range; {fix}")
    raise ValueError(f"'{raw}' does not split into two codes of the same shape at any hyphen; {fix}")


@dataclass(frozen=True)
class BatchTrace:
    """Where a code leads. `distributor` is None when nothing matches or when the match is ambiguous.

    A range match sets `range` (`GD240100..GD240399`; when ambiguous, every matching range, comma-separated) and
    leaves `prefix` None; a prefix match sets `prefix` and leaves `range` None.
    """

    code: str  # normalised
    prefix: str | None = None
    distributor: str | None = None
    sellers: tuple[str, ...] = ()  # authorised sellers holding the prefix or range
    regions: tuple[str, ...] = ()  # where those sellers may ship from
    ambiguous: bool = False
    range: str | None = None

    @property
    def found(self) -> bool:
        return self.distributor is not None

    def sentence(self) -> tuple[str, dict[str, str]]:
        """Which of TRACE_SENTENCES says where this code leads, and the values to fill it with (the dashboard
        words the same case in the reader's language)."""
        values = {"code": self.code, "prefix": self.prefix or "", "range": self.range or "",
                  "sellers": ", ".join(self.sellers), "distributor": self.distributor or "",
                  "regions": ", ".join(self.regions)}
        if not self.code:
            return "no_code", values
        if self.ambiguous:
            return ("ambiguous_range" if self.range else "ambiguous_prefix"), values
        if self.distributor is None:
            return "unmatched", values
        if self.range:
            width = len(self.range.split("..", 1)[0])
            if len(self.code) > width:  # a lot code followed by a unit serial: the lot is what the range holds
                return "range_lead", {**values, "lead": self.code[:width]}
            return "range", values
        return "prefix", values

    def describe(self) -> str:
        """One sentence for a report (our own wording around configured names)."""
        case, values = self.sentence()
        regions = TRACE_REGIONS.format(**values) if self.regions else ""
        return TRACE_SENTENCES[case].format(**{**values, "regions": regions})


# Where a code leads, in English; "{regions}" is TRACE_REGIONS when the distributor has authorised regions.
TRACE_SENTENCES = {
    "no_code": "No code was read from the unit.",
    "ambiguous_range": "Code {code} lies in batch ranges configured for more than one distributor ({sellers}: "
                       "{range}); correct batch_ranges in the configuration.",
    "ambiguous_prefix": "Code {code} starts with {prefix}, a prefix configured for more than one distributor "
                        "({sellers}); correct batch_prefixes in the configuration.",
    "unmatched": "Code {code} matches no configured batch prefix or range.",
    "range": "Code {code} lies in the range {range} shipped to {distributor}{regions}.",
    "range_lead": "Code {code} begins with {lead}, which lies in the range {range} shipped to {distributor}{regions}.",
    "prefix": "Code {code} (prefix {prefix}) was shipped to {distributor}{regions}.",
}
TRACE_REGIONS = " (authorised for {regions})"


def _ranges_of(seller: AuthorisedSeller) -> list[BatchRange]:
    out = []
    for raw in seller.batch_ranges:
        try:
            out.append(parse_batch_range(raw))
        except ValueError:  # validated at load; a seller built without validation is not traced through it
            continue
    return out


def _trace_by_range(code: str, sellers: Sequence[AuthorisedSeller]) -> BatchTrace | None:
    best_width = 0
    holders: list[tuple[AuthorisedSeller, BatchRange]] = []
    for seller in sellers:
        for batch_range in _ranges_of(seller):
            if not batch_range.contains(code) or batch_range.width < best_width:
                continue
            if batch_range.width > best_width:
                best_width, holders = batch_range.width, []
            holders.append((seller, batch_range))
    if not holders:
        return None
    distributors = list(dict.fromkeys(s.distributor or s.name for s, _ in holders))
    ranges = list(dict.fromkeys(str(r) for _, r in holders))
    if len(distributors) > 1:
        return BatchTrace(code=code, range=", ".join(ranges), sellers=tuple(distributors), ambiguous=True)
    names = tuple(dict.fromkeys(s.name for s, _ in holders))
    regions = tuple(dict.fromkeys(r for s, _ in holders for r in s.regions))
    return BatchTrace(code=code, range=ranges[0], distributor=distributors[0], sellers=names, regions=regions)


def trace_batch_code(code: str | None, sellers: Sequence[AuthorisedSeller]) -> BatchTrace:
    """The distributor a code was shipped to, through the authorised sellers' batch ranges, then their prefixes."""
    normalised = normalise_code(code)
    if not normalised:
        return BatchTrace(code="")
    by_range = _trace_by_range(normalised, sellers)
    if by_range is not None:
        return by_range
    best_length = 0
    holders: list[AuthorisedSeller] = []
    for seller in sellers:
        for raw_prefix in seller.batch_prefixes:
            prefix = normalise_code(raw_prefix)
            if not prefix or not normalised.startswith(prefix) or len(prefix) < best_length:
                continue
            if len(prefix) > best_length:
                best_length, holders = len(prefix), []
            if seller not in holders:
                holders.append(seller)
    if not holders:
        return BatchTrace(code=normalised)
    prefix = normalised[:best_length]
    distributors = list(dict.fromkeys(s.distributor or s.name for s in holders))
    names = tuple(dict.fromkeys(s.name for s in holders))
    regions = tuple(dict.fromkeys(r for s in holders for r in s.regions))
    if len(distributors) > 1:
        return BatchTrace(code=normalised, prefix=prefix, sellers=tuple(distributors), ambiguous=True)
    return BatchTrace(code=normalised, prefix=prefix, distributor=distributors[0], sellers=names, regions=regions)
