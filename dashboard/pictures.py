"""Stored pictures as small inline images for the review desk's table and grid (no Streamlit, no database).

A queue page shows two photos a row; the 256-pixel stored thumbnails are cut to QUEUE_SIDE pixels once per
process (a picture is the same bytes every time it is shown) so a page of 200 rows stays a small message. A
picture that cannot be shown (none kept, or bytes that do not decode as PNG, JPEG or WebP) becomes a grey tile
that says so in the user's language, in place, so a missing photo is never mistaken for a slow one.
"""

from __future__ import annotations

import base64
import html
import io
from functools import lru_cache

from core.images import ImageRejected, decode, fit_within, sniff_media_type

QUEUE_SIDE = 96  # pixels on the longest side of a queue thumbnail
_MAX_INPUT = 2 * 1024 * 1024  # a stored thumbnail is far smaller; anything larger is not one


@lru_cache(maxsize=4096)
def small_picture(data: bytes, side: int = QUEUE_SIDE) -> str | None:
    """A stored picture scaled to `side` pixels as a JPEG data: URI, or None when it cannot be shown."""
    if not data or sniff_media_type(data) is None:
        return None
    try:
        image, _ = decode(data, side, max_bytes=_MAX_INPUT, max_pixels=4_000_000)
    except ImageRejected:
        return None
    out = io.BytesIO()
    fit_within(image, side).save(out, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@lru_cache(maxsize=16)
def unavailable_tile(label: str, side: int = QUEUE_SIDE) -> str:
    """An SVG tile with our own `label` ("Photo cannot\nbe shown": a line each), as a data: URI; escaped."""
    lines = label.split("\n")
    size = max(9, side // 9)
    top = side / 2 - (len(lines) - 1) * size * 0.6
    spans = "".join(f'<tspan x="50%" y="{top + i * size * 1.2:.0f}">{html.escape(line, quote=True)}</tspan>'
                    for i, line in enumerate(lines))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" viewBox="0 0 {side} {side}">'
           f'<rect width="100%" height="100%" fill="#e6e6e6"/>'
           f'<text font-family="sans-serif" font-size="{size}" fill="#555" text-anchor="middle" '
           f'dominant-baseline="middle">{spans}</text></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def picture_or_tile(data: bytes | None, unreadable: str, missing: str, side: int = QUEUE_SIDE) -> str:
    """The picture as a data: URI; else a tile: `missing` when there are no bytes (no photo kept, no reference
    matched), `unreadable` when the bytes are there but cannot be shown."""
    if not data:
        return unavailable_tile(missing, side)
    return small_picture(data, side) or unavailable_tile(unreadable, side)
