"""Text folded for name look-ups (matching.names), one character at a time, remembering where each folded
character came from so a hit can quote the text as written:
  1. width and case (NFKC, casefold), accents off (Lumière is lumiere), traditional Chinese as simplified;
  2. letters of other scripts that look like Latin ones, as those (Cyrillic і in "Lumіere"), from the Unicode
     confusables table as the maintained `confusable-homoglyphs` package ships it; never Chinese, Japanese or
     Korean characters (〇 is a Chinese zero, though the table lists it beside o);
  3. spaces and punctuation dropped, remembering where they were ("L.umiere", "臻-颜", "L u m i e r e");
  4. digits, letters and symbols that stand in for one another as one class (`loose`): 0/o, 1/l/i/!/|, 3/e,
     4/a/@, 5/s/$, 7/t ("Lumi3re", "1umiere", "Lum!na"; a symbol only between two letters).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from confusable_homoglyphs import confusables
from confusable_homoglyphs.categories import alias

from matching.terms import simplified_char

MAX_TEXT = 20_000  # characters of one text looked at (a description can be long; names sit early)


LOOSE = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "4": "a", "5": "s", "7": "t",
                        "!": "l", "|": "l", "@": "a", "$": "s"})
# Symbols that stand for a letter, but only between two Latin letters ("Lum!na", "Lum@na"): "Lumina!" is a name.
_SYMBOL_LETTERS = frozenset("!|@$")
PLAIN, ACCENT, CONFUSED = 0, 1, 2
NO_GAP, SPACE, PUNCT = "", " ", "."


def is_cjk(ch: str) -> bool:
    """A Chinese character (CJK unified ideographs and their extensions)."""
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0003134f"


_EAST_ASIAN = frozenset({"HAN", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})
_LOOKALIKES: dict[str, str] = {}  # filled as characters are met; the table has ~10,000 entries


def _latin_lookalike(ch: str) -> str | None:
    """The Latin letter or digit `ch` is confusable with, per the Unicode confusables table; None if none."""
    cache = _LOOKALIKES
    if ch not in cache and alias(ch) in _EAST_ASIAN:
        cache[ch] = ""  # 〇 is a Chinese zero in a Chinese date, not an o
    if ch not in cache:
        found = confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin"]) or []
        glyphs = [g["c"] for entry in found for g in entry["homoglyphs"]]
        cache[ch] = next((g.casefold() for g in glyphs if len(g) == 1 and g.isascii() and g.isalnum()), "")
    return cache[ch] or None


@lru_cache(maxsize=65_536)
def _fold_char(ch: str) -> tuple[str, int, str]:
    """(folded characters, how they were folded), or ("", 0, the separator kind) for a space or punctuation."""
    kind = PLAIN
    out = []
    spaces_only = True
    for c in unicodedata.normalize("NFKC", ch).casefold():
        decomposed = unicodedata.normalize("NFD", c)
        base = c
        if any(unicodedata.combining(d) for d in decomposed):
            base = "".join(d for d in decomposed if not unicodedata.combining(d))
            kind = max(kind, ACCENT)
        for b in base:
            category = unicodedata.category(b)
            if category[0] in "PSCZM":  # punctuation, symbols, controls, spaces, stray marks
                spaces_only = spaces_only and b.isspace()
            elif is_cjk(b):
                out.append(simplified_char(b))
            elif b.isascii():
                out.append(b)
            else:
                latin = _latin_lookalike(b)
                out.append(latin or b)
                if latin is not None:
                    kind = CONFUSED
    if not out:
        return "", PLAIN, SPACE if spaces_only else PUNCT
    return "".join(out), kind, NO_GAP


@dataclass(frozen=True)
class Folded:
    """A text folded for name look-ups (see the module's docstring), with where each folded character came from.

    `plain` holds letters, digits and CJK characters only; `loose` is `plain` with look-alike digits and letters
    as one class; `origin[k]` is the text offset of plain[k], `gap[k]` the separator before it ("" none, " "
    whitespace, "." punctuation or symbols), `kind[k]` 0 plain, 1 accent removed, 2 another script's look-alike.
    """

    text: str
    plain: str
    loose: str
    origin: tuple[int, ...]
    gap: tuple[str, ...]
    kind: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Folded:
        text = text[:MAX_TEXT]
        chars: list[str] = []
        origin: list[int] = []
        gap: list[str] = []
        kind: list[int] = []
        pending = NO_GAP
        for i, ch in enumerate(text):
            if (ch.isascii() and ch.isalnum()) or (
                    ch in _SYMBOL_LETTERS and pending == NO_GAP and chars and is_latin(chars[-1])
                    and text[i + 1:i + 2].isascii() and text[i + 1:i + 2].isalpha()):
                chars.append(ch.lower())
                origin.append(i)
                gap.append(pending)
                kind.append(PLAIN)
                pending = NO_GAP
                continue
            folded, how, separator = _fold_char(ch)
            if not folded:
                if separator == PUNCT or (separator == SPACE and pending != PUNCT):
                    pending = separator if chars else NO_GAP
                continue
            for c in folded:
                chars.append(c)
                origin.append(i)
                gap.append(pending)
                kind.append(how)
                pending = NO_GAP
        plain = "".join(chars)
        return cls(text, plain, plain.translate(LOOSE), tuple(origin), tuple(gap), tuple(kind))

    def span(self, k: int, end: int) -> tuple[int, int]:
        """Text offsets of plain[k:end]."""
        return self.origin[k], self.origin[end - 1] + 1

    def attached(self, k: int) -> bool:
        """Whether plain[k] is a Latin letter or digit written right against the one before it."""
        return 0 < k < len(self.plain) and self.gap[k] == NO_GAP and is_latin(self.plain[k]) and is_latin(
            self.plain[k - 1])


def is_latin(c: str) -> bool:
    """An ASCII letter or digit."""
    return c.isascii() and c.isalnum()
