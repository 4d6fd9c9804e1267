"""The data model (SQLAlchemy 2.0). Money is Decimal + ISO 4217; hashes are fixed-width hex; regions ISO 3166."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names are explicit so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(18, 4)
HASH_HEX = 16  # 64-bit perceptual hashes as 16 hex digits


def utcnow() -> datetime:
    return datetime.now(UTC)


def _first_brand() -> Any:
    # The brand a row written without one belongs to: the install's first brand, which is the brand of a
    # single-brand install. Every writer that knows its brand (matching, notices, test buys) says it.
    return select(func.min(Brand.id)).scalar_subquery()


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime: every stored time is UTC, and SQLite hands them back naive."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Verdict(enum.StrEnum):
    COUNTERFEIT = "counterfeit"
    DIVERSION = "diversion"
    PRICE_FLOOR_BREACH = "price_floor_breach"
    OK = "ok"
    UNRELATED = "unrelated"


SUSPECT_VERDICTS = frozenset({Verdict.COUNTERFEIT, Verdict.DIVERSION, Verdict.PRICE_FLOOR_BREACH})


class ReviewDecision(enum.StrEnum):
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"


class NoticeStatus(enum.StrEnum):
    DRAFTED = "drafted"
    FILED = "filed"
    REMOVED = "removed"
    REJECTED = "rejected"


class TestBuyResult(enum.StrEnum):
    """What a test buy showed once the unit arrived and was examined."""

    __test__ = False  # not a pytest test class, despite the name

    PENDING = "pending"  # ordered, not yet examined
    GENUINE = "genuine"
    COUNTERFEIT = "counterfeit"
    INCONCLUSIVE = "inconclusive"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    # The marketplace refused us (a captcha, a sign-in wall, pages emptied of results): never complete, so no
    # listing is marked gone because of it. Stored as a string like the others (no schema change).
    BLOCKED = "blocked"


class ImageStatus(enum.StrEnum):
    PENDING = "pending"
    OK = "ok"
    BLANK = "blank"
    BLOCKED = "blocked"
    CORRUPT = "corrupt"
    NOT_IMAGE = "not_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_LARGE = "too_large"
    FETCH_FAILED = "fetch_failed"


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings so adding a value never needs a database enum migration.
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Brand(Base):
    """A brand of the install. Several brands share one database (an agency's workspaces, core/scope.py): every
    brand-owned row says its brand; listings, sellers and evidence are stored once and reached through it."""

    __tablename__ = "brand"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    products: Mapped[list[Product]] = relationship(back_populates="brand")


class BrandListing(Base):
    """A listing one brand's crawls saw, and the version of it that brand's matching last judged.

    A listing seen by two brands' crawls is one Listing row with two of these, and two findings.
    """

    __tablename__ = "brand_listing"
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"), primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), primary_key=True, index=True)
    matched_version: Mapped[int] = mapped_column(default=0)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    # False: no crawl of the brand saw it; the brand's matching judged it because no brand's crawl did (a listing
    # stored by hand or by a tool is judged by every brand).
    crawled: Mapped[bool] = mapped_column(Boolean, default=True)


class UserBrandRole(Base):
    """A user's role on one brand (analyst for A, legal for B). Agency admins (User.role admin) need none."""

    __tablename__ = "user_brand_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))  # analyst | legal
    granted_by: Mapped[str] = mapped_column(String(200), default="")
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("brand_id", "sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"))
    sku: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    # [{"currency": "CNY", "suggested": "680", "floor": "580"}]; Decimal values kept as strings in JSON
    prices: Mapped[list[Any]] = mapped_column(default=list)
    brand: Mapped[Brand] = relationship(back_populates="products")
    reference_images: Mapped[list[ReferenceImage]] = relationship(back_populates="product")


class ReferenceImage(Base):
    __tablename__ = "reference_image"
    __table_args__ = (UniqueConstraint("product_id", "ref_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    ref_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(2048))
    sha256: Mapped[str | None] = mapped_column(String(64))
    phash: Mapped[str | None] = mapped_column(String(HASH_HEX))
    dhash: Mapped[str | None] = mapped_column(String(HASH_HEX))
    phash_mirror: Mapped[str | None] = mapped_column(String(HASH_HEX))
    status: Mapped[ImageStatus] = mapped_column(_enum(ImageStatus), default=ImageStatus.PENDING)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)
    # core.images.HASH_VERSION the hashes were made with; another version means hash the file again.
    hash_version: Mapped[str | None] = mapped_column(String(20))
    product: Mapped[Product] = relationship(back_populates="reference_images")


class Marketplace(Base):
    __tablename__ = "marketplace"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    base_url: Mapped[str | None] = mapped_column(String(2048))


class Seller(Base):
    __tablename__ = "seller"
    __table_args__ = (UniqueConstraint("marketplace_id", "seller_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"))
    # External id where the page gives one, else the normalised name.
    seller_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200))
    location_text: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(6))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    # Contact details a marketplace shows (phone, email, address, business licence): personal data under
    # PIPL / GDPR, removed after the configured retention period (core/privacy.py).
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact_purged_at: Mapped[datetime | None]
    # The network of shops this seller belongs to (matching/clusters.py); None when it is linked to none.
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("seller_cluster.id"), index=True)
    marketplace: Mapped[Marketplace] = relationship()


class CrawlRun(Base):
    __tablename__ = "crawl_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.RUNNING)
    pid: Mapped[int | None]
    # The brand whose configuration started the crawl (None: a crawl run before brand workspaces, or by hand).
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brand.id"), index=True)
    # The interrupted run this one resumes: listings it already captured are not fetched again.
    resumed_from: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))
    # Team mode crawls one shard at a time (core/shards.py: `term:lumina`); None: the whole marketplace.
    shard: Mapped[str | None] = mapped_column(String(300))
    pages: Mapped[int] = mapped_column(default=0)
    items: Mapped[int] = mapped_column(default=0)
    drops: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    marketplace: Mapped[Marketplace | None] = relationship()


SEEN_FROM_CARD = "card"
SEEN_FROM_PAGE = "page"


class Listing(Base):
    __tablename__ = "listing"
    __table_args__ = (UniqueConstraint("marketplace_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(Text)
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("seller.id"))
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    price_high: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    original_price: Mapped[Decimal | None] = mapped_column(MONEY)  # a struck-through "was" or list price
    condition: Mapped[str | None] = mapped_column(String(100))
    # What else the page shows (sales, stock, shop ids, approximate prices), as the extractor found it.
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    location_text: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(6))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))
    missed_runs: Mapped[int] = mapped_column(default=0)
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    gone_at: Mapped[datetime | None]
    # Bumped whenever what matching reads changes, so matching is incremental.
    content_version: Mapped[int] = mapped_column(default=1)
    matched_version: Mapped[int] = mapped_column(default=0)
    # Two-stage crawling (issue #18): how the listing was last seen ("card": a search card, "page": its item page),
    # the SHA-256 of its last card (title, price, seller, photo) and of the card it had when its item page was last
    # captured, and when that was. item_page_at None with seen_from "card": the evidence is the card's alone.
    seen_from: Mapped[str] = mapped_column(String(10), default=SEEN_FROM_PAGE, server_default=SEEN_FROM_PAGE)
    card_sha256: Mapped[str | None] = mapped_column(String(64))
    page_card_sha256: Mapped[str | None] = mapped_column(String(64))
    item_page_at: Mapped[datetime | None]
    marketplace: Mapped[Marketplace] = relationship()
    seller: Mapped[Seller | None] = relationship()
    images: Mapped[list[ListingImage]] = relationship(back_populates="listing", order_by="ListingImage.position")
    snapshots: Mapped[list[ListingSnapshot]] = relationship(
        back_populates="listing", order_by="ListingSnapshot.captured_at"
    )

    @property
    def card_only(self) -> bool:
        """Seen only on search cards so far: no item page (HTML, screenshot, SHA-256) stands behind it yet."""
        return self.seen_from == SEEN_FROM_CARD and self.item_page_at is None


class Evidence(Base):
    """Captured bytes (gzip'd HTML, JPEG or PNG screenshots), content-addressed by the SHA-256 of the original."""

    __tablename__ = "evidence"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # html | screenshot
    media_type: Mapped[str] = mapped_column(String(100))
    encoding: Mapped[str] = mapped_column(String(10))  # gzip | identity
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    url: Mapped[str | None] = mapped_column(String(2048))


class ListingSnapshot(Base):
    __tablename__ = "listing_snapshot"
    __table_args__ = (UniqueConstraint("listing_id", "crawl_run_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(String(1000))
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    price_high: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    original_price: Mapped[Decimal | None] = mapped_column(MONEY)
    stock: Mapped[int | None]
    sales: Mapped[int | None]
    html_sha256: Mapped[str | None] = mapped_column(ForeignKey("evidence.sha256"))
    screenshot_sha256: Mapped[str | None] = mapped_column(ForeignKey("evidence.sha256"))
    listing: Mapped[Listing] = relationship(back_populates="snapshots")


class ListingImage(Base):
    __tablename__ = "listing_image"
    __table_args__ = (UniqueConstraint("listing_id", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    url: Mapped[str] = mapped_column(String(2048))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    phash: Mapped[str | None] = mapped_column(String(HASH_HEX), index=True)
    dhash: Mapped[str | None] = mapped_column(String(HASH_HEX))
    phash_mirror: Mapped[str | None] = mapped_column(String(HASH_HEX))
    width: Mapped[int | None]
    height: Mapped[int | None]
    status: Mapped[ImageStatus] = mapped_column(_enum(ImageStatus), default=ImageStatus.PENDING)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime | None]
    listing: Mapped[Listing] = relationship(back_populates="images")


class PhotoCopy(Base):
    """A listing photo's reading copy: enough pixels to read print (the thumbnail is too small), kept by the crawl
    so matching reads photos from the database alone. Bounded in size (Settings.reading_copy_max_side) and in
    total (Settings.reading_copies_max_mb; the oldest are pruned after a matching run)."""

    __tablename__ = "photo_copy"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # of the photo as fetched
    media_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReadingStatus(enum.StrEnum):
    OK = "ok"  # read; lines and codes may still be empty
    UNREADABLE = "unreadable"  # the reading copy could not be decoded
    FAILED = "failed"  # the engine raised on this photo


class PhotoReading(Base):
    """What OCR and the code reader found on one photo, cached by the photo's SHA-256 (matching/photos)."""

    __tablename__ = "photo_reading"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    engine: Mapped[str] = mapped_column(String(120))  # engine, version and models: another one reads again
    status: Mapped[ReadingStatus] = mapped_column(_enum(ReadingStatus))
    lines: Mapped[list[Any]] = mapped_column(default=list)  # [[text, confidence, [[x, y] * 4]], ...]
    codes: Mapped[list[Any]] = mapped_column(default=list)  # [[format, text, [[x, y] * 4]], ...]
    width: Mapped[int | None]  # of the picture the boxes are drawn on (the reading copy, upright)
    height: Mapped[int | None]
    seconds: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhotoCode(Base):
    """One code decoded on a photo, normalised, so the same serial on several listings is one indexed look-up."""

    __tablename__ = "photo_code"
    __table_args__ = (UniqueConstraint("sha256", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(100), index=True)
    format: Mapped[str] = mapped_column(String(30))


class Finding(Base):
    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("brand_id", "listing_id", name="uq_finding_brand_listing"),
        Index("ix_finding_queue", "verdict", "score"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # Findings are per brand: the same listing is judged by each brand whose crawls saw it.
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"), index=True, default=_first_brand())
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict))
    score: Mapped[float]
    reasons: Mapped[list[Any]] = mapped_column(default=list)  # sentences a person can reuse
    signals: Mapped[dict[str, Any]] = mapped_column(default=dict)  # each signal's typed result
    rule_set_version: Mapped[str] = mapped_column(String(40))
    matched_reference_id: Mapped[int | None] = mapped_column(ForeignKey("reference_image.id"))
    matched_image_id: Mapped[int | None] = mapped_column(ForeignKey("listing_image.id"))
    image_distance: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    listing: Mapped[Listing] = relationship()
    product: Mapped[Product | None] = relationship()
    reviews: Mapped[list[Review]] = relationship(back_populates="finding", order_by="Review.id")  # the latest is last

    @property
    def latest_review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None


class Review(Base):
    __tablename__ = "review"
    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[ReviewDecision] = mapped_column(_enum(ReviewDecision))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finding: Mapped[Finding] = relationship(back_populates="reviews")


class NoticeListing(Base):
    __tablename__ = "notice_listing"
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), primary_key=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("finding.id"))
    position: Mapped[int] = mapped_column(default=0)
    # The listing as the notice described it when drafted (URL, ids, title, seller, price, reasons), so an
    # exported notice says what was filed even after the listing changes.
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Notice(Base):
    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"), index=True, default=_first_brand())
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"))
    template: Mapped[str] = mapped_column(String(40))
    ground: Mapped[str] = mapped_column(String(40))
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), default=NoticeStatus.DRAFTED)
    body: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # A draft over a form's link limit (Alibaba IPP: 300) becomes several notices sharing one draft_group.
    draft_group: Mapped[str | None] = mapped_column(String(32), index=True)
    part: Mapped[int] = mapped_column(default=1)
    parts: Mapped[int] = mapped_column(default=1)
    warnings: Mapped[list[Any]] = mapped_column(default=list)  # checks for the person who files it
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)  # rights holder and form fields as drafted
    status_note: Mapped[str | None] = mapped_column(Text)
    marketplace: Mapped[Marketplace] = relationship()
    listings: Mapped[list[Listing]] = relationship(secondary="notice_listing", viewonly=True)


class TestBuy(Base):
    """A purchase made against a listing to examine what arrives: the evidence marketplaces ask for."""

    __tablename__ = "test_buy"
    __test__ = False  # not a pytest test class, despite the name
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"), index=True, default=_first_brand())
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    order_number: Mapped[str] = mapped_column(String(100))
    ordered_on: Mapped[date]
    price_paid: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    code_read: Mapped[str | None] = mapped_column(String(100))  # batch / anti-diversion code on the unit
    distributor: Mapped[str | None] = mapped_column(String(200))  # traced through batch ranges or prefixes
    result: Mapped[TestBuyResult] = mapped_column(_enum(TestBuyResult), default=TestBuyResult.PENDING)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    photos: Mapped[list[TestBuyPhoto]] = relationship(
        back_populates="test_buy", order_by="TestBuyPhoto.position"
    )


class TestBuyPhoto(Base):
    """A photo of what arrived, decoded and re-encoded through core/images.py (no EXIF, bounded size)."""

    __tablename__ = "test_buy_photo"
    __test__ = False
    id: Mapped[int] = mapped_column(primary_key=True)
    test_buy_id: Mapped[int] = mapped_column(ForeignKey("test_buy.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored bytes
    original_sha256: Mapped[str] = mapped_column(String(64))  # of the file as uploaded
    media_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int]
    height: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    test_buy: Mapped[TestBuy] = relationship(back_populates="photos")


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # analyst | legal | admin
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brand.id"), index=True)  # None: install-wide


class MatchState(Base):
    """One row per (kind) of incremental work, e.g. the rule-set version last applied."""

    __tablename__ = "match_state"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)




# --- nightly operation: the scheduler's lease, its job runs, alerts sent, relistings flagged -----------------

class JobRunStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"  # ran, but part of it failed (one marketplace's crawl, say)
    FAILED = "failed"
    STOPPED = "stopped"  # the scheduler was shut down while it ran
    SKIPPED = "skipped"  # not started: the previous run of the job was still going (max_instances)
    MISSED = "missed"  # not started: the scheduler was down past the misfire grace time


class SchedulerLock(Base):
    """A lease: the one scheduler allowed to run on this database keeps its heartbeat fresh."""

    __tablename__ = "scheduler_lock"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # random per scheduler process
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """One firing of a scheduled job, including the firings APScheduler skipped or missed."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started", "job_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(80))
    scheduled_for: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[JobRunStatus] = mapped_column(_enum(JobRunStatus), default=JobRunStatus.RUNNING)
    summary: Mapped[str] = mapped_column(String(1000), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlertRecord(Base):
    """Every alert composed, whether it reached its targets or not."""

    __tablename__ = "alert_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # findings | failure | overdue | digest | removal
    dedupe_key: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(1000))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brand.id"), index=True)  # None: install-wide


class Relisting(Base):
    """A listing that may be a removed listing back again: same seller, or the same photo."""

    __tablename__ = "relisting"
    __table_args__ = (UniqueConstraint("removed_listing_id", "new_listing_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    removed_listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"))
    new_listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"))
    same_seller: Mapped[bool] = mapped_column(Boolean, default=False)
    image_distance: Mapped[int | None]  # Hamming distance of the closest photo pair, when photos matched
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class SellerCluster(Base):
    """Sellers linked by shared photos, shared contact details or near-identical titles (matching/clusters.py).

    Recomputed after each matching run; `links` says why each seller is in it, in sentences a person can check.
    """

    __tablename__ = "seller_cluster"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable: derived from the lowest seller id
    size: Mapped[int] = mapped_column(default=0)
    marketplaces: Mapped[list[Any]] = mapped_column(default=list)
    links: Mapped[list[Any]] = mapped_column(default=list)  # [{"a": id, "b": id, "kind": ..., "detail": ...}]
    confirmed_findings: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- partner banks: offenders shared between brands (core/banks.py, matching/banks.py) ----------------------

class BankEntryStatus(enum.StrEnum):
    QUARANTINED = "quarantined"  # imported, not used until an admin accepts it
    ACCEPTED = "accepted"  # used by matching (the partner signal)
    REVOKED = "revoked"  # withdrawn by a later file of the partner


class Partner(Base):
    """A partner brand whose bank files this brand takes: the public key it was trusted with, by fingerprint."""

    __tablename__ = "partner"
    __table_args__ = (
        UniqueConstraint("brand_id", "name", name="uq_partner_brand_name"),
        UniqueConstraint("brand_id", "fingerprint", name="uq_partner_brand_fingerprint"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"))  # the brand that trusts it
    name: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the raw public key, hex
    public_key: Mapped[str] = mapped_column(String(64))  # the 32 raw bytes, hex
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)  # of the newest file imported
    trusted_by: Mapped[str] = mapped_column(String(200))
    trusted_at: Mapped[datetime] = mapped_column(default=utcnow)


class BankImport(Base):
    """One bank file taken from a partner: what it said and what it changed."""

    __tablename__ = "bank_import"
    __table_args__ = (UniqueConstraint("partner_id", "sequence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    issuer_name: Mapped[str] = mapped_column(String(200))  # as the file names itself
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    file_sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)  # new entries, now in quarantine
    revoked: Mapped[int] = mapped_column(default=0)
    imported_by: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class BankEntry(Base):
    """A seller or photo a partner reported, by the partner's stable entry id."""

    __tablename__ = "bank_entry"
    __table_args__ = (
        UniqueConstraint("partner_id", "entry_id"),
        Index("ix_bank_entry_seller", "marketplace", "seller_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    entry_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # seller | photo
    marketplace: Mapped[str | None] = mapped_column(String(40))
    seller_id: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    phash: Mapped[str | None] = mapped_column(String(HASH_HEX))
    dhash: Mapped[str | None] = mapped_column(String(HASH_HEX))
    confirmed: Mapped[int] = mapped_column(default=1)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[BankEntryStatus] = mapped_column(_enum(BankEntryStatus), default=BankEntryStatus.QUARANTINED)
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_import.id"))  # the file that last said it
    accepted_by: Mapped[str | None] = mapped_column(String(200))
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    partner: Mapped[Partner] = relationship()


class BankExport(Base):
    """A bank file this brand wrote: its sequence number and which entries it shared or revoked."""

    __tablename__ = "bank_export"
    __table_args__ = (UniqueConstraint("brand_id", "sequence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brand.id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    file_sha256: Mapped[str] = mapped_column(String(64))
    entry_ids: Mapped[list[Any]] = mapped_column(default=list)
    revocations: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(200))


class NetworkIndexBlock(Base):
    """What the last computation of the seller networks read, packed (matching/network_index.py), so the next one
    reads only what changed: one row per part (photos, listing details, seller details) and block of ids."""

    __tablename__ = "network_index_block"
    part: Mapped[str] = mapped_column(String(20), primary_key=True)
    block: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    rows: Mapped[int] = mapped_column(default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
