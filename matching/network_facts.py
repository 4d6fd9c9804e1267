"""What matching knows about each seller's network of shops before it judges: the networks matching.clusters
stored, and which of their shops were found selling copies (for the network signal, matching.signals.network).
The network a seller is judged with is the shops tied to it by shared own photos and shared contact details
(OPERATOR_TIES), directly or through one another, among the links each stored network keeps.

A shop counts as selling copies when one of its listings has a counterfeit finding that reviewers confirmed (the
latest review decides), or one awaiting review (no review yet, or escalated) that scores at least min_score on
its own evidence. A finding flagged only because of the network (its network signal's `without_network` verdict
is no counterfeit at min_score) does not count: two shops tied to each other would otherwise keep each other
flagged after the evidence that started it is gone. A dismissed finding never counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Finding, Listing, Marketplace, ReviewDecision, Seller, SellerCluster, Verdict
from core.reviews import latest_decisions_by_listing
from matching.facts import LinkedShop, NetworkFacts

MAX_TIES = 3
# Ties that show one operator behind several shops: its own photos and its contact details. The same shop name or
# the same titles also make a network (matching.clusters), but they tie a business to its own shop on another
# marketplace, or resellers that copy one catalogue: on their own they say nothing about copies.
OPERATOR_TIES = frozenset({"photo", "contact"})
_CHUNK = 500


@dataclass(frozen=True)
class NetworkIndex:
    """Network facts per seller id, for the sellers that belong to a network."""

    facts: Mapping[int, NetworkFacts] = field(default_factory=dict)

    def facts_for(self, seller_id: int | None) -> NetworkFacts | None:
        return self.facts.get(seller_id) if seller_id is not None else None


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def stands_alone(score: float, signals: Mapping[str, Any] | None, min_score: float) -> bool:
    """Whether a counterfeit finding scoring `score` is flagged on its own evidence, not on its network's."""
    network = (signals or {}).get("network") or {}
    without = (network.get("evidence") or {}).get("without_network") if isinstance(network, dict) else None
    if isinstance(without, dict):
        return without.get("verdict") == Verdict.COUNTERFEIT.value and float(without.get("score", 0)) >= min_score
    return score >= min_score


def _counterfeit_counts(session: Session, seller_ids: Sequence[int], min_score: float) -> dict[int, tuple[int, int]]:
    """For each seller: (confirmed, flagged) counterfeit findings on its listings."""
    rows: list[Any] = []
    for chunk in _chunks(seller_ids):
        rows += session.execute(
            select(Listing.id, Listing.seller_id, Finding.score, Finding.signals)
            .join(Finding, Finding.listing_id == Listing.id)
            .where(Listing.seller_id.in_(chunk), Finding.verdict == Verdict.COUNTERFEIT)
        ).all()
    decisions = latest_decisions_by_listing(session, [row[0] for row in rows])
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for listing_id, seller_id, score, signals in rows:
        decision = decisions.get(listing_id)
        if decision == ReviewDecision.CONFIRMED:
            counts[seller_id][0] += 1
        elif decision != ReviewDecision.DISMISSED and stands_alone(score, signals, min_score):
            counts[seller_id][1] += 1
    return {seller_id: (c[0], c[1]) for seller_id, c in counts.items()}


def load_network_index(session: Session, min_score: float) -> NetworkIndex:
    sellers = session.execute(
        select(Seller.id, Seller.name, Seller.cluster_id, Marketplace.name.label("marketplace"))
        .join(Marketplace, Marketplace.id == Seller.marketplace_id)
        .where(Seller.cluster_id.is_not(None)).order_by(Seller.id)
    ).all()
    if not sellers:
        return NetworkIndex()
    clusters = {row.id: row for row in session.execute(
        select(SellerCluster.id, SellerCluster.links)
        .where(SellerCluster.id.in_({s.cluster_id for s in sellers})))}
    counts = _counterfeit_counts(session, [s.id for s in sellers], min_score)
    by_id = {s.id: s for s in sellers}
    facts: dict[int, NetworkFacts] = {}
    for cluster in clusters.values():
        links = [link for link in cluster.links if link.get("kind") in OPERATOR_TIES
                 and link.get("a") in by_id and link.get("b") in by_id]
        for group in _groups(links):
            shops = [by_id[i] for i in group]
            markets = tuple(sorted({str(s.marketplace) for s in shops}))
            for seller in shops:
                others = [m for m in shops if m.id != seller.id and sum(counts.get(m.id, (0, 0)))]
                others.sort(key=lambda m: (-counts[m.id][0], -counts[m.id][1], m.name, m.id))
                facts[seller.id] = NetworkFacts(
                    size=len(shops), marketplaces=markets, ties=_ties(seller.id, links),
                    counterfeit_shops=tuple(LinkedShop(m.name, m.marketplace, *counts[m.id]) for m in others))
    return NetworkIndex(facts)


def _groups(links: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """The sellers the links tie together, group by group (connected components), each sorted."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in links:
        a, b = root(int(link["a"])), root(int(link["b"]))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for seller_id in parent:
        groups[root(seller_id)].append(seller_id)
    return [sorted(ids) for _, ids in sorted(groups.items())]


def _ties(seller_id: int, links: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """How the seller is tied into its network, in words: 'shares the same wechat mei2688 with 美美小店'."""
    said: dict[tuple[Any, Any], str] = {}  # one tie per other shop and kind: the same photo, not also a near one
    for link in links:
        if seller_id not in (link.get("a"), link.get("b")):
            continue
        other = link.get("b_name") if link.get("a") == seller_id else link.get("a_name")
        said.setdefault((other, link.get("kind")), f"shares {link.get('detail')} with {other}")
    ties = list(dict.fromkeys(said.values()))
    if not ties:
        return ("tied in through other shops of the network",)
    return tuple(ties[:MAX_TIES]) + ((f"{len(ties) - MAX_TIES} more ties",) if len(ties) > MAX_TIES else ())
