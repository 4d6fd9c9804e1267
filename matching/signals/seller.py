"""Seller signal: is the seller authorised by the brand on this marketplace?

A seller is the authorised one when the marketplace matches and its id equals the configured seller_id, or, where
either id is unknown, its name equals the configured name (matching.terms.same_name). When both ids are known they
decide: a shop with an authorised shop's name but another id is a look-alike, not the authorised shop.
  MATCH     authorised on this marketplace (evidence: the authorisation's distributor and regions)
  NO_MATCH  evidence["status"]: "lookalike" (an authorised shop's name, another id), "authorised_elsewhere"
            (authorised, but on another marketplace), or "unknown_to_brand"
  UNKNOWN   the listing shows no seller
"""

from __future__ import annotations

from collections.abc import Sequence

from core.config import AllowedSeller, AuthorisedSeller
from matching.signals.result import SignalResult, match, no_match, unknown
from matching.terms import same_name

NAME = "seller"
AUTHORISED = "authorised"
LOOKALIKE = "lookalike"
AUTHORISED_ELSEWHERE = "authorised_elsewhere"
UNKNOWN_TO_BRAND = "unknown_to_brand"


def authorisation_for(marketplace: str, seller_name: str | None, seller_id: str | None,
                      authorised: Sequence[AuthorisedSeller]) -> AuthorisedSeller | None:
    """The authorisation that covers this seller on this marketplace, if any."""
    for auth in authorised:
        if auth.marketplace != marketplace:
            continue
        if auth.seller_id and seller_id:
            if auth.seller_id == seller_id:
                return auth
        elif seller_name and same_name(auth.name, seller_name):
            return auth
    return None


def allowed_seller(marketplace: str, seller_name: str | None, seller_id: str | None,
                   allowed: Sequence[AllowedSeller]) -> AllowedSeller | None:
    """The allow-list entry (sellers the brand marks as fine) covering this seller, if any.

    An entry with a seller_id matches by id only; an entry with only a name matches by folded name.
    """
    for entry in allowed:
        if entry.marketplace != marketplace:
            continue
        if entry.seller_id:
            if seller_id and entry.seller_id == seller_id:
                return entry
        elif entry.name and seller_name and same_name(entry.name, seller_name):
            return entry
    return None


def _label(name: str | None, seller_id: str | None) -> str:
    if name and seller_id and name != seller_id:
        return f"{name} (id {seller_id})"
    return name or seller_id or "?"


def seller_signal(marketplace: str, seller_name: str | None, seller_id: str | None,
                  authorised: Sequence[AuthorisedSeller]) -> SignalResult:
    if not (seller_name or seller_id):
        return unknown(NAME, "the listing shows no seller, so its authorisation cannot be checked")
    who = _label(seller_name, seller_id)
    evidence = {"seller_name": seller_name, "seller_id": seller_id, "marketplace": marketplace}
    auth = authorisation_for(marketplace, seller_name, seller_id, authorised)
    if auth is not None:
        terms = [f"regions {', '.join(auth.regions)}" if auth.regions else "no regional limit"]
        if auth.distributor:
            terms.insert(0, f"distributor {auth.distributor}")
        return match(NAME, f"seller {who} is authorised on {marketplace} ({'; '.join(terms)})", 1.0,
                     status=AUTHORISED, distributor=auth.distributor, regions=list(auth.regions), **evidence)
    same_name_here = [a for a in authorised if a.marketplace == marketplace and seller_name
                      and same_name(a.name, seller_name)]
    if same_name_here:
        real = same_name_here[0]
        return no_match(
            NAME,
            f"seller {who} uses the name of the authorised shop {real.name} on {marketplace}, but its id is not "
            f"the authorised id {real.seller_id}",
            0.0, status=LOOKALIKE, authorised_id=real.seller_id, **evidence,
        )
    elsewhere = sorted({a.marketplace for a in authorised if seller_name and same_name(a.name, seller_name)})
    if elsewhere:
        return no_match(
            NAME, f"seller {who} is authorised on {', '.join(elsewhere)}, not on {marketplace}", 0.0,
            status=AUTHORISED_ELSEWHERE, authorised_on=elsewhere, **evidence,
        )
    return no_match(NAME, f"seller {who} is not authorised by the brand", 0.0, status=UNKNOWN_TO_BRAND,
                    **evidence)
