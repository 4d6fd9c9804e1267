"""Reading photos beside crawling them: OCR + code reading photos/s on this machine, the photos/s a plain crawl
delivers (measured in the same run), the share of a night's photos the run budget skips, and the time to match
10,000 new listings with OCR.

Photos are pack shots generated at run time (tests/packs.py: brand name, lot code, EAN-13, QR serial; 800 px JPEG).
- OCR rate: each distinct photo through what matching does to it (decode the reading copy, OCR, zxing-cpp).
- Crawl rate: benchmarks.bench_crawl's plain crawl of the local bench shop (pages/s, one photo URL per page left
  out there), times `photos_per_listing`, plus the crawler's own per-photo cost measured here (hash, thumbnail,
  reading copy), which a crawl pays in its image threads.
- Matching 10,000 listings: run_matching over a sample of `sample` new listings, each with its own pack photo and
  reading copy, with OCR and (baseline) with OCR off; the per-listing cost of each is scaled to 10,000 listings
  with `photos_per_listing` photos that could matter each, and the OCR part is capped by the run budget
  (Settings.ocr_run_budget_s); the photos past it are the skipped share, read on the next runs.
Run: `python -m benchmarks ocr` or `python -m benchmarks.bench_ocr [sample] [photos_per_listing]`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_crawl import pipeline_rate
from benchmarks.site import BenchShop
from core.catalogue import sync_catalogue
from core.db import Database
from core.images import decode, hash_image, reading_copy
from core.models import Listing, PhotoCopy
from core.settings import get_settings
from matching.photos.codes import read_codes
from matching.photos.ocr import shared_engine
from matching.photos.store import PhotoReader
from matching.run import run_matching
from tests.images import jpeg
from tests.matching_kit import add_listing, make_config
from tests.packs import Pack, pack_image

TARGET_S = 600.0


def packs(count: int) -> list[bytes]:
    return [jpeg(pack_image(Pack(lot=f"GD24{1000 + i:04d}", qr=f"https://lumina.example/v/SN{i:08d}", seed=i)))
            for i in range(count)]


def ocr_rate(photos: list[bytes]) -> dict[str, float]:
    settings = get_settings()
    engine = shared_engine(settings.ocr_model_dir, settings.ocr_max_side)
    engine.read(decode(photos[0], 800)[0])  # warm
    started = time.perf_counter()
    for data in photos:
        picture, _ = decode(reading_copy(data).content, 1280)
        engine.read(picture)
        read_codes(picture)
    seconds = time.perf_counter() - started
    return {"photos": len(photos), "seconds": seconds, "photos_per_s": len(photos) / seconds}


def crawler_photo_cost(photos: list[bytes], rounds: int = 3) -> dict[str, float]:
    """The crawl's per-photo work: hashes and thumbnail, and with the reading copy on top (alternated, best round)."""
    hash_image(photos[0], thumbnail=True)
    reading_copy(photos[0])
    hashing, with_copy = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for data in photos:
            hash_image(data, thumbnail=True)
        hashing.append(time.perf_counter() - started)
        started = time.perf_counter()
        for data in photos:
            hash_image(data, thumbnail=True)
            reading_copy(data)
        with_copy.append(time.perf_counter() - started)
    return {"hash_photos_per_s": len(photos) / min(hashing), "hash_and_copy_photos_per_s": len(photos) / min(with_copy)}


def matching_time(sample: int, workdir: Path, *, ocr: bool) -> dict[str, Any]:
    db = Database(f"sqlite:///{workdir / ('ocr' if ocr else 'plain')}.db")
    config = make_config(workdir)
    sync_catalogue(db, config)
    for i, data in enumerate(packs(sample)):
        picture = pack_image(Pack(lot=f"GD24{1000 + i:04d}", qr=f"https://lumina.example/v/SN{i:08d}", seed=i))
        listing_id = add_listing(db, "shop", str(i), "精华液 现货", price="400", images=(picture,))
        copy = reading_copy(data)
        with db.session() as session:
            image = session.get_one(Listing, listing_id).images[0]
            assert image.sha256 is not None
            session.merge(PhotoCopy(sha256=image.sha256, media_type=copy.media_type, width=copy.width,
                                    height=copy.height, size=len(copy.content), content=copy.content))
    settings = get_settings().model_copy(update={"ocr_enabled": ocr, "ocr_run_budget_s": 0.0})
    started = time.perf_counter()
    summary = run_matching(db, config, clusters=False, reader=PhotoReader.from_settings(settings))
    seconds = time.perf_counter() - started
    db.dispose()
    return {"listings": sample, "seconds": seconds, "photos": summary.photos}


def main(sample: int = 30, photos_per_listing: int = 3) -> dict[str, Any]:
    results: dict[str, Any] = {}
    photos = packs(20)
    results["ocr"] = ocr_rate(photos)
    results["crawler_photo_cost"] = crawler_photo_cost(photos)
    with tempfile.TemporaryDirectory() as tmp, BenchShop(500) as shop:
        shop.pages = 10
        crawl_dir = Path(tmp) / "crawl"
        crawl_dir.mkdir()
        crawl = pipeline_rate(shop.base_url, crawl_dir, javascript=False)
        results["plain_crawl"] = {"pages_per_s": crawl["pages_per_s"], "photos_per_listing": photos_per_listing,
                                  "photos_per_s": crawl["pages_per_s"] * photos_per_listing}
        plain = matching_time(sample, Path(tmp), ocr=False)
        with_ocr = matching_time(sample, Path(tmp), ocr=True)
    rate = results["ocr"]["photos_per_s"]
    budget = get_settings().ocr_run_budget_s
    per_listing = plain["seconds"] / sample
    night_photos = 10_000 * photos_per_listing
    ocr_needed = night_photos / rate
    ocr_spent = min(ocr_needed, budget) if budget else ocr_needed
    results["matching"] = {"sample_without_ocr": plain, "sample_with_ocr": with_ocr}
    results["matching_10000"] = {
        "method": (f"{sample} listings matched without OCR give the per-listing cost; OCR of {photos_per_listing} "
                   f"distinct photos per listing at the measured {rate:.2f} photos/s, capped by the run budget "
                   f"{budget:.0f} s"),
        "without_ocr_s": per_listing * 10_000,
        "ocr_unbounded_s": ocr_needed,
        "with_ocr_s": per_listing * 10_000 + ocr_spent,
        "skipped_share": max(0.0, 1 - ocr_spent * rate / night_photos),
        "target_s": TARGET_S,
    }
    m = results["matching_10000"]
    print(f"OCR + codes {rate:.2f} photos/s; a plain crawl delivers {results['plain_crawl']['photos_per_s']:.0f} "
          f"photos/s ({results['plain_crawl']['pages_per_s']:.0f} pages/s x {photos_per_listing}); the crawler's "
          f"per-photo work {results['crawler_photo_cost']['hash_photos_per_s']:.0f}/s, with the reading copy "
          f"{results['crawler_photo_cost']['hash_and_copy_photos_per_s']:.0f}/s", file=sys.stderr)
    print(f"10,000 listings: {m['without_ocr_s']:.0f} s without OCR, {m['with_ocr_s']:.0f} s with OCR under the "
          f"budget (target {TARGET_S:.0f} s), skipped share {m['skipped_share']:.2f}; unbounded OCR would take "
          f"{m['ocr_unbounded_s']:.0f} s", file=sys.stderr)
    return results


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(main(*numbers), indent=2, default=str))
