"""What an incremental update of the seller networks (matching.network_update) reads from the database: a night's
listings, their photos and sellers, and the scope's titles, in as few queries as it can. A night's new listings are
a run of consecutive ids, read as a range, not as IN lists of hundreds; their sellers are read through them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from core.models import ImageStatus, Listing, ListingImage, Marketplace, Seller
from matching.past import confirmed_listing_ids

_CHUNK = 500  # ids per IN (...)
_RUN = 50  # consecutive ids read as a range
SellerRow = tuple[str, dict[str, Any], str, str | None]  # name, contact, marketplace, external id


def listing_texts(session: Session, listing_ids: list[int],
                  described: dict[int, str] | None = None) -> list[tuple[int, int, str, str]]:
    """(listing id, seller id, title, description) of the listings `listing_ids` (sorted, distinct) that have a
    seller, in id order; with `described`, the descriptions are taken from it ("" for the others), not read."""
    listings: list[tuple[int, int, str, str]] = []
    # Core rows (the connection, not the ORM): tens of thousands of plain tuples.
    for among in by_ids(Listing.id, listing_ids):
        if described is None:
            listings += [(lid, sid, title, desc or "") for lid, sid, title, desc in session.connection().execute(
                select(Listing.id, Listing.seller_id, Listing.title, Listing.description).where(among))
                if sid is not None]
        else:
            listings += [(lid, sid, title, described.get(lid, "")) for lid, sid, title in session.connection().execute(
                select(Listing.id, Listing.seller_id, Listing.title).where(among)) if sid is not None]
    listings.sort()
    return listings


def listing_photos(session: Session, listing_ids: list[int]) -> list[Any]:
    """(listing id, SHA-256, pHash, dHash, image id) of the listings' fetched photos, in image id order."""
    rows: list[Any] = []
    for among in by_ids(ListingImage.listing_id, listing_ids):
        rows += session.connection().execute(
            select(ListingImage.listing_id, ListingImage.sha256, ListingImage.phash, ListingImage.dhash,
                   ListingImage.id)
            .where(among, ListingImage.status == ImageStatus.OK)).all()
    rows.sort(key=lambda row: row[4])
    return rows


def seller_rows(session: Session, ids: list[int], known: dict[int, SellerRow] | None = None) -> dict[int, SellerRow]:
    """id -> (name, contact, marketplace, external id) of the sellers `ids` (sorted) that exist, in id order; the
    `known` rows are not read again."""
    known = known or {}
    missing = [sid for sid in ids if sid not in known]
    read: dict[int, SellerRow] = {}
    for start in range(0, len(missing), _CHUNK):
        read.update(_read_sellers(session, Seller.id.in_(missing[start:start + _CHUNK])))
    return {sid: row for sid in ids if (row := known.get(sid) or read.get(sid)) is not None}


def sellers_of(session: Session, listing_ids: list[int]) -> dict[int, SellerRow]:
    """The rows of the listings' sellers: a night's new listings are a range of ids, so this takes a query or
    two, where their sellers' ids (thousands, scattered) would take an IN list each per 500."""
    out: dict[int, SellerRow] = {}
    for among in by_ids(Listing.id, listing_ids):
        out.update(_read_sellers(session, Seller.id.in_(select(Listing.seller_id).where(among))))
    return out


def _read_sellers(session: Session, condition: ColumnElement[bool]) -> dict[int, SellerRow]:
    query = (select(Seller.id, Seller.name, Seller.contact, Marketplace.name.label("market"), Seller.external_id)
             .join(Marketplace, Marketplace.id == Seller.marketplace_id).where(condition))
    # Core rows (the connection, not the ORM): thousands of plain tuples.
    return {int(row.id): (str(row.name), dict(row.contact) if isinstance(row.contact, dict) else {},
                          str(row.market), None if row.external_id is None else str(row.external_id))
            for row in session.connection().execute(query)}


def descriptions(session: Session, listing_ids: list[int]) -> dict[int, str]:
    """Listing id -> description ("" for none) of the listings `listing_ids` (sorted, distinct)."""
    out: dict[int, str] = {}
    for among in by_ids(Listing.id, listing_ids):
        out.update((int(lid), desc or "") for lid, desc in session.connection().execute(
            select(Listing.id, Listing.description).where(among)))
    return out


def by_ids(column: InstrumentedAttribute[int], ids: list[int]) -> Iterator[ColumnElement[bool]]:
    """Conditions that together select `ids` (sorted, distinct) in `column`: a range for each run of consecutive
    ids (a night's new listings), IN lists for the others."""
    breaks = np.flatnonzero(np.diff(np.asarray(ids, dtype=np.int64)) != 1) + 1
    scattered: list[int] = []
    for start, end in zip([0, *breaks.tolist()], [*breaks.tolist(), len(ids)], strict=True):
        if end - start >= _RUN:
            yield column.between(ids[start], ids[end - 1])
        else:
            scattered += ids[start:end]
    for start in range(0, len(scattered), _CHUNK):
        yield column.in_(scattered[start:start + _CHUNK])


def confirmed_per_seller(session: Session) -> dict[int, int]:
    """Seller id -> how many of its listings a reviewer confirmed (the latest decision, matching.past)."""
    confirmed = sorted(confirmed_listing_ids(session))
    out: dict[int, int] = defaultdict(int)
    for start in range(0, len(confirmed), _CHUNK):
        for seller_id in session.scalars(select(Listing.seller_id).where(
                Listing.id.in_(confirmed[start:start + _CHUNK]))):
            if seller_id is not None:
                out[int(seller_id)] += 1
    return out
