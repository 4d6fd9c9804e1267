"""Pack photos generated at run time (never committed): a product box with the brand's name, a lot code, an EAN-13
barcode and a QR serial, drawn with Pillow, fonts-noto-cjk and zxing-cpp's writer."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FONT_SC = 2  # the collection's index of Noto Sans CJK SC (simplified Chinese glyph shapes)


@dataclass(frozen=True)
class Pack:
    name: str = "露米娜 焕活精华液"
    latin: str = "LUMINA Serum"
    lot: str | None = "GD240211"
    ean13: str | None = "6901234567892"
    qr: str | None = "https://lumina.example/v/SN00012345"
    stamp: str | None = None  # e.g. 高仿 printed on the photo
    side: int = 800
    seed: int = 0


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size, index=FONT_SC)


def _code(fmt: zxingcpp.BarcodeFormat, text: str, width: int, height: int) -> Image.Image:
    """The code drawn by zxing-cpp's writer, scaled without blur (nearest) to about width x height."""
    pixels = np.asarray(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, fmt), scale=1))
    drawn = Image.fromarray(pixels).convert("RGB")
    scale = max(1, width // drawn.width)
    return drawn.resize((drawn.width * scale, max(height, drawn.height * scale) if fmt == zxingcpp.BarcodeFormat.EAN13
                         else drawn.height * scale), Image.Resampling.NEAREST)


def pack_image(pack: Pack = Pack()) -> Image.Image:
    rng = random.Random(pack.seed)
    background = tuple(rng.randint(200, 240) for _ in range(3))
    picture = Image.new("RGB", (800, 800), background)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(picture)
    draw.rectangle((140, 50, 660, 750), fill=(250, 250, 252), outline=(60, 60, 60), width=3)
    draw.text((180, 80), pack.name, font=font(48), fill=(20, 20, 90))
    draw.text((180, 160), pack.latin, font=font(40), fill=(20, 20, 90))
    if pack.lot:
        draw.text((180, 230), f"批号: {pack.lot}", font=font(30), fill=(0, 0, 0))
    if pack.ean13:
        picture.paste(_code(zxingcpp.BarcodeFormat.EAN13, pack.ean13, 300, 110), (180, 290))
    if pack.qr:
        picture.paste(_code(zxingcpp.BarcodeFormat.QRCode, pack.qr, 190, 190), (180, 430))
    if pack.stamp:
        draw.text((420, 470), pack.stamp, font=font(56), fill=(200, 0, 0))
    if pack.side != 800:
        picture = picture.resize((pack.side, pack.side), Image.Resampling.LANCZOS)
    return picture
