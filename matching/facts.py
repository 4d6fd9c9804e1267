"""What matching reads about one listing, as plain values: signals never touch the database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.models import ImageStatus, Listing
from matching.photos.reading import PhotoRead, Sighting


@dataclass(frozen=True)
class ImageFacts:
    """One listing photo. Photos that were blank, corrupt, blocked or not fetched have no hashes."""

    image_id: int | None
    position: int
    status: str
    phash: str | None = None
    dhash: str | None = None
    phash_mirror: str | None = None
    thumbnail: bytes | None = None  # for the keypoint check of borderline pairs
    sha256: str | None = None

    @property
    def hashed(self) -> bool:
        return self.status == ImageStatus.OK.value and self.phash is not None


@dataclass(frozen=True)
class PriceSeen:
    """The price one earlier crawl saw."""

    captured_at: datetime
    price: Decimal
    currency: str | None


@dataclass(frozen=True)
class TakenDown:
    """An earlier listing that went gone after a confirmed finding or a notice, tied to this one."""

    marketplace: str
    external_id: str
    gone_at: datetime | None
    link: str  # how it ties to this listing: "same seller", "same photo", "near-identical photo"
    sku: str | None = None  # the product its finding named
    photo_position: int | None = None  # which photo of this listing is the shared one
    distance: int | None = None  # for a near-identical photo


@dataclass(frozen=True)
class SellerRecord:
    """What reviewers already decided about the seller's other listings."""

    confirmed_findings: int = 0
    examples: tuple[str, ...] = ()  # external ids of a few of those listings
    brands: int = 1  # brands whose reviewers confirmed them: the record counts across the agency's brands


@dataclass(frozen=True)
class LinkedShop:
    """Another shop of the seller's network that was found selling copies."""

    name: str
    marketplace: str
    confirmed: int  # counterfeit findings reviewers confirmed
    flagged: int  # counterfeit findings awaiting review, flagged on their own evidence (not on the network's)


@dataclass(frozen=True)
class NetworkFacts:
    """The seller's network of shops (matching.clusters) and what its other shops were found to be."""

    size: int
    marketplaces: tuple[str, ...]
    ties: tuple[str, ...]  # how this seller is tied in, in words: "the same wechat mei2688 as 美美小店"
    counterfeit_shops: tuple[LinkedShop, ...] = ()

    def key(self) -> str:
        """A short fingerprint: a finding judged on other facts is judged again."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ListingFacts:
    marketplace: str
    external_id: str
    title: str
    description: str = ""
    price: Decimal | None = None
    price_high: Decimal | None = None
    currency: str | None = None
    seller_name: str | None = None
    seller_external_id: str | None = None
    # Where the goods ship from (ISO 3166): the listing's own location, else its seller's.
    country: str | None = None
    region: str | None = None
    location_source: str | None = None  # "listing" | "seller" | None
    location_text: str | None = None  # as the page wrote it, for reasons: "广东 深圳"
    images: tuple[ImageFacts, ...] = ()
    listing_id: int | None = None
    earlier_prices: tuple[PriceSeen, ...] = ()  # oldest first; the newest crawl (today's price) left out
    seller_record: SellerRecord | None = None  # None: not looked up
    taken_down: tuple[TakenDown, ...] = ()
    # What was read on the photos (matching/photos), and other listings showing the same serials.
    readings: tuple[PhotoRead, ...] = ()
    code_sightings: dict[str, tuple[Sighting, ...]] = field(default_factory=dict)
    photos_unavailable: str | None = None  # why no photo could be read in this run (OCR off or not loadable)
    network: NetworkFacts | None = None  # None: in no network of shops, or not looked up

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.description}" if self.description else self.title

    @classmethod
    def from_listing(cls, listing: Listing, *, seller_record: SellerRecord | None = None,
                     taken_down: tuple[TakenDown, ...] = (), network: NetworkFacts | None = None) -> ListingFacts:
        """Facts of a Listing row with its marketplace, seller, images and snapshots loaded."""
        seller = listing.seller
        country, region, text = listing.country, listing.region, listing.location_text
        source: str | None = "listing"
        if not (country or region) and seller is not None:
            country, region, text, source = seller.country, seller.region, seller.location_text, "seller"
        if not (country or region):
            source = None
        if region and not country:
            country = region[:2]
        snapshots = sorted(listing.snapshots, key=lambda s: (s.captured_at, s.id or 0))
        return cls(
            listing_id=listing.id,
            marketplace=listing.marketplace.name,
            external_id=listing.external_id,
            title=listing.title,
            description=listing.description or "",
            price=listing.price,
            price_high=listing.price_high,
            currency=listing.currency,
            seller_name=seller.name if seller is not None else None,
            seller_external_id=seller.external_id if seller is not None else None,
            country=country,
            region=region,
            location_source=source,
            location_text=text,
            images=tuple(
                ImageFacts(
                    image_id=image.id,
                    position=image.position,
                    status=ImageStatus(image.status).value,
                    phash=image.phash,
                    dhash=image.dhash,
                    phash_mirror=image.phash_mirror,
                    thumbnail=image.thumbnail,
                    sha256=image.sha256,
                )
                for image in listing.images
            ),
            earlier_prices=tuple(
                PriceSeen(s.captured_at, s.price, s.currency) for s in snapshots[:-1] if s.price is not None
            ),
            seller_record=seller_record,
            taken_down=taken_down,
            network=network,
        )
