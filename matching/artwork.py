"""Finding the brand's pack artwork in a seller's own photo: keypoints that agree on one perspective (homography).

A seller who photographs the box itself (at an angle, on a table, in other light) shares no perceptual hash with
the brand's reference artwork, but the pack's printed features are still there, moved by one plane-to-plane
mapping. So the reference's keypoints are matched with the photo's (Lowe's ratio test) and a homography is fit
with RANSAC. The fit only counts when it is a mapping a camera can make of a flat pack:
  - the projected reference outline stays in front of the camera and is not mirrored (a positive determinant:
    the outline is then a convex quadrilateral), covering
    at least MIN_AREA_SHARE of the photo, with no side under a fifth of its opposite (no knife-edge views);
  - at least MIN_INLIERS matches agree with it, and they are at least MIN_INLIER_RATIO of the matches that
    passed the ratio test (random texture gives a few agreeing matches among many that do not);
  - the agreeing keypoints reach at least MIN_COVERAGE of the artwork's textured cells (a GRID of 3 x 4): a
    look-alike pack of another brand in the same layout shares the frame, a size line and fine print in the same
    font, but not the name at the top nor the artwork in the middle, so one shared part does not stand for the
    whole pack.
A match is STRONG at STRONG_INLIERS agreeing keypoints reaching STRONG_COVERAGE of the cells: that is what it
takes to call a photo ours when the title names another brand.

Features: ORB, chosen by measurement over generated own photos (benchmarks/bench_artwork.py; 36 own photos, 36
look-alike packs of other brands in the same layout, 36 unrelated packs, packs filling 30-75% of the frame's
height). On the stored 256-pixel thumbnails ORB found 30/36 own photos as the right product (29 strongly) and 0
look-alikes; SIFT 32/36, but also 5 look-alikes (2 strongly): its finer descriptors also match the fine print a
look-alike shares. On an 800-pixel copy SIFT found 36/36 but 9 look-alikes (7 strongly), ORB 31/36 and 3 (none
strongly). No unrelated pack was found by either. AKAZE is no longer in OpenCV 5's main module. Does the thumbnail
suffice? With the pack filling 50-75% of the frame's height ORB found 16/18 on thumbnails (17/18 on an 800-pixel
copy), at 35-50% 15/18 (16/18), at 20-35% 2/18 (8/18): yes, unless the pack is small in the frame. Photos are
decoded through core.images.decode (the one decode path, with its pixel caps) from bytes of any size and brought
to WORK_SIDE, so a larger reading copy can be passed as soon as one is kept.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from matching.confirm import grey_pixels

WORK_SIDE = 512  # photos are decoded at most this large; thumbnails (256) are upscaled to it for detection
MAX_FEATURES = 800
RATIO = 0.8
REPROJECTION_PIXELS = 5.0  # at WORK_SIDE
MIN_INLIERS = 12
MIN_INLIER_RATIO = 0.3
MIN_COVERAGE = 0.6
STRONG_INLIERS = 30
STRONG_INLIER_RATIO = 0.35
STRONG_COVERAGE = 0.65
MIN_AREA_SHARE = 0.02  # the projected pack covers at least this share of the photo
MAX_AREA_SHARE = 25.0  # ...and at most this multiple (a close-up crops the pack; a wild fit blows it up)
MIN_SIDE_RATIO = 0.2
CACHE_LIMIT = 5_000  # photos whose keypoints are kept per run
# Photo-reference pairs searched per run (~15-25 ms each on one core): past it, photos are skipped and counted, so
# a night with a flood of brand-relevant listings without hash matches cannot stall matching.
MAX_CHECKS_PER_RUN = 30_000

cv2.setNumThreads(1)


@dataclass(frozen=True)
class Features:
    points: np.ndarray  # (n, 2) float32 positions at the working size
    descriptors: np.ndarray | None
    size: tuple[int, int]  # (width, height) at the working size


@dataclass(frozen=True)
class ArtworkMatch:
    """How one photo relates to one reference artwork. `found` only when the geometry is sane."""

    found: bool
    inliers: int
    matches: int
    coverage: float = 0.0  # share of the artwork's textured cells (GRID) holding an agreeing keypoint
    quad: tuple[tuple[float, float], ...] = ()  # the reference's corners in the photo, as shares of its size
    refused: str | None = None  # why a fit was not accepted

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0

    @property
    def strong(self) -> bool:
        return (self.found and self.inliers >= STRONG_INLIERS and self.inlier_ratio >= STRONG_INLIER_RATIO
                and self.coverage >= STRONG_COVERAGE)

    def describe(self) -> str:
        if self.found:
            strength = "strongly" if self.strong else "weakly"
            return (f"{strength}: {self.inliers} of {self.matches} matching keypoints agree on one perspective, "
                    f"reaching {self.coverage:.0%} of the artwork")
        return f"not found: {self.refused or 'no fit'}"

    def to_dict(self) -> dict[str, object]:
        return {"found": self.found, "strong": self.strong, "inliers": self.inliers, "matches": self.matches,
                "inlier_ratio": round(self.inlier_ratio, 3), "coverage": round(self.coverage, 3),
                "quad": [[round(x, 3), round(y, 3)] for x, y in self.quad], "refused": self.refused}


NOT_FOUND = ArtworkMatch(False, 0, 0, refused="no keypoints to compare")


class Detector:
    """One keypoint method: ORB (the default) or SIFT, each with its matcher."""

    def __init__(self, method: str = "orb", max_features: int = MAX_FEATURES):
        if method == "sift":
            self._detector: cv2.Feature2D = cv2.SIFT.create(nfeatures=max_features, contrastThreshold=0.03)
            self._matcher = cv2.BFMatcher(cv2.NORM_L2)
        elif method == "orb":
            self._detector = cv2.ORB.create(nfeatures=max_features, scaleFactor=1.2, nlevels=8, edgeThreshold=15,
                                            patchSize=15, fastThreshold=8)
            self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        else:
            raise ValueError(f"unknown keypoint method '{method}'; use 'sift' or 'orb'")
        self.method = method

    def features(self, photo: bytes, side: int = WORK_SIDE, *, mirrored: bool = False) -> Features | None:
        """Keypoints of image bytes of any size, brought to `side` pixels on the longest edge (a thumbnail is
        upscaled, a large photo reduced), or of their mirror; None if undecodable."""
        pixels = grey_pixels(photo, side, mirrored=mirrored)
        if pixels is None:
            return None
        scale = side / max(pixels.shape)
        if scale != 1:
            pixels = cv2.resize(pixels, None, fx=scale, fy=scale,
                                interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
        found, descriptors = self._detector.detectAndCompute(pixels, None)
        points = np.array([k.pt for k in found], dtype=np.float32).reshape(-1, 2)
        return Features(points, descriptors, (pixels.shape[1], pixels.shape[0]))

    def pairs(self, photo: Features, reference: Features) -> list[tuple[int, int]]:
        """(photo index, reference index) of matches that pass the ratio test."""
        if photo.descriptors is None or reference.descriptors is None:
            return []
        if len(photo.descriptors) < 2 or len(reference.descriptors) < 2:
            return []
        found = self._matcher.knnMatch(photo.descriptors, reference.descriptors, k=2)
        return [(p[0].queryIdx, p[0].trainIdx) for p in found if len(p) == 2 and p[0].distance < RATIO * p[1].distance]


def _area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _refusal(homography: np.ndarray, reference: Features, photo: Features) -> tuple[str | None, np.ndarray]:
    """Why a fitted homography is not a camera's view of a flat pack (None when it is), and the projected quad."""
    rw, rh = reference.size
    corners = np.array([[0, 0], [rw, 0], [rw, rh], [0, rh]], dtype=np.float32).reshape(-1, 1, 2)
    denominators = homography[2, 0] * corners[:, 0, 0] + homography[2, 1] * corners[:, 0, 1] + homography[2, 2]
    if np.any(denominators <= 1e-6):
        return "the fit puts part of the pack behind the camera", np.zeros((4, 2))
    quad = cv2.perspectiveTransform(corners, homography).reshape(4, 2)
    # The mapping's local area scale is det(H) / w^3; with w > 0 over the pack (w is affine, positive at the
    # corners), det(H) > 0 means nowhere mirrored, and the projected outline is then a convex quadrilateral.
    if np.linalg.det(homography) <= 0:
        return "the fit mirrors the pack, which no camera does", quad
    pw, ph = photo.size
    share = _area(quad) / (pw * ph)
    if not MIN_AREA_SHARE <= share <= MAX_AREA_SHARE:
        return f"the fit makes the pack {share:.1%} of the photo", quad
    sides = [float(np.linalg.norm(quad[(i + 1) % 4] - quad[i])) for i in range(4)]
    opposite = min(min(sides[0], sides[2]) / max(sides[0], sides[2], 1e-6),
                   min(sides[1], sides[3]) / max(sides[1], sides[3], 1e-6))
    if opposite < MIN_SIDE_RATIO:
        return "the fit views the pack edge-on", quad
    return None, quad


GRID = (3, 4)  # columns, rows the artwork is cut into to see how much of it agrees


def _cells(size: tuple[int, int], points: np.ndarray) -> set[tuple[int, int]]:
    columns, rows = GRID
    w, h = size
    return {(min(columns - 1, int(x * columns / w)), min(rows - 1, int(y * rows / h))) for x, y in points}


def _coverage(reference: Features, agreeing: np.ndarray, homography: np.ndarray, photo: Features) -> float:
    """Share of the reference's cells in view (their centre lands inside the photo) with keypoints of their own
    that hold at least one agreeing keypoint. A cropped copy is judged on the part it shows; a look-alike pack,
    shown whole, on all of it."""
    columns, rows = GRID
    w, h = reference.size
    centres = np.array([[(c + 0.5) * w / columns, (r + 0.5) * h / rows] for c in range(columns) for r in range(rows)],
                       dtype=np.float32)
    landed = cv2.perspectiveTransform(centres.reshape(-1, 1, 2), homography).reshape(-1, 2)
    pw, ph = photo.size
    in_view = {(c, r) for (c, r), (x, y) in zip(((c, r) for c in range(columns) for r in range(rows)), landed,
                                                 strict=True) if 0 <= x < pw and 0 <= y < ph}
    textured = _cells(reference.size, reference.points) & in_view
    return len(_cells(reference.size, agreeing) & textured) / len(textured) if textured else 0.0


def locate(photo: Features, reference: Features, detector: Detector) -> ArtworkMatch:
    """Whether `reference`'s artwork appears in `photo` under one sane perspective."""
    pairs = detector.pairs(photo, reference)
    if len(pairs) < MIN_INLIERS:
        return ArtworkMatch(False, 0, len(pairs), refused=f"{len(pairs)} keypoints match, {MIN_INLIERS} needed")
    source = reference.points[[r for _, r in pairs]].reshape(-1, 1, 2)
    target = photo.points[[p for p, _ in pairs]].reshape(-1, 1, 2)
    homography, mask = cv2.findHomography(source, target, cv2.RANSAC, REPROJECTION_PIXELS, maxIters=2000,
                                          confidence=0.995)
    if homography is None or mask is None:
        return ArtworkMatch(False, 0, len(pairs), refused="no perspective fits the matching keypoints")
    agreeing = mask.ravel().astype(bool)
    inliers = int(agreeing.sum())
    refused, quad = _refusal(homography, reference, photo)
    coverage = _coverage(reference, source[agreeing].reshape(-1, 2), homography, photo) if refused is None else 0.0
    pw, ph = photo.size
    shares = tuple((float(x) / pw, float(y) / ph) for x, y in quad)
    if refused is None and inliers < MIN_INLIERS:
        refused = f"{inliers} keypoints agree on one perspective, {MIN_INLIERS} needed"
    if refused is None and inliers / len(pairs) < MIN_INLIER_RATIO:
        refused = f"only {inliers} of {len(pairs)} matching keypoints agree, as random texture gives"
    if refused is None and coverage < MIN_COVERAGE:
        refused = (f"the agreeing keypoints reach only {coverage:.0%} of the artwork: shared parts of a layout, "
                   "not the pack")
    return ArtworkMatch(refused is None, inliers, len(pairs), coverage, shares, refused)


@dataclass(frozen=True)
class Located:
    """The best reference found in one photo."""

    reference_key: Hashable
    match: ArtworkMatch
    mirrored: bool = False  # found in the mirror of the photo (a copy of the brand's photo, flipped)


class ArtworkMatcher:
    """Own-photo checks with keypoints cached: references for the whole run, photos up to CACHE_LIMIT; at most
    `budget` photo-reference pairs per run (`skipped` counts the photos left unchecked after that)."""

    def __init__(self, method: str = "orb", max_features: int = MAX_FEATURES, budget: int = MAX_CHECKS_PER_RUN):
        self.detector = Detector(method, max_features)
        self._references: dict[Hashable, Features | None] = {}
        self._photos: dict[Hashable, Features | None] = {}
        self.budget = budget
        self.checks = 0
        self.skipped = 0

    @property
    def spent(self) -> bool:
        return self.checks >= self.budget

    def reference(self, key: Hashable, artwork: bytes) -> Features | None:
        if key not in self._references:
            self._references[key] = self.detector.features(artwork)
        return self._references[key]

    def photo(self, key: Hashable, photo: bytes, *, mirrored: bool = False) -> Features | None:
        if (key, mirrored) not in self._photos:
            if len(self._photos) >= CACHE_LIMIT:
                self._photos.clear()
            self._photos[(key, mirrored)] = self.detector.features(photo, mirrored=mirrored)
        return self._photos[(key, mirrored)]

    def best(self, photo_key: Hashable, photo: bytes, references: Sequence[tuple[Hashable, bytes]], *,
             mirror: bool = False) -> Located | None:
        """The reference whose artwork the photo shows best (strong first, then found, then most agreeing
        keypoints); with `mirror`, the photo's mirror is tried too when nothing is strong (sellers flip copies of
        the brand's photos; nobody's camera mirrors a box)."""
        best: Located | None = None
        for mirrored in (False, True) if mirror else (False,):
            if best is not None and best.match.strong:
                break
            features = self.photo(photo_key, photo, mirrored=mirrored)
            if features is None:
                return best
            for key, artwork in references:
                ref = self.reference(key, artwork)
                if ref is None:
                    continue
                self.checks += 1
                found = locate(features, ref, self.detector)
                if best is None or _rank(found) > _rank(best.match):
                    best = Located(key, found, mirrored)
        return best


def _rank(found: ArtworkMatch) -> tuple[bool, bool, int]:
    return found.strong, found.found, found.inliers
