"""Partner signal: did a trusted partner brand report this seller, or one of these photos, as an offender?

Only entries an admin accepted out of quarantine are here (matching/banks.py). A seller entry matches on the same
marketplace by seller id, or by the folded shop name where the partner's page showed no id; a photo entry matches
a listing photo when its pHash and its dHash are both within the image threshold.
  MATCH     "reported by partner X (n confirmed)": n is how many of the partner's findings its reviewers
            confirmed; the measure is the photo distance when a photo matched
  NO_MATCH  no accepted entry fits
  (none)    no partner entry is accepted: the signal is left out, as before any bank was imported
A partner's report raises a suspect verdict's score (matching/verdicts.py); it never makes a verdict by itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.text import fold_for_match
from matching.facts import ImageFacts
from matching.index import as_hashes
from matching.references import hash_int
from matching.signals.result import SignalResult, match, no_match

NAME = "partner"


@dataclass(frozen=True)
class PartnerReport:
    """One accepted entry of one partner."""

    partner: str
    entry_id: str
    kind: str  # seller | photo
    confirmed: int
    marketplace: str | None = None
    seller_id: str | None = None
    phash: str | None = None
    dhash: str | None = None


@dataclass(frozen=True)
class PartnerBank:
    """The accepted entries of every partner, indexed for one look-up per listing."""

    reports: tuple[PartnerReport, ...] = ()
    sellers: dict[tuple[str, str], list[PartnerReport]] = field(init=False, compare=False)
    photos: list[PartnerReport] = field(init=False, compare=False)
    _phash: np.ndarray = field(init=False, compare=False)
    _dhash: np.ndarray = field(init=False, compare=False)

    def __post_init__(self) -> None:
        sellers: dict[tuple[str, str], list[PartnerReport]] = {}
        photos = []
        for report in self.reports:
            if report.kind == "seller" and report.marketplace and report.seller_id:
                sellers.setdefault((report.marketplace, report.seller_id), []).append(report)
            elif report.kind == "photo" and hash_int(report.phash) is not None and hash_int(report.dhash) is not None:
                photos.append(report)
        object.__setattr__(self, "sellers", sellers)
        object.__setattr__(self, "photos", photos)
        object.__setattr__(self, "_phash", as_hashes([hash_int(r.phash) or 0 for r in photos]))
        object.__setattr__(self, "_dhash", as_hashes([hash_int(r.dhash) or 0 for r in photos]))

    def __len__(self) -> int:
        return len(self.reports)

    def digest(self) -> str:
        """Changes whenever what the signal can say changes, so matching judges unreviewed listings again."""
        lines = sorted(f"{r.partner}\t{r.entry_id}\t{r.confirmed}" for r in self.reports)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def photo_matches(self, image: ImageFacts, threshold: int) -> list[tuple[PartnerReport, int]]:
        phash, dhash = hash_int(image.phash), hash_int(image.dhash)
        if not self.photos or not image.hashed or phash is None or dhash is None:
            return []
        distance = np.maximum(np.bitwise_count(self._phash ^ np.uint64(phash)),
                              np.bitwise_count(self._dhash ^ np.uint64(dhash)))
        return [(self.photos[i], int(distance[i])) for i in np.flatnonzero(distance <= threshold)]


def _seller_keys(seller_name: str | None, seller_external_id: str | None) -> set[str]:
    """The keys a seller is stored under (crawler/storage.py): its id, else its folded name."""
    keys = {seller_external_id[:200]} if seller_external_id else set()
    if seller_name:
        keys.add(fold_for_match(seller_name)[:200])
    return keys


def partner_signal(bank: PartnerBank, marketplace: str, seller_name: str | None, seller_external_id: str | None,
                   images: Sequence[ImageFacts], threshold: int) -> SignalResult | None:
    if not len(bank):
        return None
    found: list[tuple[PartnerReport, str, int | None]] = []
    for key in sorted(_seller_keys(seller_name, seller_external_id)):
        found += [(r, "this seller", None) for r in bank.sellers.get((marketplace, key), [])]
    for image in images:
        found += [(r, f"photo {image.position + 1} (distance {d})", d) for r, d in bank.photo_matches(image, threshold)]
    if not found:
        return no_match(NAME, "no trusted partner reported this seller or these photos")
    by_partner: dict[str, list[tuple[PartnerReport, str, int | None]]] = {}
    for item in found:
        by_partner.setdefault(item[0].partner, []).append(item)
    sentences = []
    for partner, items in sorted(by_partner.items()):
        # The largest count, not a sum: one partner's seller and photo entries can rest on the same findings.
        confirmed = max(r.confirmed for r, _, _ in items)
        what = " and ".join(dict.fromkeys(how for _, how, _ in items))
        sentences.append(f"reported by partner {partner} ({confirmed} confirmed): {what}")
    distances = [d for _, _, d in found if d is not None]
    return match(NAME, "; ".join(sentences), float(min(distances)) if distances else None,
                 reports=[{"partner": r.partner, "entry": r.entry_id, "kind": r.kind, "confirmed": r.confirmed,
                           "distance": d} for r, _, d in found])
