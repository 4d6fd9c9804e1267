"""One matching batch's photos: assess with what is cached, read the photos of the listings that could matter,
look up who else shows the same serials, and assess again with what was read. assess() stays a pure function of
its facts; this is where the database and the OCR engine are reached."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy.orm import Session

from matching.assess import Assessment, assess
from matching.context import MatchContext
from matching.facts import ListingFacts
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


def _photos(facts: ListingFacts) -> list[tuple[int | None, int, str | None]]:
    hashed = sorted((i for i in facts.images if i.hashed and i.sha256), key=lambda i: i.position)
    return [(i.image_id, i.position, i.sha256) for i in hashed[:MAX_PHOTOS_READ]]


class PhotoBatch:
    def __init__(self, session: Session, reader: PhotoReader, ctx: MatchContext, facts: Sequence[ListingFacts]):
        self.session, self.reader, self.ctx = session, reader, ctx
        shas = {sha for f in facts for _, _, sha in _photos(f) if sha}
        self.known = reader.cached(session, shas)
        self.skipped: set[str] = set()
        first = {id(f): assess(self._with_reads(f), ctx) for f in facts}
        wanted = [sha for f in facts if could_matter(first[id(f)]) for _, _, sha in _photos(f) if sha]
        self.skipped = reader.read(session, wanted, self.known)
        self.first = first
        issued = ctx.config.issued_codes
        serials = set()
        for f in facts:
            serials |= serial_candidates(self._with_reads(f).readings, issued)
        if serials:
            session.flush()
        self.sightings = reader.sightings(session, serials)

    def _note(self) -> str:
        if self.reader.unavailable:
            return self.reader.unavailable
        return "not read: no reading copy kept, or not read in this run"

    def _with_reads(self, facts: ListingFacts, sightings: dict[str, tuple] | None = None) -> ListingFacts:
        reads = photo_reads(_photos(facts), self.known, self._note())
        reads = tuple(dataclasses.replace(r, note="the run's OCR budget ran out before this photo")
                      if r.status == NOT_READ and r.sha256 in self.skipped else r for r in reads)
        return dataclasses.replace(facts, readings=reads, code_sightings=sightings or {},
                                   photos_unavailable=self.reader.unavailable)

    def assessed(self, facts: ListingFacts) -> tuple[Assessment, bool]:
        """The listing's assessment with its photos read, and whether photos it needs wait for the next run."""
        full = self._with_reads(facts, self.sightings)
        waiting = any(r.sha256 in self.skipped for r in full.readings)
        if not waiting and not any(r.read for r in full.readings) and not full.photos_unavailable:
            return self.first[id(facts)], waiting
        return assess(full, self.ctx), waiting
