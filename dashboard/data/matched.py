"""What matching saw on a finding's photo, drawn on its stored thumbnail for the detail page.

Drawn only from what matching stored in the finding's signals (matching/signals/own_photo.py, image.py):
- own_photo: the brand's pack artwork found in the seller's photo by keypoints that agree on one perspective; the
  outline is the reference's corners as matching projected them (`artwork.quad`, shares of the photo's size),
  with the agreeing keypoints counted (their positions are not kept, so they are not drawn);
- image: the whole photo compared by perceptual hash with a reference (after the view named: mirrored, turned,
  cropped), with its distance, and the keypoint check of a borderline pair when one was made.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import ImageDraw
from sqlalchemy import select

from core.db import Database
from core.images import ImageRejected, decode
from core.models import Finding, ListingImage

DRAW_SIDE = 384  # the 256-pixel thumbnail drawn larger, so the outline reads
OUTLINE = (220, 0, 0)
WHOLE = (0, 90, 220)


@dataclass(frozen=True)
class MatchedRegion:
    kind: str  # "artwork" (a region found by keypoints) or "whole_photo" (compared by hash)
    picture: bytes | None  # PNG with the region drawn; None when the stored photo cannot be shown
    photo_position: int  # 0-based
    reference: str | None  # the reference photo's id in the brand's configuration
    inliers: int | None = None
    matches: int | None = None
    coverage: float | None = None
    distance: int | None = None
    view: str | None = None
    keypoints_confirmed: bool | None = None


def _quad(evidence: dict[str, Any]) -> list[tuple[float, float]]:
    artwork = evidence.get("artwork")
    quad = artwork.get("quad") if isinstance(artwork, dict) else None
    if not isinstance(quad, list) or len(quad) != 4:
        return []
    try:
        return [(float(x), float(y)) for x, y in quad]
    except (TypeError, ValueError):
        return []


def _draw(thumbnail: bytes | None, quad: list[tuple[float, float]] | None) -> bytes | None:
    """The thumbnail with the quad (shares of its size) outlined, or the whole photo framed when `quad` is None."""
    if not thumbnail:
        return None
    try:
        image, _ = decode(thumbnail, DRAW_SIDE, max_bytes=2 * 1024 * 1024, max_pixels=4_000_000)
    except ImageRejected:
        return None
    scale = DRAW_SIDE / max(image.size)
    canvas = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    draw = ImageDraw.Draw(canvas)
    if quad:
        points = [(x * canvas.width, y * canvas.height) for x, y in quad]
        draw.line([*points, points[0]], fill=OUTLINE, width=4)
        for px, py in points:
            draw.ellipse((px - 5, py - 5, px + 5, py + 5), outline=OUTLINE, width=3)
    else:
        draw.rectangle((2, 2, canvas.width - 3, canvas.height - 3), outline=WHOLE, width=4)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def matched_regions(db: Database, finding_id: int) -> list[MatchedRegion]:
    """What the photo signals of one finding matched, each drawn on the listing photo it was found in."""
    with db.read() as session:
        signals: dict[str, Any] = session.scalar(
            select(Finding.signals).where(Finding.id == finding_id, db.scope.clause(Finding))) or {}
        own = (signals.get("own_photo") or {}) if signals.get("own_photo", {}).get("outcome") == "match" else {}
        image = (signals.get("image") or {}) if signals.get("image", {}).get("outcome") == "match" else {}
        wanted = {e.get("listing_image_id") for e in ((own.get("evidence") or {}), (image.get("evidence") or {}))}
        ids = sorted(i for i in wanted if isinstance(i, int))
        thumbnails: dict[Any, bytes | None] = {image_id: thumbnail for image_id, thumbnail in session.execute(
            select(ListingImage.id, ListingImage.thumbnail).where(ListingImage.id.in_(ids)))}
    regions = []
    if own:
        evidence = own.get("evidence") or {}
        artwork: dict[str, Any] = evidence["artwork"] if isinstance(evidence.get("artwork"), dict) else {}
        quad = _quad(evidence)
        regions.append(MatchedRegion(
            kind="artwork", picture=_draw(thumbnails.get(evidence.get("listing_image_id")), quad or None),
            photo_position=int(evidence.get("listing_image_position") or 0), reference=evidence.get("reference"),
            inliers=artwork.get("inliers"), matches=artwork.get("matches"), coverage=artwork.get("coverage")))
    if image:
        evidence = image.get("evidence") or {}
        keypoints = evidence.get("keypoints") if isinstance(evidence.get("keypoints"), dict) else None
        regions.append(MatchedRegion(
            kind="whole_photo", picture=_draw(thumbnails.get(evidence.get("listing_image_id")), None),
            photo_position=int(evidence.get("listing_image_position") or 0), reference=evidence.get("reference"),
            distance=evidence.get("distance"), view=evidence.get("view"),
            inliers=keypoints.get("inliers") if keypoints else None,
            matches=keypoints.get("matches") if keypoints else None,
            keypoints_confirmed=keypoints.get("confirmed") if keypoints else None))
    return regions
