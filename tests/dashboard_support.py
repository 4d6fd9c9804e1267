"""Builders shared by the dashboard tests: a real SQLite database filled through the ORM (no tests here)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from core.db import Database
from core.models import (
    Brand,
    CrawlRun,
    Evidence,
    Finding,
    Listing,
    ListingImage,
    ListingSnapshot,
    Marketplace,
    Product,
    ReferenceImage,
    Review,
    ReviewDecision,
    RunStatus,
    Seller,
    Verdict,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (24, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def open_db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path}/t.db")


@dataclass
class World:
    """A brand, a product with prices, two marketplaces; helpers add findings."""

    db: Database
    market_ids: dict[str, int] = field(default_factory=dict)
    product_id: int = 0
    reference_id: int = 0
    _counter: int = 0

    @classmethod
    def create(cls, tmp_path: Path, db: Database | None = None) -> World:
        """In a new SQLite database in tmp_path, or in `db` (a PostgreSQL one) when given."""
        world = cls(db=db or open_db(tmp_path))
        with world.db.session() as s:
            brand = Brand(name="Lumina", names={"en": "Lumina"})
            product = Product(
                brand=brand,
                sku="LM-100",
                names={"en": "Lumina Lamp", "zh": "光灯"},
                prices=[{"currency": "CNY", "suggested": "680", "floor": "580"}],
            )
            reference = ReferenceImage(
                product=product, ref_id="front", source="refs/front.jpg", thumbnail=png_bytes((0, 0, 200))
            )
            markets = [Marketplace(name="taobao"), Marketplace(name="ebay")]
            s.add_all([brand, product, reference, *markets])
            s.flush()
            world.product_id, world.reference_id = product.id, reference.id
            world.market_ids = {m.name: m.id for m in markets}
        return world

    def add_finding(
        self,
        *,
        score: float,
        verdict: Verdict = Verdict.COUNTERFEIT,
        market: str = "taobao",
        title: str | None = None,
        seller: str | None = "Shop A",
        price: str | None = "99.00",
        currency: str | None = "CNY",
        region: str | None = "CN-GD",
        reasons: list[Any] | None = None,
        gone: bool = False,
        image_url: str = "https://img.example/1.jpg",
        thumbnail: bytes | None = None,
        created_at: datetime | None = None,
    ) -> int:
        self._counter += 1
        n = self._counter
        with self.db.session() as s:
            seller_row = None
            if seller is not None:
                seller_row = Seller(
                    marketplace_id=self.market_ids[market],
                    seller_key=f"{seller}-{n}",
                    name=seller,
                    external_id=f"S{n}",
                    location_text="广东 深圳",
                    country="CN",
                    region="CN-GD",
                )
                s.add(seller_row)
            listing = Listing(
                marketplace_id=self.market_ids[market],
                external_id=f"L{n}",
                url=f"https://item.example/{n}",
                title=title or f"Lumina lamp {n}",
                seller=seller_row,
                price=Decimal(price) if price else None,
                currency=currency,
                country="CN" if region else None,
                region=region,
                location_text="广东 深圳",
                gone=gone,
            )
            s.add(listing)
            s.flush()
            image = ListingImage(listing_id=listing.id, position=0, url=image_url, thumbnail=thumbnail)
            s.add(image)
            s.flush()
            finding = Finding(
                listing_id=listing.id,
                product_id=self.product_id,
                verdict=verdict,
                score=score,
                reasons=reasons if reasons is not None else [f"reason {n}", "second reason"],
                rule_set_version="r1",
                matched_reference_id=self.reference_id,
                matched_image_id=image.id,
                image_distance=6,
                created_at=created_at or T0,
            )
            s.add(finding)
            s.flush()
            return finding.id

    def listing_id(self, finding_id: int) -> int:
        with self.db.read() as s:
            finding = s.get(Finding, finding_id)
            assert finding is not None
            return finding.listing_id

    def add_review(self, finding_id: int, reviewer: str = "someone", decision=ReviewDecision.CONFIRMED) -> None:
        with self.db.session() as s:
            s.add(Review(finding_id=finding_id, reviewer=reviewer, decision=decision, note="earlier"))

    def add_history(self, finding_id: int, prices: list[str], *, currency: str = "CNY") -> list[str]:
        """Snapshots a day apart (one crawl run each); the newest gets HTML and screenshot evidence.

        Returns the evidence SHA-256s (html, screenshot).
        """
        listing_id = self.listing_id(finding_id)
        html = b"<html><script>alert(1)</script><h1>Lumina</h1></html>"
        shot = png_bytes((10, 200, 10), (40, 30))
        html_sha, shot_sha = hashlib.sha256(html).hexdigest(), hashlib.sha256(shot).hexdigest()
        with self.db.session() as s:
            s.add(
                Evidence(
                    sha256=html_sha,
                    kind="html",
                    media_type="text/html",
                    encoding="gzip",
                    size=len(html),
                    content=gzip.compress(html),
                    captured_at=T0,
                )
            )
            s.add(
                Evidence(
                    sha256=shot_sha,
                    kind="screenshot",
                    media_type="image/png",
                    encoding="identity",
                    size=len(shot),
                    content=shot,
                    captured_at=T0,
                )
            )
            for i, price in enumerate(prices):
                run = CrawlRun(status=RunStatus.OK, started_at=T0 + timedelta(days=i))
                s.add(run)
                s.flush()
                last = i == len(prices) - 1
                s.add(
                    ListingSnapshot(
                        listing_id=listing_id,
                        crawl_run_id=run.id,
                        captured_at=T0 + timedelta(days=i),
                        title="snapshot title",
                        price=Decimal(price),
                        currency=currency,
                        html_sha256=html_sha if last else None,
                        screenshot_sha256=shot_sha if last else None,
                    )
                )
        return [html_sha, shot_sha]


def all_rows(db: Database, model: type[Any]) -> list[Any]:
    """Every row of a table, detached with its loaded values (read() rolls back, which would expire them)."""
    with db.read() as s:
        rows: list[Any] = list(s.scalars(select(model).order_by(model.id)))
        s.expunge_all()
        return rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_dashboard(db_url: str, cwd: Path, *options: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`brandpatrol dashboard` on 127.0.0.1 and a free port, once it answers its health check; its base URL.

    `env` adds environment variables (BRANDPATROL_SSO_* for single sign-on)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "brandpatrol.cli", "dashboard", "--port", str(port), "--db", db_url, *options],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not answer within 120 s"
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=60)
