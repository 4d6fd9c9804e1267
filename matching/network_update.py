"""Seller networks updated from what changed: new and changed listings join, split or merge the networks they touch,
and every other network is left as it is, with the same result as recomputing all of them (matching.clusters).

A link needs a detail shared by 2 to MAX_SHARERS sellers (a contact, a shop name, two titles, a photo), so what a
night changes can only alter the networks of sellers that hold a detail it added or took away. From the network
index (matching.network_index: every seller's and listing's details and photos as last read):
  1. the changed listings are read (run_matching passes the ids it examined), and every seller seen or purged
     since the last update (its name or contact may have changed); rows that differ from the index are the change;
  2. the first sellers to look at: those whose rows changed; every holder of a detail the change added or took
     away, unless the detail is common property (held by more than MAX_SHARERS sellers) before and after; the
     seller of every photo within NEAR_PHOTO bits of a photo added or taken away, unless that photo is common
     property before and after. So a detail crossing the MAX_SHARERS line either way, or a photo whose removal
     makes another the earliest of its group, brings in everybody it may link or unlink;
  3. with each of them comes its old network: a link the change neither made nor broke was there before, inside
     an old network, and every link it made or broke is among the sellers of step 2;
  4. the links among those sellers are found by the same code as a full computation (matching.clusters.find_links
     and the photo groups), told which of their details are common among all sellers stored, with every photo near
     theirs (found in the index by pigeonhole on the pHash: matching.network_index.NearPhotos); the networks they
     form replace their old networks (matching.clusters.store). Should a link reach a seller outside (it cannot,
     by the above), nothing is stored and the networks are recomputed in full instead, with a warning.
Confirmed findings (a review may come at any time) are recounted for every network.

What it cannot see, and so does in full (matching.clusters.update_clusters) instead: no index yet, or one made
under another catalogue or rule set (the brand's photos, authorised sellers, thresholds); a seller whose
authorisation changed; a matching run whose networks were not updated (clusters=False, or a crash): the next run is
full. Listings are never deleted (crawler.storage); a photo's hashes are those of its bytes, so the same SHA-256 is
the same pHash and its copies are found as near photos; photos are told apart by the first 128 bits of their
SHA-256. `brandpatrol match --full` recomputes everything on demand.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.db import Database
from core.models import Seller, SellerCluster, utcnow
from matching.clusters import (
    MAX_SHARERS,
    NEAR_PHOTO,
    Link,
    NetworkSummary,
    PhotoHashes,
    _photo_links,
    _seller_per_photo,
    _Union,
    clustered_sellers,
    connect,
    find_links,
    store,
    update_clusters,
)
from matching.context import MatchContext
from matching.network_index import (
    CONTACT,
    DETAIL,
    HAS_DHASH,
    HAS_SHA,
    STATE_CHECKED,
    STATE_INDEX,
    STATE_PENDING,
    NearPhotos,
    NetworkIndex,
    blocks_of,
    detail_rows,
    get_state,
    join_rows,
    load_index,
    photo_rows,
    save_index,
    seller_rows_of,
    set_state,
    take_rows,
)
from matching.network_reads import (
    SellerRow,
    confirmed_per_seller,
    descriptions,
    listing_photos,
    listing_texts,
    seller_rows,
    sellers_of,
)
from matching.signals.seller import authorisation_for

log = logging.getLogger(__name__)
_SPARE_ROWS = 8  # photos or details a listing may add to the index, most
_FILTER_BITS = 24  # a bitmap of 2 MB: a night's few tens of thousands of details mark 1 in 500


@dataclass
class Change:
    """The index after the change, the rows that changed (either way), and the blocks to write."""

    after: NetworkIndex
    details: np.ndarray  # DETAIL rows taken out or put in
    gone_details: np.ndarray  # DETAIL rows taken out
    new_details: np.ndarray  # DETAIL rows put in
    removed: np.ndarray  # PHOTO rows taken out
    added: np.ndarray  # PHOTO rows put in
    renamed: set[int]  # sellers whose raw name changed
    touched: dict[str, set[int]]
    seller_rows: dict[int, SellerRow]  # the sellers read (the step 4 reads its sellers' rows from here first)


def update_networks(db: Database, ctx: MatchContext, listing_ids: Collection[int] | None) -> NetworkSummary:
    """Update the seller networks after `listing_ids` were added or changed (None: recompute them all)."""
    if listing_ids is None:
        return update_clusters(db, ctx)
    started = utcnow()
    with db.read() as session:
        spare = _SPARE_ROWS * len(listing_ids) + 1024  # a night's new rows go there, not into copies of all
        index = load_index(session, spare) if get_state(session, STATE_INDEX) == ctx.fingerprint else None
        checked = get_state(session, STATE_CHECKED)
        change = _read_change(session, ctx, index, sorted(set(listing_ids)), checked) if index is not None else None
    if index is None or change is None:
        return update_clusters(db, ctx)
    near_changed = _near_changed(change, NearPhotos(change.after.photos, NEAR_PHOTO))
    _join_components(change, near_changed)
    with db.read() as session:
        networks = _Networks(session, change.after, change.seller_rows)
    scope = networks.close(_first_sellers(networks.details, change, near_changed, networks.cluster_of))
    with db.read() as session:
        links = networks.links(session, scope)
        if links is None:  # a link leaves the sellers looked at: cannot happen once closed; never store half
            log.warning("seller networks: the incremental update did not close; recomputing them all")
            return update_clusters(db, ctx)
        sellers, markets = _sellers(session, scope, networks.seller_rows)
        findings_of = confirmed_per_seller(session)
    groups, union = connect(links)
    with db.session() as session:
        store(session, groups, links, union, sellers, markets, findings_of, scope=scope)
        _recount_confirmed(session, findings_of)
        save_index(session, change.after, change.touched)
        set_state(session, STATE_CHECKED, started.isoformat())
        set_state(session, STATE_PENDING, "0")
        count, largest, total = session.execute(
            select(func.count(), func.max(SellerCluster.size), func.sum(SellerCluster.size))).one()
    return NetworkSummary(int(count), int(largest or 0), int(total or 0), incremental=True)


def _read_change(session: Session, ctx: MatchContext, index: NetworkIndex, listing_ids: list[int],
                 checked: str | None) -> Change | None:
    """What the listings and sellers hold now against the index; None when a seller's authorisation changed."""
    limit = max(ctx.config.thresholds.image_distance, ctx.config.thresholds.image_confirm_distance)
    listings = listing_texts(session, listing_ids)
    image_rows = listing_photos(session, listing_ids)
    old_photos = index.photos[np.isin(index.photos["listing"], listing_ids)]
    old_details = index.listing_details[np.isin(index.listing_details["listing"], listing_ids)]
    candidates = {sid for _, sid, _, _ in listings} | set(old_photos["seller"].tolist()) \
        | set(old_details["seller"].tolist())
    seen = select(Seller.id)
    if checked:
        since = datetime.fromisoformat(checked)
        candidates |= set(session.scalars(seen.where(or_(Seller.last_seen >= since,
                                                         Seller.contact_purged_at >= since))))
    rows = seller_rows(session, sorted(candidates), sellers_of(session, listing_ids))
    authorised = {sid for sid, (_, _, market, external) in rows.items()
                  if authorisation_for(market, rows[sid][0], external, ctx.config.authorised_sellers) is not None}
    read = np.fromiter(rows, dtype=np.int64, count=len(rows))
    old_sellers = take_rows(index.sellers, np.isin(index.sellers["seller"], read))
    if any(bool(flag) != (int(sid) in authorised) for sid, flag in zip(old_sellers["seller"],
                                                                       old_sellers["authorised"], strict=True)):
        return None
    details: list[tuple[int, int, int, int]] = []
    photos = PhotoHashes.from_rows(image_rows)
    find_links({sid: (name, contact) for sid, (name, contact, _, _) in rows.items()}, listings,
               PhotoHashes.from_rows([]), np.zeros(0, dtype=bool), authorised, details=details)
    seller = _seller_per_photo(photos.listing, {lid: sid for lid, sid, _, _ in listings})
    own = ~ctx.index.matches_any(photos.phash, photos.dhash, limit) & (seller >= 0)
    image = photos.image if photos.image is not None else np.zeros(len(photos.listing), dtype=np.int64)
    new_photos = photo_rows(image[own], photos.listing[own], seller[own], photos.phash[own], photos.dhash[own],
                            photos.has_dhash[own], [photos.sha256[i] for i in np.flatnonzero(own).tolist()])
    _keep_components(new_photos, old_photos)
    after, _ = index.replacing("photos", "listing", listing_ids, new_photos)
    after, _ = after.replacing("listing_details", "listing", listing_ids, detail_rows([d for d in details if d[2]]))
    # Only the sellers whose own rows moved are replaced: most sellers read again are as they were.
    old_own = take_rows(index.seller_details, np.isin(index.seller_details["seller"], read))
    new_own = detail_rows([d for d in details if not d[2]])
    moved = _moved(old_own, new_own)
    after, _ = after.replacing("seller_details", "seller", moved, take_rows(new_own, np.isin(new_own["seller"], moved)))
    new_sellers = seller_rows_of({sid: name for sid, (name, _, _, _) in rows.items()}, authorised)
    renamed = _moved(old_sellers, new_sellers)
    after, _ = after.replacing("sellers", "seller", renamed,
                               take_rows(new_sellers, np.isin(new_sellers["seller"], renamed)))
    before_details = np.concatenate([old_details, old_own])
    now_details = np.concatenate([detail_rows([d for d in details if d[2]]), new_own])
    gone_details = before_details[~_in(before_details, now_details)]
    new_details = now_details[~_in(now_details, before_details)]
    changed_details = np.concatenate([gone_details, new_details])
    removed, added = old_photos[~_in(old_photos, new_photos)], new_photos[~_in(new_photos, old_photos)]
    touched = {"photos": blocks_of(np.concatenate([old_photos["image"], new_photos["image"]]).tolist()),
               "listing_details": blocks_of(listing_ids),
               "seller_details": blocks_of(moved.tolist()), "sellers": blocks_of(renamed.tolist())}
    return Change(after, changed_details, gone_details, new_details, removed, added, set(renamed.tolist()), touched,
                  rows)


def _moved(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The sellers with a row in one of `old` and `new` (rows of the same sellers) and not in the other."""
    return np.unique(np.concatenate([old["seller"][~_in(old, new)], new["seller"][~_in(new, old)]]))


def _keep_components(new: np.ndarray, old: np.ndarray) -> None:
    """A photo read again as it was keeps its near component: it is no change."""
    if not len(new) or not len(old):
        return
    was = old.copy()
    was["near"] = 0
    label = {row.tobytes(): int(near) for row, near in zip(was, old["near"].tolist(), strict=True)}
    plain = new.copy()
    plain["near"] = 0
    for k, row in enumerate(plain):
        found = label.get(row.tobytes())
        if found is not None:
            new["near"][k] = found


def _in(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each row, whether an equal row is among `others`."""
    if not len(rows) or not len(others):
        return np.zeros(len(rows), dtype=bool)
    found = {r.tobytes() for r in others}
    return np.array([r.tobytes() in found for r in rows], dtype=bool)


def _among(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of many detail hashes, whether it is one of a few `wanted`. np.isin would sort them all together
    (hashes have no small range for its table): here their low bits are looked up in a bitmap of the wanted
    (hashes are uniform: few pass), and only those are looked for among the wanted."""
    found = np.zeros(len(keys), dtype=bool)
    if not len(wanted) or not len(keys):
        return found
    ordered = np.unique(wanted)
    mask = np.uint64((1 << _FILTER_BITS) - 1)
    marks = (ordered & mask).astype(np.uint32)
    bitmap = np.zeros(1 << (_FILTER_BITS - 3), dtype=np.uint8)
    np.bitwise_or.at(bitmap, marks >> 3, (1 << (marks & 7)).astype(np.uint8))
    low = (keys & mask).astype(np.uint32)
    maybe = np.flatnonzero((bitmap[low >> 3] >> (low & 7).astype(np.uint8)) & 1)
    at = np.minimum(np.searchsorted(ordered, keys[maybe]), len(ordered) - 1)
    found[maybe] = ordered[at] == keys[maybe]
    return found


def _holders(details: np.ndarray, keys: np.ndarray, without: np.ndarray | None = None) -> dict[int, set[int]]:
    """Detail hash -> the sellers holding it, for `keys` (rows equal to one `without` left out)."""
    rows = details[_among(details["key"], keys)]
    if without is not None and len(without):
        rows = rows[~_in(rows, without)]
    out: dict[int, set[int]] = defaultdict(set)
    for key, seller in zip(rows["key"].tolist(), rows["seller"].tolist(), strict=True):
        out[key].add(seller)
    return out


def _all_details(index: NetworkIndex) -> np.ndarray:
    return join_rows([index.listing_details, index.seller_details], DETAIL)


def _first_sellers(details: np.ndarray, change: Change, near_changed: NearChanged,
                   cluster_of: dict[int, int]) -> set[int]:
    """The sellers whose networks the change may alter (step 2 of the module's description). A detail or a group
    of near photos one seller alone holds, before and after, links nobody either way: a night's new listings of
    their own move no network."""
    out = {seller for seller in change.renamed if seller in cluster_of}  # its name is in its network's sentences
    keys = np.unique(change.details["key"])
    if keys.size:
        holding = details[_among(details["key"], keys)]
        new = _holders(holding, keys)
        old = _holders(np.concatenate([holding, change.gone_details]), keys, without=change.new_details)
        for key in keys.tolist():
            was, now = old.get(key, set()), new.get(key, set())
            if len(was | now) > 1 and min(len(was), len(now)) <= MAX_SHARERS:
                out |= was | now
    changed = np.concatenate([change.removed, change.added])
    if not len(changed):
        return out
    # Photos near a changed one, after the change and among those taken away; only around a changed pHash
    # whose neighbourhood holds two sellers or more (in either state) can a group link anybody.
    queries, inverse, at, positions = near_changed
    gone_at, gone_positions = NearPhotos(change.removed, NEAR_PHOTO).pairs(queries)
    rows = np.concatenate([change.after.photos[positions], change.removed[gone_positions]])
    which = np.concatenate([at, gone_at])
    pairs = np.unique(np.stack([which, rows["seller"]], axis=1), axis=0)
    # Around a photo one seller holds, a changed photo later than every other photo there can be nobody's
    # earliest either: nothing moves. An earlier one (a re-shot photo keeps its id) may start or end a group.
    own = ~np.isin(rows["image"], changed["image"])
    latest_other = np.full(len(queries), -1, dtype=np.int64)
    np.maximum.at(latest_other, which[own], rows["image"][own])
    earliest_changed = np.full(len(queries), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest_changed, inverse, changed["image"])
    shared = np.flatnonzero((np.bincount(pairs[:, 0], minlength=len(queries)) > 1)
                            | (earliest_changed < latest_other))
    rows = rows[np.isin(which, shared)]
    if not len(rows):
        return out
    after = rows[: int(np.isin(at, shared).sum())]
    kept = after[~np.isin(after["image"], change.added["image"])]  # in both states (a re-shot photo is not)
    gone = rows[len(after):]
    # Everybody at a photo's exact hashes is near it: the sellers per point are complete in both states.
    states = [_sellers_at(np.concatenate([kept, gone])), _sellers_at(after)]
    for point in states[0].keys() | states[1].keys():
        was, now = states[0].get(point, set()), states[1].get(point, set())
        if not (len(was) > MAX_SHARERS and len(now) > MAX_SHARERS):  # else common property either way
            out |= was | now
    return out


NearChanged = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _near_changed(change: Change, near: NearPhotos) -> NearChanged:
    """The changed photos' distinct hashes (PHOTO rows), which of them each changed photo has, and (which, stored
    position) of every photo near one after the change. Each is looked up once: a shop's own photo may be on
    hundreds of its listings."""
    changed = np.concatenate([change.removed, change.added])
    hashes = np.stack([changed["phash"], changed["dhash"],
                       changed["flags"].astype(np.uint64) & np.uint64(HAS_DHASH)], axis=1)
    _, first, inverse = np.unique(hashes, axis=0, return_index=True, return_inverse=True)
    at, positions = near.pairs(changed[first])
    return changed[first], inverse.reshape(-1), at, positions


def _join_components(change: Change, near_changed: NearChanged) -> None:
    """Each photo put in joins the near components of the photos near it (network_index: components only grow
    between full computations)."""
    _, inverse, at, positions = near_changed
    photos = change.after.photos
    added = np.searchsorted(photos["image"], change.added["image"])
    query_of = inverse[len(change.removed):]
    order = np.argsort(at, kind="stable")
    starts = np.searchsorted(at[order], query_of, "left")
    ends = np.searchsorted(at[order], query_of, "right")
    lengths = ends - starts
    slots = order[np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)]
    edges = np.stack([photos["near"][np.repeat(added, lengths)], photos["near"][positions[slots]]], axis=1)
    union = _Union()
    for own, other in np.unique(edges[edges[:, 0] != edges[:, 1]], axis=0).tolist():
        union.join(own, other)
    if not union.parent:
        return
    labels = np.fromiter(union.parent, dtype=np.int64)
    roots = np.fromiter((union.find(label) for label in labels.tolist()), dtype=np.int64, count=len(labels))
    labels, roots = labels[labels != roots], roots[labels != roots]  # a component's root keeps its label
    order = np.argsort(labels)
    labels, roots = labels[order], roots[order]
    moved = np.flatnonzero(np.isin(photos["near"], labels))
    photos["near"][moved] = roots[np.searchsorted(labels, photos["near"][moved])]
    change.touched["photos"] |= blocks_of(photos["image"][moved].tolist())  # only the blocks whose labels moved


def _sellers_at(rows: np.ndarray) -> dict[tuple[int, int], set[int]]:
    out: dict[tuple[int, int], set[int]] = defaultdict(set)
    for phash, dhash, seller in zip(rows["phash"].tolist(), rows["dhash"].tolist(), rows["seller"].tolist(),
                                    strict=True):
        out[(phash, dhash)].add(seller)
    return out


class _Networks:
    """The index after the change, the old networks, and the near photos: what the links among some sellers need."""

    def __init__(self, session: Session, index: NetworkIndex, seller_rows: dict[int, SellerRow]):
        self.index = index
        self.seller_rows = seller_rows
        self.details = _all_details(index)
        self.cluster_of = clustered_sellers(session)
        self.members: dict[int, set[int]] = defaultdict(set)
        for seller, cluster in self.cluster_of.items():
            self.members[cluster].add(seller)

    def close(self, first: set[int]) -> set[int]:
        """The sellers with every seller of their old networks (step 3): a link the change did not make or break
        was there before, inside an old network, and the change makes or breaks links only among the first."""
        scope = set(first)
        for seller in first:
            cluster = self.cluster_of.get(seller)
            if cluster is not None:
                scope |= self.members[cluster]
        return scope

    def _local(self, scope: set[int]) -> tuple[PhotoHashes, np.ndarray, dict[int, int], np.ndarray]:
        """The photos of the sellers in scope and every photo near them, in id order, as the photo rules read."""
        photos = self.index.photos
        mine = np.flatnonzero(np.isin(photos["seller"], list(scope)))
        rows = photos[np.isin(photos["near"], np.unique(photos["near"][mine]))]  # every photo near theirs, and more
        text = np.stack([rows["sha_hi"], rows["sha_lo"]], axis=1).astype(">u8").tobytes().hex()
        shas: list[str | None] = [text[32 * i:32 * i + 32] if flags & HAS_SHA else None
                                  for i, flags in enumerate(rows["flags"].tolist())]
        hashes = PhotoHashes(rows["listing"].astype(np.int64), shas, rows["phash"].astype(np.uint64),
                             rows["dhash"].astype(np.uint64), (rows["flags"] & HAS_DHASH) > 0,
                             rows["image"].astype(np.int64))
        seller_of = dict(zip(rows["listing"].tolist(), rows["seller"].tolist(), strict=True))
        return hashes, np.zeros(len(rows), dtype=bool), seller_of, np.isin(rows["seller"], list(scope))

    def links(self, session: Session, scope: set[int]) -> list[Link] | None:
        """Every link among the sellers in scope, in the order a full computation finds them (step 4); None when
        one reaches a seller outside."""
        ordered = sorted(scope)
        rows = self.seller_rows = seller_rows(session, ordered, self.seller_rows)
        sellers = {sid: (name, contact) for sid, (name, contact, _, _) in rows.items()}
        details = self.index.listing_details[np.isin(self.index.listing_details["seller"], ordered)]
        listing_ids = sorted(set(details["listing"].tolist()))
        # A text without a contact detail (the index says which) gives one from its title neither: only the
        # descriptions of the others are read.
        described = descriptions(session, sorted(set(details["listing"][details["kind"] == CONTACT].tolist())))
        listings = listing_texts(session, listing_ids, described)
        holders = _holders(self.details, self.details["key"][np.isin(self.details["seller"], ordered)])
        common = {k for k, sellers_of in holders.items() if len(sellers_of) > MAX_SHARERS}
        flags = self.index.sellers[np.isin(self.index.sellers["seller"], ordered)]
        authorised = set(flags["seller"][flags["authorised"] > 0].tolist())
        links = find_links(sellers, listings, PhotoHashes.from_rows([]), np.zeros(0, dtype=bool), authorised,
                           common=common)
        links += _photo_links(*self._local(scope))
        inside = [link for link in links if link.a in scope and link.b in scope]
        if any((link.a in scope) != (link.b in scope) for link in links):
            return None
        return inside


def _sellers(session: Session, scope: Iterable[int],
             known: dict[int, SellerRow]) -> tuple[dict[int, tuple[str, dict[str, Any]]], dict[int, str]]:
    rows = seller_rows(session, sorted(scope), known)
    return ({sid: (name, contact) for sid, (name, contact, _, _) in rows.items()},
            {sid: market for sid, (_, _, market, _) in rows.items()})


def _recount_confirmed(session: Session, findings_of: dict[int, int]) -> None:
    """Reviews come at any time: every network's confirmed findings, counted again, written where they moved."""
    totals: dict[int, int] = defaultdict(int)
    for seller, cluster in clustered_sellers(session).items():
        totals[cluster] += findings_of.get(seller, 0)
    changed = [{"id": cid, "confirmed_findings": totals[cid], "updated_at": utcnow()}
               for cid, stored in session.execute(select(SellerCluster.id, SellerCluster.confirmed_findings))
               if stored != totals[cid]]
    if changed:
        session.execute(update(SellerCluster), changed)
