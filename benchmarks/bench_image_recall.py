"""Image-signal recall under what sellers do to a brand's photos, at a false-match rate of at most 0.5%.

Photos: every real photo bundled with scikit-image (astronaut, brick, camera, cell, chelsea, clock, coffee, coins,
grass, gravel, hubble_deep_field, immunohistochemistry, moon, page, retina, rocket, text, the left stereo
motorcycle), each whole and as four quarter crops (nine ninth crops more for the two largest), scaled to 640
pixels: about a hundred reference photos, none blank. Each reference is altered once per transform, with seeded
random parameters: mirror, 10% cut off one corner, 10% white border, a semi-transparent text watermark, a rotation
of up to 8 degrees (and one of exactly 8), a resize to 30-60%, a recompression at JPEG quality 20-40; the other six
orientations (turned by 90, 180 and 270 degrees, flipped top to bottom, flipped across either diagonal); a nested
frame (a white mat of 8-12% inside a grey frame of 4-8%); and a turn of 15-45 degrees either way with a white fill,
cut to the frame or whole on a larger canvas.

Recall: the share of altered copies that match their own reference. False-match rate: the share of unrelated
(listing photo, reference) pairs that match, where unrelated means made from different source photos (crops of one
photo overlap, so they are not counted either way); the 200 small LFW face and non-face photos bundled with
scikit-image are added as unrelated listing photos. Both sides are hashed as the crawler and the catalogue hash
them (core.images.hash_image with thumbnails), and matched by matching.signals.image_signal with the default
thresholds, keypoint confirmation included. Beside it, in the same run: plain `imagehash.phash` on a full decode,
at the largest threshold whose false-match rate is at most 0.5% on the same pairs, and BrandPatrol's hash stage
alone (no keypoints) at its own 0.5% threshold.

Run: `python -m benchmarks.bench_image_recall` (about a minute). Not a test: it prints numbers, asserts nothing.
"""

from __future__ import annotations

import io
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps
from skimage import data

from core.config import Thresholds
from core.images import ImageHashes, ImageRejected, hash_image
from core.models import ImageStatus
from matching.confirm import Confirmer
from matching.facts import ImageFacts
from matching.references import Reference, ReferenceIndex, reference
from matching.signals.image import image_signal

SOURCES = ("astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
           "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text", "motorcycle")
ORIENTED = {"turned 90°": Image.Transpose.ROTATE_270, "turned 180°": Image.Transpose.ROTATE_180,
            "turned 270°": Image.Transpose.ROTATE_90, "flipped vertically": Image.Transpose.FLIP_TOP_BOTTOM,
            "transposed": Image.Transpose.TRANSPOSE, "transversed": Image.Transpose.TRANSVERSE}
TRANSFORMS = ("mirror", "corner crop 10%", "white border 10%", "watermark", "rotation up to 8°", "rotation 8°",
              "resize 30-60%", "recompress q20-40", *ORIENTED, "nested frame", "rotation 15-45°")
FIRST_TRANSFORMS = 8
MAX_FALSE_MATCH_RATE = 0.005
SIDE = 640
MARKS = ("1:1 COPY", "FACTORY DIRECT", "TOP QUALITY", "BEST PRICE", "SHOP DEAL", "HOT SALE")


def _uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    scaled = (array - array.min()) / max(float(array.max() - array.min()), 1e-9) * 255
    return scaled.astype(np.uint8)


def source_photo(name: str) -> Image.Image:
    array = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    return Image.fromarray(_uint8(np.asarray(array))).convert("RGB")


def _crops(image: Image.Image) -> list[tuple[str, Image.Image]]:
    w, h = image.size
    out = [("whole", image)]
    for i, (fx, fy) in enumerate(((0, 0), (0.5, 0), (0, 0.5), (0.5, 0.5))):
        box = (int(fx * w), int(fy * h), int((fx + 0.5) * w), int((fy + 0.5) * h))
        out.append((f"quarter {i + 1}", image.crop(box)))
    if min(w, h) >= 800:
        for i in range(3):
            for j in range(3):
                out.append((f"ninth {3 * j + i + 1}", image.crop((i * w // 3, j * h // 3, (i + 1) * w // 3,
                                                                  (j + 1) * h // 3))))
    return out


def _scaled(image: Image.Image, side: int = SIDE) -> Image.Image:
    w, h = image.size
    scale = side / max(w, h)
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def watermark(image: Image.Image, text: str) -> Image.Image:
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    w, h = image.size
    font = ImageFont.load_default(size=max(12, w // 12))
    for y in (h * 0.3, h * 0.7):
        box = draw.textbbox((0, 0), text, font=font)
        draw.text(((w - (box[2] - box[0])) / 2, y), text, font=font, fill=(255, 255, 255, 110), stroke_width=2,
                  stroke_fill=(60, 60, 60, 110))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def altered(image: Image.Image, transform: str, rng: random.Random) -> bytes:
    w, h = image.size
    quality = rng.randint(70, 90)
    if transform == "mirror":
        return jpeg(ImageOps.mirror(image), quality)
    if transform == "corner crop 10%":
        dx, dy = round(w * 0.1), round(h * 0.1)
        corner = rng.choice(("tl", "tr", "bl", "br"))
        box = {"tl": (dx, dy, w, h), "tr": (0, dy, w - dx, h), "bl": (dx, 0, w, h - dy), "br": (0, 0, w - dx, h - dy)}
        return jpeg(image.crop(box[corner]), quality)
    if transform == "white border 10%":
        bw, bh = round(w * 0.1), round(h * 0.1)
        return jpeg(ImageOps.expand(image, border=(bw, bh, bw, bh), fill=(255, 255, 255)), quality)
    if transform == "watermark":
        return jpeg(watermark(image, rng.choice(MARKS)), quality)
    if transform in ("rotation up to 8°", "rotation 8°"):
        angle = rng.choice((-8.0, 8.0)) if transform == "rotation 8°" else rng.uniform(-8, 8)
        return jpeg(image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255)), quality)
    if transform in ORIENTED:
        return jpeg(image.transpose(ORIENTED[transform]), quality)
    if transform == "nested frame":
        mat, frame, grey = rng.uniform(0.08, 0.12), rng.uniform(0.04, 0.08), rng.randint(90, 190)
        matted = ImageOps.expand(image, border=(round(w * mat), round(h * mat)), fill=(255, 255, 255))
        return jpeg(ImageOps.expand(matted, border=(round(w * frame), round(h * frame)), fill=(grey, grey, grey)),
                    quality)
    if transform == "rotation 15-45°":
        angle = rng.choice((-1, 1)) * rng.uniform(15, 45)
        return jpeg(image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255),
                                 expand=rng.random() < 0.5), quality)
    if transform == "resize 30-60%":
        s = rng.uniform(0.3, 0.6)
        return jpeg(image.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS), quality)
    if transform == "recompress q20-40":
        return jpeg(image, rng.randint(20, 40))
    raise KeyError(transform)


@dataclass(frozen=True)
class Photo:
    source: str  # the scikit-image photo it comes from
    item: str  # the reference it is (or is made from)
    transform: str  # "reference", a TRANSFORMS entry, or "unrelated"
    hashes: ImageHashes
    data: bytes


def dataset(seed: int = 4) -> tuple[list[Photo], list[Photo]]:
    """(references, listing photos): altered copies of every reference, and unrelated photos."""
    rng = random.Random(seed)
    later_rng = random.Random(seed + 1)  # for the transforms added later, so the first ones keep their copies
    references: list[Photo] = []
    listings: list[Photo] = []
    for source in SOURCES:
        for label, crop in _crops(source_photo(source)):
            image = _scaled(crop)
            item = f"{source} {label}"
            raw = jpeg(image, 95)
            try:
                hashes = hash_image(raw, thumbnail=True)
            except ImageRejected:
                continue  # near-blank: no hash, no reference
            references.append(Photo(source, item, "reference", hashes, raw))
            for k, transform in enumerate(TRANSFORMS):
                copy = altered(image, transform, rng if k < FIRST_TRANSFORMS else later_rng)
                listings.append(Photo(source, item, transform, _hash_or_blank(copy), copy))
    for i, face in enumerate(data.lfw_subset()):
        image = Image.fromarray(_uint8(np.asarray(face))).convert("RGB").resize((200, 200), Image.Resampling.BICUBIC)
        raw = jpeg(image, 85)
        listings.append(Photo(f"lfw {i}", f"lfw {i}", "unrelated", _hash_or_blank(raw), raw))
    return references, listings


def _hash_or_blank(raw: bytes) -> ImageHashes:
    try:
        return hash_image(raw, thumbnail=True)
    except ImageRejected:
        return ImageHashes("", 0, 0, "", "", "", None)  # a blank photo never matches anything


def facts_of(photo: Photo) -> ImageFacts:
    h = photo.hashes
    if not h.phash:
        return ImageFacts(None, 0, ImageStatus.BLANK.value)
    return ImageFacts(None, 0, ImageStatus.OK.value, h.phash, h.dhash, h.phash_mirror, h.thumbnail, h.sha256)


def references_of(photos: list[Photo]) -> list[Reference]:
    out = []
    for p in photos:
        h = p.hashes
        made = reference(None, p.item, p.item, h.phash, h.dhash, h.phash_mirror, h.thumbnail)
        assert made is not None
        out.append(made)
    return out


def _threshold_at(negative: np.ndarray, rate: float) -> int:
    """The largest threshold whose false-match rate over `negative` distances is at most `rate`."""
    best = -1
    for t in range(65):
        if float((negative <= t).mean()) <= rate:
            best = t
    return best


def _recalls(own: dict[str, list[bool]]) -> dict[str, float]:
    return {t: round(sum(v) / len(v), 3) for t, v in own.items()}


def main(seed: int = 4) -> dict[str, Any]:
    started = time.perf_counter()
    refs, listings = dataset(seed)
    references = references_of(refs)
    index = ReferenceIndex(references)
    sources = np.array([r.source for r in refs])
    items = [r.item for r in refs]
    thresholds = Thresholds()
    confirmer = Confirmer(thresholds.image_confirm_inliers)

    # BrandPatrol: the image signal as matching runs it, each reference its own product.
    ours_own: dict[str, list[bool]] = defaultdict(list)
    false_matches = negatives = 0
    hash_distances = np.full((len(listings), len(refs)), 99, dtype=np.int16)
    signal_started = time.perf_counter()
    for row, photo in enumerate(listings):
        facts = facts_of(photo)
        signal = image_signal([facts], index, thresholds.image_distance,
                              confirm_distance=thresholds.image_confirm_distance, confirmer=confirmer)
        matched = set(signal.evidence.get("matched_by_sku", {}))
        unrelated = sources != photo.source
        negatives += int(unrelated.sum())
        false_matches += sum(1 for i in np.flatnonzero(unrelated) if items[i] in matched)
        if photo.transform in TRANSFORMS:
            ours_own[photo.transform].append(photo.item in matched)
        if facts.hashed:
            compared = index.compare(int(facts.phash or "0", 16), int(facts.dhash or "0", 16), 0)
            for sku, d in compared.sku_distances.items():
                hash_distances[row, items.index(sku)] = d
    signal_seconds = time.perf_counter() - signal_started
    unrelated_mask = np.array([[r.source != p.source for r in refs] for p in listings])
    own_mask = np.array([[r.item == p.item for r in refs] for p in listings])

    # BrandPatrol's hash stage alone, at its own 0.5% threshold.
    hash_t = _threshold_at(hash_distances[unrelated_mask], MAX_FALSE_MATCH_RATE)
    hash_own = {t: [bool((hash_distances[i][own_mask[i]] <= hash_t).any()) for i, p in enumerate(listings)
                    if p.transform == t] for t in TRANSFORMS}

    # Plain imagehash.phash on a full decode, at its own 0.5% threshold.
    def phash(raw: bytes) -> int:
        return int(str(imagehash.phash(Image.open(io.BytesIO(raw)))), 16)

    ref_plain = np.array([phash(r.data) for r in refs], dtype=np.uint64)
    plain = np.array([np.bitwise_count(ref_plain ^ np.uint64(phash(p.data))) for p in listings], dtype=np.int16)
    plain_t = _threshold_at(plain[unrelated_mask], MAX_FALSE_MATCH_RATE)
    plain_own = {t: [bool((plain[i][own_mask[i]] <= plain_t).any()) for i, p in enumerate(listings)
                     if p.transform == t] for t in TRANSFORMS}

    ours_rate = false_matches / negatives
    result: dict[str, Any] = {
        "references": len(refs),
        "altered_copies": sum(1 for p in listings if p.transform in TRANSFORMS),
        "unrelated_pairs": negatives,
        "brandpatrol": {
            "image_distance": thresholds.image_distance,
            "image_confirm_distance": thresholds.image_confirm_distance,
            "false_match_rate": round(ours_rate, 5),
            "recall": _recalls(ours_own),
            "keypoint_checks": confirmer.checks,
            "seconds": round(signal_seconds, 1),
        },
        "brandpatrol_hashes_only": {
            "threshold": hash_t,
            "false_match_rate": round(float((hash_distances[unrelated_mask] <= hash_t).mean()), 5),
            "recall": _recalls(hash_own),
        },
        "imagehash_phash": {
            "threshold": plain_t,
            "false_match_rate": round(float((plain[unrelated_mask] <= plain_t).mean()), 5),
            "recall": _recalls(plain_own),
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    ours, hashes, plain = result["brandpatrol"], result["brandpatrol_hashes_only"], result["imagehash_phash"]
    print(f"image recall: {result['references']} reference photos, {result['altered_copies']} altered copies, "
          f"{result['unrelated_pairs']} unrelated pairs")
    print(f"  BrandPatrol image signal (distance <= {ours['image_distance']}, keypoint-confirmed up to "
          f"{ours['image_confirm_distance']}): false-match rate {ours['false_match_rate']:.3%}")
    print(f"  BrandPatrol hashes only at its 0.5% threshold ({hashes['threshold']}): "
          f"false-match rate {hashes['false_match_rate']:.3%}")
    print(f"  imagehash.phash at its 0.5% threshold ({plain['threshold']}): "
          f"false-match rate {plain['false_match_rate']:.3%}")
    print(f"  {'transform':<20} {'BrandPatrol':>12} {'hashes only':>12} {'imagehash':>10}")
    for t in TRANSFORMS:
        print(f"  {t:<20} {ours['recall'][t]:>12.3f} {hashes['recall'][t]:>12.3f} {plain['recall'][t]:>10.3f}")
    print(f"  worst recall: BrandPatrol {min(ours['recall'].values()):.3f}, imagehash.phash "
          f"{min(plain['recall'].values()):.3f}; {ours['keypoint_checks']} keypoint checks; "
          f"{result['seconds']} s")


if __name__ == "__main__":
    main()
