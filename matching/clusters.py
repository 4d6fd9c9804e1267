"""Seller networks: shops linked by shared photos, shared contact details or near-identical titles.

One operator often runs many shops, on one marketplace and across several, so taking one down changes little.
Two sellers are linked when
  - a photo of one is a photo of the other: identical bytes, or pHash and dHash both within NEAR_PHOTO bits; the
    brand's own photos (within the confirm distance of any view of a reference) do not count, since everyone
    shows them, altered or not;
  - they give the same contact detail (phone, e-mail, WeChat, QQ, business licence) on their shop page or in
    their listings' text (matching.contacts);
  - they trade under the same shop name (on two marketplaces, or under two ids);
  - they use the same titles, once case, width, spaces, punctuation and digits are folded away: at least two
    titles of at least MIN_TITLE characters, since resellers copy single titles all the time; titles of
    authorised sellers, which everyone copies, do not count.
A detail, photo or title shared by more than MAX_SHARERS sellers is common property (a platform badge, a stock
phrase) and links nobody. Linked sellers form a network (connected components); every network of two or more is
stored as a SellerCluster, with each seller's Seller.cluster_id and the links that tie it in, in sentences.
The networks are recomputed in full after each matching run (near photos found by one self-join of the photo
hashes, not a look-up per photo; benchmarks/bench_clusters.py measures it), and only networks and sellers that
changed are written; `network_of` gives the dashboard "a network of 7 shops".
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from core.db import Database
from core.models import ImageStatus, Listing, ListingImage, Marketplace, Seller, SellerCluster, utcnow
from matching.contacts import contacts_in_text, contacts_of_seller
from matching.context import MatchContext
from matching.index import HashIndex, near_pairs
from matching.network_index import (
    CONTACT,
    NAME,
    STATE_CHECKED,
    STATE_INDEX,
    STATE_PENDING,
    TITLE,
    NetworkIndex,
    detail_hash,
    detail_rows,
    photo_rows,
    save_index,
    seller_rows_of,
    set_state,
)
from matching.past import confirmed_listing_ids
from matching.references import hash_int
from matching.signals.seller import authorisation_for

NEAR_PHOTO = 4
MIN_TITLE = 12
MIN_SHARED_TITLES = 2
MAX_SHARERS = 20
MAX_LINKS_KEPT = 60
_CHUNK = 500  # ids per IN (...) when deleting


@dataclass(frozen=True)
class Link:
    a: int  # seller ids, a < b
    b: int
    kind: str  # "photo", "contact", "title"
    detail: str


@dataclass(frozen=True)
class NetworkSummary:
    clusters: int
    largest: int
    sellers_in_networks: int
    incremental: bool = False  # updated from what changed (matching.network_update), not recomputed in full


_NOT_LETTERS = re.compile(r"[\W\d_]+")


def title_key(title: str) -> str:
    """A title folded for comparison: case, width, spaces, punctuation and digits away (core.text.fold_for_match,
    whose spaces are among what goes here anyway)."""
    return _NOT_LETTERS.sub("", unicodedata.normalize("NFKC", title).casefold())


class _Union:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _pairs(sharers: Iterable[int]) -> list[tuple[int, int]]:
    """A chain through the sharers (enough for connectivity, linear in their number)."""
    return list(itertools.pairwise(sorted(set(sharers))))


@dataclass(frozen=True)
class PhotoHashes:
    """Listing photos with a usable pHash, in the order read, as columns: listing id, SHA-256, pHash, and dHash (0
    where has_dhash is False)."""

    listing: np.ndarray  # int64
    sha256: list[str | None]
    phash: np.ndarray  # uint64
    dhash: np.ndarray  # uint64
    has_dhash: np.ndarray  # bool
    image: np.ndarray | None = None  # int64 image ids, when the rows gave them (a fifth column)

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> PhotoHashes:
        """From stored rows (listing id, sha256, pHash and dHash as hex); a photo without a usable pHash is left out
        (it links nothing), a malformed dHash counts as unknown."""
        if not rows:
            return cls(np.zeros(0, dtype=np.int64), [], *(np.zeros(0, dtype=np.uint64),) * 2, np.zeros(0, dtype=bool))
        listing, sha, phash, dhash = ([row[i] for row in rows] for i in range(4))
        image = np.array([row[4] for row in rows], dtype=np.int64) if len(rows[0]) > 4 else None
        p, has_p = _hashes(phash)
        d, has_d = _hashes(dhash)
        if not has_p.all():
            keep = np.flatnonzero(has_p)
            sha = [sha[i] for i in keep.tolist()]
            listing = [listing[i] for i in keep.tolist()]
            p, d, has_d = p[keep], d[keep], has_d[keep]
            image = None if image is None else image[keep]
        return cls(np.array(listing, dtype=np.int64), sha, p, d, has_d, image)


def _hashes(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Stored hex hashes as uint64 (0 where unusable) and whether each was usable, as matching.references.hash_int
    reads them; all in one conversion when every one is 16 hex digits, as the crawler stores them."""
    try:
        if set(map(len, values)) == {16}:  # type: ignore[arg-type]  # a None raises TypeError: the slow way
            raw = bytes.fromhex("".join(values))  # type: ignore[arg-type]
            if len(raw) == 8 * len(values):  # no whitespace anywhere: every value was 16 hex digits
                return np.frombuffer(raw, dtype=">u8").astype(np.uint64), np.ones(len(values), dtype=bool)
    except (TypeError, ValueError):
        pass
    parsed = [hash_int(v) for v in values]
    return (np.array([0 if v is None else v for v in parsed], dtype=np.uint64),
            np.array([v is not None for v in parsed], dtype=bool))


def find_links(sellers: dict[int, tuple[str, dict[str, Any]]], listings: list[tuple[int, int, str, str]],
               photos: PhotoHashes, brand_photo: np.ndarray, authorised: Collection[int] = (), *,
               common: Collection[int] = (), details: list[tuple[int, int, int, int]] | None = None,
               components: list[np.ndarray] | None = None) -> list[Link]:
    """Links between sellers. `sellers`: id -> (name, contact); `listings`: (listing id, seller id, title,
    description); `photos`: the listing photos; `brand_photo`: for each photo, whether it is the brand's (ignored);
    `authorised`: sellers with a contract, whose catalogue titles everyone copies (not linked by titles).
    `common`: hashes (matching.network_index.detail_hash) of details more than MAX_SHARERS sellers share among all
    stored, for when only some sellers are given (matching.network_update); `details`, when given, receives every
    detail as (hash, seller, listing or 0 for the seller's own, kind), and `components` the photos' near components
    (_photo_links), for the network index."""
    seller_of = {listing_id: seller_id for listing_id, seller_id, _, _ in listings}
    hashes: dict[tuple[int, str], int] = {}

    def hashed(kind: int, text: str) -> int:
        found = hashes.get((kind, text))
        if found is None:
            found = hashes[(kind, text)] = detail_hash(kind, text)
        return found

    def note(kind: int, text: str, seller_id: int, listing_id: int) -> None:
        if details is not None:
            details.append((hashed(kind, text), seller_id, listing_id, kind))

    links: list[Link] = []
    by_contact: dict[tuple[str, str], set[int]] = defaultdict(set)
    for seller_id, (_, contact) in sellers.items():
        for detail in contacts_of_seller(contact):
            by_contact[detail].add(seller_id)
            note(CONTACT, ":".join(detail), seller_id, 0)
    by_title: dict[str, set[int]] = defaultdict(set)
    for listing_id, seller_id, title, description in listings:
        for detail in contacts_in_text(f"{title}\n{description}"):
            by_contact[detail].add(seller_id)
            note(CONTACT, ":".join(detail), seller_id, listing_id)
        key = title_key(title)
        if len(key) >= MIN_TITLE and seller_id not in authorised:
            by_title[key].add(seller_id)
            note(TITLE, key, seller_id, listing_id)
    by_name: dict[str, set[int]] = defaultdict(set)
    for seller_id, (name, _) in sellers.items():
        key = title_key(name)
        if len(key) >= 4:
            by_name[key].add(seller_id)
            note(NAME, key, seller_id, 0)

    def linking(kind: int, text: str, sharers: set[int]) -> bool:
        return 2 <= len(sharers) <= MAX_SHARERS and not (common and hashed(kind, text) in common)

    for (kind, value), sharers in by_contact.items():
        if linking(CONTACT, f"{kind}:{value}", sharers):
            links += [Link(a, b, "contact", f"the same {kind} {value}") for a, b in _pairs(sharers)]
    for key, sharers in by_name.items():
        if linking(NAME, key, sharers):
            links += [Link(a, b, "name", f"the same shop name ('{key[:40]}')") for a, b in _pairs(sharers)]
    # Resellers copy one another's titles all the time; two titles copied between the same two shops is a pattern.
    shared_titles: dict[tuple[int, int], list[str]] = defaultdict(list)
    for key, sharers in by_title.items():
        if linking(TITLE, key, sharers):
            ordered = sorted(sharers)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    shared_titles[(a, b)].append(key)
    for (a, b), keys in sorted(shared_titles.items()):
        if len(keys) >= MIN_SHARED_TITLES:
            shown = ", ".join(f"'{k[:30]}'" for k in keys[:2])
            links.append(Link(a, b, "title", f"{len(keys)} identical titles ({shown})"))
    links += _photo_links(photos, brand_photo, seller_of, components=components)
    return links


def _photo_links(photos: PhotoHashes, brand_photo: np.ndarray, seller_of: dict[int, int],
                 centres: np.ndarray | None = None, components: list[np.ndarray] | None = None) -> list[Link]:
    """Links by photos: the same bytes, then near-identical photos.

    A photo's near group is every photo whose pHash is within NEAR_PHOTO bits and, when the photo has a dHash,
    whose dHash (0 when unknown) is too; each group is taken once, from its earliest photo (a photo with an earlier
    one in its group gives no links), and links its sellers when they are 2 to MAX_SHARERS. Photos with identical
    hashes share a group, so the groups are found among distinct (pHash, dHash) pairs, all at once
    (matching.index.near_pairs); a photo without a dHash is looked up alone, in a HashIndex of the pHashes.
    `centres`, when given: only groups whose earliest photo is one of them are taken (an incremental update
    gives every photo near its sellers' ones, so the groups of the others may lack photos). `components`, when
    given, receives the photos' near components (_near_groups), for the photos that are not the brand's and have a
    seller, in order.
    """
    seller = _seller_per_photo(photos.listing, seller_of)
    own = np.flatnonzero(~np.asarray(brand_photo, dtype=bool) & (seller >= 0))
    component = np.arange(len(own), dtype=np.int64)
    if components is not None:
        components.append(component)
    if not own.size:
        return []
    links: list[Link] = []
    shas = [photos.sha256[i] for i in own.tolist()]
    repeated = {sha for sha, count in Counter(shas).items() if count > 1 and sha}  # a photo seen once links nobody
    by_sha: dict[str, set[int]] = defaultdict(set)
    if repeated:
        owners = seller[own].tolist()
        for k in [k for k, sha in enumerate(shas) if sha in repeated]:
            by_sha[str(shas[k])].add(owners[k])
    for sha, sharers in by_sha.items():
        if 2 <= len(sharers) <= MAX_SHARERS:
            links += [Link(a, b, "photo", f"the same photo (SHA-256 {sha[:12]}…)") for a, b in _pairs(sharers)]
    groups = _near_groups(photos.phash[own], photos.dhash[own], photos.has_dhash[own], seller[own],
                          None if centres is None else np.asarray(centres, dtype=bool)[own],
                          None if components is None else component)
    for _, sharers in sorted(groups, key=lambda group: group[0]):
        links += [Link(a, b, "photo", f"near-identical photos (within {NEAR_PHOTO} bits)") for a, b in _pairs(sharers)]
    return links


def _seller_per_photo(listing: np.ndarray, seller_of: dict[int, int]) -> np.ndarray:
    """The seller of each photo's listing, -1 when it has none."""
    if not seller_of or not listing.size:
        return np.full(len(listing), -1, dtype=np.int64)
    ids = np.fromiter(seller_of.keys(), dtype=np.int64, count=len(seller_of))
    lookup = np.full(max(int(ids.max()), int(listing.max())) + 1, -1, dtype=np.int64)
    lookup[ids] = np.fromiter(seller_of.values(), dtype=np.int64, count=len(seller_of))
    return lookup[listing]


def _near_groups(phash: np.ndarray, dhash: np.ndarray, has_dhash: np.ndarray, seller: np.ndarray,
                 centres: np.ndarray | None = None,
                 component: np.ndarray | None = None) -> list[tuple[int, set[int]]]:
    """(earliest photo, its sellers) of every near group taken, that is whose earliest photo is the photo itself and
    whose sellers are 2 to MAX_SHARERS; photos are positions in the arrays, which are in reading order.
    `component`, when given, receives for each photo the earliest photo of all it is near, directly or through
    others (matching.network_index keeps it, so an update finds a photo's neighbours without a search)."""
    n = len(phash)
    # Distinct (pHash, dHash) points; the sort is stable, so each point's first photo is its earliest.
    order = np.lexsort((dhash, phash))
    p, d = phash[order], dhash[order]
    starts = np.concatenate(([True], (p[1:] != p[:-1]) | (d[1:] != d[:-1])))
    point = np.empty(n, dtype=np.int64)
    point[order] = np.cumsum(starts) - 1
    first = order[starts]
    points = len(first)
    # Distinct sellers of each point: one for a point of one photo (most), else a run of (point, seller) codes.
    shared = (np.diff(np.append(np.flatnonzero(starts), n)) > 1)[point]
    span = int(seller.max()) + 1
    codes = np.unique(point[shared] * span + seller[shared])
    code_point, code_seller = codes // span, codes % span
    offsets = np.zeros(points + 1, dtype=np.int64)
    np.cumsum(np.bincount(code_point, minlength=points), out=offsets[1:])
    count = np.maximum(np.diff(offsets), 1)

    def sellers_at(u: int) -> set[int]:
        if offsets[u] == offsets[u + 1]:
            return {int(seller[first[u]])}
        return set(code_seller[offsets[u]:offsets[u + 1]].tolist())

    pairs = near_pairs(p[starts], d[starts], NEAR_PHOTO)
    neighbours: dict[int, list[int]] = defaultdict(list)
    earliest_neighbour = np.full(points, n, dtype=np.int64)
    if len(pairs):
        u, v = pairs[:, 0], pairs[:, 1]
        np.minimum.at(earliest_neighbour, u, first[v])
        np.minimum.at(earliest_neighbour, v, first[u])
        for a, b in pairs.tolist():
            neighbours[a].append(b)
            neighbours[b].append(a)
    # A photo with a dHash: its group is its point and the neighbouring points.
    centre = np.ones(n, dtype=bool) if centres is None else centres
    taken = np.flatnonzero(has_dhash[first] & centre[first] & (first < earliest_neighbour)
                           & (count <= MAX_SHARERS) & ((count >= 2) | (earliest_neighbour < n)))
    out: list[tuple[int, set[int]]] = []
    for at in taken.tolist():
        sharers = sellers_at(at)
        for other in neighbours.get(at, ()):
            sharers |= sellers_at(other)
        if 2 <= len(sharers) <= MAX_SHARERS:
            out.append((int(first[at]), sharers))
    # A photo without one: every photo whose pHash is near, whatever its dHash.
    alone = np.flatnonzero(~has_dhash)
    joins = pairs.tolist() if component is not None and len(pairs) else []
    if alone.size:
        index = HashIndex(phash)
        for k in alone.tolist():
            near = index.within(int(phash[k]), NEAR_PHOTO)
            sharers = set(seller[near].tolist())
            if 2 <= len(sharers) <= MAX_SHARERS and int(near.min()) == k and centre[k]:
                out.append((k, sharers))
            if component is not None:
                joins += [(int(point[k]), int(point[j])) for j in near.tolist()]
    if component is not None:
        component[:] = _components(first, joins)[point]
    return out


def _components(first: np.ndarray, joins: list[tuple[int, int]]) -> np.ndarray:
    """For each point, the earliest photo of the points joined to it, directly or not (joins are few)."""
    union = _Union()
    for a, b in joins:
        union.join(a, b)
    earliest = first.copy()
    roots = {point: union.find(point) for point in list(union.parent)}
    smallest: dict[int, int] = {}
    for point, root in roots.items():
        smallest[root] = min(smallest.get(root, int(first[point])), int(first[point]))
    for point, root in roots.items():
        earliest[point] = smallest[root]
    return earliest


def update_clusters(db: Database, ctx: MatchContext) -> NetworkSummary:
    """Recompute the seller networks in full and store what changed, with the network index an incremental update
    (matching.network_update) starts from; returns how many networks and the largest."""
    thresholds = ctx.config.thresholds
    limit = max(thresholds.image_distance, thresholds.image_confirm_distance)
    started = utcnow()
    with db.read() as session:
        # In id order, so "the earliest photo" and the order of the links are the same however they are read.
        sellers: dict[int, tuple[str, dict[str, Any]]] = {}
        for row in session.execute(select(Seller.id, Seller.name, Seller.contact).order_by(Seller.id)):
            sellers[int(row.id)] = (str(row.name), dict(row.contact) if isinstance(row.contact, dict) else {})
        listings = [(lid, sid, title, desc or "") for lid, sid, title, desc in session.execute(
            select(Listing.id, Listing.seller_id, Listing.title, Listing.description).order_by(Listing.id))
            if sid is not None]
        photos = PhotoHashes.from_rows(session.execute(
            select(ListingImage.listing_id, ListingImage.sha256, ListingImage.phash, ListingImage.dhash,
                   ListingImage.id)
            .where(ListingImage.status == ImageStatus.OK).order_by(ListingImage.id)
        ).all())
        confirmed = confirmed_listing_ids(session)
        seller_rows = session.execute(select(Seller.id, Marketplace.name, Seller.name, Seller.external_id)
                                      .join(Marketplace, Marketplace.id == Seller.marketplace_id)).all()
    markets = {sid: market for sid, market, _, _ in seller_rows}
    # Generous on purpose (the confirm distance, tilted views too): a photo that may be the brand's links nobody.
    brand_photo = ctx.index.matches_any(photos.phash, photos.dhash, limit)
    authorised = {sid for sid, market, name, external in seller_rows
                  if authorisation_for(market, name, external, ctx.config.authorised_sellers) is not None}
    details: list[tuple[int, int, int, int]] = []
    components: list[np.ndarray] = []
    links = find_links(sellers, listings, photos, brand_photo, authorised, details=details, components=components)
    groups, union = connect(links)
    findings_of: dict[int, int] = defaultdict(int)
    for listing_id, seller_id, _, _ in listings:
        if listing_id in confirmed:
            findings_of[seller_id] += 1
    seller = _seller_per_photo(photos.listing, {lid: sid for lid, sid, _, _ in listings})
    own = ~np.asarray(brand_photo, dtype=bool) & (seller >= 0)
    image = photos.image if photos.image is not None else np.zeros(len(photos.listing), dtype=np.int64)
    index = NetworkIndex.build(
        photo_rows(image[own], photos.listing[own], seller[own], photos.phash[own], photos.dhash[own],
                   photos.has_dhash[own], [photos.sha256[i] for i in np.flatnonzero(own).tolist()],
                   image[own][components[0]]),
        detail_rows([d for d in details if d[2]]), detail_rows([d for d in details if not d[2]]),
        seller_rows_of({sid: name for sid, (name, _) in sellers.items()}, authorised))
    with db.session() as session:
        store(session, groups, links, union, sellers, markets, findings_of)
        save_index(session, index)
        set_state(session, STATE_INDEX, ctx.fingerprint)
        set_state(session, STATE_CHECKED, started.isoformat())
        set_state(session, STATE_PENDING, "0")
    sizes = [len(ids) for ids in groups.values()]
    return NetworkSummary(len(groups), max(sizes, default=0), sum(sizes))


def connect(links: Iterable[Link]) -> tuple[dict[int, list[int]], _Union]:
    """The networks the links make (root -> sorted seller ids, two or more), and the union that found them."""
    union = _Union()
    for link in links:
        union.join(link.a, link.b)
    members: dict[int, list[int]] = defaultdict(list)
    for seller_id in list(union.parent):
        members[union.find(seller_id)].append(seller_id)
    return {root: sorted(ids) for root, ids in members.items() if len(ids) >= 2}, union


def clustered_sellers(session: Session, among: Collection[int] | None = None) -> dict[int, int]:
    """Seller id -> network id of the sellers in a network (of those `among`, when given)."""
    query = select(Seller.id, Seller.cluster_id).where(Seller.cluster_id.is_not(None))
    if among is None:
        return {int(s): int(c) for s, c in session.execute(query) if c is not None}
    ordered, out = sorted(among), dict[int, int]()
    for start in range(0, len(ordered), _CHUNK):
        chunk = query.where(Seller.id.in_(ordered[start:start + _CHUNK]))
        out.update((int(s), int(c)) for s, c in session.execute(chunk) if c is not None)
    return out


def store(session: Session, groups: dict[int, list[int]], links: list[Link], union: _Union,
          sellers: dict[int, tuple[str, dict[str, Any]]], markets: dict[int, str],
          findings_of: dict[int, int], scope: Collection[int] | None = None) -> None:
    """Write the networks, touching only what changed: networks new, changed or gone, and sellers that moved.
    `scope`: the sellers recomputed (their old networks are replaced, no other is looked at); None for all."""
    links_of: dict[int, list[Link]] = defaultdict(list)
    for link in links:
        links_of[union.find(link.a)].append(link)
    wanted: dict[str, dict[str, Any]] = {}
    members_of: dict[str, list[int]] = {}
    for root, ids in groups.items():
        key = hashlib.sha256(f"seller-network:{ids[0]}".encode()).hexdigest()[:32]
        members_of[key] = ids
        wanted[key] = {
            "size": len(ids),
            "marketplaces": sorted({markets.get(i, "?") for i in ids}),
            "links": [{"a": link.a, "b": link.b, "a_name": sellers[link.a][0], "b_name": sellers[link.b][0],
                       "kind": link.kind, "detail": link.detail} for link in links_of[root][:MAX_LINKS_KEPT]],
            "confirmed_findings": sum(findings_of.get(i, 0) for i in ids),
        }
    now = utcnow()
    clusters = select(SellerCluster.id, SellerCluster.key, SellerCluster.size, SellerCluster.marketplaces,
                      SellerCluster.links, SellerCluster.confirmed_findings)
    current = clustered_sellers(session, scope)
    if scope is None:
        stored = {row.key: row for row in session.execute(clusters)}
    else:
        ids = sorted(set(current.values()))
        stored = {}
        for start in range(0, len(ids), _CHUNK):
            stored.update((row.key, row) for row in session.execute(
                clusters.where(SellerCluster.id.in_(ids[start:start + _CHUNK]))))
    cluster_id = {key: row.id for key, row in stored.items() if key in wanted}
    changed = [{"id": row.id, **wanted[key], "updated_at": now} for key, row in stored.items()
               if key in wanted and any(getattr(row, column) != value for column, value in wanted[key].items())]
    if changed:
        session.execute(update(SellerCluster), changed)
    new = [key for key in wanted if key not in stored]
    if new:
        made = session.scalars(insert(SellerCluster).returning(SellerCluster.id, sort_by_parameter_order=True),
                               [{"key": key, **wanted[key], "updated_at": now} for key in new]).all()
        cluster_id.update(zip(new, made, strict=True))
    target = {seller_id: cluster_id[key] for key, ids in members_of.items() for seller_id in ids}
    moved = [{"id": seller_id, "cluster_id": target.get(seller_id)}
             for seller_id in sorted(current.keys() | target.keys()) if current.get(seller_id) != target.get(seller_id)]
    if moved:
        session.execute(update(Seller), moved)
    # Derived data: a network that no longer holds is recomputed, not kept.
    gone = [row.id for key, row in stored.items() if key not in wanted]
    for start in range(0, len(gone), _CHUNK):
        session.execute(delete(SellerCluster).where(SellerCluster.id.in_(gone[start:start + _CHUNK])))


def network_of(session: Session, seller_id: int) -> dict[str, Any] | None:
    """The network a seller belongs to, with a sentence for the review queue; None when it belongs to none."""
    seller = session.get(Seller, seller_id)
    if seller is None or seller.cluster_id is None:
        return None
    cluster = session.get(SellerCluster, seller.cluster_id)
    if cluster is None:
        return None
    names = list(session.scalars(select(Seller.name).where(Seller.cluster_id == cluster.id).order_by(Seller.id)))
    kinds = sorted({str(link["kind"]) for link in cluster.links})
    ways = {"photo": "shared photos", "contact": "shared contact details", "title": "identical titles",
            "name": "the same shop name"}
    sentence = (f"this seller belongs to a network of {cluster.size} shops on {', '.join(cluster.marketplaces)}, "
                f"linked by {' and '.join(ways[k] for k in kinds)}")
    if cluster.confirmed_findings:
        sentence += f"; reviewers confirmed {cluster.confirmed_findings} findings across the network"
    return {"cluster_id": cluster.id, "size": cluster.size, "sellers": names, "marketplaces": cluster.marketplaces,
            "links": cluster.links, "confirmed_findings": cluster.confirmed_findings, "sentence": sentence}
