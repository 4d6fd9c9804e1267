"""Hashing throughput: BrandPatrol's draft-mode decode path against `imagehash.phash` on a full decode.

Both hash the same 800x800 JPEG listing photos, made at run time from scikit-image's sample photos. BrandPatrol
(core.images.hash_image) decodes only the grey channel at 1/8 scale and computes SHA-256, pHash, dHash and both
mirrored hashes, with border trimming and the blank gate; the baseline computes one pHash. The machine is shared,
so the two alternate in short rounds and the median of the per-round ratios is reported. The crawler's path,
which decodes in colour at 1/4 scale instead and stores that picture as the thumbnail, is reported beside it.
The photos are saved at JPEG quality 88, then again at 75 and 90 (the range marketplaces serve) for the ratio at
each end: the draft decode's cost follows the file size, a full decode's mostly the pixel count.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

import imagehash
from PIL import Image
from skimage import data

from core.images import hash_image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "hubble_deep_field", "immunohistochemistry")
ROUNDS = 7
ROUND_SECONDS = 0.8
QUALITY = 88
# Marketplaces serve listing photos anywhere from about quality 75 to 90. The draft decode reads every coded bit,
# so heavier files cost it more than they cost a full decode: the ratio is reported for each end as well.
QUALITY_SPREAD = (75, 90)


def listing_photos(quality: int = QUALITY) -> list[bytes]:
    out = []
    for name in PHOTOS:
        image = Image.fromarray(getattr(data, name)()).convert("RGB").resize((800, 800))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        out.append(buffer.getvalue())
    return out


def rate(function: Callable[[bytes], object], photos: list[bytes], seconds: float = ROUND_SECONDS) -> float:
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


def ours_with_thumbnail(photo: bytes) -> object:
    return hash_image(photo, thumbnail=True)


def main() -> dict[str, float]:
    photos = listing_photos()
    for function in (baseline, ours, ours_with_thumbnail):
        rate(function, photos, 0.2)  # warm up
    bases, fasts, thumbs = [], [], []
    for _ in range(ROUNDS):
        bases.append(rate(baseline, photos))
        fasts.append(rate(ours, photos))
        thumbs.append(rate(ours_with_thumbnail, photos))
    ratio = statistics.median(f / b for f, b in zip(fasts, bases, strict=True))
    thumb_ratio = statistics.median(t / b for t, b in zip(thumbs, bases, strict=True))
    base, fast, thumb = statistics.median(bases), statistics.median(fasts), statistics.median(thumbs)
    result = {"imagehash_phash_per_s": round(base, 1), "brandpatrol_per_s": round(fast, 1),
              "ratio": round(ratio, 2), "brandpatrol_with_thumbnail_per_s": round(thumb, 1),
              "thumbnail_ratio": round(thumb_ratio, 2)}
    spread = {}
    for quality in QUALITY_SPREAD:
        others = listing_photos(quality)
        spread[quality] = statistics.median(rate(ours, others) / rate(baseline, others) for _ in range(ROUNDS))
        result[f"ratio_quality_{quality}"] = round(spread[quality], 2)
    print(f"hashing 800x800 JPEGs (quality {QUALITY}): imagehash.phash {base:.0f}/s, BrandPatrol {fast:.0f}/s "
          f"(SHA-256, pHash, dHash and both mirrored, border trim, blank gate): {ratio:.2f}x; with the crawler's "
          f"thumbnail {thumb:.0f}/s ({thumb_ratio:.2f}x); median of {ROUNDS} alternating rounds")
    print("  the same photos at " + ", ".join(f"quality {q}: {r:.2f}x" for q, r in spread.items()))
    return result


if __name__ == "__main__":
    main()
