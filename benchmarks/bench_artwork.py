"""Own photos of the brand's packs: which keypoint method, at which photo size (`python -m benchmarks artwork`).

A generated market (tests/pack_photos.py): own photos of the brand's three packs (warped by a random homography onto a
textured background, other light, blur), look-alike packs of other brands in the same layout and colours, and
unrelated packs, each photographed the same way. For ORB and SIFT, on the stored 256-pixel thumbnail and on an
800-pixel reading copy, it counts own photos found as the right product (and strongly), look-alikes and unrelated
packs found, and the time per photo against all three references beside the baseline of hashing the same photo
(core.images.hash_image, as the crawler does). A sweep over how much of the frame the pack fills answers whether
the thumbnail suffices. matching.artwork's choice of ORB and its thresholds rest on these figures.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from core.images import hash_image
from matching.artwork import ArtworkMatcher
from tests.pack_photos import (
    OUR_PACKS,
    jpeg_bytes,
    lookalike,
    own_photo,
    render_pack,
    stored_thumbnail,
    unrelated,
)

PER_PRODUCT = 12
READING_SIDE = 800


def _market(per_product: int, cover: tuple[float, float]) -> list[tuple[str, str, bytes, bytes]]:
    """(kind, sku, thumbnail, reading copy) per generated photo."""
    skus = list(OUR_PACKS)
    out = []
    for i in range(per_product * len(skus)):
        sku = skus[i % len(skus)]
        for kind, design in (("own", OUR_PACKS[sku]), ("lookalike", lookalike(sku, i)), ("unrelated", unrelated(i))):
            picture = own_photo(render_pack(design), 9000 + i, frame=(READING_SIDE, READING_SIDE), cover=cover,
                                tilt=0.2)
            out.append((kind, sku, stored_thumbnail(picture), jpeg_bytes(picture)))
    return out


def _measure(method: str, photos: list[tuple[str, str, bytes, bytes]], reading: bool) -> dict[str, Any]:
    references = [(sku, stored_thumbnail(render_pack(design))) for sku, design in OUR_PACKS.items()]
    matcher = ArtworkMatcher(method)
    for _, artwork in references:
        matcher.reference(_, artwork)  # once per run, outside the timing
    counts: Counter[str] = Counter()
    elapsed = hashing = 0.0
    for i, (kind, sku, thumbnail, copy) in enumerate(photos):
        # Alternate the baseline and the check photo by photo, so both see the same load on a shared machine.
        started = time.perf_counter()
        hash_image(copy, thumbnail=True)
        hashing += time.perf_counter() - started
        started = time.perf_counter()
        located = matcher.best(i, copy if reading else thumbnail, references)
        elapsed += time.perf_counter() - started
        counts[f"{kind}"] += 1
        if located is not None and located.match.found:
            counts[f"{kind} found"] += 1
            counts[f"{kind} strong"] += located.match.strong
            counts[f"{kind} right product"] += located.reference_key == sku
    return {
        "own_found_right": f"{counts['own right product']}/{counts['own']}",
        "own_strong": f"{counts['own strong']}/{counts['own']}",
        "lookalike_found": f"{counts['lookalike found']}/{counts['lookalike']}",
        "lookalike_strong": f"{counts['lookalike strong']}/{counts['lookalike']}",
        "unrelated_found": f"{counts['unrelated found']}/{counts['unrelated']}",
        "ms_per_photo": round(1000 * elapsed / len(photos), 1),
        "hash_ms_per_photo": round(1000 * hashing / len(photos), 1),
        "cost_vs_hashing": round(elapsed / hashing, 2),
    }


def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    photos = _market(PER_PRODUCT, (0.3, 0.75))
    for method in ("orb", "sift"):
        for reading in (False, True):
            name = f"{method} {'reading copy 800px' if reading else 'thumbnail 256px'}"
            results[name] = _measure(method, photos, reading)
            print(f"{name}: {results[name]}", flush=True)
    for cover in ((0.2, 0.35), (0.35, 0.5), (0.5, 0.75)):
        small = [p for p in _market(PER_PRODUCT // 2, cover) if p[0] == "own"]
        name = f"orb, pack filling {cover[0]:.0%}-{cover[1]:.0%} of the frame's height"
        results[name] = {"thumbnail": _measure("orb", small, False)["own_found_right"],
                         "reading copy": _measure("orb", small, True)["own_found_right"]}
        print(f"{name}: {results[name]}", flush=True)
    return results


if __name__ == "__main__":
    main()
