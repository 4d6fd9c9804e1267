"""Batch and anti-diversion codes: which distributor a unit was shipped to, from the code printed on it.

Each authorised seller in the configuration lists the `batch_prefixes` of goods shipped to its distributor. A code
read from a unit (a test buy) or seen in a listing's text resolves to the distributor whose prefix it starts with;
the longest prefix wins, so `GD24` beats `GD`. Two distributors holding the same longest prefix is a configuration
problem, reported as ambiguous rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from core.config import AuthorisedSeller

CODE_MAX = 100
_NOT_CODE = re.compile(r"[^0-9A-Z]")


def normalise_code(text: str | None) -> str:
    """Upper-case letters and digits only: `gd24-0311`, `ＧＤ２４ 0311` and `GD240311` are the same code."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)[: CODE_MAX * 4]).upper()
    return _NOT_CODE.sub("", folded)[:CODE_MAX]


@dataclass(frozen=True)
class BatchTrace:
    """Where a code leads. `distributor` is None when no prefix matches or when the match is ambiguous."""

    code: str  # normalised
    prefix: str | None = None
    distributor: str | None = None
    sellers: tuple[str, ...] = ()  # authorised sellers holding the prefix
    regions: tuple[str, ...] = ()  # where those sellers may ship from
    ambiguous: bool = False

    @property
    def found(self) -> bool:
        return self.distributor is not None

    def describe(self) -> str:
        """One sentence for a report (our own wording around configured names)."""
        if not self.code:
            return "No code was read from the unit."
        if self.ambiguous:
            return (
                f"Code {self.code} starts with {self.prefix}, a prefix configured for more than one distributor "
                f"({', '.join(self.sellers)}); correct batch_prefixes in the configuration."
            )
        if self.distributor is None:
            return f"Code {self.code} matches no configured batch prefix."
        regions = f" (authorised for {', '.join(self.regions)})" if self.regions else ""
        return f"Code {self.code} (prefix {self.prefix}) was shipped to {self.distributor}{regions}."


def trace_batch_code(code: str | None, sellers: Sequence[AuthorisedSeller]) -> BatchTrace:
    """The distributor a code was shipped to, through the authorised sellers' batch prefixes."""
    normalised = normalise_code(code)
    if not normalised:
        return BatchTrace(code="")
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
