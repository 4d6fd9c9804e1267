"""Finding the brand's and products' names in text however sellers bend them: the one entry for titles,
descriptions and text read from photos (OCR).

    hits = find_names("L.umiere 精华 30ml", ["Lumière", "臻颜"])
    hits[0].describe()  # 'Lumière as "L.umiere" (accents ignored; spacing and punctuation removed)'

Both the text and each name are folded the same way (matching.name_folding: width, case, accents, traditional
script, letters of other scripts that look like Latin ones from Unicode's confusables table, spaces and
punctuation, look-alike digits and symbols), keeping where each folded character came from so a hit can quote the
text as written.
A name is found where its folded form occurs in the folded text. Latin names must stand alone as words
("cream" is not in "icecream", nor "lumina" in "illuminating"); CJK names are found anywhere. Spaces inside a
Latin name count only as letter-spacing ("L u m i n a", every piece one or two letters), as one split of a long
name into two pieces of three letters or more ("Lumi ere"), or at the name's own word or syllable breaks: so
"Lum in a box" never reads as Lumina.

Chinese names are also looked for in pinyin, toneless, with or without spaces, in any case ("zhenyan", "zhen yan",
"ZhenYan" for 臻颜), spaces only between syllables; and the other way, a name of three or four characters written
with fewer than half of them swapped for characters read alike (璐米娜 or 路米娜 for 露米娜). Two-character names are
not read through homophones: those are ordinary words far too often (真颜 for 臻颜).

Last, a Latin name of at least `NameRules.fuzzy_min_length` letters is matched fuzzily (rapidfuzz's normalised
Indel similarity, `fuzz.ratio`) against the words of the text, at `NameRules.fuzzy_ratio` or more, with the first
letter agreeing. At the default 0.88 a name of six or seven letters tolerates one letter dropped or added but
not one replaced ("Lumiina" is Lumina; "Lumena", "Lumira" and "luminous" are not), a name of eight to fifteen
one replaced, longer names two. Shorter names and CJK names are never matched fuzzily: one character off is
another word ("臻颜" and "真颜", "Lumi" and "Lima").

A hit preceded by 适用 / 适用于 / 兼容 / 适配 / 专用于 / "compatible with" / "for" / "fits" is marked `accessory`:
the listing sells something for the brand's goods, not the goods (a pump "适用 Lumina 精华液").
"""

from __future__ import annotations

import dataclasses
import enum
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin
from rapidfuzz import fuzz

from matching.name_folding import (
    CONFUSED,
    LOOSE,
    NO_GAP,
    PLAIN,
    SPACE,
    Folded,
    is_cjk,
    is_latin,
)

DEFAULT_FUZZY_RATIO = 0.88
DEFAULT_FUZZY_MIN_LENGTH = 6
MAX_CJK_WORD = 4  # a Chinese name longer than this is a phrase (a product name), not one word


class How(enum.StrEnum):
    """How a name was found, from the plainest to the loosest."""

    EXACT = "exact"  # as configured, up to width and case
    FOLDED = "folded"  # accents, spacing, punctuation or look-alike digits undone
    CONFUSABLE = "confusable"  # letters of another script that look like the name's
    PINYIN = "pinyin"  # a Chinese name written in pinyin, or with characters swapped for homophones
    FUZZY = "fuzzy"  # spelled nearly alike


# What each bend is called in reasons.
ACCENTS = "accents ignored"
SPACING = "spacing and punctuation removed"
DIGITS = "look-alike digits or letters read as the name's"
CONFUSABLE = "letters of another script that look like Latin ones"


@dataclass(frozen=True)
class NameRules:
    """How loosely names are matched; from the brand's Thresholds (name_fuzzy_ratio, name_fuzzy_min_length)."""

    fuzzy_ratio: float = DEFAULT_FUZZY_RATIO
    fuzzy_min_length: int = DEFAULT_FUZZY_MIN_LENGTH


@dataclass(frozen=True)
class NameHit:
    name: str  # the name looked for, as configured
    written: str  # the text's span, as written
    start: int  # offsets of that span in the text given
    end: int
    how: How
    ratio: float = 1.0  # the fuzzy similarity (1.0 for every other way)
    bends: tuple[str, ...] = ()  # what was undone, in words
    accessory: str = ""  # the 适用 / compatible with / for... before it, as written: an accessory for the goods

    @property
    def bent(self) -> bool:
        return self.how is not How.EXACT

    @property
    def evasive(self) -> bool:
        """Bent the way sellers of copies bend a name to slip past keyword filters: spaced or dotted, digits or
        another script's letters, pinyin or homophones. Dropped accents and near spellings are how people write."""
        if self.how in (How.CONFUSABLE, How.PINYIN):
            return True
        return self.how is How.FOLDED and bool({SPACING, DIGITS} & set(self.bends))

    def describe(self) -> str:
        """"'Lumina'" when written plainly; else 'Lumière as "L.umiere" (spacing and punctuation removed)'."""
        if not self.bent:
            return f"'{self.name}'"
        return f'{self.name} as "{self.written}" ({"; ".join(self.bends)})'

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "written": self.written, "start": self.start, "end": self.end,
                "how": self.how.value, "ratio": round(self.ratio, 3), "bends": list(self.bends),
                "accessory": self.accessory}


DEFAULT_RULES = NameRules()


# --- names ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Form:
    """One way a name may be written: its folded letters, where breaks are allowed, and how it counts."""

    name: str
    plain: str
    loose: str
    kind: tuple[int, ...]
    breaks: frozenset[int]  # positions k in plain where the name itself has a space or punctuation
    gap: tuple[str, ...]  # the name's own separator before each of its characters (Folded.gap)
    optional: frozenset[int]  # positions where a space may be, but need not (between pinyin syllables)
    latin: bool
    how: How
    fuzzy: bool


def _forms(name: str, rules: NameRules) -> list[_Form]:
    folded = Folded.of(name)
    if not folded.plain:
        return []
    latin = folded.plain.isascii()
    breaks = frozenset(k for k, g in enumerate(folded.gap) if g)
    forms = [_Form(name, folded.plain, folded.loose, folded.kind, breaks, folded.gap, frozenset(), latin, How.EXACT,
                   latin and len(folded.plain) >= rules.fuzzy_min_length)]
    han = "".join(c for c in folded.plain if is_cjk(c))
    syllables = [s for s in lazy_pinyin(han) if s.isascii() and s.isalpha()] if han else []
    if len(syllables) >= 2 and len(syllables) == len(han):
        for spelled in dict.fromkeys([tuple(syllables), tuple(s.replace("v", "u") for s in syllables)]):
            plain = "".join(spelled)
            if len(plain) < 5:
                continue
            cuts = frozenset(sum(len(s) for s in spelled[:n]) for n in range(1, len(spelled)))
            forms.append(_Form(name, plain, plain.translate(LOOSE), (PLAIN,) * len(plain), frozenset(),
                               (NO_GAP,) * len(plain), cuts, True, How.PINYIN, False))
    return forms


@lru_cache(maxsize=65_536)
def _readings(ch: str) -> frozenset[str]:
    """Every toneless pinyin reading of one character (none for a character that is no Chinese)."""
    return frozenset(r for r in pinyin(ch, style=Style.NORMAL, heteronym=True)[0] if r.isascii() and r.isalpha())


def _homophone_hits(text: Folded, form: _Form) -> Iterable[tuple[int, tuple[str, ...]]]:
    """Where the text writes a Chinese name of up to MAX_CJK_WORD characters with fewer than half of them swapped
    for ones read alike (璐米娜 for 露米娜); so never a two-character name, whose homophones are ordinary words
    (真颜 for 臻颜)."""
    name, size = form.plain, len(form.plain)
    starts = set()
    for i, ch in enumerate(name):
        at = text.plain.find(ch)
        while at >= 0:
            if at >= i:
                starts.add(at - i)
            at = text.plain.find(ch, at + 1)
    for k in sorted(starts):
        window = text.plain[k:k + size]
        swaps = [(w, c) for w, c in zip(window, name, strict=False) if w != c]
        if len(window) < size or not swaps or 2 * len(swaps) >= size:
            continue
        if all(is_cjk(w) and _readings(w) & _readings(c) for w, c in swaps):
            said = [f"{w} for {c}, read alike ({'/'.join(sorted(_readings(w) & _readings(c)))})" for w, c in swaps]
            if any(text.gap[j] for j in range(k + 1, k + size)):
                said.append(SPACING)
            yield k, tuple(said)


def _piece(text: Folded, k: int, step: int) -> int:
    """Length of the run of characters written together from plain[k], walking back (-1) or on (+1)."""
    n = 1
    while 0 <= k + step < len(text.plain) and text.gap[k if step < 0 else k + step] == NO_GAP:
        k += step
        n += 1
    return n


def _spacing_ok(text: Folded, k: int, end: int, form: _Form) -> bool:
    """Whether the whitespace inside plain[k:end] is letter-spacing, one split of a long name, or the name's own
    (pinyin: only between syllables)."""
    allowed = form.breaks | form.optional
    foreign = [j for j in range(k + 1, end) if text.gap[j] == SPACE and (j - k) not in allowed]
    if not foreign:
        return True
    if form.how is How.PINYIN:
        return False
    cuts = [j for j in range(k + 1, end) if text.gap[j]]
    pieces = [b - a for a, b in zip([k, *cuts], [*cuts, end], strict=True)]
    if all(p <= 2 for p in pieces):
        # Letter-spaced: the spacing must not run on past the span ("L u m i n a r y").
        run_on_before = k > 0 and text.gap[k] and is_latin(text.plain[k - 1]) and _piece(text, k - 1, -1) <= 2
        run_on_after = end < len(text.plain) and text.gap[end] and is_latin(text.plain[end]) and _piece(
            text, end, 1) <= 2
        return not (run_on_before or run_on_after)
    return len(foreign) == 1 and len(pieces) == 2 and min(pieces) >= 3


def _bends(text: Folded, k: int, form: _Form) -> tuple[str, ...]:
    end = k + len(form.plain)
    said = []
    kinds = text.kind[k:end]
    if any(a != b and CONFUSED not in (a, b) for a, b in zip(kinds, form.kind, strict=True)):
        said.append(ACCENTS)
    # A space inside a long Chinese name is where sellers break a phrase (露米娜 焕活精华液), not a bend; inside a
    # short one (臻 颜) it is.
    phrase = not form.latin and len(form.plain) > MAX_CJK_WORD
    if any(text.gap[j] and (j - k) not in form.breaks and not (phrase and text.gap[j] == SPACE)
           for j in range(k + 1, end)) or (
            form.how is not How.PINYIN and any(text.gap[k + j] != form.gap[j] for j in form.breaks)):
        said.append(SPACING)
    if text.plain[k:end] != form.plain:
        said.append(DIGITS)
    if CONFUSED in kinds:
        said.append(CONFUSABLE)
    return tuple(said)


_ACCESSORY = re.compile(r"(?:适用于?|兼容|适配|专用于|(?<![a-z])(?:compatible\s+with|for|fits?))(?=[\s:：]*$)")


def _accessory(text: str, start: int) -> str:
    """The accessory words right before text[start], as written ("适用", "compatible with"), or ""."""
    before = text[max(0, start - 24):start]
    folded = unicodedata.normalize("NFKC", before).casefold()
    found = _ACCESSORY.search(folded)
    if found is None:
        return ""
    # Where folding kept the length (it almost always does), quote the text as written.
    return before[found.start():found.end()] if len(folded) == len(before) else found.group(0)


def _exact_hits(text: Folded, form: _Form) -> Iterable[tuple[int, How, tuple[str, ...]]]:
    size = len(form.loose)
    k = text.loose.find(form.loose)
    while k >= 0:
        end = k + size
        if form.latin and (text.attached(k) or text.attached(end)):
            pass  # inside a longer word
        elif not form.latin or _spacing_ok(text, k, end, form):
            bends = _bends(text, k, form)
            if form.how is How.PINYIN:
                how = How.PINYIN
            elif CONFUSABLE in bends:
                how = How.CONFUSABLE
            else:
                how = How.FOLDED if bends else How.EXACT
            yield k, how, bends
        k = text.loose.find(form.loose, k + 1)


_LATIN_RUN = re.compile(r"[0-9a-z]+")


def _words(text: Folded) -> list[tuple[int, int]]:
    """(start, end) in plain of each run of Latin letters and digits written together."""
    out: list[tuple[int, int]] = []
    gap = text.gap
    for run in _LATIN_RUN.finditer(text.plain):
        start = run.start()
        for k in range(start + 1, run.end()):
            if gap[k]:
                out.append((start, k))
                start = k
        out.append((start, run.end()))
    return out


def _fuzzy_hits(text: Folded, words: list[tuple[int, int]], form: _Form,
                rules: NameRules) -> Iterable[tuple[int, int, float]]:
    """Runs of as many words as the name has, spelled nearly like it; lengths are compared first, since a long
    description has thousands of words and almost none come near."""
    count = len(form.breaks) + 1
    cutoff = rules.fuzzy_ratio * 100
    size = len(form.loose)
    lengths = [end - start for start, end in words]
    scores: dict[str, float] = {}
    for n in range(len(words) - count + 1):
        if abs(sum(lengths[n:n + count]) - size) > 2 or text.loose[words[n][0]] != form.loose[0]:
            continue
        candidate = "".join(text.loose[a:b] for a, b in words[n:n + count])
        if candidate not in scores:
            scores[candidate] = 0.0 if candidate == form.loose else fuzz.ratio(candidate, form.loose,
                                                                                 score_cutoff=cutoff)
        if scores[candidate]:
            yield words[n][0], words[n + count - 1][1], scores[candidate] / 100


@dataclass(frozen=True)
class NameSet:
    """Names prepared once (folded, in pinyin), to look for in many texts."""

    names: tuple[str, ...]
    rules: NameRules
    forms: tuple[_Form, ...]

    @classmethod
    def of(cls, names: Sequence[str], rules: NameRules = DEFAULT_RULES) -> NameSet:
        return _name_set(tuple(dict.fromkeys(n for n in names if n.strip())), rules)

    def find(self, text: str | Folded) -> list[NameHit]:
        """Every name found in `text`, in text order; where several forms overlap, the plainest one."""
        folded = text if isinstance(text, Folded) else Folded.of(text)
        hits: list[NameHit] = []
        taken: dict[str, list[tuple[int, int]]] = {}

        def add(form: _Form, k: int, end: int, how: How, ratio: float, bends: tuple[str, ...]) -> None:
            spans = taken.setdefault(form.name, [])
            if any(k < b and a < end for a, b in spans):
                return
            spans.append((k, end))
            start, stop = folded.span(k, end)
            hits.append(NameHit(form.name, folded.text[start:stop], start, stop, how, ratio, bends,
                                _accessory(folded.text, start)))

        for form in self.forms:
            for k, how, bends in _exact_hits(folded, form):
                if form.how is How.PINYIN:
                    bends = (f"pinyin of {form.name}", *(b for b in bends if b != SPACING))
                add(form, k, k + len(form.plain), how, 1.0, bends)
        for form in self.forms:
            if form.how is How.EXACT and len(form.plain) <= MAX_CJK_WORD and all(map(is_cjk, form.plain)):
                for k, bends in _homophone_hits(folded, form):
                    add(form, k, k + len(form.plain), How.PINYIN, 1.0, bends)
        fuzzy = [f for f in self.forms if f.fuzzy]
        if fuzzy:
            words = _words(folded)
            for form in fuzzy:
                for k, end, ratio in _fuzzy_hits(folded, words, form, self.rules):
                    add(form, k, end, How.FUZZY, ratio, (f"spelled {ratio:.0%} alike",))
        return sorted(hits, key=lambda h: (h.start, h.name))


@lru_cache(maxsize=64)
def _name_set(names: tuple[str, ...], rules: NameRules) -> NameSet:
    forms = [form for name in names for form in _forms(name, rules)]
    # A pinyin spelling that is also a Latin name given (露米娜 is "lumina") is looked for as that name, which
    # may then be spaced between the syllables too ("lumi na").
    cuts: dict[str, frozenset[int]] = {}
    for form in forms:
        if form.how is How.PINYIN:
            cuts[form.plain] = cuts.get(form.plain, frozenset()) | form.optional
    latin = {f.plain for f in forms if f.how is not How.PINYIN}
    forms = [dataclasses.replace(f, optional=f.optional | cuts.get(f.plain, frozenset())) if f.how is not How.PINYIN
             else f for f in forms if f.how is not How.PINYIN or f.plain not in latin]
    return NameSet(names, rules, tuple(forms))


def find_names(text: str, names: Sequence[str], rules: NameRules = DEFAULT_RULES) -> list[NameHit]:
    """Every one of `names` found in `text`, however bent (see the module's docstring), in text order."""
    return NameSet.of(names, rules).find(text)
