"""Demo photos: scikit-image's bundled sample photos, altered with Pillow the way marketplace sellers alter them.

Nothing is committed and nothing is downloaded: every photo comes from the images shipped inside the
scikit-image wheel, and every listing photo is a `PhotoRecipe` rendered on demand. Rendering is deterministic
(same recipe, same Pillow: same bytes) and cached, so a server answering many image requests stays fast.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from brandpatrol.demo.packs import OwnPhoto, own_photo_jpeg, reference_artwork


def _motorcycle_left() -> np.ndarray:
    import skimage.data

    return np.asarray(skimage.data.stereo_motorcycle()[0])


def _sample(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data  # imported lazily: it costs about half a second

        return np.asarray(getattr(skimage.data, name)())

    return load


# Only photos shipped inside the scikit-image wheel (skimage/data/*.png|jpg): none of these needs a download.
SOURCES: dict[str, Callable[[], np.ndarray]] = {
    name: _sample(name)
    for name in (
        "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "gravel", "grass",
        "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket",
    )
}
SOURCES["motorcycle_left"] = _motorcycle_left

BASE_SIDE = 640  # every source is centre-cropped to a square of this side first
Corner = Literal["tl", "tr", "bl", "br"]
CORNERS: tuple[Corner, ...] = ("tl", "tr", "bl", "br")


@dataclass(frozen=True)
class PhotoRecipe:
    """How to make one JPEG from a source photo. Steps run in field order: view, crop, mirror, rotate, resize,
    border, watermark, then JPEG encoding at `quality`."""

    source: str
    size: int = 800
    quality: int = 90
    # A zoomed view (left, top, side as fractions of the square) so reused unrelated photos differ.
    view: tuple[float, float, float] | None = None
    crop_corner: Corner | None = None  # cut ~10% off this corner's two edges
    crop_fraction: float = 0.10
    mirror: bool = False
    rotate: float = 0.0  # degrees, sellers straighten or tilt product shots by a few degrees at most
    border: float = 0.0  # white frame as a fraction of the side, e.g. 0.10
    watermark: str | None = None  # semi-transparent text across the photo


def register_source(name: str, loader: Callable[[], np.ndarray]) -> str:
    """Add a generated source photo (another brand's pack, say) under `name`; the first loader given wins."""
    SOURCES.setdefault(name, loader)
    return name


PACK_SOURCE = "pack:"  # "pack:LM-100": the flat front of that product's box, drawn by packs.py


@lru_cache(maxsize=32)
def base_photo(source: str) -> Image.Image:
    """The source photo as an RGB square of BASE_SIDE; callers must not modify the returned image."""
    if source.startswith(PACK_SOURCE):
        return Image.fromarray(reference_artwork(source.removeprefix(PACK_SOURCE), BASE_SIDE))
    try:
        loader = SOURCES[source]
    except KeyError:
        raise KeyError(f"unknown demo photo source {source!r}; known: {', '.join(sorted(SOURCES))}, "
                       f"or {PACK_SOURCE}<sku>") from None
    array = loader()
    if array.dtype != np.uint8:  # e.g. boolean masks; scale into grey levels
        array = (array.astype(np.float64) / max(float(array.max()), 1.0) * 255).astype(np.uint8)
    image = Image.fromarray(array).convert("RGB")
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    return square.resize((BASE_SIDE, BASE_SIDE), Image.Resampling.LANCZOS)


def _crop_corner(image: Image.Image, corner: Corner, fraction: float) -> Image.Image:
    width, height = image.size
    dx, dy = round(width * fraction), round(height * fraction)
    # Cutting at one corner keeps the opposite edges: the crop a seller makes to lose a logo or a watermark.
    boxes = {
        "tl": (dx, dy, width, height),
        "tr": (0, dy, width - dx, height),
        "bl": (dx, 0, width, height - dy),
        "br": (0, 0, width - dx, height - dy),
    }
    return image.crop(boxes[corner])


def _watermark(image: Image.Image, text: str) -> Image.Image:
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    font = ImageFont.load_default(size=max(12, image.size[0] // 14))
    width, height = image.size
    # Two lines of text at 40% opacity, as shop stamps are: visible, yet the photo shows through.
    for y in (height * 0.30, height * 0.70):
        bbox = draw.textbbox((0, 0), text, font=font)
        x = (width - (bbox[2] - bbox[0])) / 2
        draw.text((x, y), text, font=font, fill=(255, 255, 255, 102), stroke_width=2,
                  stroke_fill=(60, 60, 60, 102))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def render_image(recipe: PhotoRecipe) -> Image.Image:
    """The photo a recipe describes, before JPEG encoding."""
    image = base_photo(recipe.source)
    if recipe.view is not None:
        fx, fy, fs = recipe.view
        side = image.size[0]
        left, top, span = round(fx * side), round(fy * side), round(fs * side)
        image = image.crop((left, top, min(side, left + span), min(side, top + span)))
    if recipe.crop_corner is not None:
        image = _crop_corner(image, recipe.crop_corner, recipe.crop_fraction)
    if recipe.mirror:
        image = ImageOps.mirror(image)
    if recipe.rotate:
        image = image.rotate(recipe.rotate, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    inner = round(recipe.size / (1 + 2 * recipe.border)) if recipe.border else recipe.size
    image = image.resize((inner, inner), Image.Resampling.LANCZOS)
    if recipe.border:
        image = ImageOps.expand(image, border=(recipe.size - inner) // 2, fill=(255, 255, 255))
    if recipe.watermark:
        image = _watermark(image, recipe.watermark)
    return image


@lru_cache(maxsize=512)
def render_jpeg(recipe: PhotoRecipe) -> bytes:
    """JPEG bytes of a recipe; cached because the same photo is asked for by every crawl."""
    out = io.BytesIO()
    # No EXIF, no timestamps, no optimisation passes that vary: the same recipe always gives the same bytes.
    render_image(recipe).save(out, format="JPEG", quality=recipe.quality)
    return out.getvalue()


def photo_jpeg(recipe: PhotoRecipe | OwnPhoto) -> bytes:
    """JPEG bytes of any demo listing photo: an altered source photo, or a seller's own photo of a box."""
    return own_photo_jpeg(recipe) if isinstance(recipe, OwnPhoto) else render_jpeg(recipe)
