"""The reading cache and the run's budget: which photos are read, which come from photo_reading, which wait.

A photo is read once per engine (its SHA-256 is the key: the same photo on a thousand listings is read once). A
photo whose reading copy cannot be decoded is stored `unreadable`, one the engine raised on `failed`; both read as
unknown, never as a match. A run reads for at most Settings.ocr_run_budget_s seconds; photos past it are not read,
their listings stay in the matching queue (so the next run reads them), and the report gives the skipped share.
When the models cannot load, nothing new is read and the report says why (PhotoReport.ocr), never silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.images import ImageRejected, decode
from core.models import (
    Listing,
    ListingImage,
    Marketplace,
    PhotoCode,
    PhotoCopy,
    PhotoReading,
    ReadingStatus,
    Seller,
    utcnow,
)
from core.settings import Settings
from matching.photos.codes import gtin_of, read_codes, serial_tokens
from matching.photos.ocr import OcrEngine, OcrUnavailable, shared_engine
from matching.photos.reading import NOT_READ, CodeRead, PhotoRead, Sighting, TextLine

logger = logging.getLogger(__name__)

MAX_SIGHTINGS = 50


@dataclass
class PhotoReport:
    """What a matching run did with photos; part of the run's summary."""

    ocr: str = "off"  # "ok", "off (...)", or "unavailable: <why and the fix>"
    engine: str | None = None
    wanted: int = 0  # distinct photos of listings that could matter
    cached: int = 0  # already read (photo_reading)
    read: int = 0
    unreadable: int = 0
    failed: int = 0
    no_copy: int = 0  # no reading copy kept (photos crawled before copies were kept, or pruned)
    skipped_budget: int = 0
    brand_photos: int = 0  # not read: within the image distance of a reference photo (the brand's own artwork)
    seconds: float = 0.0
    copies_pruned: int = 0

    @property
    def skipped_share(self) -> float:
        return round(self.skipped_budget / self.wanted, 4) if self.wanted else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "skipped_share": self.skipped_share}


class PhotoReader:
    """Reads photos for one matching run; `engine_factory` builds the OCR engine on first need (None: OCR off)."""

    def __init__(self, engine_factory: Callable[[], OcrEngine] | None, *, run_budget_s: float = 0.0,
                 copies_max_bytes: int | None = None, off_reason: str = "switched off"):
        self._factory = engine_factory
        self._engine: OcrEngine | None = None
        self.budget_s = run_budget_s
        self.copies_max_bytes = copies_max_bytes
        self.report = PhotoReport(ocr="not needed yet" if engine_factory else f"off ({off_reason})")
        self._spent = 0.0
        self._unavailable: str | None = None if engine_factory else f"OCR is {off_reason}"

    @classmethod
    def from_settings(cls, settings: Settings) -> PhotoReader:
        if not settings.ocr_enabled:
            return cls(None, off_reason="switched off (BRANDPATROL_OCR_ENABLED=false)")

        def build() -> OcrEngine:
            return shared_engine(settings.ocr_model_dir, settings.ocr_max_side)

        return cls(build, run_budget_s=settings.ocr_run_budget_s,
                   copies_max_bytes=settings.reading_copies_max_mb * 2**20)

    def engine(self) -> OcrEngine | None:
        if self._engine is None and self._unavailable is None and self._factory is not None:
            try:
                self._engine = self._factory()
                self.report.ocr, self.report.engine = "ok", self._engine.name
            except OcrUnavailable as exc:
                self._unavailable = str(exc)
                self.report.ocr = f"unavailable: {exc}"
                logger.warning("photos are not read in this run: %s", exc)
        return self._engine

    @property
    def unavailable(self) -> str | None:
        return self._unavailable

    # --- the cache ---------------------------------------------------------------------------------------

    @staticmethod
    def cached(session: Session, sha256s: Collection[str]) -> dict[str, PhotoReading]:
        if not sha256s:
            return {}
        return {r.sha256: r for r in session.scalars(select(PhotoReading).where(PhotoReading.sha256.in_(sha256s)))}

    def read(self, session: Session, sha256s: Iterable[str], known: dict[str, PhotoReading]) -> set[str]:
        """Read the photos not in `known` (or read by another engine), within the budget; add them to `known`.
        Returns the SHA-256s left unread because the budget ran out."""
        wanted = list(dict.fromkeys(sha256s))
        self.report.wanted += len(wanted)
        engine_name = self._engine.name if self._engine is not None else None
        todo = [s for s in wanted if s not in known or (engine_name is not None and known[s].engine != engine_name)]
        self.report.cached += len(wanted) - len(todo)
        copies = {c.sha256: c for c in session.scalars(select(PhotoCopy).where(PhotoCopy.sha256.in_(todo)))} \
            if todo else {}
        self.report.no_copy += sum(1 for s in todo if s not in copies and s not in known)
        if not copies or self.engine() is None:  # the models load only when there is something to read
            return set()
        engine = self._engine
        assert engine is not None
        skipped: set[str] = set()
        for sha, copy in copies.items():
            if sha in known and known[sha].engine == engine.name:
                continue
            if self.budget_s and self._spent >= self.budget_s:
                skipped.add(sha)
                continue
            started = time.perf_counter()
            row = self._read_one(engine, copy)
            row.seconds = round(time.perf_counter() - started, 4)
            self._spent += row.seconds
            self.report.seconds = round(self._spent, 3)
            session.merge(row)
            session.execute(delete(PhotoCode).where(PhotoCode.sha256 == sha))
            session.add_all(PhotoCode(sha256=sha, code=code, format=fmt) for code, fmt in _code_rows(row))
            known[sha] = row
        self.report.skipped_budget += len(skipped)
        return skipped

    def _read_one(self, engine: OcrEngine, copy: PhotoCopy) -> PhotoReading:
        row = PhotoReading(sha256=copy.sha256, engine=engine.name, lines=[], codes=[], read_at=utcnow())
        try:
            picture, _ = decode(copy.content, max(copy.width, copy.height), max_pixels=copy.width * copy.height + 1)
        except ImageRejected as exc:
            self.report.unreadable += 1
            row.status, row.error = ReadingStatus.UNREADABLE, f"{exc.status}: {exc.reason}"[:300]
            return row
        row.width, row.height = picture.size
        try:
            lines = engine.read(picture)
            codes = read_codes(picture)
        except Exception as exc:  # the engine's failure on one photo costs only that photo
            self.report.failed += 1
            row.status, row.error = ReadingStatus.FAILED, f"{type(exc).__name__}: {exc}"[:300]
            return row
        self.report.read += 1
        row.status = ReadingStatus.OK
        row.lines = [line.to_json() for line in lines]
        row.codes = [code.to_json() for code in codes]
        return row

    # --- codes seen elsewhere ------------------------------------------------------------------------------

    @staticmethod
    def sightings(session: Session, codes: Collection[str]) -> dict[str, tuple[Sighting, ...]]:
        """Every listing whose photos decode to one of these codes: who shows the same serial."""
        if not codes:
            return {}
        rows = session.execute(
            select(PhotoCode.code, PhotoCode.sha256, Marketplace.name, Seller.name, Listing.external_id)
            .join(ListingImage, ListingImage.sha256 == PhotoCode.sha256)
            .join(Listing, Listing.id == ListingImage.listing_id)
            .join(Marketplace, Marketplace.id == Listing.marketplace_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id)
            .where(PhotoCode.code.in_(codes))
            .distinct()
            .limit(MAX_SIGHTINGS * max(1, len(codes)))
        ).all()
        out: dict[str, list[Sighting]] = {}
        for code, sha, market, seller, external_id in rows:
            out.setdefault(code, []).append(Sighting(code, market, seller, external_id, sha))
        return {code: tuple(found[:MAX_SIGHTINGS]) for code, found in out.items()}

    # --- pruning -------------------------------------------------------------------------------------------

    def prune(self, session: Session) -> int:
        """Drop reading copies no longer needed: those read with nothing found (the reading is cached), then the
        oldest while all copies hold more than copies_max_bytes. Copies with words or codes are kept for the
        evidence drawing as long as the cap allows (draw.py falls back to the thumbnail)."""
        empty = select(PhotoReading.sha256).where(
            PhotoReading.status != ReadingStatus.FAILED, func.json_array_length(PhotoReading.lines) == 0,
            func.json_array_length(PhotoReading.codes) == 0)
        done = session.execute(delete(PhotoCopy).where(PhotoCopy.sha256.in_(empty)))
        pruned = int(getattr(done, "rowcount", 0) or 0)
        if self.copies_max_bytes is not None:
            total = int(session.scalar(select(func.coalesce(func.sum(PhotoCopy.size), 0))) or 0)
            if total > self.copies_max_bytes:
                for sha, size in session.execute(select(PhotoCopy.sha256, PhotoCopy.size)
                                                 .order_by(PhotoCopy.stored_at, PhotoCopy.sha256)).all():
                    if total <= self.copies_max_bytes:
                        break
                    session.execute(delete(PhotoCopy).where(PhotoCopy.sha256 == sha))
                    total -= size
                    pruned += 1
        self.report.copies_pruned += pruned
        return pruned


def _code_rows(row: PhotoReading) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for raw in row.codes:
        code = CodeRead.from_json(raw)
        gtin = gtin_of(code)
        for token in [gtin] if gtin else serial_tokens(code):
            out.setdefault(token, code.format)
    return list(out.items())


def photo_reads(images: Iterable[tuple[int | None, int, str | None]], known: dict[str, PhotoReading],
                note: str) -> tuple[PhotoRead, ...]:
    """PhotoReads of a listing's photos (image id, position, sha256), from the cache; `note` says why a photo
    without a reading was not read."""
    out = []
    for image_id, position, sha in images:
        if not sha:
            continue
        row = known.get(sha)
        if row is None:
            out.append(PhotoRead(sha, position, image_id, NOT_READ, note=note))
            continue
        out.append(PhotoRead(
            sha, position, image_id, ReadingStatus(row.status).value,
            tuple(TextLine.from_json(x) for x in row.lines or ()),
            tuple(CodeRead.from_json(x) for x in row.codes or ()),
            note=row.error))
    return tuple(out)
