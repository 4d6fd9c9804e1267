"""Product packs and sellers' own photos of them, rendered at run time (helpers only; this module holds no tests).

A pack front is a box face in the brand's colours: a seeded artwork (arcs, petals, dots), the brand's name in Latin
and CJK letters, the product's name, a size line and fine print. Look-alike packs of other brands use the same
layout and colours with their own name and artwork, as a competitor's shelf-alike pack does. An own photo is a
pack warped by a random homography onto a textured table or cloth, with a lighting change, blur and JPEG
recompression, then stored the way the crawler stores it (a thumbnail through core.images.hash_image).
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from core.images import hash_image

FONT_DIR = "/usr/share/fonts/opentype/noto"
PACK_SIZE = (480, 640)  # width, height of a rendered pack front


@dataclass(frozen=True)
class PackDesign:
    brand_en: str
    brand_zh: str
    product_zh: str
    product_en: str
    size_line: str
    colour: tuple[int, int, int]  # the box's main colour
    accent: tuple[int, int, int]
    artwork_seed: int


def _font(size: int, bold: bool = True, serif: bool = False) -> ImageFont.FreeTypeFont:
    name = f"Noto{'Serif' if serif else 'Sans'}CJK-{'Bold' if bold else 'Regular'}.ttc"
    return ImageFont.truetype(f"{FONT_DIR}/{name}", size)


def _artwork(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], seed: int,
             accent: tuple[int, int, int]) -> None:
    """A seeded composition: arcs around a centre, petals, scattered dots and a few bars."""
    rng = random.Random(seed)
    left, top, right, bottom = box
    cx, cy = rng.uniform(left + 60, right - 60), rng.uniform(top + 50, bottom - 50)
    for _ in range(rng.randint(4, 7)):
        r = rng.uniform(20, 120)
        start = rng.uniform(0, 360)
        draw.arc((cx - r, cy - r, cx + r, cy + r), start, start + rng.uniform(60, 300),
                 fill=_shade(accent, rng.uniform(0.5, 1.3)), width=rng.randint(3, 9))
    for _ in range(rng.randint(5, 9)):
        angle, dist = rng.uniform(0, 2 * math.pi), rng.uniform(30, 110)
        px, py = cx + dist * math.cos(angle), cy + dist * math.sin(angle) * 0.7
        w, h = rng.uniform(8, 30), rng.uniform(15, 45)
        draw.ellipse((px - w, py - h, px + w, py + h), fill=_shade(accent, rng.uniform(0.6, 1.4)))
    for _ in range(rng.randint(20, 40)):
        px, py = rng.uniform(left, right), rng.uniform(top, bottom)
        r = rng.uniform(2, 7)
        draw.ellipse((px - r, py - r, px + r, py + r), fill=_shade(accent, rng.uniform(0.3, 1.6)))
    for _ in range(rng.randint(2, 4)):
        x = rng.uniform(left, right - 80)
        y = rng.uniform(top, bottom - 10)
        draw.rectangle((x, y, x + rng.uniform(30, 120), y + rng.uniform(4, 10)), fill=_shade(accent, 0.7))


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    r, g, b = (max(0, min(255, round(c * factor))) for c in colour)
    return r, g, b


def render_pack(design: PackDesign) -> Image.Image:
    """The flat front of a pack, as the brand's reference artwork shows it."""
    width, height = PACK_SIZE
    image = Image.new("RGB", PACK_SIZE, design.colour)
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 4):  # a soft vertical gradient
        draw.rectangle((0, y, width, y + 4), fill=_shade(design.colour, 1.08 - 0.16 * y / height))
    draw.rectangle((14, 14, width - 14, height - 14), outline=_shade(design.accent, 0.8), width=3)
    _artwork(draw, (30, 150, width - 30, 400), design.artwork_seed, design.accent)
    ink = _shade(design.accent, 0.35)
    draw.text((width / 2, 70), design.brand_en.upper(), font=_font(62, serif=True), fill=ink, anchor="mm")
    draw.text((width / 2, 128), design.brand_zh, font=_font(36), fill=ink, anchor="mm")
    draw.text((width / 2, 450), design.product_zh, font=_font(40), fill=ink, anchor="mm")
    draw.text((width / 2, 500), design.product_en, font=_font(24, bold=False), fill=ink, anchor="mm")
    draw.text((width / 2, 545), design.size_line, font=_font(26), fill=ink, anchor="mm")
    fine = f"{design.brand_en} Cosmetics · 中国上海制造 · 批号见底部"
    draw.text((width / 2, 600), fine, font=_font(14, bold=False), fill=ink, anchor="mm")
    return image


def _background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A table, cloth or shelf: stripes, checks or blotches in a random colour, with noise."""
    width, height = size
    np_rng = np.random.default_rng(rng.randrange(2**32))
    base = np.array([rng.randint(60, 230) for _ in range(3)], dtype=np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    kind = rng.choice(["wood", "checks", "blotches"])
    if kind == "wood":
        period = rng.uniform(6, 25)
        field = np.sin((yy + 8 * np.sin(xx / rng.uniform(30, 90))) / period)
    elif kind == "checks":
        cell = rng.randint(12, 48)
        field = (((xx // cell) + (yy // cell)) % 2) * 2 - 1
    else:
        small = np_rng.normal(size=(height // 32 + 2, width // 32 + 2)).astype(np.float32)
        field = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC))
        field = field / max(1e-6, float(np.abs(field).max()))
    contrast = rng.uniform(10, 45)
    noise = np_rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    pixels = base[None, None, :] + contrast * field[..., None].astype(np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 matrix mapping four source points to four destination points (direct linear solve)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def own_photo(pack: Image.Image, seed: int, *, frame: tuple[int, int] = (640, 640),
              cover: tuple[float, float] = (0.45, 0.75), tilt: float = 0.18) -> Image.Image:
    """A seller's own photo of `pack`: warped by a random homography onto a textured background.

    `cover` bounds the pack's height as a share of the frame's; `tilt` the perspective (corner jitter as a share of
    the pack's size). The light changes (gain, colour cast, a gradient), then the photo is blurred a little.
    """
    return own_photo_with_corners(pack, seed, frame=frame, cover=cover, tilt=tilt)[0]


def own_photo_with_corners(pack: Image.Image, seed: int, *, frame: tuple[int, int] = (640, 640),
                           cover: tuple[float, float] = (0.45, 0.75),
                           tilt: float = 0.18) -> tuple[Image.Image, list[tuple[float, float]]]:
    """own_photo, with where the pack's corners landed (top-left, top-right, bottom-right, bottom-left; pixels)."""
    rng = random.Random(seed)
    fw, fh = frame
    background = _background(rng, frame)
    pw, ph = pack.size
    scale = rng.uniform(*cover) * fh / ph
    w, h = pw * scale, ph * scale
    cx, cy = rng.uniform(w / 2 + 10, fw - w / 2 - 10) if fw > w + 20 else fw / 2, rng.uniform(h / 2, fh - h / 2)
    angle = math.radians(rng.uniform(-25, 25))
    corners = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        jx, jy = rng.uniform(-tilt, tilt) * w, rng.uniform(-tilt, tilt) * h
        x, y = dx + jx, dy + jy
        corners.append((cx + x * math.cos(angle) - y * math.sin(angle), cy + x * math.sin(angle) + y * math.cos(angle)))
    src = np.array([(0, 0), (pw, 0), (pw, ph), (0, ph)], dtype=np.float64)
    # PIL's perspective transform maps output pixels back to input pixels: the inverse homography.
    inverse = _homography(np.array(corners), src)
    coeffs = tuple((inverse / inverse[2, 2]).flatten()[:8])
    warped = pack.convert("RGBA").transform(frame, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    background.paste(warped, (0, 0), warped)
    photo = ImageEnhance.Brightness(background).enhance(rng.uniform(0.65, 1.25))
    photo = ImageEnhance.Contrast(photo).enhance(rng.uniform(0.75, 1.15))
    cast = np.array([rng.uniform(0.85, 1.12) for _ in range(3)], dtype=np.float32)
    ramp = np.linspace(rng.uniform(0.75, 1.0), rng.uniform(1.0, 1.2), fw, dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    pixels = np.asarray(photo, dtype=np.float32) * cast[None, None, :] * ramp[None, :, None]
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.4))), corners


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def stored_thumbnail(image: Image.Image, quality: int = 85) -> bytes:
    """The thumbnail the crawler's image pipeline keeps of this photo (and catalogue sync of a reference)."""
    thumbnail = hash_image(jpeg_bytes(image, quality), thumbnail=True).thumbnail
    assert thumbnail is not None
    return thumbnail


OUR_BRAND = ("Lumina", "露米娜")
OUR_PACKS = {
    "LM-100": PackDesign("Lumina", "露米娜", "焕活修护精华液", "Radiance Renewal Serum", "30 ml",
                         (196, 214, 236), (40, 80, 150), 100),
    "LM-200": PackDesign("Lumina", "露米娜", "水润平衡面霜", "Hydra Balance Cream", "50 g",
                         (240, 214, 220), (170, 60, 90), 200),
    "LM-300": PackDesign("Lumina", "露米娜", "丝绒哑光口红", "Velvet Matte Lipstick", "3.5 g",
                         (226, 200, 170), (150, 40, 40), 300),
}
# Other brands' packs: a competitor's name and its own artwork in the same layout and colours as one of ours.
OTHER_BRANDS = (("Aurelle", "奥瑞尔"), ("Belmonde", "贝梦丹"), ("Celesta", "赛莱斯"), ("Dorava", "朵拉芙"),
                ("Evanne", "依梵"), ("Florine", "芙洛琳"))


def lookalike(sku: str, index: int) -> PackDesign:
    """A look-alike of our pack `sku` by another brand: same layout and colours, another name and artwork."""
    ours = OUR_PACKS[sku]
    en, zh = OTHER_BRANDS[index % len(OTHER_BRANDS)]
    return PackDesign(en, zh, ours.product_zh[:2] + "臻颜" + ours.product_zh[-2:], ours.product_en, ours.size_line,
                      ours.colour, ours.accent, 10_000 + 97 * index + ours.artwork_seed)


def unrelated(index: int) -> PackDesign:
    """A pack of another brand in its own colours: the everyday unrelated listing."""
    rng = random.Random(50_000 + index)
    en, zh = OTHER_BRANDS[index % len(OTHER_BRANDS)]
    colour = (rng.randint(120, 250), rng.randint(120, 250), rng.randint(120, 250))
    accent = (rng.randint(20, 160), rng.randint(20, 160), rng.randint(20, 160))
    return PackDesign(en, zh, "柔肤爽肤水", "Softening Toner", "120 ml", colour, accent, 60_000 + index)
