"""The brand's reference photos as matching compares them: each photo as given plus views a seller might make.

A stored reference has the pHash, dHash and mirrored pHash of the photo as given. That survives resizing,
recompression, borders, watermarks and mirroring, but not a crop or a tilt: cutting 10% off one corner moves the
pHash 15-25 bits. So when a reference's thumbnail is stored, matching derives views from it once per run
(centred, edge and corner crops at 90/80/70%, rotations of 3, 5 and 8 degrees, each also mirrored) and compares listing
photos against those too. Trying many views raises the odds that one agrees by accident, so a derived view only
counts when pHash and dHash both agree (its distance is the larger of the two). dHash alone never decides: smooth
gradients fool it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps

from core.images import THUMBNAIL_SIDE, ImageRejected, decode, hashes_of, hex64, trim_border

CROP_SCALES = (0.9, 0.8, 0.7)
# Where the kept part of a crop sits, as fractions of the slack: centre, corners, edge middles.
CROP_ANCHORS = {
    "centre": (0.5, 0.5), "top-left": (0.0, 0.0), "top-right": (1.0, 0.0), "bottom-left": (0.0, 1.0),
    "bottom-right": (1.0, 1.0), "top": (0.5, 0.0), "bottom": (0.5, 1.0), "left": (0.0, 0.5), "right": (1.0, 0.5),
}
ROTATIONS = (-8.0, -5.0, -3.0, 3.0, 5.0, 8.0)


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


@dataclass(frozen=True)
class Reference:
    db_id: int | None
    ref_id: str
    sku: str
    views: tuple[HashView, ...]


def reference(db_id: int | None, ref_id: str, sku: str, phash: str | None, dhash: str | None,
              phash_mirror: str | None, thumbnail: bytes | None = None) -> Reference | None:
    """A reference with its views, or None when it has no usable pHash."""
    p, d, pm = hash_int(phash), hash_int(dhash), hash_int(phash_mirror)
    if p is None:
        return None
    views = [HashView("as given", False, False, p, d)]
    if pm is not None:
        views.append(HashView("as given", True, False, pm, None))
    if thumbnail:
        views += derived_views(thumbnail)
    return Reference(db_id, ref_id, sku, tuple(views))


def _crops(image: Image.Image) -> list[tuple[str, Image.Image]]:
    width, height = image.size
    out = []
    for scale in CROP_SCALES:
        cw, ch = width * scale, height * scale
        for anchor, (fx, fy) in CROP_ANCHORS.items():
            left, top = (width - cw) * fx, (height - ch) * fy
            box = (round(left), round(top), round(left + cw), round(top + ch))
            out.append((f"cropping to the {anchor} {round(scale * 100)}%", image.crop(box)))
    for angle in ROTATIONS:
        rotated = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
        out.append((f"rotating by {angle:+g}°", rotated))
    return out


def derived_views(thumbnail: bytes) -> list[HashView]:
    """Crop and rotation views of a stored reference thumbnail, each plain and mirrored."""
    try:
        image, _ = decode(thumbnail, side=THUMBNAIL_SIDE)
    except ImageRejected:
        return []
    content = trim_border(image)  # crops of the photo itself, not of a white frame around it
    views = []
    for label, view in _crops(content):
        try:
            phash, dhash, phash_mirror = hashes_of(view)
        except ImageRejected:
            continue  # a near-blank crop carries no identity
        dhash_mirror = hex64(imagehash.dhash(ImageOps.mirror(trim_border(view))))
        views.append(HashView(label, False, True, int(phash, 16), int(dhash, 16)))
        views.append(HashView(label, True, True, int(phash_mirror, 16), int(dhash_mirror, 16)))
    return views


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount64(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (numpy < 2 has no bitwise_count)."""
    return _POPCOUNT8[values.view(np.uint8)].reshape(-1, 8).sum(axis=1, dtype=np.int64)


@dataclass(frozen=True)
class Nearest:
    """The closest reference view to one listing photo."""

    reference: Reference
    view: HashView
    distance: int
    phash_distance: int
    dhash_distance: int | None


class ReferenceIndex:
    """Every view of every reference in flat arrays, so one listing photo is compared with all in one pass."""

    def __init__(self, references: Sequence[Reference]):
        self.references = tuple(references)
        rows = [(i, v) for i, ref in enumerate(self.references) for v in ref.views]
        self._owner = np.array([i for i, _ in rows], dtype=np.int64)
        self._views = [v for _, v in rows]
        self._phash = np.array([v.phash for v in self._views], dtype=np.uint64)
        self._dhash = np.array([v.dhash or 0 for v in self._views], dtype=np.uint64)
        self._derived = np.array([v.derived for v in self._views], dtype=bool)
        self.skus = tuple(sorted({ref.sku for ref in self.references}))
        owners_sku = np.array([self.references[i].sku for i in self._owner.tolist()], dtype=object)
        self._sku_mask = {sku: owners_sku == sku for sku in self.skus}

    def __len__(self) -> int:
        return len(self.references)

    def nearest(self, phash: int, dhash: int | None, skus: frozenset[str] | None = None) -> dict[str, Nearest]:
        """For one listing photo, the nearest view per SKU (only `skus` when given)."""
        if not self._views:
            return {}
        dp = popcount64(self._phash ^ np.uint64(phash))
        if dhash is None:
            # Without the photo's dHash a derived view cannot be corroborated, so it does not count.
            dd = np.full_like(dp, 65)
        else:
            dd = popcount64(self._dhash ^ np.uint64(dhash))
        distance = np.where(self._derived, np.maximum(dp, dd), dp)
        out: dict[str, Nearest] = {}
        for sku in self.skus if skus is None else sorted(skus & set(self.skus)):
            masked = np.where(self._sku_mask[sku], distance, 1 << 20)
            k = int(np.argmin(masked))
            ref, view = self.references[int(self._owner[k])], self._views[k]
            out[sku] = Nearest(
                reference=ref,
                view=view,
                distance=int(distance[k]),
                phash_distance=int(dp[k]),
                dhash_distance=int(dd[k]) if view.dhash is not None and dhash is not None else None,
            )
        return out
