"""Test photos made at run time from scikit-image's bundled sample photos (nothing committed)."""

from __future__ import annotations

import io

from PIL import Image, ImageOps
from skimage import data


def photo(name: str = "coffee") -> Image.Image:
    array = getattr(data, name)()
    image = Image.fromarray(array)
    return image.convert("RGB")


def jpeg(image: Image.Image, quality: int = 90, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, **kwargs)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def mirrored(image: Image.Image) -> Image.Image:
    return ImageOps.mirror(image)
