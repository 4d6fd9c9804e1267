"""Finding names and keywords in listing text, after core.text.fold_for_match (case, width, spaces) and with
traditional Chinese characters read as simplified (煥活精華液 is 焕活精华液, A貨 is A货), on both sides.

A term of several words ("Lumina serum") is found when each of its words is. Latin-script words must stand
alone ("cream" is not found in "icecream"); CJK words are found anywhere, since CJK text has no spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np

from core.text import fold_for_match, nfkc_casefold


@lru_cache(maxsize=1)
def _simplified() -> np.ndarray:
    """Every code point's simplified form (itself, unless OpenCC's table lists it as a traditional character; its
    first choice where it offers several): Taiwan and Hong Kong shops write the brand's names in traditional script.
    A lookup array, since a description can run to 20,000 characters and str.translate costs ~90 ns each."""
    table = files("opencc").joinpath("dictionary/TSCharacters.txt").read_text(encoding="utf-8")
    pairs = [(traditional, simplified.split()[0]) for traditional, _, simplified in
             (line.partition("\t") for line in table.splitlines()) if len(traditional) == 1 and simplified.split()]
    lookup = np.arange(max(ord(t) for t, _ in pairs) + 1, dtype=np.uint32)
    for traditional, simplified in pairs:
        if len(simplified) == 1:
            lookup[ord(traditional)] = ord(simplified)
    return lookup


def simplified_char(ch: str) -> str:
    """One character's simplified form (itself unless it is a traditional character)."""
    lookup = _simplified()
    point = ord(ch)
    return chr(lookup[point]) if point < lookup.size else ch


def fold_script(text: str) -> str:
    """Traditional Chinese characters as simplified; everything else unchanged."""
    if text.isascii():
        return text
    lookup = _simplified()
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    inside = points < lookup.size
    return np.where(inside, lookup[np.where(inside, points, 0)], points).tobytes().decode("utf-32-le", "surrogatepass")


def fold_keep_spaces(text: str) -> str:
    """NFKC + casefold with runs of whitespace as one space, traditional characters as simplified: the form
    listing text is searched in (fold_for_match keeps no word breaks)."""
    return fold_script(re.sub(r"\s+", " ", nfkc_casefold(text)))


def fold_compact(text: str) -> str:
    """fold_for_match with traditional characters as simplified: for CJK look-ups and comparing names."""
    return fold_script(fold_for_match(text))


@lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])")


@dataclass(frozen=True)
class FoldedText:
    spaced: str  # NFKC + casefold, single spaces: for whole-word Latin look-ups
    compact: str  # fold_for_match: for CJK look-ups

    @classmethod
    def of(cls, text: str) -> FoldedText:
        return cls(fold_keep_spaces(text), fold_compact(text))

    def has_word(self, word: str) -> bool:
        folded = fold_compact(word)
        if not folded:
            return False
        if folded.isascii():
            return _word_pattern(folded).search(self.spaced) is not None
        return folded in self.compact

    def has_term(self, term: str) -> bool:
        words = fold_keep_spaces(term).split()
        return bool(words) and all(self.has_word(w) for w in words)


def same_name(a: str, b: str) -> bool:
    """Two shop or brand names written alike, ignoring case, width and spaces."""
    return bool(a) and fold_compact(a) == fold_compact(b)
