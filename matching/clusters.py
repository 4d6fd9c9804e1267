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
The networks are recomputed after each matching run; `network_of` gives the dashboard "a network of 7 shops".
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import Database
from core.models import ImageStatus, Listing, ListingImage, Marketplace, Seller, SellerCluster, utcnow
from core.text import fold_for_match
from matching.contacts import contacts_in_text, contacts_of_seller
from matching.context import MatchContext
from matching.index import HashIndex
from matching.past import confirmed_listing_ids
from matching.references import hash_int
from matching.signals.seller import authorisation_for

NEAR_PHOTO = 4
MIN_TITLE = 12
MIN_SHARED_TITLES = 2
MAX_SHARERS = 20
MAX_LINKS_KEPT = 60


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


def title_key(title: str) -> str:
    """A title folded for comparison: case, width, spaces, punctuation and digits away."""
    folded = fold_for_match(title)
    return re.sub(r"[\W\d_]+", "", folded)


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


def find_links(sellers: dict[int, tuple[str, dict[str, Any]]], listings: list[tuple[int, int, str, str]],
               photos: list[tuple[int, str | None, int, int | None]], brand_photo: set[int],
               authorised: Collection[int] = ()) -> list[Link]:
    """Links between sellers. `sellers`: id -> (name, contact); `listings`: (listing id, seller id, title,
    description); `photos`: (listing id, sha256, phash, dhash); `brand_photo`: indexes into `photos` to ignore;
    `authorised`: sellers with a contract, whose catalogue titles everyone copies (not linked by titles)."""
    seller_of = {listing_id: seller_id for listing_id, seller_id, _, _ in listings}
    links: list[Link] = []
    by_contact: dict[tuple[str, str], set[int]] = defaultdict(set)
    for seller_id, (_, contact) in sellers.items():
        for detail in contacts_of_seller(contact):
            by_contact[detail].add(seller_id)
    by_title: dict[str, set[int]] = defaultdict(set)
    for _, seller_id, title, description in listings:
        for detail in contacts_in_text(f"{title}\n{description}"):
            by_contact[detail].add(seller_id)
        key = title_key(title)
        if len(key) >= MIN_TITLE and seller_id not in authorised:
            by_title[key].add(seller_id)
    by_name: dict[str, set[int]] = defaultdict(set)
    for seller_id, (name, _) in sellers.items():
        if len(title_key(name)) >= 4:
            by_name[title_key(name)].add(seller_id)
    for (kind, value), sharers in by_contact.items():
        if 2 <= len(sharers) <= MAX_SHARERS:
            links += [Link(a, b, "contact", f"the same {kind} {value}") for a, b in _pairs(sharers)]
    for key, sharers in by_name.items():
        if 2 <= len(sharers) <= MAX_SHARERS:
            links += [Link(a, b, "name", f"the same shop name ('{key[:40]}')") for a, b in _pairs(sharers)]
    # Resellers copy one another's titles all the time; two titles copied between the same two shops is a pattern.
    shared_titles: dict[tuple[int, int], list[str]] = defaultdict(list)
    for key, sharers in by_title.items():
        if 2 <= len(sharers) <= MAX_SHARERS:
            ordered = sorted(sharers)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    shared_titles[(a, b)].append(key)
    for (a, b), keys in sorted(shared_titles.items()):
        if len(keys) >= MIN_SHARED_TITLES:
            shown = ", ".join(f"'{k[:30]}'" for k in keys[:2])
            links.append(Link(a, b, "title", f"{len(keys)} identical titles ({shown})"))
    links += _photo_links(photos, brand_photo, seller_of)
    return links


def _photo_links(photos: list[tuple[int, str | None, int, int | None]], brand_photo: set[int],
                 seller_of: dict[int, int]) -> list[Link]:
    own = [(i, p) for i, p in enumerate(photos) if i not in brand_photo and p[0] in seller_of]
    if not own:
        return []
    links: list[Link] = []
    by_sha: dict[str, set[int]] = defaultdict(set)
    for _, (listing_id, sha, _, _) in own:
        if sha:
            by_sha[sha].add(seller_of[listing_id])
    for sha, sharers in by_sha.items():
        if 2 <= len(sharers) <= MAX_SHARERS:
            links += [Link(a, b, "photo", f"the same photo (SHA-256 {sha[:12]}…)") for a, b in _pairs(sharers)]
    phashes = np.array([p[2] for _, p in own], dtype=np.uint64)
    dhashes = np.array([p[3] if p[3] is not None else 0 for _, p in own], dtype=np.uint64)
    index = HashIndex(phashes)
    for k, (_, (_, _, phash, dhash)) in enumerate(own):
        near = index.within(phash, NEAR_PHOTO)
        if dhash is not None and near.size:
            near = near[np.bitwise_count(dhashes[near] ^ np.uint64(dhash)) <= NEAR_PHOTO]
        sharers = {seller_of[own[int(j)][1][0]] for j in near.tolist()}
        if 2 <= len(sharers) <= MAX_SHARERS and int(near.min()) == k:  # each group once, from its first photo
            links += [Link(a, b, "photo", f"near-identical photos (within {NEAR_PHOTO} bits)")
                      for a, b in _pairs(sharers)]
    return links


def update_clusters(db: Database, ctx: MatchContext) -> NetworkSummary:
    """Recompute the seller networks and store them; returns how many and the largest."""
    thresholds = ctx.config.thresholds
    limit = max(thresholds.image_distance, thresholds.image_confirm_distance)
    with db.read() as session:
        sellers: dict[int, tuple[str, dict[str, Any]]] = {}
        for row in session.execute(select(Seller.id, Seller.name, Seller.contact)):
            sellers[int(row.id)] = (str(row.name), dict(row.contact) if isinstance(row.contact, dict) else {})
        listings = [(lid, sid, title, desc or "") for lid, sid, title, desc in session.execute(
            select(Listing.id, Listing.seller_id, Listing.title, Listing.description)) if sid is not None]
        photos: list[tuple[int, str | None, int, int | None]] = []
        for listing_id, sha, phash, dhash in session.execute(
            select(ListingImage.listing_id, ListingImage.sha256, ListingImage.phash, ListingImage.dhash)
            .where(ListingImage.status == ImageStatus.OK)
        ):
            p = hash_int(phash)
            if p is not None:
                photos.append((listing_id, sha, p, hash_int(dhash)))
        markets = dict(session.execute(select(Seller.id, Marketplace.name)
                                       .join(Marketplace, Marketplace.id == Seller.marketplace_id)).all())
        confirmed = confirmed_listing_ids(session)
        seller_rows = session.execute(select(Seller.id, Marketplace.name, Seller.name, Seller.external_id)
                                      .join(Marketplace, Marketplace.id == Seller.marketplace_id)).all()
    # Generous on purpose (the confirm distance, tilted views too): a photo that may be the brand's links nobody.
    brand = ctx.index.matches_any(np.array([p[2] for p in photos], dtype=np.uint64),
                                  np.array([p[3] or 0 for p in photos], dtype=np.uint64), limit)
    brand_photo = set(np.flatnonzero(brand).tolist())
    authorised = {sid for sid, market, name, external in seller_rows
                  if authorisation_for(market, name, external, ctx.config.authorised_sellers) is not None}
    links = find_links(sellers, listings, photos, brand_photo, authorised)
    union = _Union()
    for link in links:
        union.join(link.a, link.b)
    members: dict[int, list[int]] = defaultdict(list)
    for seller_id in list(union.parent):
        members[union.find(seller_id)].append(seller_id)
    groups = {root: sorted(ids) for root, ids in members.items() if len(ids) >= 2}
    findings_of: dict[int, int] = defaultdict(int)
    for listing_id, seller_id, _, _ in listings:
        if listing_id in confirmed:
            findings_of[seller_id] += 1
    with db.session() as session:
        _store(session, groups, links, union, sellers, markets, findings_of)
    sizes = [len(ids) for ids in groups.values()]
    return NetworkSummary(len(groups), max(sizes, default=0), sum(sizes))


def _store(session: Session, groups: dict[int, list[int]], links: list[Link], union: _Union,
           sellers: dict[int, tuple[str, dict[str, Any]]], markets: dict[int, str],
           findings_of: dict[int, int]) -> None:
    session.execute(update(Seller).values(cluster_id=None))
    existing = {c.key: c for c in session.scalars(select(SellerCluster))}
    links_of: dict[int, list[Link]] = defaultdict(list)
    for link in links:
        links_of[union.find(link.a)].append(link)
    kept: set[str] = set()
    for root, ids in groups.items():
        key = hashlib.sha256(f"seller-network:{ids[0]}".encode()).hexdigest()[:32]
        kept.add(key)
        cluster = existing.get(key) or SellerCluster(key=key)
        cluster.size = len(ids)
        cluster.marketplaces = sorted({markets.get(i, "?") for i in ids})
        cluster.links = [{"a": link.a, "b": link.b, "a_name": sellers[link.a][0], "b_name": sellers[link.b][0],
                          "kind": link.kind, "detail": link.detail} for link in links_of[root][:MAX_LINKS_KEPT]]
        cluster.confirmed_findings = sum(findings_of.get(i, 0) for i in ids)
        cluster.updated_at = utcnow()
        session.add(cluster)
        session.flush()
        session.execute(update(Seller).where(Seller.id.in_(ids)).values(cluster_id=cluster.id))
    for key, cluster in existing.items():
        if key not in kept:
            session.delete(cluster)  # derived data: a network that no longer holds is recomputed, not kept


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
