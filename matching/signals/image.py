"""Image signal: does a listing photo match one of the brand's reference photos?

The distance of a photo to a reference is the smallest over the reference's views (see matching.references):
pHash and dHash must both agree, after trimming borders, against the photo as given, mirrored, turned or flipped
(any of the 8 orientations), cropped or tilted.
  - distance <= threshold (thresholds.image_distance): a match;
  - threshold < distance <= confirm_distance (thresholds.image_confirm_distance): borderline, a match only when
    the keypoint check on both thumbnails confirms it (matching.confirm); without thumbnails it stays unconfirmed;
    a match through a tilted view within the threshold is checked too, since the white corners of a tilt look
    alike on flat photos: it stands unless keypoints refute it (too plain to judge, or no thumbnails: it stands);
    a match through a wide turn (15-45 degrees) stands only when keypoints confirm it, at any distance;
  - farther: no match.
MATCH names the best match (strong matches first, then the nearest confirmed one); evidence["matched_by_sku"]
lists every product with a matching photo, which the relevance signal reads. Photos without hashes (blank,
corrupt, blocked, not fetched) and photos on the brand's allow-list of official images contribute nothing;
references the flood guard distrusts are left out and said so. No hashed photo or no reference: UNKNOWN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from matching.confirm import Confirmation, Confirmer
from matching.facts import ImageFacts
from matching.references import FAR, Nearest, ReferenceIndex, hash_int
from matching.signals.result import SignalResult, match, no_match, unknown

NAME = "image"
MAX_CHECKS_PER_PHOTO = 6  # keypoint checks are the costly part; the nearest borderline references go first


@dataclass(frozen=True)
class PhotoMatch:
    near: Nearest
    image: ImageFacts
    confirmation: Confirmation | None  # None: within the threshold, no check needed

    @property
    def rank(self) -> tuple[int, int, int]:
        inliers = self.confirmation.inliers if self.confirmation is not None else 0
        return (0 if self.confirmation is None else 1, self.near.distance, -inliers)


def describe_match(nearest: Nearest, position: int, confirmation: Confirmation | None = None) -> str:
    """'photo 1 matches reference LM-100-front at distance 4 after mirroring', 'photo 2 matches reference
    LM-100-front turned 90° clockwise at distance 3'."""
    view = nearest.view
    how = [view.label] if view.derived and view.orientation is None else []
    if view.mirrored:
        how.append("mirroring")
    after = f" after {' and '.join(how)}" if how else ""
    turned = f" {view.orientation}" if view.orientation else ""
    said = (f"photo {position + 1} matches reference {nearest.reference.ref_id}{turned} at distance "
            f"{nearest.distance}{after}")
    if confirmation is not None:
        said += f", {confirmation.describe()}"
    return said


def _check(img: ImageFacts, near: Nearest, confirmer: Confirmer | None) -> Confirmation | None:
    ref = near.reference
    if confirmer is None or not img.thumbnail or not ref.thumbnail:
        return None
    listing_key = img.sha256 or (img.image_id, img.position, len(img.thumbnail))
    return confirmer.check(listing_key, img.thumbnail, id(ref), ref.thumbnail, near.view.turn)


def image_signal(images: Sequence[ImageFacts], index: ReferenceIndex, threshold: int,
                 skus: frozenset[str] | None = None, *, confirm_distance: int | None = None,
                 confirmer: Confirmer | None = None, allowed_sha256: Collection[str] = (),
                 distrusted: Collection[str] = ()) -> SignalResult:
    """Compare every hashed listing photo with every reference (of `skus` only, when given).

    `distrusted` names references (ref_id) the flood guard stopped trusting; `allowed_sha256` are photos the
    brand publishes for anyone to use, which prove nothing.
    """
    scope = sorted(skus & set(index.skus)) if skus is not None else list(index.skus)
    if not scope:
        of = f" of {', '.join(sorted(skus))}" if skus else ""
        return unknown(NAME, f"no reference photo{of} is hashed, so photos cannot be compared",
                       threshold=threshold)
    limit = max(threshold, confirm_distance if confirm_distance is not None else threshold)
    skipped = Counter(img.status for img in images if not img.hashed)
    official = [img for img in images if img.hashed and img.sha256 and img.sha256 in allowed_sha256]
    usable = [(img, p) for img in images if img.hashed and img not in official
              if (p := hash_int(img.phash)) is not None]
    base_evidence = {"threshold": threshold, "confirm_distance": limit, "photos": len(images),
                     "photos_without_hash": dict(skipped), "official_photos": len(official),
                     "distrusted_references": sorted(distrusted)}
    if not usable:
        detail = [f"{n} {status}" for status, n in sorted(skipped.items())]
        if official:
            detail.append(f"{len(official)} on the brand's allow-list of official images")
        what = ("the listing has no photos" if not images
                else f"no listing photo could be compared ({', '.join(detail)})")
        return unknown(NAME, f"{what}, so photos cannot be compared", **base_evidence)
    wanted = frozenset(scope)
    nearest_by_sku: dict[str, int] = {}
    nearest: tuple[ImageFacts, Nearest] | None = None
    matches: list[PhotoMatch] = []
    unconfirmed: list[tuple[ImageFacts, Nearest, Confirmation | None]] = []
    for img, phash in usable:
        compared = index.compare(phash, hash_int(img.dhash), limit, wanted, distrusted, strong=threshold)
        for sku, distance in compared.sku_distances.items():
            nearest_by_sku[sku] = min(nearest_by_sku.get(sku, FAR), distance)
        if compared.nearest is not None and (nearest is None or compared.nearest.distance < nearest[1].distance):
            nearest = (img, compared.nearest)
        matched_skus: set[str] = set()
        checks = 0
        for near in compared.candidates:
            if near.reference.sku in matched_skus:
                continue
            if near.distance <= threshold and not near.view.needs_confirmation:
                matches.append(PhotoMatch(near, img, None))
                matched_skus.add(near.reference.sku)
                continue
            if checks >= MAX_CHECKS_PER_PHOTO:
                continue
            confirmation = _check(img, near, confirmer)
            checks += confirmation is not None
            # A tilted view: only keypoints that disagree refute it; a wide turn needs keypoints that agree.
            tilted_within = near.distance <= threshold and not near.view.requires_keypoints
            if tilted_within and (confirmation is None or confirmation.inconclusive):
                matches.append(PhotoMatch(near, img, confirmation))
                matched_skus.add(near.reference.sku)
            elif confirmation is not None and confirmation.confirmed:
                matches.append(PhotoMatch(near, img, confirmation))
                matched_skus.add(near.reference.sku)
            else:
                unconfirmed.append((img, near, confirmation))
    if nearest is None:
        return unknown(NAME, "every reference photo in scope is distrusted by the flood guard, so photos cannot "
                       "be compared", **base_evidence)
    evidence = {**base_evidence, "nearest_by_sku": dict(sorted(nearest_by_sku.items())),
                "photos_compared": len(usable)}
    if matches:
        return _matched(matches, evidence, threshold)
    return _unmatched(nearest, unconfirmed, evidence, threshold)


def _matched(matches: list[PhotoMatch], evidence: dict[str, object], threshold: int) -> SignalResult:
    best = min(matches, key=lambda m: m.rank)
    near, img = best.near, best.image
    by_sku: dict[str, dict[str, object]] = {}
    for m in sorted(matches, key=lambda m: m.rank):
        by_sku.setdefault(m.near.reference.sku, {
            "distance": m.near.distance, "reference": m.near.reference.ref_id,
            "confirmed_by_keypoints": m.confirmation is not None and m.confirmation.confirmed,
            "official_use_ok": m.near.reference.official_use_ok,
        })
    evidence.update({
        "distance": near.distance,
        "phash_distance": near.phash_distance,
        "dhash_distance": near.dhash_distance,
        "reference": near.reference.ref_id,
        "reference_db_id": near.reference.db_id,
        "sku": near.reference.sku,
        "view": near.view.label,
        "mirrored": near.view.mirrored,
        "orientation": near.view.orientation or "upright",
        "listing_image_id": img.image_id,
        "listing_image_position": img.position,
        "keypoints": best.confirmation.to_dict() if best.confirmation is not None else None,
        "official_use_ok": near.reference.official_use_ok,
        "matched_by_sku": dict(sorted(by_sku.items())),
    })
    reason = f"{describe_match(near, img.position, best.confirmation)} (threshold {threshold})"
    if near.reference.official_use_ok:
        reason += "; the brand lets resellers use this photo"
    return match(NAME, reason, float(near.distance), **evidence)


def _unmatched(nearest: tuple[ImageFacts, Nearest], unconfirmed: list[tuple[ImageFacts, Nearest, Confirmation | None]],
               evidence: dict[str, object], threshold: int) -> SignalResult:
    img, near = nearest
    distance = near.distance
    evidence.update({"distance": distance, "matched_by_sku": {}, "listing_image_position": img.position,
                     "reference": near.reference.ref_id, "sku": near.reference.sku})
    reason = (f"no photo matches the brand's reference photos: the nearest, photo {img.position + 1} to "
              f"{near.reference.ref_id}, is at distance {distance} (threshold {threshold})")
    checked = [(i, n, c) for i, n, c in unconfirmed if c is not None]
    if checked:
        i, n, c = min(checked, key=lambda t: t[1].distance)
        assert c is not None
        reason += (f"; photo {i.position + 1} against {n.reference.ref_id} at distance {n.distance} was checked by "
                   f"keypoints and {c.describe()}")
        evidence["keypoints"] = c.to_dict()
    elif unconfirmed:
        i, n, _ = unconfirmed[0]
        why = (f"after {n.view.label}, a turn only keypoints can confirm" if n.view.requires_keypoints
               else "is borderline")
        reason += (f"; photo {i.position + 1} against {n.reference.ref_id} at distance {n.distance} {why}, "
                   "and without both thumbnails it could not be checked by keypoints")
    return no_match(NAME, reason, float(distance), **evidence)
