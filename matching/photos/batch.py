"""One matching batch's photos: assess with what is cached, read the photos of the listings that could matter,
look up who else shows the same serials, and assess again with what was read. assess() stays a pure function of
its facts; this is where the database and the OCR engine are reached."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from sqlalchemy.orm import Session

from matching.assess import Assessment, assess
from matching.context import MatchContext
from matching.facts import ImageFacts, ListingFacts
from matching.photos.reading import NOT_READ
from matching.photos.signals import serial_candidates
from matching.photos.store import PhotoReader, photo_reads

MAX_PHOTOS_READ = 6  # of one listing, by position: the pack is in the first few


def could_matter(assessment: Assessment) -> bool:
    """Whether a listing's photos are worth reading: it is the brand's by text or photo, or undecided (the text
    names the brand or its product words, or uses counterfeit tells such as 大牌同款), not a listing judged
    unrelated on everything it shows."""
    relevance = assessment.signals.relevance
    if not relevance.unmatched:
        return True
    evidence = relevance.evidence
    return bool(evidence.get("brand_terms") or evidence.get("product_terms")) or \
        assessment.signals.counterfeit_tells.matched


def _hashed(facts: ListingFacts) -> list[ImageFacts]:
    """The photos worth reading: hashed (not blank, corrupt or failed), the first MAX_PHOTOS_READ by position."""
    return sorted((i for i in facts.images if i.hashed and i.sha256), key=lambda i: i.position)[:MAX_PHOTOS_READ]


def _photos(facts: ListingFacts) -> list[tuple[int | None, int, str | None]]:
    return [(i.image_id, i.position, i.sha256) for i in _hashed(facts)]


class PhotoBatch:
    def __init__(self, session: Session, reader: PhotoReader, ctx: MatchContext, facts: Sequence[ListingFacts]):
        self.session, self.reader, self.ctx = session, reader, ctx
        shas = {sha for f in facts for _, _, sha in _photos(f) if sha}
        self.known = reader.cached(session, shas)
        self.skipped: set[str] = set()
        self.brands: set[str] = set()
        first = {id(f): assess(self._with_reads(f), ctx) for f in facts}
        wanted = {str(i.sha256): i for f in facts if could_matter(first[id(f)]) for i in _hashed(f)}
        self.brands = self._brands_own(list(wanted.values()))
        self.skipped = reader.read(session, [sha for sha in wanted if sha not in self.brands], self.known)
        self.first = first
        issued = ctx.config.issued_codes
        serials = set()
        for f in facts:
            serials |= serial_candidates(self._with_reads(f).readings, issued)
        if serials:
            session.flush()
        self.sightings = reader.sightings(session, serials)

    def _brands_own(self, images: list[ImageFacts]) -> set[str]:
        """Photos within the image distance of a reference photo are the brand's own artwork: their print is
        known, and a lot code on a copied official photo would name the lot the brand photographed, not the
        seller's stock. They are not read."""
        if not images or not len(self.ctx.index):
            return set()
        phashes = np.array([int(i.phash or "0", 16) for i in images], dtype=np.uint64)
        dhashes = np.array([int(i.dhash or "0", 16) for i in images], dtype=np.uint64)
        close = self.ctx.index.matches_any(phashes, dhashes, self.ctx.config.thresholds.image_distance)
        own = {str(i.sha256) for i, hit in zip(images, close, strict=True) if hit}
        self.reader.report.brand_photos += len(own)
        return own

    def _note(self) -> str:
        if self.reader.unavailable:
            return self.reader.unavailable
        return "not read: no reading copy kept, or not read in this run"

    def _with_reads(self, facts: ListingFacts, sightings: dict[str, tuple] | None = None) -> ListingFacts:
        reads = photo_reads(_photos(facts), self.known, self._note())
        reads = tuple(dataclasses.replace(r, note=self._why_unread(r.sha256)) if r.status == NOT_READ else r
                      for r in reads)
        return dataclasses.replace(facts, readings=reads, code_sightings=sightings or {},
                                   photos_unavailable=self.reader.unavailable)

    def _why_unread(self, sha256: str) -> str:
        if sha256 in self.skipped:
            return "the run's OCR budget ran out before this photo"
        if sha256 in self.brands:
            return "the brand's own photo (it matches a reference photo): its print is the brand's artwork"
        return self._note()

    def assessed(self, facts: ListingFacts) -> tuple[Assessment, bool]:
        """The listing's assessment with its photos read, and whether photos it needs wait for the next run."""
        full = self._with_reads(facts, self.sightings)
        waiting = any(r.sha256 in self.skipped for r in full.readings)
        noted = any(r.sha256 in self.skipped or r.sha256 in self.brands for r in full.readings)
        if not noted and not any(r.read for r in full.readings) and not full.photos_unavailable:
            return self.first[id(facts)], waiting
        return assess(full, self.ctx), waiting
