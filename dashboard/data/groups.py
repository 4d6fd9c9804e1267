"""Groups of findings an analyst decides at once: one seller's, one network's, one product's, or the queue's filter.

A group is the unreviewed suspect findings it holds, read when the analyst asks (the confirmation states that
count) and decided exactly as read: a finding that joins the group between the question and the answer is not
decided unseen, and one reviewed meanwhile by a colleague is skipped by `reviews.review`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select

from core.db import Database
from core.models import Finding, Listing, Seller
from core.scope import BrandScope
from dashboard.data.queue import QueueFilters, QueueRow, queue_where

GROUP_MAX_READ = 1_000_000  # findings one group decision can hold at most (its ids are kept in the session)


class GroupKind(enum.StrEnum):
    SELLER = "seller"
    NETWORK = "network"
    PRODUCT = "product"
    FILTER = "filter"


@dataclass(frozen=True)
class Group:
    """One group: its kind and the id it is keyed on (the seller, network or product; none for the filter)."""

    kind: GroupKind
    key: int | None = None
    filters: QueueFilters | None = None  # for GroupKind.FILTER

    def audit(self, shown: int) -> dict[str, Any]:
        """What each finding's audit row says about the group decision it was part of."""
        return {"kind": self.kind.value, "id": self.key, "count": shown}


def groups_of(row: QueueRow, filters: QueueFilters) -> list[Group]:
    """The groups a queue row belongs to, in the order the desk offers them (a row without a seller, network or
    product has no such group); the filter's group is always last."""
    groups = []
    if row.seller_id is not None:
        groups.append(Group(GroupKind.SELLER, row.seller_id))
    if row.cluster_id is not None:
        groups.append(Group(GroupKind.NETWORK, row.cluster_id))
    if row.product_id is not None:
        groups.append(Group(GroupKind.PRODUCT, row.product_id))
    groups.append(Group(GroupKind.FILTER, None, filters))
    return groups


def _group_where(scope: BrandScope, group: Group) -> list[ColumnElement[bool]]:
    if group.kind is GroupKind.FILTER:
        return queue_where(scope, group.filters or QueueFilters())
    where = queue_where(scope, QueueFilters())  # the brand's unreviewed suspects, whatever the filters
    if group.kind is GroupKind.SELLER:
        where.append(Listing.seller_id == group.key)
    elif group.kind is GroupKind.NETWORK:
        where.append(Listing.seller_id.in_(select(Seller.id).where(Seller.cluster_id == group.key)))
    else:
        where.append(Finding.product_id == group.key)
    return where


def group_finding_ids(db: Database, group: Group) -> list[int]:
    """The ids of the unreviewed suspect findings in a group, highest score first (at most GROUP_MAX_READ)."""
    stmt = (select(Finding.id).join(Listing, Listing.id == Finding.listing_id).where(*_group_where(db.scope, group))
            .order_by(Finding.score.desc(), Finding.id).limit(GROUP_MAX_READ))
    with db.read() as session:
        return list(session.scalars(stmt))
