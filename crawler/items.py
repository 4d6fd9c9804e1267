"""What spiders yield: one listing as the page shows it, before normalisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.images import ReadingCopy


@dataclass
class ImageRecord:
    """A listing photo after the image pipeline: hashes and a thumbnail, or the reason there are none."""

    url: str
    status: str
    reason: str | None = None
    sha256: str | None = None
    phash: str | None = None
    dhash: str | None = None
    phash_mirror: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = field(default=None, repr=False)
    reading_copy: ReadingCopy | None = field(default=None, repr=False)  # for OCR and codes (matching/photos)


@dataclass
class ListingItem:
    marketplace: str
    external_id: str
    url: str
    title: str
    price_text: str | None = None
    price: Decimal | None = None
    price_high: Decimal | None = None
    currency: str | None = None
    original_price: Decimal | None = None
    seller_name: str | None = None
    seller_id: str | None = None
    location_text: str | None = None
    country: str | None = None
    region: str | None = None
    image_urls: list[str] = field(default_factory=list)
    description: str | None = None
    sales: int | None = None
    stock: int | None = None
    condition: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Where it was read: "card" (a search card, stored without following it) or "page" (its item page). For a card,
    # card_sha256 is its fingerprint (title, price, seller, photo); for an item page, the fingerprint of the card
    # it was fetched for (None when there was none), so an unchanged card is not fetched again.
    seen_from: str = "page"
    card_sha256: str | None = None
    unchanged_card: bool = False  # the same card as the listing showed last time: its photos are not fetched again
    # Evidence and pipeline results; kept out of repr so logs stay readable.
    html: bytes | None = field(default=None, repr=False)
    screenshot: bytes | None = field(default=None, repr=False)
    images: list[ImageRecord] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The extracted fields as JSON-safe values (for `brandpatrol parse --json`)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if key in ("html", "screenshot", "images"):
                continue
            out[key] = str(value) if isinstance(value, Decimal) else value
        return out


@dataclass(frozen=True)
class SearchCard:
    """One result on a search page: enough to follow it, and what the card itself shows."""

    url: str
    external_id: str | None
    title: str | None
    price_text: str | None = None
    location_text: str | None = None
    image_url: str | None = None
    seller_name: str | None = None
    # Everything the card shows, where the marketplace's extractor reads cards as listings (crawler/extractors/cards).
    listing: ListingItem | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SearchPage:
    cards: list[SearchCard]
    next_url: str | None
    warnings: list[str] = field(default_factory=list)  # what the page lacked that its marketplace's config expects
    skipped: int = 0  # cards left out for want of a link a request can be made to (counted by the spider)
