"""Safe image loading and perceptual hashing: one decode path for reference and listing images alike.

Every image is untrusted: formats are allow-listed, the byte size and the pixel count are checked before any
decode, JPEGs decode at reduced scale (draft mode: the decode is the whole cost of a hash), only the first frame
of an animation is read, EXIF orientation is applied, alpha is flattened onto white, and near-blank images get no
hash at all so they can never match.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core.models import ImageStatus

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
HASH_DECODE_SIDE = 64  # pHash reads a 32x32 image; decode no larger than twice that
BLANK_STDDEV = 6.0  # grey levels; flatter images carry no identity worth matching
THUMBNAIL_SIDE = 256
BORDER_TOLERANCE = 12

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow's own bomb guard as a backstop; our explicit check below runs first with the configured cap.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


class ImageRejected(ValueError):
    """An image that was not hashed, with the status to store and a reason a person can read."""

    def __init__(self, status: ImageStatus, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ImageHashes:
    sha256: str
    width: int
    height: int
    phash: str  # 16 hex digits
    dhash: str
    phash_mirror: str  # pHash of the left-right mirror, so a mirrored copy is one comparison away
    thumbnail: bytes | None


def _open(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    if len(data) > max_bytes:
        raise ImageRejected(ImageStatus.TOO_LARGE, f"{len(data)} bytes is over the {max_bytes}-byte cap")
    if not data:
        raise ImageRejected(ImageStatus.NOT_IMAGE, "empty body")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        head = data[:64].lstrip().lower()
        if head.startswith((b"<", b"{")):
            raise ImageRejected(ImageStatus.NOT_IMAGE, "body is text (HTML/JSON), not an image") from None
        raise ImageRejected(
            ImageStatus.UNSUPPORTED_FORMAT, f"not one of the allowed formats {', '.join(ALLOWED_FORMATS)}"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(ImageStatus.TOO_LARGE, f"decompression bomb refused: {exc}") from None
    except OSError as exc:
        raise ImageRejected(ImageStatus.CORRUPT, f"unreadable header: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise ImageRejected(
            ImageStatus.TOO_LARGE, f"{width}x{height} pixels is over the {max_pixels}-pixel cap"
        )
    return image


def decode(data: bytes, side: int = HASH_DECODE_SIDE, *, max_bytes: int = DEFAULT_MAX_BYTES,
           max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Image.Image, tuple[int, int]]:
    """Decode to RGB at no less than `side` pixels on the short edge; return it and the original size."""
    image = _open(data, max_bytes, max_pixels)
    original = image.size
    try:
        if image.format == "JPEG":
            image.draft("RGB", (side, side))
        if getattr(image, "is_animated", False):
            image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, (255, 255, 255))
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            image = canvas
        else:
            image = image.convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(ImageStatus.CORRUPT, f"cannot decode: {exc}") from None
    return image, original


def trim_border(image: Image.Image, tolerance: int = BORDER_TOLERANCE) -> Image.Image:
    """Cut a uniform frame (a border sellers add) so the photo inside is what gets hashed."""
    grey = np.asarray(image.convert("L"), dtype=np.int16)
    corner = int(np.median([grey[0, 0], grey[0, -1], grey[-1, 0], grey[-1, -1]]))
    differs = np.abs(grey - corner) > tolerance
    rows = np.flatnonzero(differs.mean(axis=1) > 0.02)
    cols = np.flatnonzero(differs.mean(axis=0) > 0.02)
    if rows.size == 0 or cols.size == 0:
        return image
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    h, w = grey.shape
    if (bottom - top) * (right - left) < 0.25 * h * w:
        return image  # not a frame: most of the picture would go
    return image.crop((int(left), int(top), int(right), int(bottom)))


def is_blank(image: Image.Image) -> bool:
    grey = np.asarray(image.convert("L").resize((32, 32)), dtype=np.float32)
    return float(grey.std()) < BLANK_STDDEV


def hex64(value: imagehash.ImageHash) -> str:
    return f"{int(str(value), 16):016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hashes_of(image: Image.Image) -> tuple[str, str, str]:
    """pHash, dHash and mirrored pHash of a decoded image, after trimming any border."""
    trimmed = trim_border(image)
    if is_blank(trimmed):
        raise ImageRejected(ImageStatus.BLANK, "near-blank image: no hash, never matches")
    return (
        hex64(imagehash.phash(trimmed)),
        hex64(imagehash.dhash(trimmed)),
        hex64(imagehash.phash(ImageOps.mirror(trimmed))),
    )


def thumbnail_bytes(image: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((side, side))
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=80)
    return out.getvalue()


def hash_image(data: bytes, *, thumbnail: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHashes:
    """Hash untrusted image bytes. Raises ImageRejected with the status to record."""
    side = THUMBNAIL_SIDE if thumbnail else HASH_DECODE_SIDE
    image, (width, height) = decode(data, side, max_bytes=max_bytes, max_pixels=max_pixels)
    phash, dhash, mirror = hashes_of(image)
    return ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        phash=phash,
        dhash=dhash,
        phash_mirror=mirror,
        thumbnail=thumbnail_bytes(image) if thumbnail else None,
    )
