"""Seller personal data (PIPL / GDPR): contact details are kept only as long as they are needed.

What counts as a seller's contact details here: `Seller.contact` (phone, email, address, business licence as a
marketplace shows them) and the location as written (`Seller.location_text`, `Listing.location_text`), which can
be a street address. The ISO 3166 codes derived from them stay: they are what diversion findings rest on and name
no one. Shop names and ids stay too: a notice has to say which shop it is about.

`purge_seller_contacts` removes those details from sellers not seen for the retention period, except sellers a
notice still open (drafted or filed) is about: that is the legal claim the data is kept for. Exports that do not
need the details leave them out (`Privacy.redact_exports`); see `redact`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, select, update

from core.db import Database
from core.models import AuditLog, Listing, Notice, NoticeListing, NoticeStatus, Seller

REDACTED = "[redacted]"
OPEN_NOTICE_STATUSES = (NoticeStatus.DRAFTED, NoticeStatus.FILED)
_CHUNK = 500

T = TypeVar("T")


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    sellers: int  # sellers whose contact details were removed
    listings: int  # listings whose location as written was removed
    held: int  # stale sellers kept because an open notice is about one of their listings


def redact(value: str | None, enabled: bool) -> str | None:
    """The value, or REDACTED when redaction is on and there is something to hide."""
    if not enabled or not value:
        return value
    return REDACTED


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rowcount(result: Any) -> int:
    return int(result.rowcount)  # a CursorResult for UPDATE statements


def purge_seller_contacts(
    db: Database, retention_days: int, *, actor: str, now: datetime | None = None
) -> PurgeResult:
    """Remove contact details of sellers last seen more than `retention_days` ago, in one audited transaction."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1; set privacy.seller_contact_retention_days")
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    open_listings = (
        select(NoticeListing.listing_id)
        .join(Notice, Notice.id == NoticeListing.notice_id)
        .where(Notice.status.in_(OPEN_NOTICE_STATUSES))
    )
    held_sellers = select(Listing.seller_id).where(Listing.id.in_(open_listings), Listing.seller_id.is_not(None))
    with db.session() as session:
        stale = select(Seller.id).where(Seller.last_seen < cutoff)
        held = len(session.scalars(stale.where(Seller.id.in_(held_sellers))).all())
        ids = list(session.scalars(stale.where(Seller.id.not_in(held_sellers)).order_by(Seller.id)))
        sellers = listings = 0
        for chunk in _chunks(ids):
            sellers += _rowcount(session.execute(
                update(Seller)
                .where(
                    Seller.id.in_(chunk),
                    or_(Seller.location_text.is_not(None), Seller.contact_purged_at.is_(None)),
                )
                .values(contact={}, location_text=None, contact_purged_at=now)
                .execution_options(synchronize_session=False)
            ))
            listings += _rowcount(session.execute(
                update(Listing)
                .where(Listing.seller_id.in_(chunk), Listing.location_text.is_not(None))
                .values(location_text=None)
                .execution_options(synchronize_session=False)
            ))
        session.add(
            AuditLog(
                actor=actor,
                action="privacy.purge",
                object_type="seller",
                object_id="*",
                detail={
                    "retention_days": retention_days,
                    "cutoff": cutoff.isoformat(),
                    "sellers": sellers,
                    "listings": listings,
                    "held": held,
                },
            )
        )
    return PurgeResult(cutoff=cutoff, sellers=sellers, listings=listings, held=held)
