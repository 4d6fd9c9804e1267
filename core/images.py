"""Safe image loading and perceptual hashing: one decode path for reference and listing images alike.

Every image is untrusted: formats are allow-listed, the byte size and the pixel count are checked before any
decode, JPEGs decode at reduced scale (draft mode: the decode is the whole cost of a hash), only the first frame
of an animation is read, EXIF orientation is applied, alpha is flattened onto white, 16-bit grey is scaled to 8
bits by its range, uniform frames are trimmed (a frame inside a frame too), and near-blank images get no hash at
all so they can never match.

The hashes (64 bits each, 16 hex digits, most significant bit first as imagehash writes them):
  pHash   the signs of the 8x8 lowest DCT frequencies of a 32x32 grey image against their median (as
          imagehash.phash, from a box-filtered 32x32 rather than a Lanczos one);
  dHash   whether each pixel of a 9x8 grey image (boxed down from the 32x32) is brighter than its left
          neighbour (as imagehash.dhash);
  and both of the left-right mirror image, which come nearly free: mirroring a row flips the sign of every
  odd horizontal DCT frequency, and reverses and inverts the dHash gradients.
HASH_VERSION names this recipe; anything stored under another version must be hashed again.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import simplejpeg
from PIL import Image, ImageFile, UnidentifiedImageError

from core.models import ImageStatus

HASH_VERSION = "bp4-nested-trim"  # bp3-box32 trimmed one frame only
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
HASH_DECODE_SIDE = 64  # pHash reads a 32x32 image; decode no larger than twice that
PHASH_SIDE = 32
BLANK_STDDEV = 6.0  # grey levels; flatter images carry no identity worth matching
THUMBNAIL_SIDE = 256  # the longest side a stored thumbnail may have
THUMBNAIL_DECODE_SIDE = 200  # decode no larger than needed to keep this much: 1/4 scale for an 800-pixel photo
BORDER_TOLERANCE = 12
MIN_FRAME = 0.015  # a frame narrower than this share of the side is not cut
MAX_BLENDED_ROWS = 2  # rows a reduced decode may blend across the edge of a frame
EXIF_ORIENTATION = 0x0112
WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # how Pillow opens 16-bit grey (PNG)
# What each EXIF orientation asks for to stand the picture upright (the table ImageOps.exif_transpose uses).
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow's own bomb guard as a backstop; our explicit check below runs first with the configured cap.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


def _dct_rows(size: int, keep: int) -> np.ndarray:
    """The first `keep` rows of the (unnormalised) DCT-II matrix, as scipy.fftpack.dct uses."""
    n = np.arange(size)
    k = np.arange(keep)[:, None]
    return (2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * size))).astype(np.float32)


_DCT8 = _dct_rows(PHASH_SIDE, 8)
_MIRROR_SIGNS = np.array([1.0 if v % 2 == 0 else -1.0 for v in range(8)], dtype=np.float32)
# Right-multiplying by this gives the 8x8 lowest frequencies of a picture and of its mirror side by side: the mirror
# flips the sign of every odd horizontal frequency, and a sign flip is exact in floating point.
_DCT8_T_BOTH = np.ascontiguousarray(np.hstack([_DCT8.T, _DCT8.T * _MIRROR_SIGNS]))


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
    dhash_mirror: str = ""  # dHash of the left-right mirror
    hash_version: str = HASH_VERSION


@dataclass(frozen=True)
class HashSet:
    """The four hashes of one decoded picture, as 64-bit integers."""

    phash: int
    dhash: int
    phash_mirror: int
    dhash_mirror: int


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


def _orientation(image: Image.Image) -> int:
    # Reading EXIF costs a parse; a JPEG without an EXIF segment cannot be rotated by one.
    if image.format == "JPEG" and "exif" not in image.info:
        return 1
    try:
        return int(image.getexif().get(EXIF_ORIENTATION, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        return 1


def _draft_scale(size: tuple[int, int], side: int) -> int:
    """The DCT scale denominator (1, 2, 4 or 8) that keeps `side` pixels, as Pillow's JPEG draft mode picks it."""
    fits = min(size[0] // side, size[1] // side)
    return next((scale for scale in (8, 4, 2) if fits >= scale), 1)


def _decode_jpeg(data: bytes, header: Image.Image, side: int, mode: str) -> Image.Image:
    """A YCbCr or grey JPEG decoded by libjpeg-turbo straight from the bytes, at the scale Pillow's draft mode would
    pick: the same pixels, bit for bit, without Pillow's piecewise feed. The decode is nearly all of a hash's cost,
    and this is 5-9% faster. Strict: a truncated or damaged file raises ValueError instead of being padded."""
    scale = _draft_scale(header.size, side)
    width, height = header.size
    pixels = simplejpeg.decode_jpeg(data, colorspace="GRAY" if mode == "L" else "RGB", min_factor=scale,
                                    min_height=-(-height // scale), min_width=-(-width // scale))
    if mode == "L":
        pixels = pixels.reshape(pixels.shape[:2])
    return Image.fromarray(pixels, mode)


def _decode_with_pillow(image: Image.Image, side: int) -> Image.Image:
    if image.format == "JPEG":
        # Draft mode picks the smallest DCT scale (down to 1/8) that keeps `side`.
        image.draft(None, (side, side))
    if getattr(image, "is_animated", False):
        image.seek(0)
    image.load()
    return image


def decode(data: bytes, side: int = HASH_DECODE_SIDE, *, max_bytes: int = DEFAULT_MAX_BYTES,
           max_pixels: int = DEFAULT_MAX_PIXELS, mode: str = "RGB") -> tuple[Image.Image, tuple[int, int]]:
    """Decode to `mode` (RGB, or L for grey) at no less than `side` pixels on the short edge where the format
    allows a reduced decode; return it and the original size. The one decode path of every image."""
    header = _open(data, max_bytes, max_pixels)
    original = header.size
    try:
        if header.format == "JPEG" and header.mode in ("RGB", "L") and mode in ("RGB", "L"):
            image = _decode_jpeg(data, header, side, mode)  # grey skips the chroma upsampling and conversion
        else:
            image = _decode_with_pillow(header, side)
        orientation = _orientation(header)
        if orientation in UPRIGHT:
            image = image.transpose(UPRIGHT[orientation])
        if image.mode in WIDE_GREY_MODES:
            image = grey_to_8_bits(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, (255, 255, 255))
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            image = canvas
        if image.mode != mode:
            image = image.convert(mode)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(ImageStatus.CORRUPT, f"cannot decode: {exc}") from None
    return image, original


def grey_to_8_bits(image: Image.Image) -> Image.Image:
    """16-bit grey as 8-bit grey, scaled by the range its pixels use (Pillow's convert clips at 255, which leaves a
    16-bit photo white, hence blank). A range under 256 levels is only shifted, never stretched, so a flat picture
    stays flat for the blank gate instead of having its noise blown up into contrast."""
    pixels = np.asarray(image).astype(np.float32)
    low = float(pixels.min()) if pixels.size else 0.0
    span = max(float(pixels.max()) - low, 255.0) if pixels.size else 255.0
    return Image.fromarray(np.rint((pixels - low) * (255.0 / span)).astype(np.uint8), "L")


def _frame_box(grey: np.ndarray, tolerance: int) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the picture inside one uniform frame, or None when there is no frame."""
    h, w = grey.shape
    corners = sorted((int(grey[0, 0]), int(grey[0, -1]), int(grey[-1, 0]), int(grey[-1, -1])))
    corner = (corners[1] + corners[2]) // 2
    # Most photos have no frame: when every outermost row and column is already picture, stop there.
    edges = np.abs(np.concatenate((grey[0], grey[-1], grey[:, 0], grey[:, -1])).astype(np.int16) - corner) > tolerance
    if (np.count_nonzero(edges[:w]) > 0.02 * w and np.count_nonzero(edges[w:2 * w]) > 0.02 * w
            and np.count_nonzero(edges[2 * w:2 * w + h]) > 0.02 * h and np.count_nonzero(edges[2 * w + h:]) > 0.02 * h):
        return None
    differs = np.abs(grey.astype(np.int16) - corner) > tolerance
    rows = np.flatnonzero(np.count_nonzero(differs, axis=1) > 0.02 * w)
    cols = np.flatnonzero(np.count_nonzero(differs, axis=0) > 0.02 * h)
    if rows.size == 0 or cols.size == 0:
        return None
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    # A frame a seller adds runs along two opposite sides at least (a mat, letterbox or pillarbox) and is more
    # than a row of JPEG noise; plain background on one side only is part of the photo.
    margin_h, margin_w = max(1, round(MIN_FRAME * h)), max(1, round(MIN_FRAME * w))
    top, bottom = (top, bottom) if top >= margin_h and h - bottom >= margin_h else (0, h)
    left, right = (left, right) if left >= margin_w and w - right >= margin_w else (0, w)
    if (top, bottom, left, right) == (0, h, 0, w):
        return None
    if (bottom - top) * (right - left) < 0.25 * h * w:
        return None  # not a frame: most of the picture would go
    return left, top, right, bottom


def content_box(grey: np.ndarray, tolerance: int = BORDER_TOLERANCE) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the picture inside every uniform frame, or None when there is no frame.

    Frames nest (a seller's grey mat around the brand's white-background photo): trimming repeats on what the last
    cut left until nothing more is cut. Every cut takes at least 1.5% of a side, so this ends."""
    h, w = grey.shape
    box = (0, 0, w, h)
    found = _frame_box(grey, tolerance)
    while found is not None:
        box = found
        found = _inner_frame_box(grey, box, tolerance)
    return None if box == (0, 0, w, h) else box


def _inner_frame_box(grey: np.ndarray, box: tuple[int, int, int, int],
                     tolerance: int) -> tuple[int, int, int, int] | None:
    """A frame inside `box`, the picture the last cut left, in the whole picture's coordinates. A reduced decode
    blends the pixels across a cut into a row or two of neither colour, whose corners would hide the next frame:
    up to two such rows along each cut side are left out of the search."""
    h, w = grey.shape
    left, top, right, bottom = box
    for rim in range(MAX_BLENDED_ROWS + 1):
        inner = (left + rim * (left > 0), top + rim * (top > 0), right - rim * (right < w), bottom - rim * (bottom < h))
        if inner[2] - inner[0] < 3 or inner[3] - inner[1] < 3:
            return None
        found = _frame_box(grey[inner[1]:inner[3], inner[0]:inner[2]], tolerance)
        if found is not None:
            return inner[0] + found[0], inner[1] + found[1], inner[0] + found[2], inner[1] + found[3]
    return None


def trim_border(image: Image.Image, tolerance: int = BORDER_TOLERANCE) -> Image.Image:
    """Cut uniform frames (borders sellers add, nested or not) so the photo inside is what gets hashed."""
    box = content_box(np.asarray(image.convert("L")), tolerance)
    return image if box is None else image.crop(box)


def is_blank(image: Image.Image) -> bool:
    grey = np.asarray(image.convert("L").resize((PHASH_SIDE, PHASH_SIDE)), dtype=np.float32)
    return float(grey.std()) < BLANK_STDDEV


def _pixels(image: Image.Image) -> np.ndarray:
    return np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(image.size[1], image.size[0])


def _hash_grey(grey: Image.Image) -> HashSet:
    """Hashes of a grey picture that is already trimmed; raises ImageRejected when it is near-blank."""
    resample = Image.Resampling.BOX if min(grey.size) >= PHASH_SIDE else Image.Resampling.BILINEAR
    small = grey.resize((PHASH_SIDE, PHASH_SIDE), resample)
    pixels = _pixels(small).astype(np.float32)
    flat = pixels.ravel()
    mean = float(flat.sum()) / flat.size
    if float(flat @ flat) / flat.size - mean * mean < BLANK_STDDEV * BLANK_STDDEV:
        raise ImageRejected(ImageStatus.BLANK, "near-blank image: no hash, never matches")
    # Row 0: the 64 lowest frequencies of the picture; row 1: those of its mirror.
    low = (_DCT8 @ pixels @ _DCT8_T_BOTH).reshape(8, 2, 8).transpose(1, 0, 2).reshape(2, 64)
    ordered = np.sort(low, axis=1)
    median = (ordered[:, 31:32] + ordered[:, 32:33]) / 2  # np.median, without its overhead
    gradient = _pixels(small.resize((9, 8), Image.Resampling.BOX))
    bits = np.empty((4, 64), dtype=bool)
    np.greater(low, median, out=bits[:2])
    bits[2] = (gradient[:, 1:] > gradient[:, :-1]).ravel()
    # In the mirror image each gradient runs the other way: the columns reversed, and brighter becomes darker.
    bits[3] = (gradient[:, :-1] > gradient[:, 1:])[:, ::-1].ravel()
    phash, phash_mirror, dhash, dhash_mirror = np.packbits(bits, axis=1).view(">u8").ravel().tolist()
    return HashSet(phash=phash, dhash=dhash, phash_mirror=phash_mirror, dhash_mirror=dhash_mirror)


def hash_set(image: Image.Image, *, trim: bool = True) -> HashSet:
    """The hashes of a decoded picture (any mode), after trimming uniform frames unless `trim` is False."""
    grey = image if image.mode == "L" else image.convert("L")
    if trim:
        box = content_box(_pixels(grey))
        if box is not None:
            grey = grey.crop(box)
    return _hash_grey(grey)


def sniff_media_type(data: bytes) -> str | None:
    """The media type an image's first bytes show (PNG, JPEG or WebP), or None: what bytes are, not what a
    header or a stored label says."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def hex64(value: int | object) -> str:
    """A 64-bit hash as 16 hex digits (an int, or anything whose str() is hex, such as an imagehash)."""
    number = value if isinstance(value, int) else int(str(value), 16)
    return f"{number:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hashes_of(image: Image.Image) -> tuple[str, str, str]:
    """pHash, dHash and mirrored pHash of a decoded image, after trimming any border."""
    hashes = hash_set(image)
    return hex64(hashes.phash), hex64(hashes.dhash), hex64(hashes.phash_mirror)


def fit_within(image: Image.Image, side: int,
               resample: Image.Resampling = Image.Resampling.BILINEAR) -> Image.Image:
    """The picture scaled down to at most `side` pixels on its longest side (unchanged when it fits)."""
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    fitted = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    return image.resize(fitted, resample, reducing_gap=2.0)


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def thumbnail_bytes(image: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG of the picture fitted within `side` pixels; a draft decode usually fits already (no resampling)."""
    return _jpeg_bytes(fit_within(image, side), 80)


def hash_image(data: bytes, *, thumbnail: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHashes:
    """Hash untrusted image bytes. Raises ImageRejected with the status to record.

    Without a thumbnail only the grey channel is decoded, at the smallest scale that keeps 64 pixels.
    """
    side = THUMBNAIL_DECODE_SIDE if thumbnail else HASH_DECODE_SIDE
    image, (width, height) = decode(data, side, max_bytes=max_bytes, max_pixels=max_pixels,
                                    mode="RGB" if thumbnail else "L")
    hashes = hash_set(image)
    return ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        phash=hex64(hashes.phash),
        dhash=hex64(hashes.dhash),
        phash_mirror=hex64(hashes.phash_mirror),
        thumbnail=thumbnail_bytes(image) if thumbnail else None,
        dhash_mirror=hex64(hashes.dhash_mirror),
    )


READING_COPY_SIDE = 1280  # the default longest side of a reading copy (Settings.reading_copy_max_side)
_KEPT_AS_FETCHED = {"JPEG": "image/jpeg", "PNG": "image/png"}


@dataclass(frozen=True)
class ReadingCopy:
    """A photo with enough pixels to read print on it, bounded to `max_side` pixels on its longest side."""

    content: bytes
    media_type: str
    width: int
    height: int


def reading_copy(data: bytes, max_side: int = READING_COPY_SIDE, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> ReadingCopy:
    """The reading copy of untrusted image bytes that already passed hash_image.

    A JPEG or PNG that already fits within `max_side` is kept as fetched: no decode, no loss, nothing spent (most
    marketplace photos are 800-pixel JPEGs). Anything larger, or another format, is decoded at the smallest JPEG
    scale that keeps `max_side` and stored as a JPEG at quality 88. Its size and dimensions are those of the
    stored picture, before EXIF orientation (core.images.decode applies it when the copy is read)."""
    header = _open(data, max_bytes, max_pixels)
    if header.format in _KEPT_AS_FETCHED and max(header.size) <= max_side:
        return ReadingCopy(data, _KEPT_AS_FETCHED[header.format], *header.size)
    decoded, _ = decode(data, max_side, max_bytes=max_bytes, max_pixels=max_pixels)
    image = fit_within(decoded, max_side, Image.Resampling.LANCZOS)
    return ReadingCopy(_jpeg_bytes(image, 88), "image/jpeg", *image.size)
