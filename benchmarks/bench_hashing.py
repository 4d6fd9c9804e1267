"""Hashing throughput: BrandPatrol's draft-mode decode path against `imagehash.phash` on a full decode.

Both hash the same 800x800 JPEG listing photos, made at run time from scikit-image's sample photos.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import imagehash
from PIL import Image
from skimage import data

from core.images import hash_image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "hubble_deep_field", "immunohistochemistry")


def listing_photos() -> list[bytes]:
    out = []
    for name in PHOTOS:
        image = Image.fromarray(getattr(data, name)()).convert("RGB").resize((800, 800))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


def rate(function: Callable[[bytes], object], photos: list[bytes], seconds: float = 3.0) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for photo in photos:
            function(photo)
        count += len(photos)
    return count / (time.perf_counter() - started)


def baseline(photo: bytes) -> object:
    return imagehash.phash(Image.open(io.BytesIO(photo)))


def ours(photo: bytes) -> object:
    return hash_image(photo)


def main() -> dict[str, float]:
    photos = listing_photos()
    base = rate(baseline, photos)
    fast = rate(ours, photos)
    result = {"imagehash_phash_per_s": round(base, 1), "brandpatrol_per_s": round(fast, 1),
              "ratio": round(fast / base, 2)}
    print(f"hashing 800x800 JPEGs: imagehash.phash {base:.0f}/s, BrandPatrol {fast:.0f}/s "
          f"(pHash + dHash + mirrored pHash, border trim): {fast / base:.2f}x")
    return result


if __name__ == "__main__":
    main()
