"""Text signals: words sellers use for copies (counterfeit tells) and for off-channel stock (diversion tells).

Each tell is a pattern over the NFKC-folded, lower-cased title and description. Some need no brand name beside them
(大牌同款, 某大牌, 专柜同款, 原单): they point at "the big brand" without naming it, so that a listing whose photo
or bent name shows it is the brand's is a copy by its own words. Patterns are narrow on purpose:
'仿' alone would also hit 仿真 (lifelike) and 模仿, and 'AAA' alone would hit AAA batteries, so those count only
in their trade forms. MATCH means at least one tell was found; the text always exists, so there is no UNKNOWN.
"""

from __future__ import annotations

import re

from matching.signals.result import SignalResult, match, no_match
from matching.terms import fold_keep_spaces
from matching.wording import quoted

COUNTERFEIT = "text.counterfeit"
DIVERSION = "text.diversion"

# Latin words stand alone; `\b` would not do, since CJK letters count as word characters to `re`.
_A, _Z = r"(?<![0-9a-z])", r"(?![0-9a-z])"

# (what the reason quotes, or None to quote the words as found; pattern)
COUNTERFEIT_TELLS: tuple[tuple[str | None, str], ...] = (
    ("高仿", r"高仿"),
    ("精仿", r"精仿"),
    ("仿", r"(?<![模])仿(?![佛真古生])"),  # 仿品, 仿货, 仿牌... not 仿真 / 模仿 / 仿佛 / 仿古 / 仿生
    ("A货", rf"{_A}a货"),
    ("超A", r"超a(?:货|级|版)"),
    ("原单", r"原单"),
    ("尾单", r"尾单"),
    ("复刻", r"复刻"),
    ("1:1", r"(?<![0-9])1\s*[:比]\s*1(?![0-9])"),
    ("一比一", r"一比一"),
    ("专柜版", r"专柜版"),
    ("平替", r"平替"),  # "affordable substitute": a dupe sold on the brand's name
    # Brandless tells: copies that leave the brand's name out to pass keyword filters, and point at it instead.
    ("大牌同款", r"大牌同款"),  # "the same as the big brand's"
    ("某大牌", r"某大牌"),  # "a certain big brand"
    ("专柜同款", r"专柜同款"),  # "the same as in the department-store counter"
    ("平价替代", r"平价替代"),
    (None, rf"{_A}replicas?{_Z}"),
    (None, rf"{_A}inspired\s+by{_Z}"),
    (None, rf"{_A}dupes?{_Z}"),
    ("AAA", rf"{_A}aaa(?:\+|\s*(?:级|货|版|quality{_Z}|grade{_Z}))"),
    (None, rf"{_A}same\s+quality\s+as\s+(?:the\s+)?(?:original|counter|genuine)"),
)
DIVERSION_TELLS: tuple[tuple[str | None, str], ...] = (
    ("清仓", r"清仓"),
    ("尾货", r"尾货"),
    ("内部渠道", r"内部渠道"),
    ("内部价", r"内部价"),
    ("内购", r"内购"),
    ("员工价", r"员工价"),
    ("渠道货", r"渠道货"),
    ("撤柜", r"撤柜"),
    ("刮码", r"刮码"),  # batch code scratched off: hides which distributor leaked the stock
    ("水货", r"水货"),
    ("平行进口", r"平行进口"),
    ("代购", r"代购"),
    ("免税", r"免税"),
    ("小样", r"小样"),  # samples are given away, not sold
    (None, rf"{_A}parallel[\s-]+import"),
    (None, rf"{_A}gr[ae]y[\s-]+market"),
)
_COMPILED = {
    COUNTERFEIT: [(label, re.compile(p)) for label, p in COUNTERFEIT_TELLS],
    DIVERSION: [(label, re.compile(p)) for label, p in DIVERSION_TELLS],
}


def find_tells(text: str, kind: str) -> list[str]:
    """Labels of the tells in `text`; a tell inside a longer one found too (仿 in 高仿) is not repeated."""
    folded = fold_keep_spaces(text)
    spans: list[tuple[int, int, str]] = []
    for label, pattern in _COMPILED[kind]:
        spans += [(m.start(), m.end(), label or " ".join(m.group(0).split())) for m in pattern.finditer(folded)]
    kept: list[str] = []
    for start, end, label in sorted(spans):
        inside_longer = any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
        if not inside_longer and label not in kept:
            kept.append(label)
    return kept


def counterfeit_tells_signal(text: str) -> SignalResult:
    tells = find_tells(text, COUNTERFEIT)
    if tells:
        return match(COUNTERFEIT, f"the listing text says {quoted(tells)}, words sellers use for copies",
                     float(len(tells)), tells=tells)
    return no_match(COUNTERFEIT, "the listing text uses none of the words sellers use for copies", 0.0, tells=[])


def diversion_tells_signal(text: str) -> SignalResult:
    tells = find_tells(text, DIVERSION)
    if tells:
        return match(DIVERSION, f"the listing text says {quoted(tells)}, words used for stock sold off its "
                     "authorised channel", float(len(tells)), tells=tells)
    return no_match(DIVERSION, "the listing text uses none of the words for off-channel stock", 0.0, tells=[])
