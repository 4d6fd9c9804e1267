"""The CJK font PDFs are set in: Noto Sans CJK SC from Debian's fonts-noto-cjk, found through fontconfig.

The font is embedded (subset) in every PDF, so the notice shows its Chinese text on any machine. Noto Sans CJK
ships as a collection (.ttc) of several faces; the Simplified Chinese face is picked by its name.

Noto Sans CJK has CID-keyed CFF outlines, which fpdf2 embeds with a custom encoding CMap that several PDF text
extractors (pypdf, pdfminer.six) cannot read, so the text could not be searched or copied there. Each PDF
therefore gets a subset of the face holding just the characters it uses, converted to TrueType outlines
(quadratic curves within one font unit of the originals): fpdf2 embeds that as a standard Identity-H CIDFontType2.
"""

from __future__ import annotations

import contextlib
import functools
import io
import shutil
import string
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
FAMILY = "Noto Sans CJK SC"
FC_TIMEOUT_S = 10


class FontMissing(RuntimeError):
    """No CJK font on this machine."""


@dataclass(frozen=True)
class FontFace:
    path: Path
    index: int  # face number inside a .ttc collection (0 for a single font)


def _fc_list_files() -> list[Path]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [fc_list, "--format", "%{file}\\n", "Noto Sans CJK SC"],
            capture_output=True, text=True, timeout=FC_TIMEOUT_S, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [Path(line) for line in out.splitlines() if line.strip()]


def _candidate_files() -> list[Path]:
    files = _fc_list_files()
    for directory in FONT_DIRS:
        if directory.is_dir():
            files += sorted(directory.rglob("NotoSansCJK*.tt[cf]")) + sorted(directory.rglob("NotoSansCJK*.otf"))
    return list(dict.fromkeys(f for f in files if f.is_file()))


def _sc_index(path: Path) -> int | None:
    """The index of the Simplified Chinese face in the file, None when the file has none."""
    from fontTools.ttLib import TTCollection, TTFont

    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            collection = TTCollection(str(path), lazy=True)
            names = [font["name"].getDebugName(1) or "" for font in collection.fonts]
        else:
            names = [TTFont(str(path), lazy=True)["name"].getDebugName(1) or ""]
    except Exception:  # an unreadable font file is simply not a candidate
        return None
    for index, name in enumerate(names):
        if name.startswith(FAMILY) and "Mono" not in name:
            return index
    return None


@functools.cache
def cjk_font(bold: bool = False) -> FontFace:
    """The regular (or bold) Noto Sans CJK SC face. Raises FontMissing with how to install it."""
    files = _candidate_files()
    wanted = "bold" if bold else "regular"
    ordered = sorted(files, key=lambda p: (wanted not in p.name.lower(), p.name))
    for path in ordered:
        if bold and "bold" not in path.name.lower():
            break
        index = _sc_index(path)
        if index is not None:
            return FontFace(path=path, index=index)
    if bold:
        return cjk_font(False)  # bold falls back to the regular face
    raise FontMissing(
        "no Noto Sans CJK font found, so a PDF could not show Chinese text; install it with "
        "`apt-get install fonts-noto-cjk` (Debian) and export again"
    )


# Characters every PDF may draw besides its text (page footer, bullets, marks).
_ALWAYS = string.printable + "·•—–…“”‘’!/"


@functools.lru_cache(maxsize=8)
def _subset_bytes(face: FontFace, characters: frozenset[str]) -> bytes:
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.subset import Options, Subsetter
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(str(face.path), fontNumber=face.index, lazy=True)
    options = Options()
    options.desubroutinize = True
    options.notdef_outline = True
    options.layout_features = []
    options.name_IDs = ["*"]
    options.drop_tables += ["VORG", "vhea", "vmtx", "GSUB", "GPOS", "GDEF", "BASE"]
    subsetter = Subsetter(options)
    subsetter.populate(text="".join(sorted(characters)))
    subsetter.subset(font)
    if "CFF " in font:
        glyph_set = font.getGlyphSet()
        glyf = newTable("glyf")
        glyf.glyphs, glyf.glyphOrder = {}, font.getGlyphOrder()
        for name in glyf.glyphOrder:
            pen = TTGlyphPen(glyph_set)
            # CFF contours run counter-clockwise, TrueType's clockwise; 1 unit of 1000 is invisible at any size.
            glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyf[name] = pen.glyph()
        font["glyf"], font["loca"] = glyf, newTable("loca")
        del font["CFF "]
        maxp = font["maxp"]
        maxp.tableVersion = 0x00010000
        for attribute in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                          "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
            setattr(maxp, attribute, 1 if attribute == "maxZones" else 0)
        font["head"].indexToLocFormat = 0
        font["head"].glyphDataFormat = 0
        post = font["post"]
        post.formatType, post.extraNames, post.mapping = 3.0, [], {}
        font.sfntVersion = "\x00\x01\x00\x00"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@contextlib.contextmanager
def truetype_subset(text: str, *, bold: bool = False) -> Iterator[Path]:
    """A temporary TrueType file with the CJK face's glyphs for `text`, removed afterwards."""
    data = _subset_bytes(cjk_font(bold), frozenset(text) | frozenset(_ALWAYS))
    with tempfile.TemporaryDirectory(prefix="brandpatrol-font-") as folder:
        path = Path(folder) / ("NotoSansCJKSC-Bold.ttf" if bold else "NotoSansCJKSC-Regular.ttf")
        path.write_bytes(data)
        yield path
