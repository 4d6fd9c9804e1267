"""Image signal: does a listing photo match one of the brand's reference photos?

The distance is the smallest Hamming distance (64-bit hashes, 0-64) between any hashed listing photo and any
view of a reference (see matching.references): pHash against the reference's pHash and mirrored pHash, and for
crop/rotation views the larger of the pHash and dHash distances. MATCH when distance <= threshold (inclusive).
Photos without hashes (blank, corrupt, blocked, not fetched) contribute nothing; no hashed photo or no reference
gives UNKNOWN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from matching.facts import ImageFacts
from matching.references import Nearest, ReferenceIndex, hash_int
from matching.signals.result import SignalResult, match, no_match, unknown

NAME = "image"


def describe_match(nearest: Nearest, position: int) -> str:
    """'photo 1 matches reference LM-100-front at distance 4 after mirroring'."""
    how = [nearest.view.label] if nearest.view.derived else []
    if nearest.view.mirrored:
        how.append("mirroring")
    after = f" after {' and '.join(how)}" if how else ""
    return f"photo {position + 1} matches reference {nearest.reference.ref_id} at distance {nearest.distance}{after}"


def image_signal(images: Sequence[ImageFacts], index: ReferenceIndex, threshold: int,
                 skus: frozenset[str] | None = None) -> SignalResult:
    """Compare every hashed listing photo with every reference (of `skus` only, when given)."""
    scope = sorted(skus & set(index.skus)) if skus is not None else list(index.skus)
    if not scope:
        wanted = f" of {', '.join(sorted(skus))}" if skus else ""
        return unknown(NAME, f"no reference photo{wanted} is hashed, so photos cannot be compared",
                       threshold=threshold)
    hashed = [(img, hash_int(img.phash)) for img in images if img.hashed]
    usable = [(img, p) for img, p in hashed if p is not None]
    skipped = Counter(img.status for img in images if not img.hashed)
    skipped_note = ", ".join(f"{n} {status}" for status, n in sorted(skipped.items()))
    if not usable:
        detail = f" ({skipped_note})" if skipped_note else ""
        what = "the listing has no photos" if not images else f"no listing photo could be hashed{detail}"
        return unknown(NAME, f"{what}, so photos cannot be compared", threshold=threshold,
                       photos=len(images), photos_without_hash=dict(skipped))
    best: tuple[Nearest, ImageFacts] | None = None
    nearest_by_sku: dict[str, int] = {}
    for img, phash in usable:
        for sku, near in index.nearest(phash, hash_int(img.dhash), frozenset(scope)).items():
            nearest_by_sku[sku] = min(nearest_by_sku.get(sku, 65), near.distance)
            if best is None or near.distance < best[0].distance:
                best = (near, img)
    assert best is not None
    near, img = best
    evidence = {
        "threshold": threshold,
        "distance": near.distance,
        "phash_distance": near.phash_distance,
        "dhash_distance": near.dhash_distance,
        "reference": near.reference.ref_id,
        "reference_db_id": near.reference.db_id,
        "sku": near.reference.sku,
        "view": near.view.label,
        "mirrored": near.view.mirrored,
        "listing_image_id": img.image_id,
        "listing_image_position": img.position,
        "nearest_by_sku": dict(sorted(nearest_by_sku.items())),
        "photos_compared": len(usable),
        "photos_without_hash": dict(skipped),
    }
    if near.distance <= threshold:
        reason = f"{describe_match(near, img.position)} (threshold {threshold})"
        return match(NAME, reason, float(near.distance), **evidence)
    reason = (
        f"no photo matches the brand's reference photos: the nearest, photo {img.position + 1} to "
        f"{near.reference.ref_id}, is at distance {near.distance} (threshold {threshold})"
    )
    return no_match(NAME, reason, float(near.distance), **evidence)
