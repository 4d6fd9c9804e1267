"""The stronger check for borderline photo pairs: do the two thumbnails share keypoints in one geometry?

A 64-bit hash sees a photo at 32x32; a watermark across it or a crop plus a tilt can move it past the match
threshold while the photo is plainly the same. So a pair whose hash distance is borderline (over
thresholds.image_distance, at most thresholds.image_confirm_distance) is checked on the thumbnails both sides keep
(256 pixels): ORB keypoints are matched (Lowe's ratio test), and a similarity transform (shift, turn, scale) is fit
with RANSAC. The pair is the same photo when at least `min_inliers` matches agree with one transform whose scale is
between 1/2 and 2 and whose turn is at most 15 degrees, as a seller's crop or tilt is, or within 15 degrees of the
turn the matched view stands for (90 or 180 for a photo turned so, 30 for a wide turn of 30); the mirror of the
reference is tried too. Unrelated photos rarely give even a handful of agreeing matches; copies give dozens. When both
photos are too plain to have 40 keypoints, the check is inconclusive: it neither confirms nor refutes.

Thumbnails are decoded through core.images.decode, the one decode path; keypoints are computed once per
reference (plain and mirrored) and once per listing photo, and cached for the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.images import THUMBNAIL_SIDE, ImageRejected, decode

MIN_INLIERS = 12
# Below this many keypoints on both photos there is too little texture to judge either way: inconclusive.
MIN_KEYPOINTS_TO_JUDGE = 40
RATIO = 0.8  # Lowe's ratio test: a match must be clearly better than the second best
MIN_SCALE, MAX_SCALE = 0.5, 2.0
MAX_TURN_DEGREES = 15.0
REPROJECTION_PIXELS = 4.0
MAX_FEATURES = 500
CACHE_LIMIT = 20_000  # listing photos whose keypoints are kept per run

cv2.setNumThreads(1)  # small images: threads cost more than they give, and the crawler runs beside us


@dataclass(frozen=True)
class Keypoints:
    points: np.ndarray  # (n, 2) float32 pixel positions
    descriptors: np.ndarray | None  # (n, 32) uint8 ORB descriptors


@dataclass(frozen=True)
class Confirmation:
    confirmed: bool
    inliers: int
    matches: int
    mirrored: bool = False
    scale: float | None = None
    turn: float | None = None  # degrees
    inconclusive: bool = False  # both photos too plain for keypoints to say anything

    def describe(self) -> str:
        """'confirmed by 37 matching keypoints (scale 0.92, turned 4°)'."""
        if self.inconclusive:
            return "too plain to check by keypoints (under 40 on either photo)"
        if not self.confirmed and self.inliers >= MIN_INLIERS and self.scale is not None and self.turn is not None:
            return (f"not confirmed: the {self.inliers} keypoints that agree imply a scale of {self.scale:.2f} and a "
                    f"turn of {self.turn:+.0f}°, which no crop or tilt makes")
        if not self.confirmed:
            return f"not confirmed: {self.inliers} keypoints agree, {MIN_INLIERS} needed"
        geometry = []
        if self.scale is not None:
            geometry.append(f"scale {self.scale:.2f}")
        if self.turn is not None and abs(self.turn) >= 1:
            geometry.append(f"turned {self.turn:+.0f}°")
        if self.mirrored:
            geometry.append("mirrored")
        shape = f" ({', '.join(geometry)})" if geometry else ""
        return f"confirmed by {self.inliers} matching keypoints{shape}"

    def to_dict(self) -> dict[str, object]:
        return {"confirmed": self.confirmed, "inliers": self.inliers, "matches": self.matches,
                "mirrored": self.mirrored, "scale": None if self.scale is None else round(self.scale, 3),
                "turn": None if self.turn is None else round(self.turn, 1), "inconclusive": self.inconclusive}


_ORB = cv2.ORB.create(nfeatures=MAX_FEATURES, scaleFactor=1.2, nlevels=6, edgeThreshold=15, patchSize=15,
                      fastThreshold=10)
_MATCHER = cv2.BFMatcher(cv2.NORM_HAMMING)


def grey_pixels(data: bytes, side: int, *, mirrored: bool = False) -> np.ndarray | None:
    """The photo's grey pixels (or its mirror's) through core.images.decode; None when it cannot be decoded."""
    try:
        image, _ = decode(data, side=side, mode="L")
    except ImageRejected:
        return None
    pixels = np.asarray(image)
    return np.ascontiguousarray(pixels[:, ::-1]) if mirrored else pixels


def keypoints_of(thumbnail: bytes, *, mirrored: bool = False) -> Keypoints | None:
    """ORB keypoints of a stored thumbnail (or its mirror); None when it cannot be decoded."""
    pixels = grey_pixels(thumbnail, THUMBNAIL_SIDE, mirrored=mirrored)
    if pixels is None:
        return None
    found, descriptors = _ORB.detectAndCompute(pixels, None)
    points = np.array([k.pt for k in found], dtype=np.float32).reshape(-1, 2)
    return Keypoints(points, descriptors)


def turn_apart(a: float, b: float) -> float:
    """How far apart two turns are, in degrees (0 to 180)."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


def compare(listing: Keypoints, reference: Keypoints, *, min_inliers: int = MIN_INLIERS,
            mirrored: bool = False, turn: float = 0.0) -> Confirmation:
    """Whether the listing thumbnail shows the reference, by keypoints agreeing on one similarity transform; `turn`
    is the turn (anticlockwise degrees) the matched view stands for; no turn at all is allowed too."""
    found = [0 if k.descriptors is None else len(k.descriptors) for k in (listing, reference)]
    if max(found) < MIN_KEYPOINTS_TO_JUDGE:
        return Confirmation(False, 0, 0, mirrored, inconclusive=True)
    if listing.descriptors is None or reference.descriptors is None or min(found) < 2:
        return Confirmation(False, 0, 0, mirrored)
    pairs = _MATCHER.knnMatch(listing.descriptors, reference.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    # One match per reference keypoint, the best: the straight edges a turn leaves against its white fill give
    # many look-alike keypoints, and many matched to one point make a degenerate transform (scale 0) win RANSAC.
    best: dict[int, cv2.DMatch] = {}
    for m in good:
        if m.trainIdx not in best or m.distance < best[m.trainIdx].distance:
            best[m.trainIdx] = m
    good = list(best.values())
    if len(good) < min(min_inliers, 6) or len(good) < 3:
        return Confirmation(False, 0, len(good), mirrored)
    source = listing.points[[m.queryIdx for m in good]]
    target = reference.points[[m.trainIdx for m in good]]
    transform, inlier_mask = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PIXELS, maxIters=2000,
        confidence=0.99,
    )
    if transform is None or inlier_mask is None:
        return Confirmation(False, 0, len(good), mirrored)
    inliers = int(inlier_mask.sum())
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    measured = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    plausible = MIN_SCALE <= scale <= MAX_SCALE and min(turn_apart(measured, 0.0),
                                                         turn_apart(measured, turn)) <= MAX_TURN_DEGREES
    return Confirmation(plausible and inliers >= min_inliers, inliers, len(good), mirrored, scale, measured)


class Confirmer:
    """Keypoint checks with the keypoints cached: references for the whole run, listing photos up to a limit."""

    def __init__(self, min_inliers: int = MIN_INLIERS):
        self.min_inliers = min_inliers
        self._references: dict[tuple[int, bool], Keypoints | None] = {}
        self._listings: dict[object, Keypoints | None] = {}
        self.checks = 0

    def _reference(self, key: int, thumbnail: bytes, mirrored: bool) -> Keypoints | None:
        if (key, mirrored) not in self._references:
            self._references[(key, mirrored)] = keypoints_of(thumbnail, mirrored=mirrored)
        return self._references[(key, mirrored)]

    def _listing(self, key: object, thumbnail: bytes) -> Keypoints | None:
        if key in self._listings:
            return self._listings[key]
        found = keypoints_of(thumbnail)
        if len(self._listings) >= CACHE_LIMIT:
            self._listings.clear()
        self._listings[key] = found
        return found

    def check(self, listing_key: object, listing_thumbnail: bytes, reference_key: int,
              reference_thumbnail: bytes, turn: float = 0.0) -> Confirmation:
        """The better of the reference as given and mirrored; `*_key` identify the thumbnails for the cache, `turn`
        is the turn of the matched view."""
        self.checks += 1
        listing = self._listing(listing_key, listing_thumbnail)
        if listing is None:
            return Confirmation(False, 0, 0)
        best = Confirmation(False, 0, 0)
        for mirrored in (False, True):
            reference = self._reference(reference_key, reference_thumbnail, mirrored)
            if reference is None:
                continue
            result = compare(listing, reference, min_inliers=self.min_inliers, mirrored=mirrored, turn=turn)
            if result.confirmed or result.inconclusive:
                return result
            if result.inliers > best.inliers:
                best = result
        return best
