"""The review queue with 100,000 findings in SQLite: the first page and the counts the queue page shows.

The dashboard's path (dashboard.data.queue.queue_counts + queue_page: counted, sorted and cut in SQL) is timed against
a baseline measured in the same run on the same database: the naive way, loading every unreviewed suspect row
of the same query into Python, then counting, sorting and slicing there. The goal is the dashboard's path under
1 s of server time; the ratio says what paging in SQL buys. The whole queue page script (signed in, run through
streamlit.testing, so the server's work without a browser) is timed too: the review desk with the finding under
review, the table with each row's listing thumbnail beside the reference it matched (read in two queries for the
page, cut to 96 pixels once per process), first with cold picture caches, then the median of later runs. Every
listing has an image row; the 10% highest-scoring (so every row on the first page) and a random 2% carry a
256-pixel JPEG thumbnail drawn at run time, as the crawler stores them (400 distinct pictures). Rows are
bulk-inserted with core SQL (executemany).

`python -m benchmarks.bench_queue [N]` prints one JSON object.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import insert

from core.db import Database
from core.models import (
    SUSPECT_VERDICTS,
    Brand,
    Finding,
    Listing,
    ListingImage,
    Marketplace,
    Product,
    ReferenceImage,
    Review,
    ReviewDecision,
    Seller,
    Verdict,
)
from core.scope import BrandScope
from dashboard.data import queue
from dashboard.data.queue import QueueFilters

FINDINGS = 100_000
SELLERS = 5_000
REVIEWED_SHARE = 0.2
ROUNDS = 5
PAGE_SIZE = 50
GOAL_SECONDS = 1.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)
VERDICTS = (Verdict.COUNTERFEIT, Verdict.DIVERSION, Verdict.PRICE_FLOOR_BREACH, Verdict.OK, Verdict.UNRELATED)


THUMBNAILS_DISTINCT = 400
THUMBNAIL_TOP_SHARE = 0.10
THUMBNAIL_RANDOM_SHARE = 0.02


def thumbnail(seed: int) -> bytes:
    """A 256-pixel JPEG like the crawler's thumbnails: a pack on a textured background, drawn at run time."""
    rng = random.Random(seed)
    image = Image.new("RGB", (256, 256), (rng.randrange(180, 240),) * 3)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(256), rng.randrange(256)
        draw.line((x, y, x + rng.randrange(-40, 40), y + rng.randrange(-40, 40)),
                  fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)), width=2)
    draw.rectangle((60, 40, 196, 220), fill=(rng.randrange(200), rng.randrange(200), 150))
    draw.text((80, 120), f"BENCH {seed}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def fill(db: Database, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    pictures = [thumbnail(i) for i in range(THUMBNAILS_DISTINCT)]
    with db.session() as s:
        brand = Brand(name="Bench", names={"en": "Bench"})
        products = [Product(brand=brand, sku=f"B-{i}", names={"en": f"Bench {i}"}, prices=[]) for i in range(5)]
        markets = [Marketplace(name=name) for name in ("taobao", "jd", "pinduoduo", "ebay", "amazon")]
        references = [ReferenceImage(product=products[i % 5], ref_id=f"ref-{i}", source=f"refs/{i}.jpg",
                                     thumbnail=pictures[i]) for i in range(10)]
        s.add_all([brand, *products, *markets, *references])
        s.flush()
        product_ids, market_ids = [p.id for p in products], [m.id for m in markets]
        reference_ids = [r.id for r in references]
    regions = ["CN-GD", "CN-ZJ", "CN-SH", "CN-BJ", "DE", "US-CA", None]
    with db.session() as s:
        s.execute(insert(Seller), [
            {"id": i + 1, "marketplace_id": market_ids[i % len(market_ids)], "seller_key": f"s{i}",
             "name": f"Shop {i}", "country": "CN", "region": regions[i % 4]} for i in range(SELLERS)])
        s.execute(insert(Listing), [
            {"id": i + 1, "marketplace_id": market_ids[i % len(market_ids)], "external_id": f"L{i}",
             "url": f"https://item.example/{i}", "title": f"Bench lamp {i} 高仿",
             "seller_id": rng.randrange(SELLERS) + 1,
             "price": Decimal(rng.randrange(50, 900)), "currency": "CNY", "region": rng.choice(regions),
             "country": "CN", "gone": rng.random() < 0.05} for i in range(n)])
        scores = [rng.random() for _ in range(n)]
        with_photo = [sc >= 1 - THUMBNAIL_TOP_SHARE or rng.random() < THUMBNAIL_RANDOM_SHARE for sc in scores]
        s.execute(insert(ListingImage), [
            {"id": i + 1, "listing_id": i + 1, "position": 0, "url": f"https://img.example/{i}.jpg",
             "thumbnail": pictures[i % THUMBNAILS_DISTINCT] if with_photo[i] else None} for i in range(n)])
        s.execute(insert(Finding), [
            {"id": i + 1, "listing_id": i + 1, "product_id": rng.choice(product_ids), "verdict": rng.choice(VERDICTS),
             "score": scores[i], "reasons": [f"reason {i}"], "signals": {}, "rule_set_version": "bench",
             "matched_image_id": i + 1, "matched_reference_id": rng.choice(reference_ids),
             "created_at": T0 + timedelta(minutes=i)} for i in range(n)])
        s.execute(insert(Review), [
            {"finding_id": fid, "reviewer": "bench", "decision": ReviewDecision.CONFIRMED, "note": None}
            for fid in rng.sample(range(1, n + 1), int(n * REVIEWED_SHARE))])


def dashboard_path(db: Database, filters: QueueFilters) -> tuple[dict[Verdict, int], int, list[int]]:
    counts = queue.queue_counts(db, filters)
    page = queue.queue_page(db, filters, 1, PAGE_SIZE, total=queue.queue_total(counts, filters),
                            thumbnails=True)  # as the page does
    assert all(r.photo and r.reference_photo for r in page.rows if r.score >= 1 - THUMBNAIL_TOP_SHARE)
    return counts, page.total, [r.finding_id for r in page.rows]


def naive_path(db: Database, filters: QueueFilters) -> tuple[dict[Verdict, int], int, list[int]]:
    """Every matching row into Python, then count, filter, sort and slice there (what paging in SQL avoids)."""
    with db.read() as session:  # the counts ignore the verdict filter, as on the queue page
        every = queue._queue_select(BrandScope.all_brands(), replace(filters, verdicts=frozenset()))
        rows = list(session.execute(every))
    counted = Counter(Verdict(r[3]) for r in rows)
    counts = {v: counted[v] for v in sorted(SUSPECT_VERDICTS)}
    shown = [r for r in rows if not filters.verdicts or Verdict(r[3]) in filters.verdicts]
    top = sorted(shown, key=lambda r: (-float(r[2]), r[0]))[:PAGE_SIZE]
    return counts, len(shown), [r[0] for r in top]


def median_seconds(function: Callable[[], Any]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(n: int = FINDINGS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'queue.db'}")
        started = time.perf_counter()
        fill(db, n)
        fill_seconds = time.perf_counter() - started
        cases = {
            "all": QueueFilters(),
            "taobao, counterfeit, score >= 0.5": QueueFilters(
                verdicts=frozenset({Verdict.COUNTERFEIT}), marketplace_ids=frozenset({1}), min_score=0.5),
            "region CN, seller 'Shop 1', last 30 days": QueueFilters(
                region="CN", seller="Shop 1", since=(T0 + timedelta(minutes=n) - timedelta(days=30)).date()),
        }
        results: dict[str, Any] = {"findings": n, "fill_seconds": round(fill_seconds, 2)}
        for name, filters in cases.items():
            assert dashboard_path(db, filters) == naive_path(db, filters), name  # same answer both ways
            fast = median_seconds(lambda f=filters: dashboard_path(db, f))  # type: ignore[misc]
            slow = median_seconds(lambda f=filters: naive_path(db, f))  # type: ignore[misc]
            results[name] = {"dashboard_s": round(fast, 4), "naive_full_load_s": round(slow, 4),
                             "speedup": round(slow / fast, 1), "under_goal": fast < GOAL_SECONDS,
                             "shown": dashboard_path(db, filters)[1]}
        first, median = render_seconds(db)
        results["queue_page_first_render_s"] = round(first, 4)  # picture caches cold
        results["queue_page_render_s"] = round(median, 4)
        results["render_under_goal"] = max(first, median) < GOAL_SECONDS
        db.dispose()
    return results


def render_seconds(db: Database) -> tuple[float, float]:
    """Server time of the queue page script (signed in), through streamlit.testing: the first run after sign-in
    (every thumbnail cut afresh) and the median of later runs."""
    import os

    from streamlit.testing.v1 import AppTest

    from core.settings import get_settings
    from dashboard import accounts

    os.environ["BRANDPATROL_DB"] = db.url
    get_settings.cache_clear()
    accounts.add_user(db, "bench", "analyst", "bench password", actor="bench")
    app = Path(accounts.__file__).resolve().parent / "app.py"
    at = AppTest.from_file(str(app), default_timeout=120).run()
    at.text_input(key="login_user").input("bench")
    at.text_input(key="login_password").input("bench password")
    from dashboard import pictures

    at.button(key="login_submit").click().run()  # signs in (scrypt: slow on purpose) and draws the queue
    assert not at.exception and at.dataframe, at.exception
    pictures.small_picture.cache_clear()
    pictures.unavailable_tile.cache_clear()
    started = time.perf_counter()
    at.run()  # every thumbnail of the page cut afresh
    first = time.perf_counter() - started
    shown = [img for img in at.image if img.proto.imgs]
    assert len(shown) == 2, "the desk shows the finding's photo beside its reference"
    return first, median_seconds(at.run)


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else FINDINGS), indent=2, ensure_ascii=False))
