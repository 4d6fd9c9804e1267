"""Scraped text is data: normalised, stripped of control characters and capped before it is stored."""

from __future__ import annotations

import re
import unicodedata

TITLE_MAX = 1000
NAME_MAX = 200
TEXT_MAX = 20_000

# C0/C1 controls except tab and newline; zero-width and bidi overrides that hide or reorder what a reader sees;
# lone surrogates (from a page's numeric character references or a bad decoder), which no UTF-8 column can store,
# and the non-characters U+FFFE/U+FFFF.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ud800-\udfff\ufeff\ufffe\uffff]")


def clean_text(value: object, limit: int = TEXT_MAX, *, single_line: bool = False) -> str:
    """NFC-normalise, drop NULs/controls/invisible marks, fold whitespace, cap at `limit` characters."""
    if value is None:
        return ""
    # Marks out before normalising: one between a letter and its accent ('A' U+FEFF U+0300) would otherwise
    # leave the pair decomposed, and the same title cleaned again would differ from what was stored.
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", str(value)[: limit * 4]))
    text = re.sub(r"\s+", " ", text) if single_line else re.sub(r"[ \t\r\f\v]+", " ", text)
    return text.strip()[:limit]


def clean_line(value: object, limit: int = TITLE_MAX) -> str:
    return clean_text(value, limit, single_line=True)


def nfkc_casefold(text: str) -> str:
    """NFKC, casefold, NFKC again: Unicode's caseless match form ('ß' plus an accent casefolds to 'ss' plus an
    accent, which composes only when normalised again)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def fold_for_match(text: str) -> str:
    """Case-, width- and space-insensitive form for comparing names (ＬＵＭＩＮＡ == lumina).

    Normalised again once the spaces are out: a space a seller puts before an accent ('a' ' ' U+0300) would
    otherwise leave a decomposed 'à' that never equals the name written plainly.
    """
    return unicodedata.normalize("NFKC", re.sub(r"\s+", "", nfkc_casefold(text)))
