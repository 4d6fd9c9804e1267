"""The photo with what was read on it boxed, for the finding's detail page: the words in green, codes in blue, the
words a reason quotes in red, each labelled with its text and confidence (fonts-noto-cjk, so Chinese shows)."""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.orm import Session

from core.images import decode
from core.models import ListingImage, PhotoCopy, PhotoReading
from matching.photos.reading import Box, CodeRead, TextLine

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
WORDS, CODES, QUOTED = (0, 160, 60), (0, 90, 220), (220, 0, 0)
MAX_SIDE = 1280


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(CJK_FONT), size, index=2)  # Noto Sans CJK SC
    except OSError:  # fonts-noto-cjk not installed: labels in Pillow's own font (Latin only)
        return ImageFont.load_default(size=size)


def render_reading(picture: Image.Image, lines: Sequence[TextLine], codes: Sequence[CodeRead] = (), *,
                   read_size: tuple[int, int] | None = None, quoted: Collection[str] = ()) -> bytes:
    """A PNG of `picture` with the boxes drawn. Boxes are in the pixels of the picture that was read
    (`read_size`, default the picture's own), so a thumbnail can stand in when the reading copy was pruned."""
    canvas = picture.convert("RGB")
    if max(canvas.size) > MAX_SIDE:
        canvas.thumbnail((MAX_SIDE, MAX_SIDE))
    width, height = read_size or picture.size
    sx, sy = canvas.width / width, canvas.height / height
    draw = ImageDraw.Draw(canvas)
    font = _font(max(12, canvas.width // 50))

    def outline(box: Box, colour: tuple[int, int, int], label: str) -> None:
        points = [(x * sx, y * sy) for x, y in box]
        draw.polygon(points, outline=colour, width=max(2, canvas.width // 400))
        left, top = min(p[0] for p in points), min(p[1] for p in points)
        draw.text((left, max(0, top - font.size - 4) if hasattr(font, "size") else top), label, fill=colour,
                  font=font)

    for line in lines:
        colour = QUOTED if line.text in quoted else WORDS
        outline(line.box, colour, f"{line.text[:30]} {line.confidence:.2f}")
    for code in codes:
        outline(code.box, CODES, f"{code.format}: {code.text[:30]}")
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def render_photo_reading(session: Session, sha256: str, quoted: Collection[str] = ()) -> bytes | None:
    """The detail page's picture of one photo's reading: its reading copy boxed, else its thumbnail boxed; None
    when the photo was never read or neither picture is kept."""
    reading = session.get(PhotoReading, sha256)
    if reading is None or not reading.width or not reading.height:
        return None
    copy = session.get(PhotoCopy, sha256)
    data = copy.content if copy is not None else session.query(ListingImage.thumbnail).filter(
        ListingImage.sha256 == sha256, ListingImage.thumbnail.is_not(None)).limit(1).scalar()
    if not data:
        return None
    picture, _ = decode(data, MAX_SIDE)
    return render_reading(picture, [TextLine.from_json(x) for x in reading.lines],
                          [CodeRead.from_json(x) for x in reading.codes],
                          read_size=(reading.width, reading.height), quoted=quoted)
