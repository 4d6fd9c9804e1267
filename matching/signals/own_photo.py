"""Own-photo signal: is a listing photo the seller's own shot of one of the brand's packs?

Perceptual hashes find the brand's photos, copied; they cannot find a photo the seller took of the box itself
(at an angle, on a table, in other light). This signal looks for the reference artwork in the listing's photos by
keypoints under one perspective (matching.artwork). It answers WHICH product a listing shows, and that the pack in
the photo is printed like the brand's: genuine resellers photograph their stock as counterfeiters do, so a match
here is never evidence of a counterfeit, nor of a copied brand photo (the image signal's business). A copy of the
brand's photo also shows the pack, strongly: matching runs this check on hash-matched photos too when it needs to
know how strongly a photo shows a product (matching.assess), and the image signal says which photos are copies.

Bounded: at most MAX_PHOTOS photos per listing, each against the references given (the caller picks them: the
products the listing's text points at, or every reference when the brand has few), stopping at the first strong
match; keypoints are cached per run, and past the run's budget of checks (matching.artwork.MAX_CHECKS_PER_RUN)
photos are skipped, counted, and the signal says UNKNOWN.
MATCH names the best reference (evidence["sku"], ["artwork"] with inliers, coverage and whether it is strong) and
every product found (evidence["matched_by_sku"]). NO_MATCH when photos were compared and none shows a pack; UNKNOWN
when nothing could be compared (no photo kept, no reference artwork, or no matcher).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence

from matching.artwork import ArtworkMatch, ArtworkMatcher
from matching.facts import ImageFacts
from matching.references import Reference
from matching.signals.result import SignalResult, match, no_match, unknown

NAME = "own_photo"
MAX_PHOTOS = 4


def _photo_bytes(image: ImageFacts) -> bytes | None:
    """The largest copy of the photo kept: today the 256-pixel thumbnail (matching.artwork takes any size)."""
    return image.thumbnail if image.status == "ok" else None


def own_photo_signal(images: Sequence[ImageFacts], references: Sequence[Reference],
                     matcher: ArtworkMatcher | None, *, allowed_sha256: Collection[str] = (),
                     mirror: bool = False) -> SignalResult:
    """The best of the listing's first MAX_PHOTOS kept photos against `references`' artwork.

    Photos on the brand's allow-list of official images (`allowed_sha256`) prove nothing and are left out. With
    `mirror`, mirrored photos are tried too (for copies of the brand's photos, which sellers flip).
    """
    photos = [(img, data) for img in images
              if not (img.sha256 and img.sha256 in allowed_sha256) and (data := _photo_bytes(img))][:MAX_PHOTOS]
    artworks = [ref for ref in references if ref.thumbnail]
    evidence: dict[str, object] = {"photos_compared": len(photos), "references_tried": len(artworks),
                                   "checked_skus": sorted({ref.sku for ref in artworks})}
    if matcher is None or not photos or not artworks:
        what = ("no photo of the listing is kept" if not photos else "no reference artwork is kept"
                if not artworks else "the keypoint matcher is off")
        return unknown(NAME, f"{what}, so no photo could be checked for the brand's pack", None, **evidence)
    found: list[tuple[ArtworkMatch, Reference, ImageFacts]] = []
    best_miss: tuple[ArtworkMatch, Reference, ImageFacts] | None = None
    keyed: dict[Hashable, Reference] = {(ref.db_id, ref.ref_id): ref for ref in artworks}
    for n, (img, data) in enumerate(photos):
        if matcher.spent:
            matcher.skipped += len(photos) - n
            if not found and best_miss is None:
                return unknown(NAME, f"the run's budget of {matcher.budget} keypoint checks is spent, so no photo "
                               "was checked for the brand's pack", None, **evidence)
            break
        key = img.sha256 or (img.image_id, img.position, len(data))
        located = matcher.best(key, data, [(k, ref.thumbnail) for k, ref in keyed.items() if ref.thumbnail],
                               mirror=mirror)
        if located is None:
            continue
        entry = (located.match, keyed[located.reference_key], img)
        if located.match.found:
            found.append(entry)
            if located.match.strong:
                break  # the listing's product is settled; its other photos would cost without telling more
        elif best_miss is None or located.match.inliers > best_miss[0].inliers:
            best_miss = entry
    if not found:
        if best_miss is None:
            return unknown(NAME, "no listing photo could be decoded for the keypoint check", None, **evidence)
        artwork, ref, img = best_miss
        evidence.update({"artwork": artwork.to_dict(), "reference": ref.ref_id, "matched_by_sku": {}})
        return no_match(NAME, f"no photo shows one of the brand's packs: the nearest, photo {img.position + 1} "
                        f"against {ref.ref_id}, is {artwork.describe()}", 0.0, **evidence)
    found.sort(key=lambda e: (-e[0].strong, -e[0].inliers))
    by_sku: dict[str, dict[str, object]] = {}
    for artwork, ref, img in found:
        by_sku.setdefault(ref.sku, {"reference": ref.ref_id, "inliers": artwork.inliers, "strong": artwork.strong,
                                    "coverage": round(artwork.coverage, 3), "photo_position": img.position})
    artwork, ref, img = found[0]
    evidence.update({"sku": ref.sku, "reference": ref.ref_id, "reference_db_id": ref.db_id,
                     "listing_image_id": img.image_id, "listing_image_position": img.position,
                     "artwork": artwork.to_dict(), "strong": artwork.strong, "matched_by_sku": by_sku})
    reason = (f"photo {img.position + 1} shows {ref.sku}'s pack (reference {ref.ref_id}) {artwork.describe()}; "
              "genuine resellers shoot their own photos too, so this tells which product, not whether it is genuine")
    return match(NAME, reason, round(artwork.inlier_ratio, 3), **evidence)
