"""What matching reads about one listing, as plain values: signals never touch the database."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.models import ImageStatus, Listing


@dataclass(frozen=True)
class ImageFacts:
    """One listing photo. Photos that were blank, corrupt, blocked or not fetched have no hashes."""

    image_id: int | None
    position: int
    status: str
    phash: str | None = None
    dhash: str | None = None
    phash_mirror: str | None = None

    @property
    def hashed(self) -> bool:
        return self.status == ImageStatus.OK.value and self.phash is not None


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

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.description}" if self.description else self.title

    @classmethod
    def from_listing(cls, listing: Listing) -> ListingFacts:
        """Facts of a Listing row with its marketplace, seller and images loaded."""
        seller = listing.seller
        country, region, text = listing.country, listing.region, listing.location_text
        source: str | None = "listing"
        if not (country or region) and seller is not None:
            country, region, text, source = seller.country, seller.region, seller.location_text, "seller"
        if not (country or region):
            source = None
        if region and not country:
            country = region[:2]
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
                )
                for image in listing.images
            ),
        )
