"""Codes on the pack: every barcode, QR code and DataMatrix zxing-cpp finds on a photo, and the tokens in them
worth looking up (a GTIN's digits; serial-like tokens of a QR code's text, such as SN00012345 in
https://brand.example/v/SN00012345)."""

from __future__ import annotations

import re

from PIL import Image

from core.batchcodes import normalise_code
from core.codes import gtin14, gtin_problem
from matching.photos.reading import CodeRead

MAX_CODES = 20
_GTIN_FORMATS = {"EAN13", "EAN8", "UPCA", "UPCE", "ITF", "DataBar", "DataBarExpanded", "DataBarLimited"}
_PARTS = re.compile(r"[/?&=#:;,|\s]+")


def read_codes(picture: Image.Image) -> list[CodeRead]:
    """The codes on an upright picture, boxes in its pixels. The decoder never raises on content it cannot read."""
    import zxingcpp

    found = []
    for result in zxingcpp.read_barcodes(picture)[:MAX_CODES]:
        p = result.position
        box = tuple((int(c.x), int(c.y)) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
        found.append(CodeRead(result.format.name, result.text[:500], box))
    return found


def gtin_of(code: CodeRead) -> str | None:
    """The code's GTIN as 14 digits when it is a retail barcode with a valid check digit."""
    digits = code.text.strip()
    if code.format in _GTIN_FORMATS and gtin_problem(digits) is None:
        return gtin14(digits)
    return None


def serial_tokens(code: CodeRead) -> list[str]:
    """Normalised tokens of a code's text that could be a serial: the whole text when short, and each part of a
    URL or list; at least 5 characters with 3 digits, as batch codes are read."""
    if gtin_of(code) is not None:
        return []
    text = code.text.strip()
    candidates = [text] if len(text) <= 40 else []
    candidates += _PARTS.split(text)
    tokens = [normalise_code(c) for c in candidates]
    return list(dict.fromkeys(t for t in tokens if 5 <= len(t) <= 40 and sum(ch.isdigit() for ch in t) >= 3))
