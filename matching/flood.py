"""The flood guard: a reference photo that suddenly matches hundreds of listings that do not name the brand is
reported, not trusted.

A reference photo can go bad: a generic picture slipped into the catalogue (a white jar on white, a logo, a
stock background), or a marketplace that stamps the same banner on every listing. It then "matches" listings of
anything. Within one matching run, a reference whose photo matched at least `min_listings` listings, of which at
least `unbranded_share` do not name the brand or a product in their text, floods: it is distrusted for the rest
of the run and the next runs (until the catalogue changes), the listings it matched are judged again without it,
and the run's summary and the log say which reference, how many listings, and how many of them were unbranded.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flood:
    reference: str  # ref_id
    sku: str
    listings: int  # listings whose photo matched it in this run
    unbranded: int  # of those, listings whose text names neither the brand nor a product

    @property
    def share(self) -> float:
        return self.unbranded / self.listings if self.listings else 0.0

    def describe(self) -> str:
        return (f"reference photo {self.reference} ({self.sku}) matched {self.listings} listings in this run, "
                f"{self.unbranded} of them ({self.share:.0%}) not naming the brand: it is no longer trusted; "
                "check the photo and replace it in the config")

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "share": round(self.share, 4), "reason": self.describe()}


class FloodWatch:
    """Counts, per reference, the listings its photo matched in one run."""

    def __init__(self, min_listings: int, unbranded_share: float):
        self.min_listings = min_listings
        self.unbranded_share = unbranded_share
        self._listings: dict[str, set[int]] = defaultdict(set)
        self._unbranded: dict[str, set[int]] = defaultdict(set)
        self._sku: dict[str, str] = {}

    def saw(self, reference: str, sku: str, listing_id: int, branded: bool) -> None:
        self._listings[reference].add(listing_id)
        self._sku[reference] = sku
        if not branded:
            self._unbranded[reference].add(listing_id)
        else:
            self._unbranded[reference].discard(listing_id)

    def floods(self, already: frozenset[str] = frozenset()) -> list[Flood]:
        out = []
        for ref, listings in sorted(self._listings.items()):
            if ref in already or len(listings) < self.min_listings:
                continue
            flood = Flood(ref, self._sku[ref], len(listings), len(self._unbranded[ref]))
            if flood.share >= self.unbranded_share:
                logger.warning("flood guard: %s", flood.describe())
                out.append(flood)
        return out

    def listings_of(self, references: set[str]) -> set[int]:
        return {i for ref in references for i in self._listings.get(ref, set())}
