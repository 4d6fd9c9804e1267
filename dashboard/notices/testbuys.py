"""Test buys: a purchase made against a listing, what arrived, the code on the unit and what it showed.

Photos of what arrived are untrusted files from someone's phone: they pass core/images.py (format allow-list,
byte and pixel caps before decoding) and are stored re-encoded as JPEG no larger than PHOTO_SIDE, which also drops
their EXIF (a phone photo's GPS position is the buyer's home). The code read from the unit is traced to the
distributor it was shipped to through the configured batch ranges and prefixes (core/batchcodes.py).
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.batchcodes import BatchTrace, trace_batch_code
from core.config import AuthorisedSeller
from core.db import Database
from core.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageRejected, decode
from core.models import AuditLog, Finding, Listing, Marketplace, TestBuy, TestBuyPhoto, TestBuyResult
from core.money import CURRENCY_CODES
from core.scope import BrandScope, owning_brand
from core.text import NAME_MAX, clean_line, clean_text
from dashboard.i18n import DEFAULT_LANGUAGE, translate
from dashboard.notices.model import TestBuyFacts

MAX_PHOTOS = 12
PHOTO_SIDE = 1600
PHOTO_QUALITY = 85
ORDER_MAX = 100
CODE_MAX = 100
NOTE_MAX = 4000
PRICE_MAX = Decimal("1e12")
IN_BATCH = 500


@dataclass(frozen=True)
class Problem:
    """One reason a test buy cannot be recorded: a message (dashboard.i18n) and its values, worded in the reader's
    language. `labels` are values that are message keys themselves, worded the same way."""

    key: str
    values: dict[str, object] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def text(self, language: str = DEFAULT_LANGUAGE) -> str:
        worded = {name: translate(label, language) for name, label in self.labels.items()}
        return translate(f"testbuys.problem.{self.key}", language, **self.values, **worded)


class TestBuyError(ValueError):
    """A test buy that cannot be recorded, with every problem named; nothing is stored. `problems` are in
    English (the command line, logs); `in_language` words them for a dashboard user."""

    __test__ = False

    def __init__(self, problems: Sequence[Problem]):
        self.reasons = list(problems)
        self.problems = [problem.text() for problem in self.reasons]
        super().__init__("; ".join(self.problems))

    def in_language(self, language: str) -> list[str]:
        return [problem.text(language) for problem in self.reasons]


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    original_sha256: str
    media_type: str
    width: int
    height: int
    content: bytes


@dataclass(frozen=True)
class TestBuyEntry:
    """What a person enters for a test buy."""

    __test__ = False

    listing_id: int
    order_number: str
    ordered_on: date
    price_paid: Decimal | str
    currency: str
    result: TestBuyResult | str = TestBuyResult.PENDING
    code_read: str | None = None
    note: str | None = None
    photos: Sequence[bytes] = field(default_factory=tuple)


@dataclass(frozen=True)
class RecordedTestBuy:
    id: int
    trace: BatchTrace
    photos: int


@dataclass(frozen=True)
class TestBuyRow:
    __test__ = False

    id: int
    listing_id: int
    marketplace: str
    external_id: str
    title: str
    order_number: str
    ordered_on: date
    price_paid: Decimal
    currency: str
    result: TestBuyResult
    code_read: str | None
    distributor: str | None
    photos: int
    recorded_by: str
    created_at: datetime


@dataclass(frozen=True)
class ListingRef:
    listing_id: int
    finding_id: int
    marketplace: str
    external_id: str
    title: str
    url: str  # text only, never fetched


def prepare_photo(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> StoredPhoto:
    """Decode an uploaded photo safely and re-encode it for storage. Raises ImageRejected with the reason."""
    image, _ = decode(data, PHOTO_SIDE, max_bytes=max_bytes, max_pixels=max_pixels)
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=PHOTO_QUALITY)
    content = out.getvalue()
    return StoredPhoto(
        sha256=hashlib.sha256(content).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(),
        media_type="image/jpeg",
        width=image.width,
        height=image.height,
        content=content,
    )


def _price(value: Decimal | str) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and Decimal(0) < amount < PRICE_MAX else None


def trace_text(trace: BatchTrace, language: str = DEFAULT_LANGUAGE) -> str:
    """Where a code leads, worded in the reader's language (BatchTrace.describe gives the English)."""
    case, values = trace.sentence()
    regions = translate("trace.regions", language, **values) if trace.regions else ""
    return translate(f"trace.{case}", language, **{**values, "regions": regions})


def record_test_buy(
    db: Database,
    entry: TestBuyEntry,
    *,
    actor: str,
    authorised_sellers: Sequence[AuthorisedSeller] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> RecordedTestBuy:
    """Store a test buy with its photos and the distributor its code traces to, audited, in one transaction."""
    who = clean_line(actor, NAME_MAX)
    order = clean_line(entry.order_number, ORDER_MAX)
    currency = clean_line(entry.currency, 3).upper()
    amount = _price(entry.price_paid)
    code = clean_line(entry.code_read or "", CODE_MAX) or None
    note = clean_text(entry.note or "", NOTE_MAX) or None
    problems: list[Problem] = []
    if not who:
        problems.append(Problem("no_actor"))
    if not order:
        problems.append(Problem("no_order"))
    if entry.ordered_on > datetime.now(UTC).date() + timedelta(days=1):
        problems.append(Problem("future_date", {"date": entry.ordered_on.isoformat()}))
    if amount is None:
        problems.append(Problem("bad_price", {"given": clean_line(entry.price_paid, 40)}))
    if currency not in CURRENCY_CODES:
        problems.append(Problem("bad_currency", {"given": currency}))
    try:
        result = TestBuyResult(entry.result)
    except ValueError:
        result = TestBuyResult.PENDING
        problems.append(Problem("bad_result", {"given": clean_line(entry.result, 40),
                                               "choices": ", ".join(r.value for r in TestBuyResult)}))
    if len(entry.photos) > MAX_PHOTOS:
        problems.append(Problem("too_many_photos", {"count": len(entry.photos), "max": MAX_PHOTOS}))
    photos: list[StoredPhoto] = []
    for n, data in enumerate(entry.photos[:MAX_PHOTOS], start=1):
        try:
            photos.append(prepare_photo(data, max_bytes=max_bytes, max_pixels=max_pixels))
        except ImageRejected as exc:
            problems.append(Problem("photo", {"n": n, "reason": exc.reason}, {"why": f"image.{exc.status.value}"}))
    trace = trace_batch_code(code, authorised_sellers)
    with db.session() as session:
        if db.scope.get(session, Listing, entry.listing_id) is None:  # another brand's listing is unknown here
            problems.append(Problem("no_listing", {"id": entry.listing_id}))
        if problems:
            raise TestBuyError(problems)
        assert amount is not None
        brand = owning_brand(session, db.scope, entry.listing_id)
        buy = TestBuy(
            **({"brand_id": brand} if brand is not None else {}), listing_id=entry.listing_id, order_number=order,
            ordered_on=entry.ordered_on, price_paid=amount,
            currency=currency, code_read=trace.code or None, distributor=trace.distributor, result=result, note=note,
            recorded_by=who,
        )
        session.add(buy)
        session.flush()
        for position, photo in enumerate(photos):
            session.add(
                TestBuyPhoto(
                    test_buy_id=buy.id, position=position, sha256=photo.sha256, original_sha256=photo.original_sha256,
                    media_type=photo.media_type, width=photo.width, height=photo.height, content=photo.content,
                )
            )
        session.add(
            AuditLog(
                brand_id=buy.brand_id, actor=who, action="testbuy.record", object_type="test_buy",
                object_id=str(buy.id),
                detail={"listing_id": entry.listing_id, "order_number": order, "result": result.value,
                        "code": trace.code or None, "distributor": trace.distributor, "photos": len(photos)},
            )
        )
        return RecordedTestBuy(id=buy.id, trace=trace, photos=len(photos))


def set_result(db: Database, test_buy_id: int, result: TestBuyResult | str, *, actor: str,
               note: str | None = None) -> None:
    """Record what examining the unit showed (test buys are often entered before the parcel arrives)."""
    who = clean_line(actor, NAME_MAX)
    if not who:
        raise TestBuyError([Problem("no_actor")])
    result = TestBuyResult(result)
    with db.session() as session:
        buy = db.scope.get(session, TestBuy, test_buy_id)
        if buy is None:
            raise TestBuyError([Problem("no_test_buy", {"id": test_buy_id})])
        before = TestBuyResult(buy.result)
        buy.result = result
        extra = clean_text(note or "", NOTE_MAX)
        if extra:
            buy.note = f"{buy.note}\n{extra}" if buy.note else extra
        session.add(
            AuditLog(brand_id=buy.brand_id, actor=who, action="testbuy.result", object_type="test_buy",
                     object_id=str(test_buy_id),
                     detail={"from": before.value, "to": result.value, "note": extra or None})
        )


def facts_for(session: Session, scope: BrandScope, listing_ids: Iterable[int], *,
              with_photos: bool) -> dict[int, list[TestBuyFacts]]:
    """The scope's test buys of these listings, oldest first; photo bytes only when asked for."""
    ids = sorted(set(listing_ids))
    if not ids:
        return {}
    buys: list[TestBuy] = []
    for start in range(0, len(ids), IN_BATCH):  # SQLite caps the bound parameters of one statement
        batch = ids[start : start + IN_BATCH]
        buys += session.scalars(scope.select(TestBuy).where(TestBuy.listing_id.in_(batch)).order_by(TestBuy.id))
    buys.sort(key=lambda b: b.id)
    photos: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
    buy_ids = [b.id for b in buys] if with_photos else []
    for start in range(0, len(buy_ids), IN_BATCH):
        rows = session.execute(
            select(TestBuyPhoto.test_buy_id, TestBuyPhoto.sha256, TestBuyPhoto.content)
            .where(TestBuyPhoto.test_buy_id.in_(buy_ids[start : start + IN_BATCH]))
            .order_by(TestBuyPhoto.test_buy_id, TestBuyPhoto.position)
        )
        for buy_id, sha, content in rows:
            photos[buy_id].append((sha, content))
    out: dict[int, list[TestBuyFacts]] = defaultdict(list)
    for buy in buys:
        out[buy.listing_id].append(
            TestBuyFacts(
                id=buy.id, listing_id=buy.listing_id, order_number=buy.order_number, ordered_on=buy.ordered_on,
                price_paid=buy.price_paid, currency=buy.currency, result=TestBuyResult(buy.result),
                code_read=buy.code_read, distributor=buy.distributor, note=buy.note, recorded_by=buy.recorded_by,
                photos=tuple(c for _, c in photos.get(buy.id, [])),
                photo_sha256=tuple(s for s, _ in photos.get(buy.id, [])),
            )
        )
    return dict(out)


def recent(db: Database, limit: int = 200) -> list[TestBuyRow]:
    """The newest test buys first."""
    counts = (
        select(TestBuyPhoto.test_buy_id, func.count().label("n")).group_by(TestBuyPhoto.test_buy_id).subquery()
    )
    stmt = (
        select(TestBuy, Marketplace.name, Listing.external_id, Listing.title, counts.c.n)
        .join(Listing, Listing.id == TestBuy.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(counts, counts.c.test_buy_id == TestBuy.id)
        .where(db.scope.clause(TestBuy))
        .order_by(TestBuy.id.desc())
        .limit(max(1, min(int(limit), 2000)))
    )
    with db.read() as session:
        rows: Sequence[Any] = session.execute(stmt).all()
    return [_row(*row) for row in rows]


def _row(b: TestBuy, market: str, external_id: str, title: str, photos: int | None) -> TestBuyRow:
    return TestBuyRow(
        id=b.id, listing_id=b.listing_id, marketplace=market, external_id=external_id, title=title,
        order_number=b.order_number, ordered_on=b.ordered_on, price_paid=b.price_paid, currency=b.currency,
        result=TestBuyResult(b.result), code_read=b.code_read, distributor=b.distributor, photos=int(photos or 0),
        recorded_by=b.recorded_by,
        created_at=b.created_at.replace(tzinfo=UTC) if b.created_at.tzinfo is None else b.created_at,
    )


def photos_of(db: Database, test_buy_id: int) -> list[bytes]:
    """The stored (re-encoded) photo bytes of one test buy."""
    with db.read() as session:
        return list(
            session.scalars(
                select(TestBuyPhoto.content)
                .where(TestBuyPhoto.test_buy_id == test_buy_id,
                       TestBuyPhoto.test_buy_id.in_(db.scope.select(TestBuy, TestBuy.id)))
                .order_by(TestBuyPhoto.position)
            )
        )


def listing_of_finding(db: Database, finding_id: int) -> ListingRef | None:
    """The listing a finding is about, to attach a test buy to it."""
    with db.read() as session:
        row = session.execute(
            select(Finding.id, Listing.id, Marketplace.name, Listing.external_id, Listing.title, Listing.url)
            .join(Listing, Listing.id == Finding.listing_id)
            .join(Marketplace, Marketplace.id == Listing.marketplace_id)
            .where(Finding.id == finding_id, db.scope.clause(Finding))
        ).first()
    if row is None:
        return None
    return ListingRef(finding_id=row[0], listing_id=row[1], marketplace=row[2], external_id=row[3], title=row[4],
                      url=row[5])
