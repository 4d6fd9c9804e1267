"""Finding names and keywords in listing text, after core.text.fold_for_match (case, width, spaces).

A term of several words ("Lumina serum") is found when each of its words is. Latin-script words must stand
alone ("cream" is not found in "icecream"); CJK words are found anywhere, since CJK text has no spaces.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from core.text import fold_for_match


def fold_keep_spaces(text: str) -> str:
    """NFKC + casefold with runs of whitespace as one space: fold_for_match that keeps word breaks."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])")


@dataclass(frozen=True)
class FoldedText:
    spaced: str  # NFKC + casefold, single spaces: for whole-word Latin look-ups
    compact: str  # fold_for_match: for CJK look-ups

    @classmethod
    def of(cls, text: str) -> FoldedText:
        return cls(fold_keep_spaces(text), fold_for_match(text))

    def has_word(self, word: str) -> bool:
        folded = fold_for_match(word)
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
    return bool(a) and fold_for_match(a) == fold_for_match(b)
