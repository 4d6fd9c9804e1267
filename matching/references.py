"""The brand's reference photos as matching compares them: each photo as given plus views a seller might make.

A stored reference has the pHash, dHash and mirrored pHash of the photo as given. That survives resizing,
recompression, borders (they are trimmed), watermarks and mirroring, but not a crop, a turn or a tilt: cutting 10%
off one corner moves the pHash 15-25 bits, turning it by 90 degrees some 30. So when a reference's thumbnail is
stored, matching derives views from it once per run and compares listing photos with those too, so that a listing
photo is still hashed once:
  - the other six orientations of the dihedral group (turned by 90, 180 or 270 degrees, flipped top to bottom,
    flipped across either diagonal), as a phone or a seller dodging hash filters posts the photo;
  - crops keeping 90/80/70% of each side from the centre, each corner and each edge, and tilts of 2 to 8 degrees
    with a white fill, as sellers tilt photos; each also mirrored;
  - turns of 15 to 45 degrees either way, in 7.5-degree steps, inside the frame or on a larger white canvas: so
    far from the photo that only keypoints agreeing on that turn make such a view a match (matching.confirm).
Trying many views raises the odds that one agrees by accident, so the distance to a view is the larger of its
pHash and dHash distances: both must agree. A view without a dHash (the stored mirror hash of a reference that
has no thumbnail) is compared by pHash alone, and only as given.

The distance between a listing photo and a reference is the smallest over the reference's views.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.images import THUMBNAIL_SIDE, ImageRejected, decode, fit_within, hash_set, trim_border
from matching.index import match_all

CROP_SCALES = (0.9, 0.8, 0.7)
# Where the kept part of a crop sits, as fractions of the slack: centre, corners, edge middles.
CROP_ANCHORS = {
    "centre": (0.5, 0.5), "top-left": (0.0, 0.0), "top-right": (1.0, 0.0), "bottom-left": (0.0, 1.0),
    "bottom-right": (1.0, 1.0), "top": (0.5, 0.0), "bottom": (0.5, 1.0), "left": (0.0, 0.5), "right": (1.0, 0.5),
}
ROTATIONS = (-8.0, -6.0, -4.0, -2.0, 2.0, 4.0, 6.0, 8.0)
# Turns the hash cannot vouch for alone: 7.5 degrees apart, so a photo turned anywhere from 15 to 45 degrees lies
# within 3.75 degrees of one (at most 14 bits away on scikit-image's photos, inside the confirm distance).
WIDE_TURNS = (-45.0, -37.5, -30.0, -22.5, -15.0, 15.0, 22.5, 30.0, 37.5, 45.0)
# Wide turns are made from the thumbnail fitted to this side: a quarter of the pixels to turn, the same nearest
# distances (at most 14 bits, 4.8 on average over 208 turned copies; 4.4 at the thumbnail's 256).
WIDE_TURN_SIDE = 128
# The dihedral turns of a reference: (how Pillow makes it, the turn as keypoints measure it, anticlockwise, what a
# person reads, what its left-right mirror is). Mirroring a picture turned by t is the mirror turned by -t.
ORIENTATIONS = (
    (Image.Transpose.ROTATE_270, -90.0, "turned 90° clockwise", "flipped across its top-left to bottom-right diagonal"),
    (Image.Transpose.ROTATE_180, 180.0, "turned 180°", "flipped top to bottom"),
    (Image.Transpose.ROTATE_90, 90.0, "turned 90° anticlockwise",
     "flipped across its top-right to bottom-left diagonal"),
)
FAR = 65  # farther than any two 64-bit hashes can be


def hash_int(value: str | None) -> int | None:
    """A stored 64-bit hash as an int; None for a missing or malformed one (it then matches nothing)."""
    if not value or len(value) != 16:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


@dataclass(frozen=True)
class HashView:
    label: str  # how the view was made: "as given", "cropping to the top-left 90%", "rotating by +3°"
    mirrored: bool
    derived: bool
    phash: int
    dhash: int | None  # None: only the pHash is known (the stored mirror hash)
    # A tilted view's white corners look alike on any flat photo, so its matches need the keypoint check.
    needs_confirmation: bool = False
    # A dihedral orientation other than upright ("turned 90° clockwise", "flipped top to bottom"), said in reasons.
    orientation: str | None = None
    # The turn of the view against the reference, anticlockwise degrees as keypoints measure it.
    turn: float = 0.0
    # A wide turn: only keypoints that agree make a match through it, however near its hash.
    requires_keypoints: bool = False


@dataclass(frozen=True)
class Reference:
    db_id: int | None
    ref_id: str
    sku: str
    views: tuple[HashView, ...]
    thumbnail: bytes | None = None  # for the keypoint check of borderline pairs (matching.confirm)
    # The brand lets resellers use this photo: a match identifies the product but is not held against anyone.
    official_use_ok: bool = False


def reference(db_id: int | None, ref_id: str, sku: str, phash: str | None, dhash: str | None,
              phash_mirror: str | None, thumbnail: bytes | None = None, *,
              official_use_ok: bool = False) -> Reference | None:
    """A reference with its views, or None when it has no usable pHash."""
    p, d, pm = hash_int(phash), hash_int(dhash), hash_int(phash_mirror)
    if p is None:
        return None
    views = [HashView("as given", False, False, p, d)]
    derived = derived_views(thumbnail) if thumbnail else []
    mirror_as_given = next((v for v in derived if v.label == "as given"), None)
    if mirror_as_given is not None:
        views.append(mirror_as_given)
    elif pm is not None:
        views.append(HashView("as given", True, False, pm, None))
    views += [v for v in derived if v.label != "as given"]
    return Reference(db_id, ref_id, sku, tuple(views), thumbnail if thumbnail else None, official_use_ok)


def _views(image: Image.Image) -> list[tuple[str, Image.Image, float]]:
    """(label, picture, turn) for every crop and tilt of a reference photo; a turn other than 0 is a tilt."""
    width, height = image.size
    out = []
    for scale in CROP_SCALES:
        cw, ch = width * scale, height * scale
        for anchor, (fx, fy) in CROP_ANCHORS.items():
            left, top = (width - cw) * fx, (height - ch) * fy
            box = (round(left), round(top), round(left + cw), round(top + ch))
            out.append((f"cropping to the {anchor} {round(scale * 100)}%", image.crop(box), 0.0))
    for angle in ROTATIONS:
        out.append((f"rotating by {angle:+g}°", _turned(image, angle), angle))
    return out


def _turned(image: Image.Image, angle: float, *, canvas: bool = False) -> Image.Image:
    """The picture turned by `angle` degrees anticlockwise with a white fill, cut to its frame or (`canvas`) whole
    on a larger white canvas."""
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255), expand=canvas)


def derived_views(thumbnail: bytes) -> list[HashView]:
    """The mirror of a stored reference thumbnail as given, its other orientations, then its crop and tilt views,
    plain and mirrored, and its wide turns."""
    try:
        image, _ = decode(thumbnail, side=THUMBNAIL_SIDE)
    except ImageRejected:
        return []
    content = trim_border(image)  # crops of the photo itself, not of a white frame around it
    views = []
    try:
        given = hash_set(content, trim=False)
        views.append(HashView("as given", True, False, given.phash_mirror, given.dhash_mirror))
        for transpose, turn, label, mirror_label in ORIENTATIONS:
            turned = hash_set(content.transpose(transpose), trim=False)
            views.append(HashView(label, False, True, turned.phash, turned.dhash, orientation=label, turn=turn))
            views.append(HashView(mirror_label, False, True, turned.phash_mirror, turned.dhash_mirror,
                                  orientation=mirror_label, turn=-turn))
    except ImageRejected:
        return []
    for label, view, turn in _views(content):
        tilted = turn != 0
        try:
            hashes = hash_set(view, trim=tilted)
        except ImageRejected:
            continue  # a near-blank crop carries no identity
        views.append(HashView(label, False, True, hashes.phash, hashes.dhash, tilted, turn=turn))
        views.append(HashView(label, True, True, hashes.phash_mirror, hashes.dhash_mirror, tilted, turn=-turn))
    small = fit_within(content, WIDE_TURN_SIDE, Image.Resampling.BOX)
    for angle in WIDE_TURNS:
        for canvas in (False, True):
            try:
                hashes = hash_set(_turned(small, angle, canvas=canvas))
            except ImageRejected:
                continue
            label = f"rotating by {angle:+g}°" + (" on a white canvas" if canvas else "")
            views.append(HashView(label, False, True, hashes.phash, hashes.dhash, True, turn=angle,
                                  requires_keypoints=True))
    return views


def popcount64(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64."""
    return np.bitwise_count(values).astype(np.int64)


@dataclass(frozen=True)
class Nearest:
    """The closest view of one reference to one listing photo."""

    reference: Reference
    view: HashView
    distance: int
    phash_distance: int
    dhash_distance: int | None


@dataclass(frozen=True)
class Comparison:
    """One listing photo against the references in scope."""

    sku_distances: dict[str, int]  # each SKU's nearest reference
    nearest: Nearest | None  # the nearest reference overall
    candidates: list[Nearest]  # every reference within the limit, nearest first


class ReferenceIndex:
    """Every view of every reference in flat arrays, so one listing photo is compared with all in one pass."""

    def __init__(self, references: Sequence[Reference]):
        self.references = tuple(references)
        rows = [(i, v) for i, ref in enumerate(self.references) for v in ref.views]
        self._owner = np.array([i for i, _ in rows], dtype=np.int64)
        self._views = [v for _, v in rows]
        self._phash = np.array([v.phash for v in self._views], dtype=np.uint64)
        self._dhash = np.array([v.dhash or 0 for v in self._views], dtype=np.uint64)
        self._has_dhash = np.array([v.dhash is not None for v in self._views], dtype=bool)
        self._derived = np.array([v.derived for v in self._views], dtype=bool)
        self._needs_confirmation = np.array([v.needs_confirmation for v in self._views], dtype=bool)
        counts = np.bincount(self._owner, minlength=len(self.references)) if rows else np.zeros(0, np.int64)
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if rows else counts
        self.skus = tuple(sorted({ref.sku for ref in self.references}))
        self._sku_of = np.array([ref.sku for ref in self.references], dtype=object)
        position = {sku: i for i, sku in enumerate(self.skus)}
        self._sku_index = np.array([position[ref.sku] for ref in self.references], dtype=np.int64)
        self._ref_ids = np.array([ref.ref_id for ref in self.references], dtype=object)

    def __len__(self) -> int:
        return len(self.references)

    def view_distances(self, phash: int, dhash: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance, pHash distance, dHash distance) of one listing photo to every view."""
        dp = popcount64(self._phash ^ np.uint64(phash))
        if dhash is None:
            dd = np.full_like(dp, FAR)
            # Without the photo's dHash a view cannot be corroborated: only the photo as given counts.
            distance = np.where(self._derived, FAR, dp)
        else:
            dd = np.where(self._has_dhash, popcount64(self._dhash ^ np.uint64(dhash)), FAR)
            distance = np.where(self._has_dhash, np.maximum(dp, dd), np.where(self._derived, FAR, dp))
        return distance, dp, dd

    def reference_distances(self, phash: int, dhash: int | None) -> np.ndarray:
        """The distance of one listing photo to each reference (its nearest view)."""
        if not self._views:
            return np.zeros(0, dtype=np.int64)
        distance, _, _ = self.view_distances(phash, dhash)
        return np.minimum.reduceat(distance, self._starts)

    def compare(self, phash: int, dhash: int | None, limit: int, skus: Collection[str] | None = None,
                exclude: Collection[str] = (), *, strong: int = -1) -> Comparison:
        """One listing photo against every reference (of `skus` only, leaving out the ref_ids in `exclude`).

        Candidates are the references within `limit`, each by its nearest view; except that a reference with a
        view within `strong` that needs no keypoint check is given by that view.
        """
        if not self._views:
            return Comparison({}, None, [])
        distance, dp, dd = self.view_distances(phash, dhash)
        per_reference = np.minimum.reduceat(distance, self._starts)
        allowed = np.ones(len(self.references), dtype=bool)
        if skus is not None:
            allowed &= np.isin(self._sku_of, list(skus))
        if exclude:
            allowed &= ~np.isin(self._ref_ids, list(exclude))
        per_reference = np.where(allowed, per_reference, FAR)
        by_sku = np.full(len(self.skus), FAR, dtype=np.int64)
        np.minimum.at(by_sku, self._sku_index, per_reference)
        sku_distances = {sku: d for sku, d in zip(self.skus, by_sku.tolist(), strict=True) if d < FAR}
        if not sku_distances:
            return Comparison({}, None, [])
        within = np.flatnonzero(per_reference <= limit).tolist()
        nearest_index = int(np.argmin(per_reference))
        plain = np.where(self._needs_confirmation, FAR, distance)
        found = {}
        for i in {*within, nearest_index}:
            best = self._best_view(i, plain, dp, dd, dhash)
            found[i] = best if best.distance <= strong else self._best_view(i, distance, dp, dd, dhash)
        candidates = sorted((found[i] for i in within), key=lambda n: (n.distance, n.view.derived, n.reference.ref_id))
        return Comparison(sku_distances, found[nearest_index], candidates)

    def within(self, phash: int, dhash: int | None, limit: int,
               skus: Collection[str] | None = None) -> list[Nearest]:
        """The references within `limit` of one listing photo (of `skus` only, when given), nearest first."""
        return self.compare(phash, dhash, limit, skus).candidates

    def _best_view(self, i: int, distance: np.ndarray, dp: np.ndarray, dd: np.ndarray, dhash: int | None) -> Nearest:
        """The nearest view of reference `i`; at equal distance, one that needs no keypoint check."""
        start = int(self._starts[i])
        end = start + len(self.references[i].views)
        k = start + int(np.argmin(distance[start:end] * 2 + self._needs_confirmation[start:end]))
        return self._nearest(k, distance, dp, dd, dhash)

    def matches_any(self, phashes: np.ndarray, dhashes: np.ndarray, threshold: int) -> np.ndarray:
        """For many photos at once (uint64 arrays; dHash 0 when unknown), whether each is within `threshold` of
        some view (pHash and dHash): the brand's own photos, in bulk, through the near-duplicate index. Wide turns
        are left out: their hash alone never matches, and they would set aside 64 more of the image-recall
        benchmark's 1,895 photos as the brand's against unrelated references (382 already are)."""
        found = np.zeros(len(phashes), dtype=bool)
        usable = self._has_dhash & ~np.array([v.requires_keypoints for v in self._views], dtype=bool)
        if not len(phashes) or not usable.any():
            return found
        views = np.flatnonzero(usable)
        pairs = match_all(phashes, self._phash[views], threshold)
        if pairs.size:
            photo, view = pairs[:, 0], views[pairs[:, 1]]
            close = np.bitwise_count(dhashes[photo] ^ self._dhash[view]) <= threshold
            found[photo[close]] = True
        return found

    def nearest(self, phash: int, dhash: int | None, skus: frozenset[str] | None = None) -> dict[str, Nearest]:
        """For one listing photo, the nearest view per SKU (only `skus` when given)."""
        if not self._views:
            return {}
        distance, dp, dd = self.view_distances(phash, dhash)
        out: dict[str, Nearest] = {}
        wanted = self.skus if skus is None else sorted(skus & set(self.skus))
        owners_sku = self._sku_of[self._owner]
        for sku in wanted:
            masked = np.where(owners_sku == sku, distance, 1 << 20)
            out[sku] = self._nearest(int(np.argmin(masked)), distance, dp, dd, dhash)
        return out

    def _nearest(self, k: int, distance: np.ndarray, dp: np.ndarray, dd: np.ndarray,
                 dhash: int | None) -> Nearest:
        view = self._views[k]
        return Nearest(
            reference=self.references[int(self._owner[k])],
            view=view,
            distance=int(distance[k]),
            phash_distance=int(dp[k]),
            dhash_distance=int(dd[k]) if view.dhash is not None and dhash is not None else None,
        )
