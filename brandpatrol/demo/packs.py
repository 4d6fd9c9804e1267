"""Product packs drawn at run time, and sellers' own photos of them.

A `PackDesign` is one box front: brand name in Chinese and Latin, product name, artwork, an EAN-13 barcode of
the product's GTIN, a printed lot code ("批号 GDS2403117") and, on some packs, a QR code or DataMatrix carrying a
serial (一物一码). The brand's reference artwork is the flat front with no lot code or serial (those are printed
when the box is filled). Fakes differ subtly: the brand name in the wrong weight or misspelt, colours shifted, a
made-up lot code, a serial the brand never issued. Look-alike packs of other brands share the category's trade
dress (colours, layout) under their own names.

An `OwnPhoto` is what a seller shoots: the box under a random perspective on a textured background, with uneven
light and a little blur. Genuine resellers and counterfeiters both shoot their own stock, so an own photo is not
evidence of anything on its own.

Text is set in Noto Sans CJK (Debian's fonts-noto-cjk, installed by tools/install-system-packages.sh); codes
are drawn by zxing-cpp. Rendering is deterministic: the same recipe gives the same bytes with the same libraries.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from brandpatrol.demo.brand import BRAND_NAMES, PRODUCTS, DemoProduct

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONT_FILES = {False: "NotoSansCJK-Regular.ttc", True: "NotoSansCJK-Bold.ttc"}
SIMPLIFIED_CHINESE = 2  # face index of Noto Sans CJK SC inside the collection
PACK_HEIGHT = 800  # pixels; the width is the product's (Palette.width)
CodeKind = Literal["qr", "datamatrix"]


@dataclass(frozen=True)
class Palette:
    ground: tuple[int, int, int]  # the box colour
    ink: tuple[int, int, int]  # text on it
    accent: tuple[int, int, int]  # artwork
    motif: str  # "drop" | "waves" | "stripes" | "petals" | "rings"
    band: tuple[int, int, int] | None = None  # a top band of another colour under the brand name
    band_ink: tuple[int, int, int] | None = None
    width: int = 600  # the box front's width at PACK_HEIGHT: a serum box, a squat jar box, a tall lipstick box


# One trade dress per product; look-alikes borrow these with their own names.
PALETTES = {
    "LM-100": Palette((22, 36, 82), (236, 214, 160), (200, 170, 96), "drop"),
    "LM-200": Palette((240, 206, 208), (120, 30, 52), (190, 90, 110), "waves", width=720),
    "LM-300": Palette((246, 238, 230), (142, 18, 38), (150, 30, 48), "stripes", band=(142, 18, 38),
                      band_ink=(250, 240, 236), width=480),
}


@dataclass(frozen=True)
class PackDesign:
    """One box front. Names are printed as given, so a fake's misprint is just another string."""

    palette_of: str  # which product's trade dress: a key of PALETTES
    brand_latin: str  # "LUMINA"
    brand_chinese: str  # "露米娜"
    product_chinese: str  # "焕活修护精华液"
    product_latin: str  # "Radiance Renewal Serum"
    size: str  # "30ml"
    gtin: str | None = None  # 13 digits, check digit included
    lot: str | None = None  # printed after 批号; None: no lot code on the box
    serial: str | None = None  # the 一物一码 serial in the code, printed under it too
    code_kind: CodeKind = "qr"
    bold_brand: bool = True  # the genuine pack sets the brand in bold; copies often miss the weight
    tint: tuple[int, int, int] = (0, 0, 0)  # added to every colour: a copy's colour shift
    motif: str | None = None  # artwork other than the trade dress's own


def genuine_pack(product: DemoProduct, *, lot: str | None = None, serial: str | None = None,
                 code_kind: CodeKind = "qr") -> PackDesign:
    """The brand's own box of `product`; with no lot or serial it is the reference artwork."""
    return PackDesign(
        palette_of=product.sku, brand_latin=BRAND_NAMES["en"].upper(), brand_chinese=BRAND_NAMES["zh"],
        product_chinese=product.short_zh, product_latin=product.short_en, size=product.size, gtin=product.gtin,
        lot=lot, serial=serial, code_kind=code_kind,
    )


def reference_artwork(sku: str, side: int) -> np.ndarray:
    """The flat front of a product's box, as the brand's reference image: 'pack:<sku>' in photos.SOURCES."""
    product = next((p for p in PRODUCTS if p.sku == sku), None)
    if product is None:
        raise KeyError(f"no demo product {sku!r}; known: {', '.join(p.sku for p in PRODUCTS)}")
    return artwork_square(genuine_pack(product), side)


BACKGROUNDS = ("wood", "linen", "marble", "desk", "carpet", "tiles", "kraft", "granite")
Background = str


@dataclass(frozen=True)
class OwnPhoto:
    """A seller's photo of a box: perspective, background, light and blur all drawn from `seed`."""

    pack: PackDesign
    background: Background
    seed: int
    tilt: float = 0.12  # how far the corners move, as a share of the box's size
    blur: float = 0.6  # Gaussian radius in pixels, for focus and hand shake
    size: int = 900
    quality: int = 85
    angle: float = 0.0  # the whole box turned in the frame, degrees


def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / FONT_FILES[bold]
    try:
        return _load_font(str(path), size)
    except OSError:
        raise RuntimeError(f"font {path} is missing; install Debian's fonts-noto-cjk "
                           "(tools/install-system-packages.sh does) to draw the demo's packs") from None


@lru_cache(maxsize=64)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=SIMPLIFIED_CHINESE)


def _shift(colour: tuple[int, int, int], tint: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, c + t)) for c, t in zip(colour, tint, strict=True))
    return (r, g, b)


def _centred(draw: ImageDraw.ImageDraw, y: float, text: str, size: int, bold: bool,
             fill: tuple[int, int, int], width: int, spacing: int = 0) -> None:
    """Text centred across the box, in the largest size up to `size` that leaves a margin."""
    if spacing:
        text = (" " * spacing).join(text)
    while True:
        font = _font(size, bold)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        if right - left <= width - 60 or size <= 12:
            break
        size -= 2
    draw.text(((width - (right - left)) / 2, y), text, font=font, fill=fill)


def _artwork(draw: ImageDraw.ImageDraw, motif: str, box: tuple[int, int, int, int],
             colour: tuple[int, int, int]) -> None:
    left, top, right, bottom = box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    if motif == "drop":  # a gold disc with a drop: the bright centre sets the serum's box apart at a glance
        draw.ellipse((cx - 120, cy - 110, cx + 120, cy + 130), fill=colour)
        for i, r in enumerate((92, 64, 36)):
            draw.ellipse((cx - r, cy - r + 10, cx + r, cy + r + 10), outline=(255, 246, 220), width=5 - i)
        draw.polygon([(cx, top + 4), (cx - 40, cy - 30), (cx + 40, cy - 30)], fill=colour)
    elif motif == "waves":
        for k in range(5):
            y0 = top + 30 + k * 44
            points = [(x, y0 + 18 * np.sin((x - left) / 38 + k)) for x in range(left, right + 1, 6)]
            draw.line(points, fill=colour, width=7)
    elif motif == "stripes":
        for x in range(left - (bottom - top), right, 34):
            draw.line([(x, bottom), (x + (bottom - top), top)], fill=colour, width=12)
    elif motif == "petals":
        for k in range(8):
            a = k * np.pi / 4
            px, py = cx + 70 * np.cos(a), cy + 70 * np.sin(a)
            draw.ellipse((px - 42, py - 42, px + 42, py + 42), outline=colour, width=5)
    else:  # "rings"
        for k in range(4):
            draw.ellipse((left + 40 + k * 60, cy - 60, left + 160 + k * 60, cy + 60), outline=colour, width=5)


def _code_image(content: str, kind: str, scale: int) -> Image.Image:
    import zxingcpp

    formats = {"ean13": zxingcpp.BarcodeFormat.EAN13, "qr": zxingcpp.BarcodeFormat.QRCode,
               "datamatrix": zxingcpp.BarcodeFormat.DataMatrix}
    code = zxingcpp.create_barcode(content, formats[kind])
    return Image.fromarray(np.asarray(code.to_image(scale=scale, add_quiet_zones=True))).convert("RGB")


@lru_cache(maxsize=128)
def render_pack(design: PackDesign) -> Image.Image:
    """The box front as an RGB image, PACK_HEIGHT high; callers must not modify it."""
    palette = PALETTES[design.palette_of]
    width, height = palette.width, PACK_HEIGHT
    ground, ink, accent = (_shift(c, design.tint) for c in (palette.ground, palette.ink, palette.accent))
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    brand_ink = ink
    if palette.band is not None:
        draw.rectangle((0, 0, width, 212), fill=_shift(palette.band, design.tint))
        brand_ink = _shift(palette.band_ink or ink, design.tint)
    draw.rectangle((14, 14, width - 15, height - 15), outline=accent, width=3)
    _centred(draw, 44, design.brand_latin, 64, design.bold_brand, brand_ink, width, spacing=1)
    _centred(draw, 136, design.brand_chinese, 46, design.bold_brand, brand_ink, width)
    _artwork(draw, design.motif or palette.motif, (90, 220, width - 90, 470), accent)
    _centred(draw, 492, design.product_chinese, 40, False, ink, width)
    _centred(draw, 546, f"{design.product_latin}  {design.size}", 26, False, ink, width)
    # The printed panel: white, as real boxes leave room for the barcode and the inkjet lot code.
    panel_top = 600
    draw.rectangle((30, panel_top, width - 31, height - 31), fill=(250, 250, 248))
    dark = (20, 20, 20)
    if design.gtin:
        barcode = _code_image(design.gtin, "ean13", 2)
        barcode = barcode.resize((barcode.size[0], 84), Image.Resampling.NEAREST)
        image.paste(barcode, (44, panel_top + 12))
        draw.text((62, panel_top + 14 + barcode.size[1]), design.gtin, font=_font(20, False), fill=dark)
    if design.lot:
        draw.text((44, height - 76), f"批号 {design.lot}", font=_font(26, True), fill=dark)
    if design.serial:
        code = _code_image(design.serial, design.code_kind, 4 if design.code_kind == "qr" else 5)
        side = 128
        code = code.resize((side, side), Image.Resampling.NEAREST)
        image.paste(code, (width - 44 - side, panel_top + 10))
        serial_font = _font(16, False)
        left, _, right, _ = draw.textbbox((0, 0), design.serial, font=serial_font)
        draw.text((width - 44 - side / 2 - (right - left) / 2, panel_top + 12 + side), design.serial,
                  font=serial_font, fill=dark)
    return image


def artwork_square(design: PackDesign, side: int) -> np.ndarray:
    """The flat box front centred on white, as a brand's catalogue shows it: a square RGB array."""
    pack = render_pack(design)
    canvas = Image.new("RGB", (round(PACK_HEIGHT * 1.1), round(PACK_HEIGHT * 1.1)), (255, 255, 255))
    canvas.paste(pack, ((canvas.size[0] - pack.size[0]) // 2, (canvas.size[1] - pack.size[1]) // 2))
    return np.asarray(canvas.resize((side, side), Image.Resampling.LANCZOS))


# --- own photos ---------------------------------------------------------------------------------------

def _smooth_noise(rng: np.random.Generator, side: int, cells: int) -> np.ndarray:
    """Values in 0..1 varying over about `cells` blobs per side."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    return np.asarray(cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)).clip(0, 1)


def _texture(kind: Background, side: int, rng: np.random.Generator) -> np.ndarray:
    """A float RGB background in 0..255."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    fine = rng.random((side, side)).astype(np.float32)
    if kind == "wood":
        grain = np.sin(yy / 9 + 6 * _smooth_noise(rng, side, 5)) * 0.5 + 0.5
        base, tone = np.array([150, 100, 60]), np.array([60, 40, 25])
        value = grain[..., None] * tone + base + (fine[..., None] - 0.5) * 12
    elif kind == "linen":
        weave = (np.sin(xx * 1.3) + np.sin(yy * 1.3)) * 0.25 + 0.5
        value = np.array([214, 204, 186]) + (weave[..., None] - 0.5) * 30 + (fine[..., None] - 0.5) * 18
    elif kind == "marble":
        veins = np.abs(np.sin((xx + yy) / 40 + 8 * _smooth_noise(rng, side, 4)))
        value = np.array([236, 234, 230]) - (1 - veins[..., None]) ** 6 * 110 + (fine[..., None] - 0.5) * 6
    elif kind == "desk":
        value = np.array([120, 124, 130]) + (_smooth_noise(rng, side, 3)[..., None] - 0.5) * 40
    elif kind == "carpet":
        value = np.array([90, 70, 110]) + (fine[..., None] - 0.5) * 90 + (rng.random((side, side, 3)) - 0.5) * 40
    elif kind == "tiles":
        grout = ((xx % 150) < 6) | ((yy % 150) < 6)
        value = np.where(grout[..., None], np.array([170, 170, 160]), np.array([226, 232, 236]))
        value = value + (fine[..., None] - 0.5) * 10
    elif kind == "kraft":
        value = np.array([176, 140, 100]) + (_smooth_noise(rng, side, 12)[..., None] - 0.5) * 30 \
            + (fine[..., None] - 0.5) * 24
    elif kind == "granite":
        speckle = (fine > 0.93) * -90.0 + (fine < 0.05) * 60.0
        value = np.array([140, 136, 132]) + speckle[..., None] + (_smooth_noise(rng, side, 8)[..., None] - 0.5) * 30
    else:
        raise KeyError(f"unknown background {kind!r}; known: {', '.join(BACKGROUNDS)}")
    return np.asarray(value, dtype=np.float32).clip(0, 255)


def render_own_photo(photo: OwnPhoto) -> Image.Image:
    """The seller's photo a recipe describes, before JPEG encoding."""
    rng = random.Random(photo.seed)
    side = photo.size
    background = _texture(photo.background, side, np.random.default_rng(photo.seed))
    pack_image = render_pack(photo.pack)
    pack_width, pack_height = pack_image.size
    pack = np.asarray(pack_image, dtype=np.float32)
    height = side * rng.uniform(0.62, 0.78)
    width = height * pack_width / pack_height
    cx, cy = side / 2 + rng.uniform(-0.06, 0.06) * side, side / 2 + rng.uniform(-0.05, 0.05) * side
    corners = np.array([[-width / 2, -height / 2], [width / 2, -height / 2], [width / 2, height / 2],
                        [-width / 2, height / 2]])
    turn = np.radians(photo.angle + rng.uniform(-4, 4))
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    corners = corners @ rotation.T
    # Perspective: one side of the box recedes (the top, or the left or the right edge), plus hand jitter.
    squeeze = photo.tilt * rng.uniform(0.6, 1.0)
    recede = rng.choice(("top", "left", "right"))
    if recede == "top":
        corners[0, 0] += squeeze * width
        corners[1, 0] -= squeeze * width
    else:
        i, j = (0, 3) if recede == "left" else (1, 2)
        corners[i, 1] += squeeze * height * 0.5
        corners[j, 1] -= squeeze * height * 0.5
    corners += np.array([[rng.uniform(-1, 1) * photo.tilt * 0.2 * width,
                          rng.uniform(-1, 1) * photo.tilt * 0.2 * height] for _ in range(4)])
    corners += np.array([cx, cy])
    source = np.array([[0, 0], [pack_width, 0], [pack_width, pack_height], [0, pack_height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    warped = cv2.warpPerspective(pack, matrix, (side, side), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones((pack_height, pack_width), dtype=np.float32), matrix, (side, side),
                               flags=cv2.INTER_LINEAR)
    # A soft shadow to one side, then the box over it.
    offset = np.array([[1, 0, rng.uniform(6, 18)], [0, 1, rng.uniform(6, 18)]], dtype=np.float32)
    shadow = cv2.GaussianBlur(cv2.warpAffine(mask, offset, (side, side)), (0, 0), 9)
    scene = background * (1 - 0.45 * shadow[..., None])
    scene = scene * (1 - mask[..., None]) + warped * mask[..., None]
    # Light from one side: a gradient across the frame, and a warm or cool cast.
    a = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side - 0.5
    light = 1.0 + rng.uniform(0.12, 0.3) * (np.cos(a) * xx + np.sin(a) * yy) + rng.uniform(-0.08, 0.04)
    cast = np.array([1 + rng.uniform(-0.05, 0.05), 1.0, 1 + rng.uniform(-0.05, 0.05)], dtype=np.float32)
    scene = (scene * light[..., None] * cast).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(scene, "RGB")
    if photo.blur:
        image = image.filter(ImageFilter.GaussianBlur(photo.blur))
    return image


@lru_cache(maxsize=256)
def own_photo_jpeg(photo: OwnPhoto) -> bytes:
    out = io.BytesIO()
    render_own_photo(photo).save(out, format="JPEG", quality=photo.quality)
    return out.getvalue()


def gtin_check_digit(first12: str) -> str:
    """The GS1 check digit of 12 digits: 690123456789 gives 2."""
    weighted = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - weighted % 10) % 10)
