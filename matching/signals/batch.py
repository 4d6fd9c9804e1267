"""Batch-code signal: which distributor were these goods shipped to, by the lot code the listing shows?

Brands print a lot or anti-diversion code on each unit, and give each distributor its own prefixes or ranges
(`batch_prefixes` and `batch_ranges` of each authorised seller). Listings of genuine stock often quote the code
("批号：GDS2405117", "Lot GDS2405117") to prove it is real, and so name the distributor the stock leaked from.

A code is read from the listing text when it follows a batch word (批号, 批次, 生产批号, lot, batch, ...), when it
starts with a configured prefix or when it lies in a configured range; it is traced with core.batchcodes (a range
beats a prefix, the longest prefix wins).
  MATCH     a code traces to a distributor; evidence["own"] says whether that is the seller's own distributor
  NO_MATCH  a code follows a batch word but matches no prefix or range the brand gave anyone (bogus, or mistyped)
  UNKNOWN   the listing shows no batch code (or the brand configured no prefixes or ranges)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.batchcodes import BatchRange, BatchTrace, normalise_code, parse_batch_range, trace_batch_code
from core.config import AuthorisedSeller
from matching.signals.result import SignalResult, match, no_match, unknown
from matching.signals.seller import authorisation_for
from matching.terms import fold_keep_spaces

NAME = "batch_code"
MAX_CODES = 10
_KEYWORD = r"(?:生产批号|批号|批次号|批次|批码|产品批号|lot\s*(?:no\.?|number|#)?|batch\s*(?:no\.?|number|code|#)?)"
# A code: letters and digits, at least 5 long, with at least 3 digits; hyphens allowed inside.
_CODE = r"([0-9a-z][0-9a-z\-]{3,23}[0-9a-z])"
_AFTER_KEYWORD = re.compile(rf"(?<![0-9a-z]){_KEYWORD}\s*[:：#]?\s*{_CODE}(?![0-9a-z])")
_TOKEN = re.compile(r"(?<![0-9a-z])[0-9a-z][0-9a-z\-]{3,23}[0-9a-z](?![0-9a-z])")


def _plausible(code: str) -> bool:
    return sum(c.isdigit() for c in code) >= 3


def _parsed_ranges(ranges: Sequence[str]) -> list[BatchRange]:
    out = []
    for raw in ranges:
        try:
            out.append(parse_batch_range(raw))
        except ValueError:  # refused at load; nothing to look for
            continue
    return out


def find_codes(text: str, prefixes: Sequence[str],
               ranges: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(codes after a batch word, codes starting with a configured prefix or lying in a configured range),
    normalised, each list deduplicated."""
    folded = fold_keep_spaces(text)
    after_keyword = [normalise_code(m.group(1)) for m in _AFTER_KEYWORD.finditer(folded)]
    wanted = [p for p in (normalise_code(x) for x in prefixes) if p]
    spans = _parsed_ranges(ranges)
    prefixed = []
    for m in _TOKEN.finditer(folded):
        code = normalise_code(m.group(0))
        if any(code.startswith(p) and len(code) > len(p) for p in wanted) or any(r.contains(code) for r in spans):
            prefixed.append(code)
    keep = lambda codes: list(dict.fromkeys(c for c in codes if _plausible(c)))[:MAX_CODES]  # noqa: E731
    return keep(after_keyword), keep(prefixed)


def _owner(trace: BatchTrace) -> str:
    return trace.distributor or ", ".join(trace.sellers)


def _basis(trace: BatchTrace) -> str:
    """What traced the code, for a reason: `prefix GDS` or `range GD240100..GD240399`."""
    return f"range {trace.range}" if trace.range else f"prefix {trace.prefix}"


def batch_code_signal(text: str, marketplace: str, seller_name: str | None, seller_id: str | None,
                      authorised: Sequence[AuthorisedSeller]) -> SignalResult:
    prefixes = [p for a in authorised for p in a.batch_prefixes]
    ranges = [r for a in authorised for r in a.batch_ranges]
    after_keyword, prefixed = find_codes(text, prefixes, ranges)
    codes = list(dict.fromkeys(after_keyword + prefixed))
    if not codes:
        return unknown(NAME, "the listing shows no batch code", codes=[])
    if not prefixes and not ranges:
        return unknown(NAME, f"the listing shows batch code {codes[0]}, but no distributor's batch prefixes or "
                       "ranges are configured (add batch_prefixes or batch_ranges to the authorised sellers)",
                       codes=codes)
    traces = [trace_batch_code(code, authorised) for code in codes]
    traced = [t for t in traces if t.found]
    auth = authorisation_for(marketplace, seller_name, seller_id, authorised)
    own_distributor = (auth.distributor or auth.name) if auth is not None else None
    evidence = {"codes": codes, "traced": [{"code": t.code, "prefix": t.prefix, "range": t.range,
                                            "distributor": t.distributor, "sellers": list(t.sellers)}
                                           for t in traced]}
    if traced:
        foreign = [t for t in traced if _owner(t) != own_distributor]
        trace = foreign[0] if foreign else traced[0]
        own = not foreign
        evidence.update(code=trace.code, prefix=trace.prefix, range=trace.range, distributor=_owner(trace), own=own)
        if own:
            reason = (f"batch code {trace.code} is from the lots shipped to {_owner(trace)} ({_basis(trace)}), "
                      "the seller's own distributor")
        else:
            reason = f"batch code {trace.code} was shipped to {_owner(trace)} ({_basis(trace)})"
            if own_distributor is not None:
                reason += f", not to the seller's own distributor {own_distributor}"
        return match(NAME, reason, 1.0, **evidence)
    ambiguous = [t for t in traces if t.ambiguous]
    if ambiguous:
        return unknown(NAME, ambiguous[0].describe(), **evidence)
    untraced = [c for c in after_keyword if c in codes]
    if not untraced:
        return unknown(NAME, "the listing shows no batch code", **evidence)
    shown = ", ".join(untraced[:3])
    return no_match(NAME, f"batch code {shown} matches none of the batch prefixes or ranges the brand gave "
                    "its distributors",
                    0.0, unknown_codes=untraced, **evidence)
