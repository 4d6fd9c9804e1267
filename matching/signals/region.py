"""Region signal: does the listing ship from inside the regions the seller's authorisation allows?

Regions are ISO 3166: an allowed country (CN) covers its subdivisions (CN-GD); an allowed subdivision (CN-GD)
covers only itself. Where the goods ship from is the listing's location, else its seller's.
  MATCH     inside an allowed region, or the authorisation sets no regional limit
  NO_MATCH  outside every allowed region
  UNKNOWN   the location is missing or too coarse (ships from CN, allowed CN-GD), or the seller is not
            authorised here so it has no regions to be inside (never read as "authorised")
"""

from __future__ import annotations

from core.config import AuthorisedSeller
from matching.signals.result import SignalResult, match, no_match, unknown

NAME = "region"


def _covers(allowed: str, country: str | None, region: str | None) -> bool | None:
    """True inside, False outside, None when the location is too coarse to tell."""
    if len(allowed) == 2:
        return country == allowed if country else None
    if region:
        return region == allowed
    if country and country != allowed[:2]:
        return False
    return None


def region_signal(country: str | None, region: str | None, source: str | None,
                  authorisation: AuthorisedSeller | None, location_text: str | None = None) -> SignalResult:
    if authorisation is None:
        return unknown(NAME, "not applicable: the seller is not authorised here, so it has no authorised regions",
                       applicable=False)
    allowed = list(authorisation.regions)
    evidence = {"country": country, "region": region, "location_source": source, "location_text": location_text,
                "allowed": allowed, "applicable": True}
    if not allowed:
        return match(NAME, "the seller's authorisation sets no regional limit", **evidence)
    allowed_text = ", ".join(allowed)
    if not (country or region):
        return unknown(NAME, f"the ship-from location is unknown, so it cannot be checked against the seller's "
                       f"authorised regions {allowed_text}", **evidence)
    code = region or country
    where = f"{location_text} ({code})" if location_text and location_text != code else str(code)
    verdicts = [_covers(a, country, region) for a in allowed]
    if any(v is True for v in verdicts):
        return match(NAME, f"ships from {where}, inside the seller's authorised regions {allowed_text}",
                     **evidence)
    if all(v is False for v in verdicts):
        return no_match(NAME, f"ships from {where}, outside the seller's authorised regions {allowed_text}",
                        **evidence)
    return unknown(NAME, f"ships from {where} without a province or state, so it cannot be checked against the "
                   f"seller's authorised regions {allowed_text}", **evidence)
